import pg from 'pg';
import type { ConnectionPool, SessionClient } from '@tether/sessions';

type Submitted = {
  text: string;
  name?: string;
  prelude?: readonly { name: string }[];
  callback: (error: undefined, result: object) => void;
};

const ANSWER = { command: 'SELECT', rows: [], rowCount: 0, oid: 0, fields: [] };

/**
 * A pg client without a server, for the session layer's own work: it answers every query object it is handed on
 * the next microtask (as a resolved promise would). A `pg.Client`, so that the factory takes the path it takes
 * in production (one-batch statements, pg's query objects). With `record`, it also keeps what it was handed,
 * one entry per round trip: a batch's prelude statement names and its statement, Tether's own statements by
 * name, anything else by its text; and answers each with the command its text starts with.
 */
export class AnsweringClient extends pg.Client {
  readonly processID = 1;
  readonly sent: string[] = [];

  constructor(private readonly record = false) {
    super();
  }

  override query(query: unknown): never {
    const submitted = query as Submitted;
    let answer: object = ANSWER;
    if (this.record) {
      const statement = submitted.name?.startsWith('tether:') ? submitted.name : submitted.text;
      this.sent.push([...(submitted.prelude ?? []).map((p) => p.name), statement].join(' + '));
      answer = { ...ANSWER, command: submitted.text.trim().split(/\s/)[0]?.toUpperCase() };
    }
    queueMicrotask(() => submitted.callback(undefined, answer));
    return undefined as never;
  }

  release(): void {}

  override getTransactionStatus(): 'I' {
    return 'I';
  }
}

/** A pool that lends `client` to every session (`new SessionFactory({ pool })`). */
export function poolOf(client: AnsweringClient): ConnectionPool {
  return {
    connect: () => Promise.resolve(client as unknown as SessionClient),
    query: () => Promise.resolve(undefined),
    end: () => Promise.resolve(),
    on: () => undefined,
    totalCount: 1,
    idleCount: 1,
    waitingCount: 0,
  };
}
