import type { BroadcastEvent } from './events.js';

/**
 * An event as JSON text within `limitBytes`: a message too large loses its content, which receivers then read
 * from the database by id.
 */
export function wireForm(event: BroadcastEvent, limitBytes: number): string {
  const text = JSON.stringify(event);
  if (event.kind !== 'message' || event.content === undefined || Buffer.byteLength(text) <= limitBytes) return text;
  const { content: _dropped, ...rest } = event;
  return JSON.stringify(rest);
}
