import { describe, expect, it } from 'vitest';
import { MAX_FRAMES_IN_FLIGHT } from 'tether/server';
import { api, serverForFile, eventually, openSocket, registerAndLogin, type Frame } from '@tether/testing';

// One client that sends as fast as it can must neither take the whole pool from everyone else nor make the
// server queue its frames without bound: past a few frames in flight its socket is paused, and TCP slows it.

const file = serverForFile({ pool: { max: 20 } });

describe('WebSocket backpressure', () => {
  it(`answers 300 frames from one socket, at most ${MAX_FRAMES_IN_FLIGHT} holding sessions at once`, async () => {
    const user = await registerAndLogin(file.server.url);
    const thread = await api<{ id: string }>(file.server.url, '/threads', {
      token: user.accessToken,
      body: { title: 'burst' },
    });
    const socket = await openSocket(file.server.wsUrl, user.accessToken);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    const factory = file.server.server.factory;
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
    expect(factory.poolMetrics().acquireTimeouts).toBe(0);
    // still responsive after the burst
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await socket.close();
  });
});
