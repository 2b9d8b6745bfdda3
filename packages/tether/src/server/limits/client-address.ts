import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** The `server.trustProxy` setting: `true`, `false`, a hop count, or addresses and CIDR ranges separated by commas. */
export type TrustProxy = boolean | number | string;

/** Whether the hop-th address of a request's chain is a proxy to believe (fastify's `TrustProxyFunction`). */
export type TrustFunction = (address: string, hop: number) => boolean;

/** The setting compiled as fastify compiles its `trustProxy` (given to fastify in this form, so both agree). */
export function trustFunctionOf(trustProxy: TrustProxy): TrustFunction {
  if (typeof trustProxy === 'boolean') return () => trustProxy;
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  return proxyAddr.compile(trustProxy.split(',').map((part) => part.trim()));
}

/**
 * The client address of a raw request (a WebSocket upgrade, which fastify does not route) as fastify's
 * `request.ip` gives it under the same trust: the per-IP limits count one address per client either way.
 */
export function clientAddressOf(trust: TrustFunction): (request: IncomingMessage) => string {
  return (request) => proxyAddr(request, trust);
}
