import { TetherError } from '../errors.js';

export { AuthenticationError, type AuthenticationErrorCode } from '../logins/errors.js';

/** Registration with an email address that already has an account. */
export class EmailTakenError extends TetherError {
  readonly code = 'email_taken';
}

/** Too many login attempts for one address in a minute. */
export class RateLimitedError extends TetherError {
  readonly code = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
