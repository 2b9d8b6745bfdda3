/** One login of a user (what HTTP and the README call a login session): a row of `auth_sessions`. Times are epoch
 * milliseconds. */
export interface Login {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
  readonly userAgent: string | null;
  readonly websocketIds: readonly string[];
}
