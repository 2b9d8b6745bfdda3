import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { asyncApiDocument } from './asyncapi.js';

export { routeSchema, jsonSchema, AUTH_ERRORS, DATABASE_ERRORS, type RouteDescription } from './route-schema.js';

const ERROR_SHAPE = 'Errors are `{"error": {"code", "message"}}`; each route lists its codes under their HTTP status.';

/**
 * The contract served by the server itself: OpenAPI 3.1 at `/openapi.json` (from the routes' schemas, by
 * `@fastify/swagger`), an interactive page at `/docs`, and the WebSocket contract (AsyncAPI 3) at `/asyncapi.json`.
 * Registered before the routes, so that it sees each of them.
 */
async function apiDocs(app: FastifyInstance, options: { version: string; maxMessageLength: number }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tether HTTP API',
        version: options.version,
        description: `${ERROR_SHAPE} The WebSocket API is described in /asyncapi.json.`,
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The accessToken from POST /auth/login.',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get('/asyncapi.json', { schema: { hide: true } }, (request) =>
    asyncApiDocument(options.version, options.maxMessageLength, request.headers.host ?? 'localhost'),
  );
}

/** Not encapsulated (fastify's `skip-override`): the OpenAPI generator must see the routes registered beside it. */
export const registerApiDocs = Object.assign(apiDocs, { [Symbol.for('skip-override')]: true });
