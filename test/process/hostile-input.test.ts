/**
 * Hostile input sent to both processes over real sockets: the deployer (`npm start`) and the
 * webhook receiver (`npm run webhook`). Every refusal is a 4xx application/problem+json whose
 * `status` is the HTTP status, including those Node's HTTP parser makes before any route runs
 * (server/http-server.ts), and nothing of it is a 500.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../server/api/body.ts';
import { MAX_HEADER_BYTES } from '../../server/http-server.ts';
import { WEBHOOK_SECRET, delivery } from '../github/world.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { REPO_ROOT, startServerProcess, type ServerProcess } from '../support/server-process.ts';

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** Writes `head` (and `body`) on a raw socket and reads the whole answer: what no HTTP client would send. */
/** `refusedEarly`: the server should answer on the head alone; the body goes only if it has not within a moment. */
function rawRequest(port: number, head: string, body?: Buffer, options: { refusedEarly?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may answer and close before it read everything we sent: what it said still counts.
    socket.on('error', (err) => (chunks.length > 0 ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [headers = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]);
      const contentType = /\r\ncontent-type: *([^\r\n]*)/i.exec(headers)?.[1] ?? '';
      let payload = rest.join('\r\n\r\n');
      if (/\r\ntransfer-encoding: *chunked/i.test(headers)) payload = dechunk(payload);
      resolve({ status, contentType, body: payload });
    });
    socket.write(head, 'latin1');
    const early = options.refusedEarly ? new Promise((r) => setTimeout(r, 500).unref()) : Promise.resolve();
    void early.then(() => writeUntilAnswered(socket, body ?? Buffer.alloc(0), () => chunks.length > 0)).then(() => socket.end());
  });
}

/**
 * Writes the body in pieces, as the socket takes them, and stops once the server has answered: a
 * server that refuses a body answers and closes without reading the rest, and writing on into the
 * closed connection fails (EPIPE) and can lose the answer that was already on its way.
 */
async function writeUntilAnswered(socket: Socket, body: Buffer, answered: () => boolean): Promise<void> {
  for (let offset = 0; offset < body.length && !answered() && !socket.destroyed; offset += 64 * 1024) {
    if (socket.write(body.subarray(offset, offset + 64 * 1024))) continue;
    await new Promise<void>((resume) => {
      const done = () => {
        socket.off('drain', done).off('data', done).off('close', done);
        resume();
      };
      socket.on('drain', done).on('data', done).on('close', done);
    });
  }
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

function get(path: string, extraHeaders = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}Connection: close\r\n\r\n`;
}

function write(method: 'POST' | 'PUT', path: string, headers: Record<string, string>, length: number): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}Content-Length: ${length}\r\nConnection: close\r\n\r\n`;
}

