import { describe, expect, it } from 'vitest';
import { SessionFactory } from '@tether/sessions';
// the stub client the factory-bookkeeping benchmark uses (it lives with the benchmarks, which may not import testing/)
import { AnsweringClient, poolOf } from '@tether/harness';

const USER = '00000000-0000-4000-8000-000000000001';

function recordingFactory(): { factory: SessionFactory; sent: string[] } {
  const client = new AnsweringClient(true);
  return { factory: new SessionFactory({ pool: poolOf(client) }), sent: client.sent };
}

describe('round trips of a withSession session', () => {
  it("sends a callback's one returned statement as the whole transaction: one batch, no BEGIN, no COMMIT", async () => {
    const { factory, sent } = recordingFactory();
    await factory.withSession({ userId: USER }, (s) => s.query('SELECT 1'));
    expect(sent).toEqual(['tether:context + SELECT 1']);
    await factory.close();
  });

  it('keeps BEGIN … COMMIT for a callback that awaits its statement (it may send another)', async () => {
    const { factory, sent } = recordingFactory();
    await factory.withSession({ userId: USER }, async (s) => {
      await s.query('SELECT 1');
    });
    expect(sent).toEqual(['tether:begin + tether:context + SELECT 1', 'COMMIT']);
    await factory.close();
  });

  it('sends statements issued together in the order they were issued, in one transaction', async () => {
    const { factory, sent } = recordingFactory();
    await factory.withSession({ userId: USER }, (s) => {
      void s.query('SELECT 1');
      return s.query('SELECT 2');
    });
    expect(sent).toEqual(['tether:begin + tether:context + SELECT 1', 'SELECT 2', 'COMMIT']);
    await factory.close();
  });

  it('runs transaction-block-only statements after BEGIN (BEGIN … COMMIT in one write), both ways', async () => {
    const { factory, sent } = recordingFactory();
    await factory.withSession({ userId: USER }, (s) => s.query('LOCK TABLE threads IN SHARE MODE'));
    await factory.query({ userId: USER }, '  savepoint before_change');
    expect(sent).toEqual([
      'BEGIN',
      'tether:context',
      'LOCK TABLE threads IN SHARE MODE',
      'COMMIT',
      'BEGIN',
      'tether:context',
      '  savepoint before_change',
      'COMMIT',
    ]);
    await factory.close();
  });

  it('sends a statement issued before the callback throws, and evicts the connection it left unanswered', async () => {
    const { factory, sent } = recordingFactory();
    const failure = factory.withSession({ userId: USER }, (s) => {
      void s.query('SELECT 1');
      throw new Error('callback failed');
    });
    await expect(failure).rejects.toThrow('callback failed');
    expect(sent).toEqual(['tether:begin + tether:context + SELECT 1']);
    expect(factory.poolMetrics().dirtyEvicted).toBe(1);
    await factory.close();
  });

  it('sends a held statement before anything else the callback does: commit, queryAndCommit', async () => {
    const { factory, sent } = recordingFactory();
    // committing without awaiting the statement: as before, the statement is sent and the connection, with the
    // statement unanswered, is evicted rather than lent again
    await factory.withSession({ userId: USER }, (s) => {
      void s.query('SELECT 1');
      return s.commit();
    });
    expect(sent).toEqual(['tether:begin + tether:context + SELECT 1']);
    expect(factory.poolMetrics().dirtyEvicted).toBe(1);
    // a session that has a statement is not fresh: queryAndCommit refuses it, after the statement went out
    const refused = factory.withSession({ userId: USER }, (s) => {
      void s.query('SELECT 2');
      return s.queryAndCommit('SELECT 3');
    });
    await expect(refused).rejects.toThrow('is not fresh');
    expect(sent.slice(1)).toEqual(['tether:begin + tether:context + SELECT 2', 'ROLLBACK']);
    await factory.close();
  });

  it('refuses a statement after a one-statement transaction ended, rather than run it outside it', async () => {
    const { factory, sent } = recordingFactory();
    const session = await factory.openSession({ userId: USER });
    await session.queryAndCommit('SELECT 1');
    await expect(session.query('SELECT 2')).rejects.toThrow('has ended its transaction');
    await session.commit();
    expect(sent).toEqual(['tether:context + SELECT 1']);
    await factory.close();
  });

  it('leaves an anonymous session in autocommit: the statement alone', async () => {
    const { factory, sent } = recordingFactory();
    await factory.withSession({}, (s) => s.query('SELECT 1'));
    expect(sent).toEqual(['SELECT 1']);
    await factory.close();
  });
});
