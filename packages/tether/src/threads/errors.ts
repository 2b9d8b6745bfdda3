import { TetherError } from '../errors.js';

// every one of these is the caller's own doing (callersFault): a failed session it ends is logged at info

/** A thread the caller cannot see: absent, or one they are not a member of (the two look alike, on purpose). */
export class ThreadNotFoundError extends TetherError {
  readonly code = 'not_found';
  override readonly callersFault = true;
}

/** `POST /threads/:id/members` named an email no user registered with. */
export class UserNotFoundError extends TetherError {
  readonly code = 'user_not_found';
  override readonly callersFault = true;
}

/** `DELETE /threads/:id/members/:userId` named someone who is not a member of the thread. */
export class MemberNotFoundError extends TetherError {
  readonly code = 'member_not_found';
  override readonly callersFault = true;
}

/** The user is a member of the thread already. */
export class AlreadyMemberError extends TetherError {
  readonly code = 'already_member';
  override readonly callersFault = true;
}

/** The thread's creator stays its member: the thread is theirs. */
export class CreatorIsPermanentMemberError extends TetherError {
  readonly code = 'creator_is_member';
  override readonly callersFault = true;
}

/** A member other than the creator tried to remove someone else. */
export class MemberRemovalForbiddenError extends TetherError {
  readonly code = 'forbidden';
  override readonly callersFault = true;
}
