import { collectDefaultMetrics, Counter, Histogram, Registry, type Metric } from 'prom-client';
import { LATENCY_BUCKETS_MS, type HistogramSnapshot, type PoolMetrics, type SessionFactory } from '@tether/sessions';
import type { StatusClass, TrafficTotals } from '../dashboard/index.js';
import type { LoginManager, LoginStats } from '../logins/index.js';

type Labels = Record<string, string | number>;
interface Sample {
  readonly value: number;
  readonly labels?: Labels;
  readonly metricName?: string;
}
type MetricType = 'gauge' | 'counter' | 'histogram';

/** Live figures the WebSocket hub reports (this instance only). */
export interface WebSocketFigures {
  readonly connections: number;
  readonly subscriptions: number;
}

/**
 * The Prometheus registry of one server instance. Pool and session figures are read from the session factory
 * at scrape time (nothing is double-counted or kept twice); HTTP and WebSocket counters are kept here.
 * Every name is documented in the README's metrics table.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly requestErrors: Counter<'code' | 'transport'>;
  readonly wsConnectionsTotal: Counter;
  readonly wsFrames: Counter<'type'>;
  readonly wsCloses: Counter<'code'>;
  readonly wsBroadcasts: Counter;
  private lastUserStats: LoginStats | null = null;
  private userStatsFresh = 0;

  constructor(
    factory: SessionFactory,
    logins: LoginManager,
    private readonly ws: () => WebSocketFigures,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tether_' });
    this.httpRequests = new Counter({
      name: 'tether_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'tether_http_request_duration_seconds',
      help: 'HTTP request duration, from receipt to reply',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS_MS.map((ms) => ms / 1000),
      registers,
    });
    this.requestErrors = new Counter({
      name: 'tether_request_errors_total',
      help: 'Errors answered to clients, by stable error code and transport (http, websocket)',
      labelNames: ['code', 'transport'],
      registers,
    });
    this.wsConnectionsTotal = new Counter({
      name: 'tether_websocket_connections_total',
      help: 'WebSocket connections accepted and authenticated',
      registers,
    });
    this.wsFrames = new Counter({
      name: 'tether_websocket_frames_total',
      help: 'WebSocket frames received, by type',
      labelNames: ['type'],
      registers,
    });
    this.wsCloses = new Counter({
      name: 'tether_websocket_closes_total',
      help: 'WebSocket connections closed, by close code',
      labelNames: ['code'],
      registers,
    });
    this.wsBroadcasts = new Counter({
      name: 'tether_websocket_broadcast_frames_total',
      help: 'message frames delivered to subscribers (from any instance)',
      registers,
    });

    const pool = (read: (p: PoolMetrics) => number) => () => [{ value: read(factory.poolMetrics()) }];
    this.family(
      'tether_pool_connections_active',
      'Connections checked out by sessions',
      'gauge',
      pool((p) => p.active),
    );
    this.family(
      'tether_pool_connections_idle',
      'Open connections waiting in the pool',
      'gauge',
      pool((p) => p.idle),
    );
    this.family(
      'tether_pool_connections_pending',
      'Sessions waiting for a connection',
      'gauge',
      pool((p) => p.pending),
    );
    this.family(
      'tether_pool_connections_max',
      'Configured maximum pool size',
      'gauge',
      pool((p) => p.max),
    );
    this.family(
      'tether_pool_connections',
      'Open connections (active + idle)',
      'gauge',
      pool((p) => p.active + p.idle),
    );
    this.family(
      'tether_pool_connections_created_total',
      'Connections opened since start',
      'counter',
      pool((p) => p.totalCreated),
    );
    this.family(
      'tether_pool_connections_closed_total',
      'Connections closed since start',
      'counter',
      pool((p) => p.totalClosed),
    );
    this.family(
      'tether_pool_connection_timeout_total',
      'Acquisitions that timed out with every connection busy',
      'counter',
      pool((p) => p.acquireTimeouts),
    );
    this.family(
      'tether_pool_exhaustion_total',
      'Times the pool was exhausted (the same count as tether_pool_connection_timeout_total, ' +
        'kept for dashboards that use this name)',
      'counter',
      pool((p) => p.acquireTimeouts),
    );
    this.family(
      'tether_pool_dirty_connections_evicted_total',
      'Connections evicted because they came back inside a transaction or with statements in flight',
      'counter',
      pool((p) => p.dirtyEvicted),
    );
    this.family(
      'tether_sessions_active',
      'Request-scoped sessions open now',
      'gauge',
      pool((p) => p.activeSessions),
    );
    this.family(
      'tether_sessions_peak_concurrent',
      'Most sessions open at once since start',
      'gauge',
      pool((p) => p.peakConcurrent),
    );
    this.family(
      'tether_sessions_opened_total',
      'Sessions that obtained a connection',
      'counter',
      pool((p) => p.sessionsOpened),
    );
    this.family(
      'tether_sessions_failed_total',
      'Sessions that could not obtain a connection',
      'counter',
      pool((p) => p.sessionsFailed),
    );
    this.family(
      'tether_sessions_leaked_total',
      'Sessions held longer than the leak detection threshold',
      'counter',
      pool((p) => p.leaksDetected),
    );
    this.family(
      'tether_sessions_terminated_total',
      'Sessions ended by force (maximum lifetime, shutdown)',
      'counter',
      pool((p) => p.sessionsTerminated),
    );
    this.family(
      'tether_circuit_breaker_state',
      'Database circuit breaker: 0 closed, 1 half-open, 2 open',
      'gauge',
      pool((p) => ({ closed: 0, half_open: 1, open: 2 })[p.breakerState]),
    );
    this.family(
      'tether_circuit_breaker_trips_total',
      'Times the breaker opened',
      'counter',
      pool((p) => p.breakerTrips),
    );
    this.family(
      'tether_session_errors_total',
      'Errors raised in request-scoped sessions, by stable code',
      'counter',
      () => Object.entries(factory.poolMetrics().errorsByCode).map(([code, value]) => ({ value, labels: { code } })),
    );
    this.histogram(
      'tether_pool_connection_acquire_seconds',
      'Time to obtain a connection for a session',
      () => factory.poolMetrics().acquireTime,
    );
    this.histogram(
      'tether_session_duration_seconds',
      'Lifetime of request-scoped sessions, open to release',
      () => factory.poolMetrics().sessionLifetime,
    );
    this.histogram(
      'tether_query_duration_seconds',
      'Duration of statements run in sessions',
      () => factory.poolMetrics().queryTime,
    );

    const users = (read: (s: LoginStats) => Sample[]) => async () => {
      const stats = await this.userStats(logins);
      return stats ? read(stats) : [];
    };
    this.family(
      'tether_user_sessions',
      'Login sessions in the database (every instance), by state',
      'gauge',
      users((s) => [
        { value: s.active, labels: { state: 'active' } },
        { value: s.revoked, labels: { state: 'revoked' } },
        { value: s.expired, labels: { state: 'expired' } },
      ]),
    );
    this.family(
      'tether_user_sessions_users',
      'Users with at least one active login session',
      'gauge',
      users((s) => [{ value: s.users }]),
    );
    this.family(
      'tether_user_sessions_websockets_linked',
      'WebSocket connections linked to active login sessions (every instance)',
      'gauge',
      users((s) => [{ value: s.linkedWebSockets }]),
    );
    this.family(
      'tether_user_sessions_created_total',
      'Logins (this instance)',
      'counter',
      users((s) => [{ value: s.createdTotal }]),
    );
    this.family(
      'tether_user_sessions_refreshed_total',
      'Refresh-token rotations (this instance)',
      'counter',
      users((s) => [{ value: s.refreshedTotal }]),
    );
    this.family(
      'tether_user_sessions_revoked_total',
      'Login sessions revoked (learnt by this instance, from any instance)',
      'counter',
      users((s) => [{ value: s.revokedTotal }]),
    );
    this.family(
      'tether_user_sessions_refresh_reuse_total',
      'Rotated refresh tokens presented again (each revoked its session)',
      'counter',
      users((s) => [{ value: s.reuseDetectedTotal }]),
    );
    this.family(
      'tether_user_sessions_limit_enforced_total',
      'Logins that hit the per-user session limit',
      'counter',
      users((s) => [{ value: s.limitEnforcedTotal }]),
    );
    this.family(
      'tether_user_sessions_swept_total',
      'Expired and revoked rows deleted by the sweep (this instance)',
      'counter',
      users((s) => [{ value: s.sweptTotal }]),
    );
    this.family(
      'tether_user_sessions_stats_stale',
      '1 when the login-session figures could not be read and are the last known ones',
      'gauge',
      () => [{ value: this.userStatsFresh ? 0 : 1 }],
    );

    this.family(
      'tether_websocket_connections',
      'Open authenticated WebSocket connections (this instance)',
      'gauge',
      () => [{ value: ws().connections }],
    );
    this.family(
      'tether_websocket_subscriptions',
      'Thread subscriptions held by open WebSockets (this instance)',
      'gauge',
      () => [{ value: ws().subscriptions }],
    );
  }

  /** Traffic read from the same counters `/metrics` exposes (nothing is counted twice). */
  async trafficTotals(): Promise<TrafficTotals> {
    const [requests, frames, delivered] = await Promise.all([
      this.httpRequests.get(),
      this.wsFrames.get(),
      this.wsBroadcasts.get(),
    ]);
    const http: Record<StatusClass, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    for (const { labels, value } of requests.values) {
      const statusClass = `${String(labels.status ?? '').charAt(0)}xx`;
      if (statusClass in http) http[statusClass as StatusClass] += value;
    }
    const sum = (values: ReadonlyArray<{ value: number }>): number => values.reduce((total, v) => total + v.value, 0);
    return {
      http,
      websocket: { ...this.ws(), framesReceived: sum(frames.values), framesDelivered: sum(delivered.values) },
    };
  }

  /** Text exposition for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async userStats(manager: LoginManager): Promise<LoginStats | null> {
    try {
      this.lastUserStats = await manager.stats();
      this.userStatsFresh = 1;
    } catch {
      this.userStatsFresh = 0; // the database is away: last known figures, flagged stale
    }
    return this.lastUserStats;
  }

  private family(name: string, help: string, type: MetricType, collect: () => Sample[] | Promise<Sample[]>): void {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: await collect() }),
      reset: () => {},
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }

  /** A Prometheus histogram (seconds) from a session-layer snapshot (milliseconds, per-bucket counts). */
  private histogram(name: string, help: string, read: () => HistogramSnapshot): void {
    this.family(name, help, 'histogram', () => {
      const h = read();
      const samples: Sample[] = [];
      let cumulative = 0;
      LATENCY_BUCKETS_MS.forEach((ms, i) => {
        cumulative += h.buckets[i] ?? 0;
        samples.push({ metricName: `${name}_bucket`, labels: { le: ms / 1000 }, value: cumulative });
      });
      samples.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count });
      samples.push({ metricName: `${name}_sum`, value: h.sumMs / 1000 });
      samples.push({ metricName: `${name}_count`, value: h.count });
      return samples;
    });
  }
}
