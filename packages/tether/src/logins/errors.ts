import { TetherError } from '../errors.js';

/** A login past the per-user session limit when the policy is `refuse`. */
export class SessionLimitError extends TetherError {
  readonly code = 'session_limit_reached';
}

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
  constructor(
    readonly code: AuthenticationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

