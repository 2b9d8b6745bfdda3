/** Threads' members: who shares a thread (Row-Level Security enforces it through `thread_members`). */
export { addMember, isUuid, listMembers, removeMember, type AddedMember, type StatementRunner, type ThreadMember } from './members.js';
export {
  AlreadyMemberError,
  CreatorIsPermanentMemberError,
  MemberNotFoundError,
  MemberRemovalForbiddenError,
  ThreadNotFoundError,
  UserNotFoundError,
} from './errors.js';
