/** The server: fastify for HTTP, `ws` for WebSockets, assembled from plugins over users/, auth/ and sessions/. */
export { TetherServer, type TetherServerOptions } from './server.js';
export { ServerMetrics, type WebSocketFigures } from './metrics.js';
export {
  errorReply,
  ValidationError,
  NotFoundError,
  ForbiddenError,
  InvalidFrameError,
  type ErrorReply,
} from './errors.js';
export { CLOSE_UNAUTHORIZED, CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN, MAX_FRAMES_IN_FLIGHT } from './ws/index.js';
export type { Thread, Message } from '../threads/index.js';
export { CLOSE_TOO_MANY } from './ws/index.js';
export { parseJsonWithin, NestingTooDeepError } from './json.js';
export { ServerLimits, RateLimiter, IdentityGate, type TrustProxy } from './limits/index.js';
