import { UUID_PATTERN } from '@tether/sessions';
import type { RawData } from 'ws';
import { z } from 'zod';
import { storable } from '../errors.js';
import { NestingTooDeepError, parseJsonWithin } from '../json.js';

/**
 * The WebSocket contract of `/ws` as zod schemas: client frames are parsed with them, and the AsyncAPI document
 * (`/asyncapi.json`) is generated from them, so what is documented is what is enforced.
 */

const frameId = z
  .union([z.string().min(1).max(200), z.number().finite()])
  .optional()
  .describe('Any string or number; the one answer to this frame carries it back unchanged.');
const uuid = z.string().regex(UUID_PATTERN, 'must be a UUID');

/** Each client frame's schema, by type; `maxMessageLength` is the server's configured limit. */
export function clientFrameSchemas(maxMessageLength: number) {
  return {
    ping: z.object({ type: z.literal('ping'), id: frameId }).describe('Answered by `pong`.'),
    'thread.subscribe': z
      .object({ type: z.literal('thread.subscribe'), id: frameId, threadId: uuid })
      .describe(
        'Answered by `ack` once subscribed (a thread the caller is not a member of: `error` not_found); ' +
          '`message` frames follow.',
      ),
    'thread.unsubscribe': z
      .object({ type: z.literal('thread.unsubscribe'), id: frameId, threadId: uuid })
      .describe('Answered by `ack`.'),
    'message.send': z
      .object({
        type: z.literal('message.send'),
        id: frameId,
        threadId: uuid,
        content: storable(
          z
            .string()
            .trim()
            .min(1, 'must not be empty')
            .max(maxMessageLength, `must be at most ${maxMessageLength} characters`),
        ),
        clientMessageId: storable(z.string().min(1).max(200))
          .optional()
          .describe('Makes a retried send idempotent: the same id returns the stored message instead of a second one.'),
      })
      .describe('Stored in a request-scoped session; answered by `ack` carrying the stored `message`.'),
  } as const;
}

/** The parser for client frames (a discriminated union over `type`): the one definition of a client frame. */
export function clientFrameSchema(maxMessageLength: number) {
  const s = clientFrameSchemas(maxMessageLength);
  return z.discriminatedUnion('type', [s.ping, s['thread.subscribe'], s['thread.unsubscribe'], s['message.send']]);
}

export type ClientFrameSchema = ReturnType<typeof clientFrameSchema>;
/** A parsed client frame: its type is read from the union, never written beside it. */
export type ClientFrame = z.infer<ClientFrameSchema>;
export type FrameId = ClientFrame['id'];

/** Every client frame type, read from the schemas. */
export const CLIENT_FRAME_TYPES = Object.keys(clientFrameSchemas(1)) as ClientFrame['type'][];
const KNOWN_TYPES: ReadonlySet<string> = new Set(CLIENT_FRAME_TYPES);

/** What a frame's envelope says before its body is checked: JSON or not, its id (for the answer), its type. */
export type Envelope =
  | { readonly kind: 'not_json' }
  | { readonly kind: 'too_deep'; readonly error: NestingTooDeepError }
  | { readonly kind: 'unknown_type'; readonly type: string | null; readonly id: FrameId }
  | { readonly kind: 'frame'; readonly type: ClientFrame['type']; readonly id: FrameId; readonly raw: unknown };

export function readEnvelope(data: RawData, maxJsonDepth: number): Envelope {
  let raw: unknown;
  try {
    raw = parseJsonWithin(data.toString(), maxJsonDepth);
  } catch (error) {
    return error instanceof NestingTooDeepError ? { kind: 'too_deep', error } : { kind: 'not_json' };
  }
  let id: FrameId;
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const candidate = (raw as { id: unknown }).id;
    if (typeof candidate === 'string' || (typeof candidate === 'number' && Number.isFinite(candidate))) id = candidate;
  }
  const type =
    raw && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string'
      ? (raw as { type: string }).type
      : null;
  if (type === null || !KNOWN_TYPES.has(type)) return { kind: 'unknown_type', type, id };
  return { kind: 'frame', type: type as ClientFrame['type'], id, raw };
}

export const messageSchema = z.object({
  id: z.uuid(),
  threadId: z.uuid(),
  content: z.string(),
  createdAt: z.iso.datetime(),
});

/** What the server sends. */
export const serverFrameSchemas = {
  pong: z.object({ type: z.literal('pong'), id: frameId }).describe('The answer to `ping`.'),
  ack: z
    .object({
      type: z.literal('ack'),
      id: frameId,
      message: messageSchema.optional().describe('Only for `message.send`: the message as stored.'),
    })
    .describe('The answer to `thread.subscribe`, `thread.unsubscribe` and `message.send`.'),
  message: z
    .object({ type: z.literal('message'), message: messageSchema })
    .describe(
      'A message in a subscribed thread, written through any instance (the sender gets it too). Carries no `id`.',
    ),
  error: z
    .object({
      type: z.literal('error'),
      id: frameId.describe("The failed frame's id; absent when none could be read (a frame that is not JSON)."),
      code: z
        .string()
        .describe('Stable error code, e.g. invalid_frame, invalid_request, not_found, database_unavailable.'),
      message: z.string(),
      retryAfter: z.number().int().optional().describe('Seconds to wait before retrying (database trouble only).'),
      threadId: z.uuid().optional().describe('Only with code membership_revoked: the thread whose subscription ended.'),
    })
    .describe(
      'The answer to a frame that failed, or, without `id` and with code membership_revoked, the end of a ' +
        'subscription because its user left the thread or was removed (on every instance, at once). ' +
        'The socket stays open.',
    ),
} as const;
