/** Login sessions: stored in PostgreSQL, shared by every server instance. */
export { listenerApplicationName, LISTENER_APPLICATION_PREFIX, UserSessionManager, type UserSession, type UserSessionManagerOptions, type IssuedSession, type RevocationListener } from './login-manager.js';
export type { UserSessionStats } from './login-stats.js';
export { SessionLimitError, AuthenticationError, type AuthenticationErrorCode } from './errors.js';
