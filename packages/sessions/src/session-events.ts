import type { BreakerState } from './pool-metrics.js';

/** What the factory reports as it happens (the dashboard's feed, audit logs): errors, leaks, breaker changes. */
export type SessionEvent =
  | {
      readonly type: 'session_error';
      readonly at: number;
      readonly code: string;
      readonly message: string;
      readonly sessionId: string;
      readonly requestId: string;
      readonly userId: string | null;
      /** Whose problem it is (`failureLevel`): `info` for the caller's own (an RLS refusal answered 404), not an alarm.
       * */
      readonly level: 'info' | 'warn' | 'error';
    }
  | {
      readonly type: 'leak';
      readonly at: number;
      readonly sessionId: string;
      readonly requestId: string;
      readonly userId: string | null;
      readonly heldMs: number;
      readonly openedAt: string | null;
      readonly statement: string | null;
    }
  | {
      readonly type: 'unleak';
      readonly at: number;
      readonly sessionId: string;
      readonly requestId: string;
      readonly heldMs: number;
    }
  | { readonly type: 'breaker'; readonly at: number; readonly state: BreakerState };

export type SessionEventListener = (event: SessionEvent) => void;

/** Listeners run synchronously; one that throws is not allowed to break the session that reported. */
export class SessionEventHub {
  private readonly listeners = new Set<SessionEventListener>();

  subscribe(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get active(): boolean {
    return this.listeners.size > 0;
  }

  emit(event: SessionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a failing observer must not turn into a failing session
      }
    }
  }
}
