import type { Login } from './login.js';

interface CachedValidation {
  readonly login: Login;
  readonly checkedAt: number;
}

/**
 * What this instance remembers between queries: validations, trusted for `checkIntervalMs`, and logins known to be
 * over (kept until their absolute expiry), with why. Revocations on this instance or announced by another clear a
 * validation at once.
 */
export class ValidationCache {
  private readonly validations = new Map<string, CachedValidation>();
  private readonly ended = new Map<string, { until: number; reason: string }>();

  constructor(private readonly checkIntervalMs: number) {}

  /** The validated login `loginId` of `userId`, if it was checked less than `checkIntervalMs` ago and is unexpired. */
  trusted(loginId: string, userId: string, now: number): Login | undefined {
    const cached = this.validations.get(loginId);
    if (!cached || cached.login.userId !== userId) return undefined;
    return now - cached.checkedAt < this.checkIntervalMs && now < cached.login.expiresAt ? cached.login : undefined;
  }

  /** A login just read from (or written to) the database: trusted from now. */
  remember(login: Login): void {
    this.validations.set(login.id, { login, checkedAt: Date.now() });
  }

  forget(loginId: string): void {
    this.validations.delete(loginId);
  }

  /** Forgets every validation (after missed notifications, e.g. a lost LISTEN connection). */
  forgetAll(): void {
    this.validations.clear();
  }

  /** Why the login is over (`expired`, `logout`, …), if that is known here. */
  endedReason(loginId: string): string | undefined {
    return this.ended.get(loginId)?.reason;
  }

  /** When the cached validation of the login says it expires, if one is cached. */
  cachedExpiry(loginId: string): number | undefined {
    return this.validations.get(loginId)?.login.expiresAt;
  }

  /** Remembers that the login is over until `until` and forgets its validation; returns whether this is news. */
  markEnded(loginId: string, reason: string, until: number): boolean {
    const first = !this.ended.has(loginId);
    this.ended.set(loginId, { until, reason });
    this.validations.delete(loginId);
    return first;
  }

  /** Drops what has expired by `now`. */
  prune(now: number): void {
    for (const [id, { until }] of this.ended) if (until < now) this.ended.delete(id);
    for (const [id, entry] of this.validations) if (entry.login.expiresAt < now) this.validations.delete(id);
  }
}
