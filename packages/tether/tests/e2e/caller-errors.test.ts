import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, registerAndLogin, serverForFile } from '@tether/testing';

// What a caller can cause at will is the caller's problem: it is answered with a 4xx and logged below `warn`, so
// that no user can fill the error log. The test server keeps every record at `warn` and above.

const file = serverForFile();

/** An address of exactly `length` characters: a 64-character local part and domain labels of at most 63. */
function emailOf(length: number): string {
  const local = 'a'.repeat(64);
  let domain = 'com';
  while (local.length + 1 + domain.length < length) {
    const room = length - (local.length + 1 + domain.length) - 1; // the label's dot
    domain = `${'b'.repeat(Math.min(63, room))}.${domain}`;
  }
  return `${local}@${domain}`;
}

describe('caller errors', () => {
  it('a signed-in GET /threads/<absent id>/messages is a 404 that logs nothing at warn or above', async () => {
    const user = await registerAndLogin(file.server.url);
    const before = file.server.logs.length;
    for (let i = 0; i < 5; i++) {
      const response = await api(file.server.url, `/threads/${randomUUID()}/messages`, { token: user.accessToken });
      expect(response.status).toBe(404);
    }
    const nonUuid = await api(file.server.url, '/threads/not-a-uuid/messages', { token: user.accessToken });
    expect(nonUuid.status).toBe(404);
    expect(file.server.logs.slice(before)).toEqual([]);
  });

  it('refuses an email longer than 254 characters (RFC 5321) and accepts one of 254', async () => {
    const long = emailOf(255);
    expect(long.length).toBe(255);
    const refused = await api(file.server.url, '/auth/register', { body: { email: long, password: 'password123' } });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining('254') } });
    const fits = emailOf(254);
    expect(fits.length).toBe(254);
    expect(
      (await api(file.server.url, '/auth/register', { body: { email: fits, password: 'password123' } })).status,
    ).toBe(201);
    const reported = `${'x'.repeat(64)}@${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(63)}.${'v'.repeat(42)}.com`;
    expect(reported.length).toBe(303);
    expect(
      (await api(file.server.url, '/auth/register', { body: { email: reported, password: 'password123' } })).status,
    ).toBe(400);
  });
});
