import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_FRAMES_IN_FLIGHT } from 'tether/server';
import { api, createScratchDatabase, eventually, openSocket, registerAndLogin, startTestServer, type Frame, type ScratchDatabase, type TestServer } from '@tether/testing';

// One client that sends as fast as it can must neither take the whole pool from everyone else nor make the
// server queue its frames without bound: past a few frames in flight its socket is paused, and TCP slows it.

let db: ScratchDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  server = await startTestServer({ databaseUrl: db.url, config: { pool: { max: 20 } } });
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('WebSocket backpressure', () => {
  it(`answers a burst of 300 frames from one socket in full, with at most ${MAX_FRAMES_IN_FLIGHT} of them holding sessions at once`, async () => {
    const user = await registerAndLogin(server.url);
    const thread = await api<{ id: string }>(server.url, '/threads', { token: user.accessToken, body: { title: 'burst' } });
    const socket = await openSocket(server.wsUrl, user.accessToken);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    const factory = server.server.factory;
    expect(await eventually(() => factory.poolMetrics().activeSessions === 0, 3_000)).toBe(true);
    const peakBefore = factory.poolMetrics().peakConcurrent;

    const answers: Array<Promise<Frame>> = [];
    for (let i = 0; i < 300; i++) {
      const id = `burst-${i}`;
      answers.push(socket.next((f) => f.id === id, 30_000));
      socket.send({ type: 'message.send', id, threadId: thread.body.id, content: `message ${i}` });
    }
    const frames = await Promise.all(answers);
    expect(frames.filter((f) => f.type !== 'ack')).toEqual([]);
    expect(new Set(frames.map((f) => (f.message as { id: string }).id)).size).toBe(300);
    // 300 frames at once on a pool of 20 would hold all 20 connections without the limit
    expect(factory.poolMetrics().peakConcurrent).toBeLessThanOrEqual(Math.max(peakBefore, MAX_FRAMES_IN_FLIGHT + 1));
    expect(factory.poolMetrics().exhaustionEvents).toBe(0);
    // still responsive after the burst
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await socket.close();
  });
});
