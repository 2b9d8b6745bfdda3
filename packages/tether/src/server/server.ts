import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { AccessTokens, AuthService, loadSigningSecret } from '../auth/index.js';
import { createBroadcaster, OutboxRelay, type Broadcaster, type BroadcastEvent } from '../broadcast/index.js';
import type { TetherConfig } from '../config/index.js';
import { TetherError } from '../errors.js';
import { SessionFactory } from '@tether/sessions';
import { listenerApplicationName, LoginManager } from '../logins/index.js';
import { bearerToken, principalOf, type ServerContext } from './context.js';
import { DashboardEndpoint } from './dashboard-endpoint.js';
import { registerApiDocs } from './docs/index.js';
import { errorReply } from './errors.js';
import { NestingTooDeepError, parseJsonWithin } from './json.js';
import { beforeBody, ServerLimits, trustFunctionOf } from './limits/index.js';
import { ServerMetrics } from './metrics.js';
import { authRoutes } from './routes/auth.js';
import { authenticatedRoutes } from './routes/authenticated.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { observabilityRoutes } from './routes/observability.js';
import { refuseUpgrade, WebSocketHub } from './ws/index.js';

export interface TetherServerOptions {
  readonly config: TetherConfig;
  /** The database to serve from (already migrated): sessions connect here (a pooler, with `config.pooler`). */
  readonly databaseUrl: string;
  readonly logger: Logger;
  readonly version: string;
}

/**
 * One server instance: the session factory, login sessions, authentication, the fastify app (HTTP routes as
 * plugins, one error handler), the WebSocket hub, and the broadcaster and outbox relay that tie instances together.
 */
export class TetherServer {
  readonly instanceId = randomBytes(4).toString('hex');
  readonly factory: SessionFactory;
  readonly logins: LoginManager;
  readonly auth: AuthService;
  readonly metrics: ServerMetrics;
  readonly hub: WebSocketHub;
  readonly dashboard: DashboardEndpoint;
  readonly limits: ServerLimits;
  readonly app: FastifyInstance;
  readonly broadcaster: Broadcaster;
  readonly relay: OutboxRelay;
  /** `server.trustProxy`, compiled once for fastify and the WebSocket upgrades alike. */
  private readonly trustProxy: ReturnType<typeof trustFunctionOf>;
  private closing: Promise<void> | null = null;
  private address: { host: string; port: number } | null = null;

  constructor(private readonly options: TetherServerOptions) {
    const { config, logger } = options;
    const sessionLogger = logger.child({ component: 'sessions' });
    this.factory = new SessionFactory({
      connectionString: options.databaseUrl,
      ...config.pool,
      pooler: config.pooler,
      applicationName: 'tether',
      // every privileged session (logins, sweeps) is logged at debug, as an audit trail (README: Server)
      logger: sessionLogger,
    });
    this.logins = new LoginManager({
      factory: this.factory,
      absoluteTtlSeconds: config.auth.sessionAbsoluteTtlSeconds,
      idleTtlSeconds: config.auth.sessionIdleTtlSeconds,
      maxLoginsPerUser: config.auth.maxSessionsPerUser,
      limitPolicy: config.auth.sessionLimitPolicy,
      sweepIntervalMs: config.auth.sweepIntervalMs,
      checkIntervalMs: config.auth.sessionCheckIntervalMs,
      instanceId: this.instanceId,
      logger: logger.child({ component: 'user-sessions' }),
    });
    const tokens = new AccessTokens(
      loadSigningSecret(config.secret, config.dataDir),
      config.auth.accessTokenTtlSeconds,
    );
    this.auth = new AuthService({
      factory: this.factory,
      logins: this.logins,
      tokens,
      passwordHashCost: config.auth.passwordHashCost,
      loginAttemptsPerMinute: config.auth.loginAttemptsPerMinute,
    });
    this.limits = new ServerLimits(config.limits);
    this.trustProxy = trustFunctionOf(config.server.trustProxy);
    let hub: WebSocketHub | undefined;
    this.metrics = new ServerMetrics(
      this.factory,
      this.logins,
      () => hub?.figures() ?? { connections: 0, subscriptions: 0 },
    );
    this.hub = hub = new WebSocketHub({
      auth: this.auth,
      factory: this.factory,
      logins: this.logins,
      metrics: this.metrics,
      logger: logger.child({ component: 'websocket' }),
      instanceId: this.instanceId,
      maxMessageLength: config.server.maxMessageLength,
      maxPayloadBytes: config.server.bodyLimitBytes,
      maxJsonDepth: config.server.maxJsonDepth,
      limits: this.limits,
      trustProxy: this.trustProxy,
      heartbeatMs: config.server.wsHeartbeatMs,
      sessionCheckIntervalMs: config.auth.sessionCheckIntervalMs,
      breakerCooldownMs: config.pool.breakerCooldownMs,
      onCommitted: () => this.relay.kick(),
    });
    this.dashboard = new DashboardEndpoint({
      auth: this.auth,
      factory: this.factory,
      breakerCooldownMs: config.pool.breakerCooldownMs,
      traffic: () => this.metrics.trafficTotals(),
    });
    // every live instance holds connections named after it; other instances' sweeps read that (crashed instances)
    const presence = listenerApplicationName(this.instanceId);
    // LISTEN and the relay hold server sessions of their own: never through a transaction-mode pooler
    const direct = config.directDatabaseUrl ?? options.databaseUrl;
    this.broadcaster = createBroadcaster(
      config.broadcast,
      { url: direct, applicationName: presence },
      logger.child({ component: 'broadcast' }),
    );
    this.relay = new OutboxRelay({
      connectionString: direct,
      applicationName: presence,
      broadcaster: this.broadcaster,
      intervalMs: config.broadcast.relayIntervalMs,
      batchSize: config.broadcast.relayBatchSize,
      logger: logger.child({ component: 'outbox-relay' }),
    });
    this.app = this.buildApp();
  }

