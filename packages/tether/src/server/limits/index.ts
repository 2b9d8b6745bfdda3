import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError } from '../../auth/index.js';
import type { TetherConfig } from '../../config/index.js';
import { IdentityGate } from './identity-gate.js';
import { RateLimiter } from './rate-limiter.js';

export { clientAddressOf, trustFunctionOf, type TrustFunction, type TrustProxy } from './client-address.js';
export { IdentityGate } from './identity-gate.js';
export { RateLimiter } from './rate-limiter.js';

/**
 * The fairness limits of one server instance (README: "Fair limits"): per IP, per user and per identity, shared by
 * HTTP and WebSocket. Each check throws `RateLimitedError` (429 with Retry-After; an error frame with `retryAfter`).
 */
export class ServerLimits {
  private readonly perIp: RateLimiter;
  private readonly perUser: RateLimiter;
  private readonly credentialsPerIp: RateLimiter;
  readonly sessions: IdentityGate;
  readonly websocketsPerUser: number;
  private readonly refusalPauseMs: number;

  constructor(limits: TetherConfig['limits']) {
    this.perIp = new RateLimiter(limits.ipRequestsPerSecond, limits.ipRequestBurst);
    this.perUser = new RateLimiter(limits.userRequestsPerSecond, limits.userRequestBurst);
    this.credentialsPerIp = new RateLimiter(
      limits.credentialAttemptsPerIpPerMinute / 60,
      limits.credentialAttemptBurst,
    );
    this.sessions = new IdentityGate(limits.sessionsPerUser, limits.queuedSessionsPerUser);
    this.websocketsPerUser = limits.websocketsPerUser;
    this.refusalPauseMs = limits.refusalPauseMs;
  }

  /**
   * How long to keep a refused client waiting before it is served again (0: not at all): never longer than it
   * was told to wait, so a client that honours Retry-After sees no difference.
   */
  refusalPauseOf(retryAfterSeconds: number | null): number {
    const longest = Math.min(this.refusalPauseMs, (retryAfterSeconds ?? 0) * 1000);
    // jittered: clients refused together would otherwise all come back at the same instant, as one burst
    return longest / 2 + (Math.random() * longest) / 2;
  }

  /** Every HTTP request and WebSocket upgrade, before its body is read. */
  checkIp(ip: string): void {
    const wait = this.perIp.take(ip);
    if (wait > 0) throw new RateLimitedError('too many requests from this address; retry later', wait);
  }

  /** Every authenticated HTTP request and WebSocket frame. */
  checkUser(userId: string): void {
    const wait = this.perUser.take(userId);
    if (wait > 0) throw new RateLimitedError('too many requests from this user; retry later', wait);
  }

  /** Registrations and logins (each costs a password hash): a spray over many addresses from one place. */
  checkCredentials(ip: string): void {
    const wait = this.credentialsPerIp.take(ip);
    if (wait > 0) throw new RateLimitedError('too many registrations or logins from this address; retry later', wait);
  }
}

/**
 * An `onRequest` hook running `check` before the body is read. A refused request that carries a body is answered
 * with `Connection: close`, so the rest of its body is dropped with the connection instead of being read and
 * thrown away (a flood of 1 MiB bodies then costs the server the refusal, not the bytes).
 */
export function beforeBody(
  check: (request: FastifyRequest) => void,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    try {
      check(request);
    } catch (error) {
      const length = request.headers['content-length'];
      if ((length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined)
        void reply.header('connection', 'close');
      throw error;
    }
  };
}
