import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** What the server answered to a raw request. `json` is the parsed body, or `undefined` when it is not JSON. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly json: unknown;
}

export interface RawRequest {
  readonly method?: string;
  /** Sent exactly as given: no normalisation of `..`, no re-encoding (unlike `fetch`). */
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  /** A string or bytes, sent as is; no Content-Type is added. */
  readonly body?: string | Buffer;
  /** Send the body with `Transfer-Encoding: chunked` instead of a Content-Length. */
  readonly chunked?: boolean;
  readonly timeoutMs?: number;
}

/**
 * One HTTP request over `node:http`, for hostile input: raw paths, raw bodies, any header. Resolves with the answer
 * even when the server answers early and closes while the body is still being written (413), and rejects only when
 * no answer came at all.
 */
export function rawRequest(baseUrl: string, options: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: {
          ...(options.body !== undefined && !options.chunked
            ? { 'content-length': Buffer.byteLength(options.body) }
            : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 15_000,
        agent: false,
      },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        const finish = (): void => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        };
        response.on('end', finish);
        response.on('error', finish);
        response.on('aborted', finish);
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new Error(
          `no answer to ${options.method ?? 'GET'} ${options.path.slice(0, 80)} ` +
            `within ${options.timeoutMs ?? 15_000} ms`,
        ),
      ),
    );
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (options.body !== undefined) {
      if (options.chunked) {
        // several chunks, so that a streaming limit is exercised and not only the Content-Length check
        const bytes = Buffer.from(options.body);
        const step = 64 * 1024;
        for (let at = 0; at < bytes.length; at += step) req.write(bytes.subarray(at, at + step));
      } else {
        req.write(options.body);
      }
    }
    req.end();
  });
}

/** `depth` levels of nested arrays (`[[[…]]]`) or objects (`{"a":{"a":…}}`) as JSON text, built without recursion. */
export function nestedJson(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
