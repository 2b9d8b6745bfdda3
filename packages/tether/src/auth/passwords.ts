import { randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FairQueue } from '@tether/sessions';

/**
 * Password hashes with scrypt, stored self-describing as `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url) so
 * that the cost can grow without invalidating old hashes.
 *
 * A hash is the one request step that holds a core for tens of milliseconds, and anyone can ask for one (a login
 * with a made-up email costs the same as a real one). So hashes are background work:
 * - at most half the cores compute them at once (at least one), on threads of their own;
 * - those threads run at a lower CPU priority (nice 10, on Linux): request handling is served first, and a burst of
 *   logins slows the logins, not everyone else;
 * - waiting hashes are served round-robin by client (its address): a spray of logins from one address does not
 *   stand in front of another client's login.
 */
const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const HASH_CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));
/** The nice value of the hashing threads (0 is normal; higher yields the CPU to everything else). */
export const HASH_THREAD_NICENESS = 10;

// A worker thread of its own (evaluated from this text: it needs no file beside the compiled module). It lowers
// its own thread's priority where the system lets one thread do that (Linux: setpriority on the thread id), says
// which thread it is, then computes one scrypt at a time.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
let threadId = null;
try {
  threadId = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(threadId, ${HASH_THREAD_NICENESS});
} catch {}
parentPort.postMessage({ threadId });
parentPort.on('message', ({ password, salt, logN, r, p }) => {
  try {
    const N = 2 ** logN;
    const key = scryptSync(password, salt, ${KEY_LENGTH}, { N, r, p, maxmem: 256 * N * r });
    parentPort.postMessage({ key });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
});
`;

interface HashTask {
  readonly password: string;
  readonly salt: Buffer;
  readonly logN: number;
  readonly r: number;
  readonly p: number;
  resolve(key: Buffer): void;
  reject(error: Error): void;
}

interface HashThread {
  readonly worker: Worker;
  /** The operating system's id of the thread (Linux), once it said so. */
  threadId: number | null;
  task: HashTask | null;
}

const threads: HashThread[] = [];
const waiting = new FairQueue<HashTask>();

/** Hashes being computed and waiting for their turn, how many may run at once, and the hashing threads' ids. */
export function passwordHashing(): {
  running: number;
  waiting: number;
  concurrency: number;
  threadIds: number[];
} {
  return {
    running: threads.filter((t) => t.task !== null).length,
    waiting: waiting.size,
    concurrency: HASH_CONCURRENCY,
    threadIds: threads.flatMap((t) => (t.threadId === null ? [] : [t.threadId])),
  };
}

function startThread(): HashThread {
  // a script of its own (CommonJS) whatever flags the process runs with (`--input-type=module` would make it ESM)
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  worker.unref(); // an idle hashing thread never keeps the process alive (one computing a hash does: see give)
  const thread: HashThread = { worker, threadId: null, task: null };
  worker.on('message', (message: { threadId?: number | null; key?: Uint8Array; error?: string }) => {
    if ('threadId' in message) {
      thread.threadId = message.threadId ?? null;
      return;
    }
    const task = thread.task;
    thread.task = null;
    if (message.key) task?.resolve(Buffer.from(message.key));
    else task?.reject(new Error(`password hashing failed: ${message.error ?? 'unknown error'}`));
    const waiter = waiting.shift();
    if (waiter) give(thread, waiter);
    else worker.unref();
  });
  const lost = (error: Error): void => {
    const at = threads.indexOf(thread);
    if (at < 0) return;
    threads.splice(at, 1);
    thread.task?.reject(error);
    thread.task = null;
    const task = waiting.shift();
    if (task) dispatch(task); // a new thread takes the next one
  };
  worker.on('error', lost);
  worker.on('exit', (code) => lost(new Error(`password hashing thread exited (${code})`)));
  threads.push(thread);
  return thread;
}

function give(thread: HashThread, task: HashTask): void {
  thread.task = task;
  thread.worker.ref(); // a hash someone awaits keeps the process alive until it is done
  const { password, salt, logN, r, p } = task;
  thread.worker.postMessage({ password, salt, logN, r, p });
}

/** A free thread (a new one while fewer than the limit run) computes the task; false if every thread is busy. */
function dispatch(task: HashTask): boolean {
  const free = threads.find((t) => t.task === null) ?? (threads.length < HASH_CONCURRENCY ? startThread() : null);
  if (free) give(free, task);
  return free !== null;
}

function derive(client: string, password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const task: HashTask = { password: password.normalize('NFKC'), salt, logN, r, p, resolve, reject };
    if (!dispatch(task)) waiting.push(client, task);
  });
}

/** `client` (its address) is whose turn it is among waiting hashes. */
export async function hashPassword(password: string, logN = 14, client = ''): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(client, password, salt, logN, BLOCK_SIZE, PARALLELISM);
  return ['scrypt', logN, BLOCK_SIZE, PARALLELISM, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison; a malformed stored hash verifies nothing. */
export async function verifyPassword(password: string, stored: string, client = ''): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 24) return false;
  const expected = Buffer.from(parts[5] as string, 'base64url');
  const key = await derive(client, password, Buffer.from(parts[4] as string, 'base64url'), logN, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to verify against when the user does not exist, so that timing does not tell which emails are registered. */
export function decoyHash(logN: number): Promise<string> {
  return hashPassword(randomBytes(12).toString('hex'), logN);
}
