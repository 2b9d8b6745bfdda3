import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  createScratchDatabase,
  eventually,
  openSocket,
  registerAndLogin,
  startTestServer,
  type Frame,
  type LoggedInUser,
  type ScratchDatabase,
  type TestServer,
  type TestSocket,
} from '@tether/testing';

// Hostile WebSocket frames, property-based (fast-check), against the real server: every client frame that carries
// an id is answered by exactly one frame with that id, a frame without a readable id by exactly one frame without
// one, non-JSON gets an error frame, and the socket stays open. The only frames that end a connection are those
// the WebSocket protocol itself forbids: text that is not UTF-8 (1007) and frames over the size limit (1009).

const MAX_PAYLOAD = 1_048_576; // server.bodyLimitBytes, which is also the WebSocket maxPayload
const RUNS = Number(process.env.TETHER_FUZZ_RUNS ?? 200);
const CLIENT_ERROR_CODES = new Set([
  'invalid_frame',
  'invalid_request',
  'not_found',
  'pool_exhausted',
  'session_timeout',
  'nesting_too_deep',
]);

let db: ScratchDatabase;
let server: TestServer;
let alice: LoggedInUser;
let aliceThread: string;
let framesSent = 0;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  server = await startTestServer({ databaseUrl: db.url });
  alice = await registerAndLogin(server.url);
  aliceThread = (
    await api<{ id: string }>(server.url, '/threads', { token: alice.accessToken, body: { title: 'ws fuzz' } })
  ).body.id;
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

/** The id the server can read from a frame (a string, or a finite number), as a key; `none` when there is none. */
function readableId(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'none';
  }
  if (!value || typeof value !== 'object' || !('id' in value)) return 'none';
  const id = (value as { id: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? JSON.stringify(id) : 'none';
}

const keyOf = (frame: Frame): string => ('id' in frame ? JSON.stringify(frame.id) : 'none');
const count = (keys: string[]): Map<string, number> =>
  keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());

/**
 * Sends `frames` (text, or binary when asked) on `socket` and checks the contract: one answer per frame, each with
 * the id the frame carried (or none), every error typed. Broadcast `message` frames are not answers.
 */
async function exchange(
  socket: TestSocket,
  frames: ReadonlyArray<{ text: string; binary: boolean }>,
): Promise<Frame[]> {
  socket.frames.length = 0;
  for (const f of frames) {
    socket.ws.send(f.binary ? Buffer.from(f.text) : f.text, { binary: f.binary });
    framesSent++;
  }
  const answers = (): Frame[] => socket.frames.filter((f) => f.type !== 'message');
  const complete = await eventually(() => answers().length >= frames.length, 15_000, 10);
  await new Promise((r) => setTimeout(r, complete ? 30 : 0)); // room for a (wrong) second answer to show up
  const got = answers();
  const sent = JSON.stringify(frames.map((f) => f.text.slice(0, 120)));
  const what = `sent ${sent}\ngot ${JSON.stringify(got).slice(0, 2_000)}`;
  expect(Object.fromEntries(count(got.map(keyOf))), what).toEqual(
    Object.fromEntries(count(frames.map((f) => readableId(f.text)))),
  );
  for (const answer of got) {
    expect(['pong', 'ack', 'error'], what).toContain(answer.type);
    if (answer.type === 'error') {
      expect(typeof answer.message, what).toBe('string');
      expect(CLIENT_ERROR_CODES.has(answer.code as string), `error code ${String(answer.code)}: ${what}`).toBe(true);
    }
  }
  expect(socket.ws.readyState, what).toBe(socket.ws.OPEN);
  return got;
}

// ---- arbitraries -------------------------------------------------------------------------------------------

