import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokens, AuthenticationError, loadSigningSecret } from 'tether/auth';
import { failureOf } from '@tether/testing';

const secret = new TextEncoder().encode('s'.repeat(40));
const USER = '6f1c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f';
const SID = '0e9d8c7b-6a59-4483-a271-605f4e3d2c1b';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await failureOf<AuthenticationError>(promise);
  expect(error).toBeInstanceOf(AuthenticationError);
  return error.code;
}

describe('access tokens', () => {
  it('round-trips the user, the login session and the expiry', async () => {
    const tokens = new AccessTokens(secret, 60);
    const { token, expiresIn } = await tokens.issue(USER, SID);
    expect(expiresIn).toBe(60);
    const claims = await tokens.verify(token);
    expect(claims.userId).toBe(USER);
    expect(claims.sessionId).toBe(SID);
    expect(claims.expiresAt).toBeGreaterThan(Date.now() + 55_000);
    expect(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'JWT',
    });
  });

  it('refuses alg none, another key, another algorithm, expiry, and no token at all with distinct codes', async () => {
    const tokens = new AccessTokens(secret, 60);
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 60;
    const claims = { sub: USER, sid: SID, iss: 'tether', aud: 'tether-api', exp };
    expect(await codeOf(tokens.verify(`${b64({ alg: 'none' })}.${b64(claims)}.`))).toBe('token_invalid');
    const otherKey = await new SignJWT({ sid: SID })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(USER)
      .setIssuer('tether')
      .setAudience('tether-api')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode('o'.repeat(40)));
    expect(await codeOf(tokens.verify(otherKey))).toBe('token_invalid');
    const hs512 = await new SignJWT({ sid: SID })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(USER)
      .setIssuer('tether')
      .setAudience('tether-api')
      .setExpirationTime(exp)
      .sign(secret);
    expect(await codeOf(tokens.verify(hs512))).toBe('token_invalid');
    const noSid = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(USER)
      .setIssuer('tether')
      .setAudience('tether-api')
      .setExpirationTime(exp)
      .sign(secret);
    expect(await codeOf(tokens.verify(noSid))).toBe('token_invalid');
    const expired = await new SignJWT({ sid: SID })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(USER)
      .setIssuer('tether')
      .setAudience('tether-api')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 5)
      .sign(secret);
    expect(await codeOf(tokens.verify(expired))).toBe('token_expired');
    expect(await codeOf(tokens.verify(undefined))).toBe('token_missing');
    expect(await codeOf(tokens.verify('garbage'))).toBe('token_invalid');
  });
});

describe('the signing secret', () => {
  it('is generated once into the data directory with mode 600 and read back on the next start', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tether-secret-'));
    try {
      const first = loadSigningSecret(undefined, path.join(dir, 'data'));
      const file = path.join(dir, 'data', 'jwt-secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').length).toBeGreaterThanOrEqual(32);
      expect(loadSigningSecret(undefined, path.join(dir, 'data'))).toEqual(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a configuration error, at once, when its directory cannot be created (a path under /proc)', () => {
    // in a child process with a time limit: Node's recursive mkdirSync spins for ever on such a path, and a loop in
    // this process could not be timed out (the compiled module, as in passwords.test.ts: npm test builds first)
    const auth = fileURLToPath(new URL('../../../dist/auth/index.js', import.meta.url));
    const script =
      `import { loadSigningSecret } from ${JSON.stringify(auth)};` +
      "try { loadSigningSecret(undefined, '/proc/tether-no-such-dir/data'); }" +
      ' catch (e) { console.log(e.name, e.message); }';
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.signal).toBeNull();
    expect(run.stdout).toMatch(
      /^ConfigurationError cannot read or create the signing secret \/proc\/tether-no-such-dir/,
    );
  });

  it('is the configured one when given, and nothing is written', () => {
    expect(new TextDecoder().decode(loadSigningSecret('c'.repeat(32), '/nonexistent/never-created'))).toBe(
      'c'.repeat(32),
    );
  });
});
