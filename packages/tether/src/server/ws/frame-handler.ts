import type { SessionFactory, SessionLogger } from '@tether/sessions';
import { WebSocket, type RawData } from 'ws';
import { TetherError } from '../../errors.js';
import { getThread, postMessage, type StatementRunner } from '../../threads/index.js';
import { errorReply, InvalidFrameError, isStorableText, parseWith } from '../errors.js';
import type { ServerLimits } from '../limits/index.js';
import type { ServerMetrics } from '../metrics.js';
import { sendFrame, type Connection } from './connections.js';
import type { FanOut } from './fan-out.js';
import { CLOSE_TOO_MANY } from './upgrade.js';
import { clientFrameSchema, readEnvelope, type ClientFrameSchema, type FrameId } from './frames.js';

/**
 * Frames one socket may have in flight at once. A client that sends faster waits: further frames queue in
 * order, and its socket is paused so that TCP flow control slows it down (the queue holds at most what was
 * already read) instead of the client taking the whole pool from everyone else.
 */
export const MAX_FRAMES_IN_FLIGHT = 8;

export interface FrameHandlerOptions {
  readonly factory: SessionFactory;
  readonly metrics: ServerMetrics;
  readonly logger: SessionLogger;
  readonly maxMessageLength: number;
  /** Per-user rate limits and per-identity sessions. */
  readonly limits: ServerLimits;
  /** Deepest JSON nesting of a frame; deeper frames get `nesting_too_deep` before a value is built. */
  readonly maxJsonDepth: number;
  readonly breakerCooldownMs: number;
  /** A frame's write committed (its events wait in the outbox): the relay publishes them now. */
  readonly onCommitted: () => void;
}

/**
 * What an authenticated socket's frames do: each is read (depth, JSON, type), rate-limited for its user, and
 * handled in request-scoped sessions for that user, at most `MAX_FRAMES_IN_FLIGHT` at once per socket; a failure
 * is answered with an error frame carrying the frame's id.
 */
export class FrameHandler {
  private readonly frameSchema: ClientFrameSchema;

  constructor(
    private readonly options: FrameHandlerOptions,
    private readonly fanOut: FanOut,
  ) {
    this.frameSchema = clientFrameSchema(options.maxMessageLength);
  }

  /** A frame read from `connection`'s socket. */
  receive(connection: Connection, data: RawData): void {
    if (connection.ws.readyState !== WebSocket.OPEN) return; // closing: what it sent last is moot
    if (connection.refusalPause !== undefined && ++connection.framesInPause > MAX_FRAMES_IN_FLIGHT * 2) {
      // told to wait, it kept sending: a client that ignores retryAfter is disconnected rather than answered
      connection.ws.close(CLOSE_TOO_MANY, 'rate_limited');
      return;
    }
    const envelope = readEnvelope(data, this.options.maxJsonDepth);
    if (envelope.kind === 'too_deep') {
      this.options.metrics.wsFrames.inc({ type: 'invalid' });
      this.fail(connection, envelope.error, undefined);
      return;
    }
    if (envelope.kind === 'not_json') {
      this.options.metrics.wsFrames.inc({ type: 'invalid' });
      this.fail(connection, new InvalidFrameError('frame is not JSON'), undefined);
      return;
    }
    if (envelope.kind === 'unknown_type') {
      this.options.metrics.wsFrames.inc({ type: 'invalid' });
      const type = envelope.type;
      this.fail(
        connection,
        new InvalidFrameError(
          type === null ? 'frame has no type' : `unknown frame type ${JSON.stringify(type).slice(0, 60)}`,
        ),
        envelope.id,
      );
      return;
    }
    this.options.metrics.wsFrames.inc({ type: envelope.type });
    try {
      this.options.limits.checkUser(connection.principal.userId);
    } catch (error) {
      this.fail(connection, error, envelope.id);
      return;
    }
    this.dispatch(connection, envelope.raw, envelope.id);
  }

