import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';

/**
 * Password hashes with scrypt from node:crypto, stored self-describing as
 * `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url) so that the cost can grow without invalidating old hashes.
 */
const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

/**
 * Hashes computed at once, process-wide: half the cores (at least one). A hash is the one request step that holds a
 * core for tens of milliseconds; with libuv's four threads, a burst of logins would take every core from everything
 * else. Beyond this, hashes wait their turn.
 */
const HASH_CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));
let hashing = 0;
const waitingToHash: Array<() => void> = [];

/** Hashes being computed and waiting for their turn, and how many may run at once. */
export function passwordHashing(): { running: number; waiting: number; concurrency: number } {
  return { running: hashing, waiting: waitingToHash.length, concurrency: HASH_CONCURRENCY };
}

async function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  if (hashing >= HASH_CONCURRENCY) await new Promise<void>((resolve) => waitingToHash.push(resolve));
  else hashing++;
  const N = 2 ** logN;
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) =>
        error ? reject(error) : resolve(key),
      ),
    );
  } finally {
    const next = waitingToHash.shift();
    if (next)
      next(); // the place passes on: `hashing` stays as it is
    else hashing--;
  }
}

export async function hashPassword(password: string, logN = 14): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, logN, BLOCK_SIZE, PARALLELISM);
  return ['scrypt', logN, BLOCK_SIZE, PARALLELISM, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison; a malformed stored hash verifies nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 24) return false;
  const expected = Buffer.from(parts[5] as string, 'base64url');
  const key = await derive(password, Buffer.from(parts[4] as string, 'base64url'), logN, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to verify against when the user does not exist, so that timing does not tell which emails are registered. */
export function decoyHash(logN: number): Promise<string> {
  return hashPassword(randomBytes(12).toString('hex'), logN);
}
