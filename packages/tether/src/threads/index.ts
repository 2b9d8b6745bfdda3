/** The threads domain: threads, messages and members, read and written in the caller's session (RLS decides). */
export {
  createThread,
  getMessage,
  getThread,
  listMessages,
  listThreads,
  postMessage,
  type Message,
  type StatementRunner,
  type Thread,
} from './store.js';
/** Threads' members: who shares a thread (Row-Level Security enforces it through `thread_members`). */
export { addMember, listMembers, removeMember, type AddedMember, type ThreadMember } from './members.js';
export {
  AlreadyMemberError,
  CreatorIsPermanentMemberError,
  MemberNotFoundError,
  MemberRemovalForbiddenError,
  ThreadNotFoundError,
  UserNotFoundError,
} from './errors.js';
