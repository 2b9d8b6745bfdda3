import type { WebSocket } from 'ws';
import type { Principal } from '../../auth/index.js';
import type { FrameId } from './frames.js';

/** One authenticated socket and what the hub keeps for it. */
export interface Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly principal: Principal;
  readonly subscriptions: Set<string>;
  readonly expiry: NodeJS.Timeout;
  alive: boolean;
  /** Frames being handled; at most `MAX_FRAMES_IN_FLIGHT`. */
  inFlight: number;
  /** Frames read but not yet handled, in arrival order; while any wait, the socket is paused. */
  readonly waiting: Array<{ readonly raw: unknown; readonly id: FrameId }>;
  /** Set while the socket is not read after a refusal (`limits.refusalPauseMs`). */
  refusalPause: NodeJS.Timeout | undefined;
  /** Frames that arrived during that pause (read before it began); past `MAX_FRAMES_IN_FLIGHT` × 2 it is closed. */
  framesInPause: number;
}

export function addTo<K>(map: Map<K, Set<Connection>>, key: K, connection: Connection): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(connection);
}

export function removeFrom<K>(map: Map<K, Set<Connection>>, key: K, connection: Connection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(connection);
  if (set.size === 0) map.delete(key);
}

/** Sends a frame if the socket is still open. */
export function sendFrame(ws: WebSocket, frame: object): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
}
