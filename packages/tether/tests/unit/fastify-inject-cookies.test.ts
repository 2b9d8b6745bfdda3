import { createRequire } from 'node:module';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';

// The root package.json overrides `cookie` (light-my-request's, used by fastify's inject()) with 1.1.1, whose
// engines accept Node 20 where cookie 2.x asks for Node 22. inject() must still send cookies with it.

describe('fastify inject() with the overridden cookie package', () => {
  it('resolves cookie 1.1.1 and sends the cookies given to inject()', async () => {
    const fromLightMyRequest = createRequire(createRequire(import.meta.url).resolve('fastify')).resolve(
      'light-my-request',
    );
    const cookieManifest = createRequire(fromLightMyRequest)('cookie/package.json') as {
      version: string;
      engines: { node: string };
    };
    expect(cookieManifest.version).toBe('1.1.1');
    expect(cookieManifest.engines.node).toBe('>=18');

    const app = Fastify();
    app.get('/', async (request) => ({ cookie: request.headers.cookie }));
    const reply = await app.inject({ method: 'GET', url: '/', cookies: { theme: 'dark', sid: 'a b' } });
    expect(reply.json()).toEqual({ cookie: 'theme=dark; sid=a%20b' });
    await app.close();
  });
});
