/** Login sessions: stored in PostgreSQL, shared by every server instance. */
export { listenerApplicationName, LISTENER_APPLICATION_PREFIX, UserSessionManager, type LocalWebSockets, type UserSession, type UserSessionManagerOptions, type IssuedSession, type RevocationListener } from './user-session-manager.js';
export type { UserSessionStats } from './user-session-stats.js';
export { SessionLimitError, AuthenticationError, type AuthenticationErrorCode } from './errors.js';
