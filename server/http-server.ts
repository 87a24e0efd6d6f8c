/**
 * The HTTP server of both processes (the deployer, server/start.ts, and the webhook receiver,
 * server/github/webhook-main.ts), and what they refuse before a route runs. Every refusal is a 4xx
 * application/problem+json, also those Node's HTTP parser makes before Hono sees the request:
 *
 * - a request line and headers over MAX_HEADER_BYTES: 414 when the request line (the URL) is what
 *   overflowed, 431 otherwise;
 * - anything else the parser refuses (a NUL or another forbidden byte in a header, a malformed
 *   request line): 400.
 *
 * and, as Hono middleware, a NUL byte (`%00`) anywhere in the path or the query: 400. Postgres
 * refuses NUL in text, so it would otherwise surface as a 500 from the first query using it.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Duplex } from 'node:stream';

/** Node's default, stated: the request line and all headers together. */
export const MAX_HEADER_BYTES = 16 * 1024;

const PROBLEM_BASE = 'https://deployer.dev/problems/';

export interface ServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  hostname?: string;
  port: number;
}

/** @hono/node-server's serve, with the header limit stated and the parser's refusals as problem+json. */
export function serveHttp(options: ServeOptions, onListening?: (info: { port: number }) => void): ServerType {
  const server = serve(
    { fetch: options.fetch, port: options.port, ...(options.hostname ? { hostname: options.hostname } : {}), serverOptions: { maxHeaderSize: MAX_HEADER_BYTES } },
    onListening,
  );
  server.on('clientError', answerClientError);
  return server;
}

/** What a request refused by the parser is answered with (exported for its unit test). */
export function clientErrorProblem(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): { status: number; title: string; detail: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    if (requestLineOverflowed(err.rawPacket)) {
      return { status: 414, title: 'URI too long', detail: `The request line is over ${MAX_HEADER_BYTES} bytes` };
    }
    return { status: 431, title: 'Request header fields too large', detail: `The request line and headers are over ${MAX_HEADER_BYTES} bytes` };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, title: 'Request timeout', detail: 'The request did not arrive in time' };
  return { status: 400, title: 'Bad request', detail: `The request is not valid HTTP (${err.code ?? 'parse error'})` };
}

/**
 * The packet the parser failed on starts with the request line, and that line either does not end
 * in it or alone takes half the limit. (A long header after a short request line is a 431.)
 */
function requestLineOverflowed(rawPacket: Buffer | undefined): boolean {
  if (!rawPacket) return false;
  const text = rawPacket.toString('latin1');
  if (!/^[A-Z]+ /.test(text)) return false;
  const end = text.indexOf('\r\n');
  return end === -1 || end > MAX_HEADER_BYTES / 2;
}

function answerClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  // A client that went away, or a socket already answered: nothing to say to anyone.
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const { status, title, detail } = clientErrorProblem(err);
  const body = JSON.stringify({ type: PROBLEM_BASE + slug(title), title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function slug(title: string): string {
  return title.toLowerCase().replace(/\s+/g, '-');
}

/** Refuses a NUL byte in the path or the query (percent-encoded: the parser lets no raw one through). */
export function refuseNulBytes(): MiddlewareHandler {
  return async (c, next) => {
    const url = c.req.url;
    const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    if (/%00/i.test(pathAndQuery)) {
      throw new HTTPException(400, { message: 'The path or query holds a NUL byte (%00)' });
    }
    return next();
  };
}