const ODD_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u202e',
  '👩‍👩‍👧‍👦',
  "'); DROP TABLE messages;--",
  "' OR '1'='1",
  '__proto__',
  ' ',
  '',
];
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(...ODD_TEXT),
  fc.constantFrom(199, 200, 201, 9_999, 10_000, 10_001).map((n) => 'x'.repeat(n)),
);
const hostileValue = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, 0, -1, 1e308, [], {}),
);
const TYPES = ['ping', 'thread.subscribe', 'thread.unsubscribe', 'message.send'];
const frameType = fc.oneof(
  fc.constantFrom(...TYPES),
  fc.constantFrom(...TYPES).map((t) => t.toUpperCase()),
  hostileValue,
);
/** Ids: unique valid ones (strings and numbers, so that answers can be matched), and every kind of bad one. */
const frameId = (n: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(`id-${n}`),
    fc.constant(1_000_000 + n),
    fc.constant(-n - 0.5),
    fc.constant(`${'long-id-'.repeat(30)}${n}`), // over 200 characters: refused, yet still answered with it
    fc.constant(`client-message-id-${n}`), // 16+ characters: also the idempotency key of a send
    fc.constant(`${n}\u0000${'z'.repeat(20)}`),
    fc.constantFrom(null, true, {}, [], '', { id: 1 }),
  );
const threadId = fc.oneof(fc.constant('<thread>'), fc.uuid(), hostileValue);

function frameText(n: number): fc.Arbitrary<string> {
  const structured = fc
    .record(
      { type: frameType, id: frameId(n), threadId, content: hostileValue, clientMessageId: hostileValue },
      { requiredKeys: [] },
    )
    .map((f) => JSON.stringify(f).replaceAll('"<thread>"', JSON.stringify(aliceThread)));
  const valid = fc
    .tuple(fc.constantFrom(...TYPES), fc.constantFrom(`id-${n}`, 2_000_000 + n, undefined), hostileString)
    .map(([type, id, content]) =>
      JSON.stringify({ type, id, threadId: aliceThread, content: content === '' ? 'x' : content }),
    );
  const notJson = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }).filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    }),
    fc.constantFrom(
      '{',
      '{"type":"ping","id":',
      "{'type':'ping'}",
      'ping',
      '{"type":"ping","id":1}{"type":"ping"}',
      '{"type":"ping","id":1e999}',
    ),
  );
  return fc.oneof(
    { weight: 3, arbitrary: structured },
    { weight: 2, arbitrary: valid },
    { weight: 1, arbitrary: notJson },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  );
}

const batchOf = (size: number): fc.Arbitrary<Array<{ text: string; binary: boolean }>> =>
  fc.tuple(...Array.from({ length: size }, (_, n) => fc.record({ text: frameText(n), binary: fc.boolean() })));

function serverErrors(): unknown[] {
  return server.logs.filter((l) => {
    if (l.level < 50) return false;
    const code = (l.session as { errorCode?: string } | undefined)?.errorCode;
    return !(l.msg === 'session failed' && code !== undefined && CLIENT_ERROR_CODES.has(code));
  });
}

// ---- properties --------------------------------------------------------------------------------------------

