import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hashPassword, passwordHashing, verifyPassword } from 'tether/auth';

/** A thread's nice value as the kernel reports it (/proc/<pid>/task/<tid>/stat, field 19). */
function niceOf(threadId: number): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${threadId}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('password hashing with scrypt', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery', 10);
    expect(hash).toMatch(/^scrypt\$10\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
  });

  it('salts every hash, so equal passwords hash differently', async () => {
    expect(await hashPassword('same password', 10)).not.toBe(await hashPassword('same password', 10));
  });

  it('keeps verifying hashes made at another cost', async () => {
    const cheap = await hashPassword('pw-123456', 10);
    const dearer = await hashPassword('pw-123456', 12);
    expect(await verifyPassword('pw-123456', cheap)).toBe(true);
    expect(await verifyPassword('pw-123456', dearer)).toBe(true);
  });

  it('verifies nothing against a malformed stored hash instead of throwing', async () => {
    for (const stored of ['', 'plain', 'scrypt$x$8$1$a$b', 'bcrypt$10$8$1$a$b', 'scrypt$99$8$1$a$b']) {
      expect(await verifyPassword('anything', stored)).toBe(false);
    }
  });

  it('computes at most half the cores of hashes at once; the others wait their turn', async () => {
    const hashes = Array.from({ length: 6 }, (_, i) => hashPassword(`password ${i}`, 10));
    const { running, waiting, concurrency } = passwordHashing();
    expect(concurrency).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
    expect(running).toBe(Math.min(6, concurrency));
    expect(waiting).toBe(6 - running);
    expect(new Set(await Promise.all(hashes)).size).toBe(6);
    expect(passwordHashing()).toMatchObject({ running: 0, waiting: 0 });
  });

  it.runIf(existsSync('/proc/thread-self'))(
    'hashes on threads the kernel runs at a lower priority (nice 10)',
    async () => {
      await hashPassword('any password', 10);
      const { threadIds } = passwordHashing();
      expect(threadIds.length).toBeGreaterThan(0);
      for (const id of threadIds) expect(niceOf(id)).toBe(10);
      expect(niceOf(process.pid)).toBe(0); // the thread that serves requests keeps its priority
    },
  );

  it("serves waiting hashes round-robin by client: one client's burst does not stand in front of another", async () => {
    const { concurrency } = passwordHashing();
    const finished: string[] = [];
    const burst = Array.from({ length: concurrency + 6 }, (_, i) =>
      hashPassword(`spray ${i}`, 12, '203.0.113.9').then(() => finished.push(`spray ${i}`)),
    );
    const other = hashPassword('a real login', 12, '198.51.100.1').then(() => finished.push('other'));
    await Promise.all([...burst, other]);
    // its turn comes after one of the burst's waiting hashes, not after all six
    expect(finished.indexOf('other')).toBeLessThanOrEqual(concurrency + 1);
  });

  it('keeps a process that awaits a hash and nothing else alive until the hash is done', () => {
    // the compiled module, as a script that uses it runs (npm test builds before it tests)
    const auth = fileURLToPath(new URL('../../../dist/auth/index.js', import.meta.url));
    // a second hash, once the hashing thread has been idle (unreferenced), is the one that needs it
    const script =
      `import { hashPassword } from ${JSON.stringify(auth)}; await hashPassword('pw', 10);` +
      "await new Promise((r) => setTimeout(r, 200)); console.log(await hashPassword('pw', 16));";
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^scrypt\$16\$/);
  });
});
