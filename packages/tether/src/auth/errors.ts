import { TetherError } from '../errors.js';

export { AuthenticationError, type AuthenticationErrorCode } from '../users/errors.js';

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