  /** Handles a frame now, or queues it (and pauses the socket) while the socket has its fill in flight. */
  private dispatch(connection: Connection, raw: unknown, id: FrameId): void {
    if (connection.inFlight >= MAX_FRAMES_IN_FLIGHT) {
      connection.waiting.push({ raw, id });
      connection.ws.pause();
      return;
    }
    connection.inFlight++;
    this.handle(connection, raw, id)
      .catch((error: unknown) => this.fail(connection, error, id))
      .finally(() => {
        connection.inFlight--;
        const next = connection.waiting.shift();
        if (next) this.dispatch(connection, next.raw, next.id);
        else if (connection.refusalPause === undefined) connection.ws.resume();
      });
  }

  private async handle(connection: Connection, raw: unknown, id: FrameId): Promise<void> {
    const frame = parseWith(this.frameSchema, raw, 'frame');
    const { userId } = connection.principal;
    switch (frame.type) {
      case 'ping':
        sendFrame(connection.ws, { type: 'pong', ...(id !== undefined ? { id } : {}) });
        return;
      case 'thread.subscribe': {
        await getThread(this.statements(userId, frame.threadId), frame.threadId);
        if (connection.ws.readyState !== WebSocket.OPEN) return;
        this.fanOut.subscribe(connection, frame.threadId);
        sendFrame(connection.ws, { type: 'ack', ...(id !== undefined ? { id } : {}) });
        return;
      }
      case 'thread.unsubscribe':
        this.fanOut.unsubscribe(connection, frame.threadId);
        sendFrame(connection.ws, { type: 'ack', ...(id !== undefined ? { id } : {}) });
        return;
      case 'message.send': {
        // a retried send carries the same client id and gets the stored message back, not a duplicate
        const clientMessageId =
          frame.clientMessageId ?? (typeof id === 'string' && id.length >= 16 && isStorableText(id) ? id : null);
        const message = await postMessage(
          this.statements(userId, frame.threadId),
          frame.threadId,
          frame.content,
          clientMessageId,
        );
        this.options.onCommitted();
        sendFrame(connection.ws, { type: 'ack', ...(id !== undefined ? { id } : {}), message });
        return;
      }
    }
  }

  /** Each statement a whole request-scoped session for the frame's user, in one round trip. */
  private statements(userId: string, threadId: string): StatementRunner {
    const { factory, limits } = this.options;
    return {
      query: (text, values) => limits.sessions.run(userId, () => factory.query({ userId, threadId }, text, values)),
    };
  }

  private fail(connection: Connection, error: unknown, id: FrameId): void {
    const reply = errorReply(error, this.options.breakerCooldownMs);
    this.options.metrics.requestErrors.inc({ code: reply.code, transport: 'websocket' });
    if (!(error instanceof TetherError))
      this.options.logger.error(
        { error: (error as Error)?.message, stack: (error as Error)?.stack },
        'WebSocket frame failed',
      );
    sendFrame(connection.ws, {
      type: 'error',
      ...(id !== undefined ? { id } : {}),
      code: reply.code,
      message: reply.message,
      ...(reply.retryAfterSeconds !== null ? { retryAfter: reply.retryAfterSeconds } : {}),
    });
    if (reply.status === 429) this.pauseAfterRefusal(connection, reply.retryAfterSeconds);
  }

  /** A refused client's socket is not read for a while, so frames sent without waiting cost nothing. */
  private pauseAfterRefusal(connection: Connection, retryAfterSeconds: number | null): void {
    const pauseMs = this.options.limits.refusalPauseOf(retryAfterSeconds);
    if (pauseMs <= 0 || connection.refusalPause !== undefined) return;
    connection.ws.pause();
    connection.framesInPause = 0;
    connection.refusalPause = setTimeout(() => {
      connection.refusalPause = undefined;
      if (connection.waiting.length === 0) connection.ws.resume();
    }, pauseMs);
  }
}