  private buildApp(): FastifyInstance {
    const { config, logger } = this.options;
    const app = Fastify({
      loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: config.server.bodyLimitBytes,
      trustProxy: this.trustProxy,
      genReqId: (request) => {
        const given = request.headers['x-request-id'];
        return typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
      },
      return503OnClosing: true,
      // errors fastify raises before routing (a URL that is not valid percent-encoded UTF-8, a path parameter over
      // its length limit) keep the contract's shape; their messages quote the URL, which may carry a token: not echoed
      frameworkErrors: (error, _request, reply) => {
        const r = errorReply(error, config.pool.breakerCooldownMs);
        const message = r.status < 500 ? 'the request URL is not valid' : r.message;
        void (reply as FastifyReply).code(r.status).send({ error: { code: r.code, message } });
      },
      // and so do those of the HTTP parser (a malformed request, headers over the size limit, a request timeout)
      clientErrorHandler: answerClientError,
    });
    // an empty JSON body is no body (POST /auth/logout with a Content-Type and nothing else)
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      const text = body as string;
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, parseJsonWithin(text, config.server.maxJsonDepth));
      } catch (error) {
        if (error instanceof NestingTooDeepError) return done(error, undefined);
        done(Object.assign(new Error('request body is not valid JSON'), { statusCode: 400 }), undefined);
      }
    });
    app.decorateRequest('principal', null);
    // route schemas document the contract (OpenAPI); the handlers' zod schemas (the same ones) parse requests, and
    // replies are sent as built: fastify neither validates with them nor drops fields while serializing
    app.setValidatorCompiler(() => (value) => ({ value }));
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));

    const ctx: ServerContext = {
      auth: this.auth,
      logins: this.logins,
      factory: this.factory,
      metrics: this.metrics,
      maxMessageLength: config.server.maxMessageLength,
      version: this.options.version,
      instanceId: this.instanceId,
      startedAt: Date.now(),
      notificationsConnected: () => this.broadcaster.connected,
      broadcasterKind: this.broadcaster.kind,
      limits: this.limits,
      authenticate: async (request) => {
        request.principal = await this.auth.authenticate(bearerToken(request));
        this.limits.checkUser(request.principal.userId);
      },
      inSession: (request, work) => {
        const { userId } = principalOf(request);
        return this.limits.sessions.run(userId, () =>
          this.factory.withSession({ userId, requestId: request.id }, work),
        );
      },
      statements: (request) => {
        const context = { userId: principalOf(request).userId, requestId: request.id };
        return {
          query: (text, values) =>
            this.limits.sessions.run(context.userId, () => this.factory.query(context, text, values)),
        };
      },
    };

    app.setErrorHandler(async (error, request, reply) => {
      const r = errorReply(error, config.pool.breakerCooldownMs);
      this.metrics.requestErrors.inc({ code: r.code, transport: 'http' });
      if (r.status >= 500 && !(error instanceof TetherError && error.retryable))
        request.log.error({ err: error, requestId: request.id }, 'request failed');
      else if (r.status >= 500)
        request.log.warn(
          { code: r.code, requestId: request.id, message: r.message },
          'request failed: database trouble',
        );
      if (r.retryAfterSeconds !== null) void reply.header('Retry-After', String(r.retryAfterSeconds));
      const pauseMs = r.status === 429 ? this.limits.refusalPauseOf(r.retryAfterSeconds) : 0;
      if (pauseMs > 0) await sleep(pauseMs);
      return reply.code(r.status).send({ error: { code: r.code, message: r.message } });
    });
    app.setNotFoundHandler((request, reply) =>
      reply
        .code(404)
        .send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
    );
    // before the body is read: a flood from one address is refused for the price of a map lookup
    app.addHook(
      'onRequest',
      beforeBody((request) => this.limits.checkIp(request.ip)),
    );
    app.addHook('onResponse', async (request, reply) => {
      // a write may have left events in the outbox (a message, a membership change, a revoked login): publish now
      if (request.method !== 'GET' && request.method !== 'HEAD') this.relay.kick();
      const route = request.routeOptions.url ?? 'unmatched';
      this.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      this.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });

    void app.register(registerApiDocs, {
      version: this.options.version,
      maxMessageLength: config.server.maxMessageLength,
    });
    void app.register(authRoutes, ctx);
    void app.register(authenticatedRoutes, ctx);
    void app.register(observabilityRoutes, ctx);
    void app.register(dashboardRoutes);
    return app;
  }

  /** An event from any instance (this one included), at least once: each handler tolerates a repeat. */
  private onEvent(event: BroadcastEvent): void {
    switch (event.kind) {
      case 'message':
        void this.hub.deliver(event);
        return;
      case 'login.revoked':
        this.logins.noteRevoked(event.sid, event.userId, event.reason);
        return;
      case 'member.removed':
        this.hub.endMembership(event.threadId, event.userId);
        return;
    }
  }

  /**
   * Events may have been missed (a broker restarted, a connection dropped): revocations are checked again from
   * the database, messages of subscribed threads are delivered from it, and memberships are checked again.
   */
  private onGap(lostAt: number): void {
    this.logins.forgetValidations();
    void this.hub.catchUp(lostAt);
    void this.hub.recheckMemberships();
  }

  /** Starts receiving events, the outbox relay, the sweep, and HTTP; returns the base URL. */
  async listen(): Promise<string> {
    await this.broadcaster.start({ onEvent: (event) => this.onEvent(event), onGap: (lostAt) => this.onGap(lostAt) });
    this.relay.start();
    this.logins.start();
    this.app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/ws') this.hub.handleUpgrade(request, socket, head);
      else if (path === '/dashboard/ws') this.dashboard.handleUpgrade(request, socket, head);
      else refuseUpgrade(socket, '404 Not Found');
    });
    await this.app.listen({ port: this.options.config.port, host: this.options.config.host });
    const address = this.app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    this.address = { host: address.address, port: address.port };
    return this.url;
  }

  get port(): number {
    return this.address?.port ?? 0;
  }

  get url(): string {
    if (!this.address) return '';
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${this.address.port}`;
  }

  /**
   * Graceful stop: refuse new connections, close WebSockets with 1001, finish in-flight requests, drain the
   * sessions (up to `server.shutdownTimeoutMs`), end the pool.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const deadline = this.options.config.server.shutdownTimeoutMs;
      await Promise.all([this.hub.close(Math.min(2_000, deadline)), this.dashboard.close()]);
      await this.app.close();
      this.logins.stop();
      await this.relay.close();
      await this.broadcaster.close();
      await this.factory.close(deadline);
    })();
    return this.closing;
  }
}

/** Answers a request Node's HTTP parser refused, in the contract's error shape, then closes the connection. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request took too long to arrive']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'request_header_fields_too_large', 'the request headers are too large']
        : [400, 'invalid_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
