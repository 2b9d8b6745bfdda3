import { clientFrameSchemas, serverFrameSchemas } from '../ws/frames.js';
import { jsonSchema } from './route-schema.js';

const DESCRIPTION = `One WebSocket per client at \`/ws\`. Frames are JSON objects with a \`type\`.

Authentication: the access token from \`POST /auth/login\` as \`?access_token=…\` or as the subprotocol pair
\`bearer, <token>\`. A missing or bad token closes the socket with 4401; so does a login session that is revoked
or expires while the socket is open (within seconds, on every instance).

Answers: every client frame that carries an \`id\` (any string or number) is answered by exactly one frame with
that same \`id\`: \`pong\` for \`ping\`, \`ack\` for \`thread.subscribe\`, \`thread.unsubscribe\` and \`message.send\`,
or \`error\`. Up to 8 frames of one socket are handled at once, so answers may arrive in another order than the
frames were sent: match them by \`id\`. A frame that is not JSON or has an unknown \`type\` gets an \`error\`
(without \`id\` when none can be read), and the socket stays open. JSON nested deeper than 64 levels (the
\`server.maxJsonDepth\` setting) gets \`nesting_too_deep\`, without an \`id\`: it is refused before it is read.

Limits: frames count against the user's request rate, shared with HTTP; past it a frame gets an \`error\` with
\`code\` rate_limited and \`retryAfter\` (seconds), and the socket stays open but is not read for up to a second
(\`limits.refusalPauseMs\`): frames sent meanwhile wait, and more than 16 of them close it with 4429 and the reason
rate_limited. A user holds at most 32 open sockets
per instance (\`limits.websocketsPerUser\`): one more is closed with 4429 and the reason websocket_limit_reached. An
address past its request rate has its upgrade answered 429 with Retry-After.

Acks: the \`ack\` of \`message.send\` carries the stored \`message\` (its \`id\`, \`threadId\`, \`content\` and
\`createdAt\`); the other acks carry only the \`id\`. \`message\` frames (no \`id\`) arrive for every message in a
subscribed thread, written through any instance, including the sender's own.

Database trouble answers with an \`error\` frame whose \`code\` is database_unavailable, circuit_open,
pool_exhausted or session_timeout and whose \`retryAfter\` says when to retry. Close codes: 1001 the server is
shutting down, 1013 try again later (the database was unreachable while the socket opened), 4401 authentication,
4429 too many sockets of this user.`;

const ref = (path: string): { $ref: string } => ({ $ref: path });

/** The AsyncAPI 3.0 document of `/ws`, its payloads generated from the frames' zod schemas. */
export function asyncApiDocument(version: string, maxMessageLength: number, host: string): Record<string, unknown> {
  const client = clientFrameSchemas(maxMessageLength);
  const messages: Record<string, unknown> = {};
  for (const [type, schema] of Object.entries(client))
    messages[type] = {
      name: type,
      title: `${type} (client → server)`,
      summary: schema.description,
      payload: jsonSchema(schema),
    };
  for (const [type, schema] of Object.entries(serverFrameSchemas))
    messages[type] = {
      name: type,
      title: `${type} (server → client)`,
      summary: schema.description,
      payload: jsonSchema(schema, 'output'),
    };
  const channelMessages = Object.fromEntries(
    Object.keys(messages).map((name) => [name, ref(`#/components/messages/${name}`)]),
  );
  const inChannel = (name: string): { $ref: string } => ref(`#/channels/ws/messages/${name}`);
  const answers: Record<keyof typeof client, string[]> = {
    ping: ['pong', 'error'],
    'thread.subscribe': ['ack', 'error'],
    'thread.unsubscribe': ['ack', 'error'],
    'message.send': ['ack', 'error'],
  };
  const operations: Record<string, unknown> = {};
  for (const [type, replies] of Object.entries(answers)) {
    operations[`receive ${type}`] = {
      action: 'receive',
      channel: ref('#/channels/ws'),
      summary: client[type as keyof typeof client].description,
      messages: [inChannel(type)],
      reply: { channel: ref('#/channels/ws'), messages: replies.map(inChannel) },
    };
  }
  operations['send message'] = {
    action: 'send',
    channel: ref('#/channels/ws'),
    summary: serverFrameSchemas.message.description,
    messages: [inChannel('message')],
  };
  return {
    asyncapi: '3.0.0',
    info: { title: 'Tether WebSocket API', version, description: DESCRIPTION },
    defaultContentType: 'application/json',
    servers: {
      tether: {
        host,
        protocol: 'ws',
        pathname: '/ws',
        security: [
          ref('#/components/securitySchemes/accessTokenQuery'),
          ref('#/components/securitySchemes/bearerSubprotocol'),
        ],
      },
    },
    channels: {
      ws: {
        address: '/ws',
        messages: channelMessages,
        bindings: {
          ws: {
            query: {
              type: 'object',
              properties: { access_token: { type: 'string', description: 'the access token' } },
            },
          },
        },
      },
    },
    operations,
    components: {
      messages,
      securitySchemes: {
        accessTokenQuery: {
          type: 'httpApiKey',
          name: 'access_token',
          in: 'query',
          description: 'The access token from POST /auth/login.',
        },
        bearerSubprotocol: {
          type: 'httpApiKey',
          name: 'Sec-WebSocket-Protocol',
          in: 'header',
          description: 'The pair `bearer, <accessToken>`; the server agrees to `bearer`.',
        },
      },
    },
  };
}
