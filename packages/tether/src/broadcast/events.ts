import { z } from 'zod';

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

/**
 * What instances tell each other. Every event has an `id` (a message's own id; a fresh UUID otherwise) by which
 * receivers drop a second copy: delivery is at least once. Written by triggers into `broadcast_outbox` in the
 * writer's transaction (see migration 0004), so the JSON shapes here and there are one contract.
 */
export const broadcastEventSchema = z.discriminatedUnion('kind', [
  /** A committed message; `content` is left out when large (NOTIFY's 8000-byte limit) and read by id. */
  z.object({
    kind: z.literal('message'),
    id: uuid,
    threadId: uuid,
    userId: uuid,
    createdAt: z.string(),
    content: z.string().optional(),
  }),
  /** A login revoked, expired or deleted: its sockets close with 4401 everywhere. */
  z.object({ kind: z.literal('login.revoked'), id: uuid, sid: uuid, userId: uuid, reason: z.string() }),
  /** A member left or was removed: their subscriptions to the thread end everywhere. */
  z.object({ kind: z.literal('member.removed'), id: uuid, threadId: uuid, userId: uuid }),
]);

export type BroadcastEvent = z.infer<typeof broadcastEventSchema>;
export type MessageEvent = Extract<BroadcastEvent, { kind: 'message' }>;

/** An event from its wire form (JSON text), or null for anything else: a broker is not trusted to be tidy. */
export function parseEvent(text: string): BroadcastEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = broadcastEventSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
