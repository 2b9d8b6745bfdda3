import { TetherError } from '../errors.js';

/** A login past the per-user session limit when the policy is `refuse`. */
export class LoginLimitError extends TetherError {
  readonly code = 'session_limit_reached';
  override readonly callersFault = true;
}
