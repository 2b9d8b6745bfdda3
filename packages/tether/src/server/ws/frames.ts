import { UUID_PATTERN } from '@tether/sessions';
import type { RawData } from 'ws';
import { z } from 'zod';
import { storable } from '../errors.js';

const frameId = z.union([z.string().min(1).max(200), z.number().finite()]).optional();
const uuid = z.string().regex(UUID_PATTERN, 'must be a UUID');

/** The frames a client may send: one zod union, the one definition (types and the list of types derive from it). */
export function frameSchema(maxMessageLength: number) {
  return z.discriminatedUnion('type', [
    z.object({ type: z.literal('ping'), id: frameId }),
    z.object({ type: z.literal('thread.subscribe'), id: frameId, threadId: uuid }),
    z.object({ type: z.literal('thread.unsubscribe'), id: frameId, threadId: uuid }),
    z.object({
      type: z.literal('message.send'),
      id: frameId,
      threadId: uuid,
      content: storable(z.string().trim().min(1, 'must not be empty').max(maxMessageLength, `must be at most ${maxMessageLength} characters`)),
      clientMessageId: storable(z.string().min(1).max(200)).optional(),
    }),
  ]);
}

export type FrameSchema = ReturnType<typeof frameSchema>;
export type Frame = z.infer<FrameSchema>;
export type FrameType = Frame['type'];
export type FrameId = Frame['id'];

/** Every frame type, read from the union itself. */
export const FRAME_TYPES: ReadonlySet<string> = new Set(frameSchema(1).options.map((o) => o.shape.type.value));

/** What a frame's envelope says before its body is checked: JSON or not, its id (for the answer), its type. */
export type Envelope =
  | { readonly kind: 'not_json' }
  | { readonly kind: 'unknown_type'; readonly type: string | null; readonly id: FrameId }
  | { readonly kind: 'frame'; readonly type: FrameType; readonly id: FrameId; readonly raw: unknown };

export function readEnvelope(data: RawData): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString());
  } catch {
    return { kind: 'not_json' };
  }
  let id: FrameId;
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const candidate = (raw as { id: unknown }).id;
    if (typeof candidate === 'string' || (typeof candidate === 'number' && Number.isFinite(candidate))) id = candidate;
  }
  const type = raw && typeof raw === 'object' && typeof (raw as { type?: unknown }).type === 'string' ? (raw as { type: string }).type : null;
  if (type === null || !FRAME_TYPES.has(type)) return { kind: 'unknown_type', type, id };
  return { kind: 'frame', type: type as FrameType, id, raw };
}