function expectProblem(answer: Answer, status: number, detail?: RegExp) {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.contentType).toBe('application/problem+json');
  const problem = JSON.parse(answer.body);
  expect(problem).toMatchObject({ status, type: expect.stringMatching(/^https:\/\/deployer\.dev\/problems\//), title: expect.any(String) });
  if (detail) expect(problem.detail).toMatch(detail);
}

const longPath = (prefix: string) => `${prefix}/${'a'.repeat(MAX_HEADER_BYTES + 1024)}`;
const longHeader = `X-Filler: ${'b'.repeat(MAX_HEADER_BYTES + 1024)}\r\n`;

describe('hostile input to both processes', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let api: ServerProcess;
  let receiver: ChildProcess;
  let receiverPort: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await startServerProcess({ env: { DATABASE_URL: db.url, DEPLOYER_SEED_DEMO: 'false' } });
    receiver = spawn(process.execPath, ['--import', 'tsx', 'server/github/webhook-main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, DEPLOYER_URL: api.url, DEPLOYER_TOKEN: 'unused', PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    receiverPort = await new Promise<number>((resolve, reject) => {
      let output = '';
      receiver.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const ready = output.split('\n').find((line) => line.includes('webhook receiver ready'));
        if (ready) resolve(JSON.parse(ready).port);
      });
      receiver.once('exit', (code) => reject(new Error(`the receiver exited with ${code}: ${output}`)));
    });
  });

  afterAll(async () => {
    if (receiver && receiver.exitCode === null) receiver.kill('SIGKILL');
    await api?.dispose();
    await db?.drop();
  });

  const targets = [
    { name: 'the deployer API', port: () => api.port, path: '/v1/clusters/demo', method: 'PUT' as const, writePath: '/v1/clusters/demo' },
    { name: 'the webhook receiver', port: () => receiverPort, path: '/github/webhook', method: 'POST' as const, writePath: '/github/webhook' },
  ];

  describe.each(targets)('$name', ({ port, path, method, writePath }) => {
    it('refuses a NUL byte in the path with 400', async () => {
      expectProblem(await rawRequest(port(), get(`${path}%00x`)), 400, /NUL/);
    });

    it('refuses a NUL byte in the query with 400', async () => {
      expectProblem(await rawRequest(port(), get(`${path}?cursor=a%00b`)), 400, /NUL/);
    });

    it('refuses a raw NUL byte in a header with 400', async () => {
      expectProblem(await rawRequest(port(), get(path, 'X-Bad: a\0b\r\n')), 400);
    });

    it(`refuses a URL over ${MAX_HEADER_BYTES} bytes with 414`, async () => {
      expectProblem(await rawRequest(port(), get(longPath(path))), 414);
    });

    it(`refuses headers over ${MAX_HEADER_BYTES} bytes with 431`, async () => {
      expectProblem(await rawRequest(port(), get(path, longHeader)), 431);
    });

    it('refuses a request line that is not HTTP with 400', async () => {
      expectProblem(await rawRequest(port(), 'GET\0/ nonsense\r\n\r\n'), 400);
    });

    it('refuses a body over its limit with 413, declared or chunked', async () => {
      const limit = writePath.startsWith('/v1') ? MAX_BODY_BYTES : 25 * 1024 * 1024;
      const headers = { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': 'sha256=00' };
      const declared = await rawRequest(port(), write(method, writePath, headers, limit + 1), Buffer.alloc(limit + 1, 0x20), { refusedEarly: true });
      expectProblem(declared, 413);
      const chunkedHead = `${method} ${writePath} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const chunks: Buffer[] = [];
      for (let sent = 0; sent <= limit; sent += chunk.length) chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
      chunks.push(Buffer.from('0\r\n\r\n'));
      expectProblem(await rawRequest(port(), chunkedHead, Buffer.concat(chunks)), 413);
    });
  });

  it('the deployer refuses a NUL byte inside a JSON document with 400 and the path to it', async () => {
    // Checked before the document is validated: Postgres could store none of it.
    const body = JSON.stringify({ name: 'nul', environments: [{ fullName: 'nul-env', vars: [{ name: 'x', value: 'a\u0000b' }] }] });
    const answer = await rawRequest(api.port, write('PUT', '/v1/clusters/nul', { 'Content-Type': 'application/json' }, Buffer.byteLength(body)), Buffer.from(body));
    expectProblem(answer, 400);
    expect(JSON.parse(answer.body).errors).toEqual([{ path: 'environments[0].vars[0].value', message: expect.stringMatching(/NUL/) }]);
  });

  it('the receiver refuses a signed ping whose payload is null, or not an object, with 400', async () => {
    for (const payload of [null, [], 'zen']) {
      const init = await delivery('ping', payload, 'hostile-ping');
      const res = await fetch(`http://127.0.0.1:${receiverPort}/github/webhook`, init);
      expect(res.status, JSON.stringify(payload)).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 400, detail: 'The payload is not a JSON object' });
    }
  });

  it('neither process logged a failed request', () => {
    expect(api.logs().filter((l) => l.msg === 'request failed')).toEqual([]);
  });
});
