/** A user's logins: stored in PostgreSQL (table `auth_sessions`), shared by every server instance. */
export {
  LoginManager,
  type LocalWebSockets,
  type LoginManagerOptions,
  type IssuedLogin,
  type RevocationListener,
} from './login-manager.js';
export type { Login } from './login.js';
export { listenerApplicationName, LISTENER_APPLICATION_PREFIX } from './listener-names.js';
export type { LoginStats } from './login-stats.js';
export { LoginLimitError } from './errors.js';
