import { describe, expect, it } from 'vitest';
import { AuthService, AuthenticationError, type AccessTokens } from 'tether/auth';
import type { SessionFactory } from '@tether/sessions';
import type { LoginManager } from 'tether/logins';
import { api, serverForFile, registerAndLogin, type ApiResponse } from '@tether/testing';

// Login rate limiting (auth.loginAttemptsPerMinute, a fixed one-minute window per account address): past the limit
// every attempt is a 429 with Retry-After and the code rate_limited, the right password included (the limit is no
// oracle), whatever the spelling of the address, for unknown addresses as for known ones; other accounts are not
// affected, and concurrent guesses cannot slip past the count.

const LIMIT = 5;
const file = serverForFile({ auth: { loginAttemptsPerMinute: LIMIT } });

type ErrorBody = { error: { code: string; message: string } };
const attempt = (email: string, password: string): Promise<ApiResponse<ErrorBody>> =>
  api<ErrorBody>(file.server.url, '/auth/login', { body: { email, password } });

function expectLimited(response: ApiResponse<ErrorBody>): void {
  expect(response.status).toBe(429);
  expect(response.body).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('login rate limiting', () => {
  it(`after ${LIMIT} failed logins, every try is a 429 (right password too); other accounts are not`, async () => {
    const [victim, bystander] = await Promise.all([
      registerAndLogin(file.server.url),
      registerAndLogin(file.server.url),
    ]);
    // registerAndLogin logged in once successfully, which resets the count
    for (let i = 0; i < LIMIT; i++) {
      const wrong = await attempt(victim.email, `guess-${i}-wrong`);
      expect(wrong.status, `attempt ${i + 1}`).toBe(401);
      expect(wrong.body.error.code).toBe('invalid_credentials');
    }
    const limitedWrong = await attempt(victim.email, 'guess-after-limit');
    const limitedRight = await attempt(victim.email, victim.password);
    expectLimited(limitedWrong);
    expectLimited(limitedRight);
    // the same answer, right or wrong: nothing to learn from it
    expect(limitedRight.body).toEqual(limitedWrong.body);
    // the address in other spellings is the same account
    expectLimited(await attempt(victim.email.toUpperCase(), victim.password));
    expectLimited(await attempt(`  ${victim.email}  `, victim.password));

    // another account: its own count, its right password works, its wrong ones are 401s
    expect((await attempt(bystander.email, 'not-it-at-all')).status).toBe(401);
    expect((await attempt(bystander.email, bystander.password)).status).toBe(200);
    // the victim's existing session keeps working: the limit is on logins, not on the account
    expect((await api(file.server.url, '/threads', { token: victim.accessToken })).status).toBe(200);
  });

  it('limits an unknown address exactly like a known one (no account enumeration through the limiter)', async () => {
    const known = await registerAndLogin(file.server.url);
    const unknown = `nobody-${Date.now()}@example.com`;
    const answers = async (email: string): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i <= LIMIT; i++) statuses.push((await attempt(email, `wrong-${i}`)).status);
      return statuses;
    };
    const [a, b] = await Promise.all([answers(known.email), answers(unknown)]);
    expect(a).toEqual([...Array<number>(LIMIT).fill(401), 429]);
    expect(b).toEqual(a);
  });

  it('concurrent guesses cannot slip past the count', async () => {
    const target = await registerAndLogin(file.server.url);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => attempt(target.email, i === 29 ? target.password : `parallel-${i}`)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30 - LIMIT - 1);
    expect(statuses.every((s) => s === 401 || s === 429 || s === 200)).toBe(true);
    for (const r of results.filter((x) => x.status === 429)) expectLimited(r);
  });

  it('bad input to login is a 400, not a counted failure that could lock an account out by itself', async () => {
    const user = await registerAndLogin(file.server.url);
    for (let i = 0; i < LIMIT * 2; i++)
      expect((await api(file.server.url, '/auth/login', { body: { email: user.email } })).status).toBe(400);
    expect((await attempt(user.email, user.password)).status).toBe(200);
  });
});

describe('login rate limiting under an address flood', () => {
  it('logins for 100k made-up addresses do not reset the count of the account under attack', async () => {
    // the limiter's bookkeeping in isolation: a database that is never reached past the limit check
    const factory = {
      withSession: () => Promise.reject(new AuthenticationError('invalid_credentials', 'no database here')),
    } as unknown as SessionFactory;
    const auth = new AuthService({
      factory,
      logins: {} as LoginManager,
      tokens: {} as AccessTokens,
      passwordHashCost: 10,
      loginAttemptsPerMinute: LIMIT,
    });
    const outcome = (email: string): Promise<string> =>
      auth.login(email, 'guess').then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      );
    for (let i = 0; i < LIMIT; i++) expect(await outcome('victim@example.com')).toBe('invalid_credentials');
    expect(await outcome('victim@example.com')).toBe('rate_limited');
    const started = Date.now();
    for (let i = 0; i < 100_050; i++) await outcome(`flood-${i}@example.com`);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await outcome('victim@example.com')).toBe('rate_limited');
  });
});