describe('hostile WebSocket frames', () => {
  it('arbitrary frames each get exactly one answer with their id, and the socket stays open', async () => {
    const socket = await openSocket(server.wsUrl, alice.accessToken);
    await fc.assert(
      fc.asyncProperty(batchOf(12), async (frames) => void (await exchange(socket, frames))),
      { numRuns: Math.max(1, Math.ceil((RUNS * 4) / 12)), endOnFailure: true },
    );
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await socket.close();
  });

  it('non-JSON: invalid_frame without an id; a known type with broken fields: invalid_request with it', async () => {
    const socket = await openSocket(server.wsUrl, alice.accessToken);
    const notJson = fc.string({ unit: 'binary', maxLength: 200 }).filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(fc.array(notJson, { minLength: 10, maxLength: 10 }), async (texts) => {
        const answers = await exchange(
          socket,
          texts.map((text) => ({ text, binary: false })),
        );
        for (const a of answers)
          expect(a).toEqual({ type: 'error', code: 'invalid_frame', message: 'frame is not JSON' });
      }),
      { numRuns: Math.max(1, Math.ceil(RUNS / 10)), endOnFailure: true },
    );
    const bad = await exchange(socket, [
      { text: JSON.stringify({ type: 'message.send', id: 'no-thread', content: 'x' }), binary: false },
      {
        text: JSON.stringify({ type: 'message.send', id: 'nul', threadId: aliceThread, content: 'a\u0000b' }),
        binary: false,
      },
      {
        text: JSON.stringify({ type: 'message.send', id: 'surrogate', threadId: aliceThread, content: '\ud800' }),
        binary: false,
      },
      { text: JSON.stringify({ type: 'thread.subscribe', id: 'sql', threadId: "' OR 1=1 --" }), binary: false },
      { text: JSON.stringify({ type: 'ping', id: 'x'.repeat(300) }), binary: false },
      {
        text: JSON.stringify({
          type: 'message.send',
          id: 'too-long',
          threadId: aliceThread,
          content: 'y'.repeat(10_001),
        }),
        binary: true,
      },
    ]);
    for (const a of bad) expect(a, JSON.stringify(a)).toMatchObject({ type: 'error', code: 'invalid_request' });
    await socket.close();
  });

  it('a flood of pings (some sent before authentication finished) is answered, each id exactly once', async () => {
    const socket = await openSocket(server.wsUrl, alice.accessToken); // frames sent at once wait for authentication
    const started = Date.now();
    const pongs = await exchange(
      socket,
      Array.from({ length: 3_000 }, (_, i) => ({
        text: JSON.stringify({ type: 'ping', id: i % 2 ? `p${i}` : i }),
        binary: false,
      })),
    );
    expect(pongs.every((p) => p.type === 'pong')).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    await socket.close();
  });

  it('concurrent message.send frames are each acknowledged or refused once, and every ack stored once', async () => {
    const socket = await openSocket(server.wsUrl, alice.accessToken);
    const sends = Array.from({ length: 200 }, (_, i) => ({
      text: JSON.stringify({ type: 'message.send', id: `send-${i}`, threadId: aliceThread, content: `flood ${i}` }),
      binary: false,
    }));
    const answers = await exchange(socket, sends);
    const acked = answers.filter((a) => a.type === 'ack').map((a) => (a.message as { content: string }).content);
    expect(acked.length).toBeGreaterThan(0);
    const stored = await api<{ items: Array<{ content: string }> }>(server.url, `/threads/${aliceThread}/messages`, {
      token: alice.accessToken,
    });
    const floods = stored.body.items.map((m) => m.content).filter((c) => c.startsWith('flood '));
    expect(floods.sort()).toEqual([...new Set(floods)].sort());
    for (const c of acked) expect(floods).toContain(c);
    await socket.close();
  });

  it(`a frame over ${MAX_PAYLOAD} bytes closes only its socket (1009); a smaller one is answered`, async () => {
    const big = await openSocket(server.wsUrl, alice.accessToken);
    big.send({ type: 'message.send', id: 'big', threadId: aliceThread, content: 'x'.repeat(MAX_PAYLOAD) });
    expect((await big.closed).code).toBe(1009);

    const under = await openSocket(server.wsUrl, alice.accessToken);
    const [answer] = await exchange(under, [
      {
        text: JSON.stringify({
          type: 'message.send',
          id: 'under',
          threadId: aliceThread,
          content: 'x'.repeat(MAX_PAYLOAD - 200),
        }),
        binary: false,
      },
    ]);
    expect(answer).toMatchObject({ type: 'error', id: 'under', code: 'invalid_request' });
    expect(await under.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await under.close();
  });

  it('text that is not UTF-8 closes its socket (1007); such binary is just not JSON; the server goes on', async () => {
    const binary = await openSocket(server.wsUrl, alice.accessToken);
    const [answer] = await exchange(binary, [{ text: '\u0000', binary: true }]);
    expect(answer).toMatchObject({ type: 'error', code: 'invalid_frame' });
    binary.ws.send(Buffer.from([0xff, 0xfe, 0x7b, 0xc3, 0x28]), { binary: true });
    expect(await binary.next((f) => f.type === 'error')).toMatchObject({ code: 'invalid_frame' });
    expect(await binary.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await binary.close();

    const text = await openSocket(server.wsUrl, alice.accessToken);
    text.ws.send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { binary: false });
    expect((await text.closed).code).toBe(1007);
  });

  it('after all of it the server answers /health and new sockets, and logged no error', async () => {
    const socket = await openSocket(server.wsUrl, alice.accessToken);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await socket.close();
    expect((await api(server.url, '/health')).status).toBe(200);
    expect(serverErrors(), JSON.stringify(serverErrors().slice(0, 3))).toEqual([]);
    console.info(`hostile WebSocket frames: ${framesSent} frames`);
  });
});
