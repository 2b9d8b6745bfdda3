import { randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OutboxRelay, PostgresBroadcaster } from 'tether/broadcast';
import { captureLogger, createScratchDatabase, eventually, type ScratchDatabase } from '@tether/testing';

// The relay's connection once came from pg's Pool, which takes its error listener off a new connection before
// handing it out: a backend ended just as the connection became ready (its server dying, an administrator's
// pg_terminate_backend), read in the same chunk as the first ReadyForQuery, was an 'error' event without a
// listener, and the process ended. Reproduced with real parts: a backend really terminated, and a link that
// delivers the server's bytes late and together (a TCP proxy holding them), as a loaded machine reads them.

const CHANNEL = 'relay_connection_test';
const APP = 'tether-relay-connection-test';

/** AuthenticationOk: after it the server sends the rest of the start-up and ReadyForQuery without waiting. */
const AUTHENTICATION_OK = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);

/**
 * A TCP proxy to PostgreSQL that, while holding, keeps what the server sends from its AuthenticationOk on (the
 * authentication's round trips pass) and delivers it later in one write.
 */
class HoldingProxy {
  holding = true;
  private readonly server = net.createServer((client) => this.relay(client));
  private readonly held: Array<{ client: net.Socket; chunks: Buffer[] }> = [];

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stops holding and delivers what each connection's server sent, each connection's bytes in one write. */
  release(): void {
    this.holding = false;
    for (const { client, chunks } of this.held.splice(0)) if (!client.destroyed) client.write(Buffer.concat(chunks));
  }

  heldBytes(): number {
    return this.held.reduce((sum, h) => sum + h.chunks.reduce((n, c) => n + c.length, 0), 0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    const server = net.connect(this.target.port, this.target.host);
    const held = { client, chunks: [] as Buffer[] };
    client.on('data', (d) => server.write(d));
    server.on('data', (d: Buffer) => {
      if (this.holding && !this.held.includes(held) && d.includes(AUTHENTICATION_OK)) this.held.push(held);
      if (this.held.includes(held)) held.chunks.push(d);
      else client.write(d);
    });
    // the server's end is delivered after what is held (release() writes it first)
    server.on('close', () => setImmediate(() => (this.held.includes(held) ? undefined : client.end())));
    server.on('error', () => client.destroy());
    client.on('error', () => server.destroy());
    client.on('close', () => server.destroy());
  }
}

let db: ScratchDatabase;
let admin: pg.Client;
beforeAll(async () => {
  db = await createScratchDatabase(inject('adminDatabaseUrl'));
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

const relayBackend = async (): Promise<{ pid: number; state: string } | undefined> =>
  (
    await admin.query<{ pid: number; state: string }>(
      'SELECT pid, state FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [APP],
    )
  ).rows[0];

describe('the outbox relay connection', () => {
  it('survives its backend ending in the same read as its first ReadyForQuery, then publishes again', async () => {
    const target = new URL(db.url);
    const proxy = new HoldingProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${await proxy.listen()}`;
    const logs = captureLogger();
    const broadcaster = new PostgresBroadcaster({
      connectionString: db.url,
      channel: CHANNEL,
      applicationName: 'tether-relay-connection-test-listener',
      logger: logs.logger,
    });
    const relay = new OutboxRelay({
      connectionString: proxied.toString(),
      applicationName: APP,
      broadcaster,
      intervalMs: 100,
      batchSize: 10,
      logger: logs.logger,
    });
    const heard: string[] = [];
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${CHANNEL}`);
    try {
      relay.start();
      // the backend is ready (idle: it has sent ReadyForQuery, which the proxy holds); end it, hold its FATAL too
      expect(await eventually(async () => (await relayBackend())?.state === 'idle', 10_000, 20)).toBe(true);
      const before = proxy.heldBytes();
      await admin.query('SELECT pg_terminate_backend($1)', [(await relayBackend())?.pid]);
      expect(await eventually(async () => proxy.heldBytes() > before, 5_000, 10)).toBe(true);
      proxy.release(); // ReadyForQuery and the FATAL arrive in one read

      const id = randomUUID();
      await admin.query('INSERT INTO broadcast_outbox (event) VALUES ($1)', [
        { kind: 'member.removed', id, threadId: randomUUID(), userId: randomUUID() },
      ]);
      relay.kick();
      expect(await eventually(async () => heard.some((p) => p.includes(id)), 10_000)).toBe(true);
      expect(relay.published).toBeGreaterThanOrEqual(1);
    } finally {
      await relay.close();
      await listener.end();
      await proxy.close();
    }
  });
});
