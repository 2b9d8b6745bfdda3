import { TetherError } from '../errors.js';

/** A thread the caller cannot see: absent, or one they are not a member of (the two look alike, on purpose). */
export class ThreadNotFoundError extends TetherError {
  readonly code = 'not_found';
}

/** `POST /threads/:id/members` named an email no user registered with. */
export class UserNotFoundError extends TetherError {
  readonly code = 'user_not_found';
}

/** `DELETE /threads/:id/members/:userId` named someone who is not a member of the thread. */
export class MemberNotFoundError extends TetherError {
  readonly code = 'member_not_found';
}

/** The user is a member of the thread already. */
export class AlreadyMemberError extends TetherError {
  readonly code = 'already_member';
}

/** The thread's creator stays its member: the thread is theirs. */
export class CreatorIsPermanentMemberError extends TetherError {
  readonly code = 'creator_is_member';
}

/** A member other than the creator tried to remove someone else. */
export class MemberRemovalForbiddenError extends TetherError {
  readonly code = 'forbidden';
}
