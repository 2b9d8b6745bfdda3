/** Authentication: scrypt password hashes, HS256 access tokens (jose), and the login flow over `users/`. */
export {
  AuthService,
  type AuthServiceOptions,
  type Principal,
  type RegisteredUser,
  type TokenPair,
} from './auth-service.js';
export { AccessTokens, type AccessTokenClaims } from './tokens.js';
export { hashPassword, passwordHashing, verifyPassword } from './passwords.js';
export { loadSigningSecret, SECRET_FILE } from './secret.js';
export { AuthenticationError, EmailTakenError, RateLimitedError, type AuthenticationErrorCode } from './errors.js';
