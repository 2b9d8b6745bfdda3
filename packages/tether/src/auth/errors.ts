import { TetherError } from '../errors.js';

/** Why a caller is not (or no longer) authenticated. Every code answers HTTP 401 and closes a WebSocket with 4401. */
export type AuthenticationErrorCode =
  | 'invalid_credentials'
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'session_revoked'
  | 'session_expired'
  | 'refresh_token_invalid'
  | 'refresh_token_reused';

export class AuthenticationError extends TetherError {
  override readonly callersFault = true;

  constructor(
    readonly code: AuthenticationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Registration with an email address that already has an account. */
export class EmailTakenError extends TetherError {
  readonly code = 'email_taken';
  override readonly callersFault = true;
}

/** Too many calls: login attempts for one address, or a per-user or per-IP limit (README: "Fair limits"). */
export class RateLimitedError extends TetherError {
  readonly code = 'rate_limited';
  override readonly callersFault = true;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
