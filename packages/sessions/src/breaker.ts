import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { classifyDatabaseError, DatabaseUnavailableError } from './errors.js';
import type { FactoryStatistics } from './factory-statistics.js';
import type { SessionLogger } from './failure-log.js';
import type { BreakerState } from './pool-metrics.js';
import type { SessionEventHub } from './session-events.js';

export interface BreakerOptions {
  /** Consecutive connection failures that open the breaker. */
  readonly breakerThreshold: number;
  /** How long it stays open before one call may probe the database (half-open). */
  readonly breakerCooldownMs: number;
}

/**
 * The circuit breaker in front of the pool (cockatiel's, with a `ConsecutiveBreaker`): only "database
 * unavailable" failures count; while it is open, sessions fail fast with `CircuitOpenError`.
 */
export class Breaker {
  private readonly policy: CircuitBreakerPolicy;
  /** The count of consecutive failures (cockatiel's `ConsecutiveBreaker`; `state` is that count). */
  private readonly consecutiveFailures: ConsecutiveBreaker;

  constructor(
    options: BreakerOptions,
    host: { readonly events: SessionEventHub; readonly statistics: FactoryStatistics; readonly logger: SessionLogger },
  ) {
    const { events, statistics, logger } = host;
    this.consecutiveFailures = new ConsecutiveBreaker(options.breakerThreshold);
    this.policy = circuitBreaker(
      handleWhen((error) => classifyDatabaseError(error) instanceof DatabaseUnavailableError),
      { halfOpenAfter: options.breakerCooldownMs, breaker: this.consecutiveFailures },
    );
    this.policy.onBreak(() => {
      statistics.counters.breakerTrips++;
      events.emit({ type: 'breaker', at: Date.now(), state: 'open' });
      logger.error(
        { breakerTrips: statistics.counters.breakerTrips, cooldownMs: options.breakerCooldownMs },
        'database circuit breaker opened',
      );
    });
    this.policy.onReset(() => {
      events.emit({ type: 'breaker', at: Date.now(), state: 'closed' });
      logger.info({}, 'database circuit breaker closed');
    });
    this.policy.onHalfOpen(() => events.emit({ type: 'breaker', at: Date.now(), state: 'half_open' }));
  }

  /**
   * Whether a success would change nothing in the breaker: closed, with no failure counted since the last
   * success. The factory's hot path then leaves cockatiel out; a failure, and the first success after one, go
   * through `execute`.
   */
  get quiet(): boolean {
    return this.consecutiveFailures.state === 0 && this.policy.state === CircuitState.Closed;
  }

  get state(): BreakerState {
    const state = this.policy.state;
    return state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half_open' : 'open';
  }

  execute<T>(work: () => Promise<T>): Promise<T> {
    return this.policy.execute(work);
  }
}
