import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../auth/index.js';
import type { Session, SessionFactory } from '@tether/sessions';
import type { LoginManager } from '../logins/index.js';
import type { ServerLimits } from './limits/index.js';
import type { ServerMetrics } from './metrics.js';
import type { StatementRunner } from '../threads/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the `authenticate` pre-handler. */
    principal: Principal | null;
  }
}

/** What the route plugins are given: services, never the pool. */
export interface ServerContext {
  readonly auth: AuthService;
  readonly logins: LoginManager;
  readonly factory: SessionFactory;
  readonly metrics: ServerMetrics;
  /** Per-IP, per-user and per-identity limits (README: "Fair limits"). */
  readonly limits: ServerLimits;
  readonly maxMessageLength: number;
  readonly version: string;
  readonly instanceId: string;
  readonly startedAt: number;
  /** Whether this instance is listening for other instances' notifications (messages, revocations). */
  notificationsConnected(): boolean;
  /** Pre-handler for authenticated routes: verifies the bearer token and its login session. */
  authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Runs `work` in a request-scoped session for the authenticated caller (Row-Level Security applies). */
  inSession<T>(request: FastifyRequest, work: (session: Session) => Promise<T>): Promise<T>;
  /** For the caller: each statement a whole request-scoped session, in one round trip. */
  statements(request: FastifyRequest): StatementRunner;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is missing the authenticate pre-handler');
  return request.principal;
}

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? (match[1] as string) : null;
}
