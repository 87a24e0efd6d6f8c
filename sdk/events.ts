/**
 * Live events of a deployment, from `GET /v1/deployments/{id}/events` as Server-Sent Events. Read
 * with fetch and a stream parser rather than EventSource, which cannot send the bearer token; after
 * a dropped connection it reconnects and resumes with `Last-Event-ID`, so no event is lost or
 * repeated. It ends after the event that makes the deployment DONE, FAILED, TERMINATED or SUPERSEDED.
 *
 *   for await (const event of followDeploymentEvents(client, id)) {
 *     console.log(event.type, event.status);
 *   }
 */
import { createDeployerClient, type components, type DeployerClient, type DeployerClientOptions, type Problem } from './client.ts';

export type Deployment = components['schemas']['Deployment'];
export type DeploymentStatus = components['schemas']['DeploymentStatus'];
export type StepStatus = components['schemas']['StepStatus'];

export const DEPLOYMENT_STATUSES = [
  'QUEUED',
  'TRIGGERED',
  'WAITING',
  'AVAILABLE',
  'RUNNING',
  'EVALUATED',
  'DONE',
  'FAILED',
  'TERMINATED',
  'SUPERSEDED',
] as const satisfies readonly DeploymentStatus[];

export const STEP_STATUSES = ['BLOCKED', 'READY', 'ACTIVE', 'DONE', 'FAILED', 'SKIPPED'] as const satisfies readonly StepStatus[];

/** Where a deployment ends; nothing changes it after. */
export const TERMINAL_STATUSES = ['DONE', 'FAILED', 'TERMINATED', 'SUPERSEDED'] as const satisfies readonly DeploymentStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** A deployment that has ended. */
export type FinishedDeployment = Deployment & { status: TerminalStatus };

/** Every event of the deployment state machine. */
export const DEPLOYMENT_EVENT_TYPES = [
  'created',
  'triggered',
  'stack_wait',
  'stack_recovery',
  'stack_wait_failure',
  'stack_available',
  'run_steps',
  'run_step',
  'step_result',
  'strategy_chosen',
  'approval_requested',
  'approved',
  'rejected',
  'done',
  'error',
  'terminated',
  'superseded',
] as const;
export type DeploymentEventType = (typeof DEPLOYMENT_EVENT_TYPES)[number];

/** One event of a deployment: what happened, and the deployment's status and data after it. */
export interface DeploymentEvent extends Omit<components['schemas']['Event'], 'type' | 'status'> {
  type: DeploymentEventType;
  status: DeploymentStatus;
  /** Position in the deployer's event log (the stream's `id:`); absent on events read from the JSON list. */
  position?: number;
}

/** An answer of the API that is not a success: its status and problem (RFC 9457). */
export class DeployerApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.title}${problem.detail ? `: ${problem.detail}` : ''} (HTTP ${status})`);
    this.name = 'DeployerApiError';
  }

  /** Turns whatever an error body was (a problem, other JSON, text, nothing) into a problem. */
  static from(status: number, body: unknown, statusText = ''): DeployerApiError {
    const isProblem = !!body && typeof body === 'object' && typeof (body as Problem).title === 'string';
    const problem: Problem = isProblem
      ? (body as Problem)
      : {
          type: 'about:blank',
          title: statusText || `HTTP ${status}`,
          status,
          ...(typeof body === 'string' && body.trim() ? { detail: textDetail(body) } : {}),
        };
    return new DeployerApiError(status, problem);
  }
}

/**
 * A body that is not a problem, as one line: an HTML page (a proxy's or load balancer's error page,
 * another server at the URL) by its title, not its markup; other text with its whitespace folded.
 */
function textDetail(body: string): string {
  if (/^\s*</.test(body) && /<(!doctype html|html|head|body|title)\b/i.test(body)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.replace(/\s+/g, ' ').trim();
    return `an HTML page${title ? ` ("${title.slice(0, 200)}")` : ''}, not an answer of the deployer: a proxy in the way, or another server at this URL`;
  }
  const text = body.replace(/\s+/g, ' ').trim();
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** The server answered the events route without an event stream (a proxy in the way, an old server). */
export class EventStreamUnavailableError extends Error {
  constructor(contentType: string | null) {
    super(`expected text/event-stream, got ${contentType ?? 'no content type'}`);
    this.name = 'EventStreamUnavailableError';
  }
}

/** Either a client, or what it takes to make one. */
export type DeployerTarget = DeployerClient | DeployerClientOptions;

export function clientOf(target: DeployerTarget): DeployerClient {
  return 'GET' in target && typeof target.GET === 'function' ? target : createDeployerClient(target as DeployerClientOptions);
}

/** An event stream that sent nothing, not even a heartbeat, for `idleMs`: its connection is taken for dead. */
export class StreamIdleError extends Error {
  constructor(readonly idleMs: number) {
    super(`the event stream sent nothing for ${idleMs} ms (its heartbeat comes every 15 s): taken for a dead connection`);
    this.name = 'StreamIdleError';
  }
}

export interface FollowOptions {
  /** Start after this event position (the `id` of the last event already seen). */
  lastEventId?: string | number;
  signal?: AbortSignal;
  /** Reconnections in a row without an event before giving up (default 5). */
  maxReconnects?: number;
  /** Wait before the first reconnection; doubles each time, up to 10 s (default: the server's `retry:` or 500 ms). */
  reconnectDelayMs?: number;
  /** A stream silent this long is reconnected (default 45 s; the server's heartbeat comes every 15 s). */
  idleMs?: number;
}

/**
 * The deployment's events, history first, then live, until it is terminal. Reconnects after a
 * dropped connection and resumes after the last event received. Throws DeployerApiError for an
 * answer that retrying cannot change (unknown deployment, bad token), EventStreamUnavailableError
 * when the server does not stream, the signal's reason when aborted.
 */
export async function* followDeploymentEvents(target: DeployerTarget, deploymentId: string, options: FollowOptions = {}): AsyncGenerator<DeploymentEvent> {
  const client = clientOf(target);
  const { signal } = options;
  const maxReconnects = options.maxReconnects ?? 5;
  let lastEventId = options.lastEventId === undefined ? undefined : String(options.lastEventId);
  let delayMs = options.reconnectDelayMs ?? 500;
  let failures = 0;

  while (true) {
    signal?.throwIfAborted();
    let received = false;
    try {
      const { data, error, response } = await client.GET('/v1/deployments/{id}/events', {
        params: { path: { id: deploymentId }, ...(lastEventId ? { header: { 'last-event-id': lastEventId } } : {}) },
        headers: { accept: 'text/event-stream' },
        parseAs: 'stream',
        signal,
      });
      if (error !== undefined || !response.ok) throw DeployerApiError.from(response.status, error, response.statusText);
      // 204: the deployment had ended before lastEventId; there is nothing more.
      if (response.status === 204 || !data) return;
      if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
        await data.cancel();
        throw new EventStreamUnavailableError(response.headers.get('content-type'));
      }
      for await (const message of readServerSentEvents(data, signal, options.idleMs ?? 45_000)) {
        if (message.retry !== undefined && options.reconnectDelayMs === undefined) delayMs = message.retry;
        if (message.id === undefined || message.data === '') continue;
        const event: DeploymentEvent = { ...(JSON.parse(message.data) as DeploymentEvent), position: Number(message.id) };
        lastEventId = message.id;
        received = true;
        failures = 0;
        yield event;
        if (isTerminalStatus(event.status)) return;
      }
      // The server closed the stream before the end (it is shutting down, say): resume.
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof EventStreamUnavailableError) throw err;
      if (err instanceof DeployerApiError && !isRetryableStatus(err.status)) throw err;
      if (err instanceof SyntaxError) throw err; // an event that is not JSON: retrying would not help
      if (++failures > maxReconnects) throw err;
      await sleep(Math.min(delayMs * 2 ** (failures - 1), 10_000), signal);
      continue;
    }
    if (!received && ++failures > maxReconnects) {
      throw new Error(`the event stream of deployment ${deploymentId} keeps closing without events`);
    }
    await sleep(Math.min(delayMs * 2 ** Math.max(0, failures - 1), 10_000), signal);
  }
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One message of a `text/event-stream`. */
export interface ServerSentEvent {
  /** `message` when the server named none. */
  event: string;
  data: string;
  /** The last event id so far (it carries over to later messages that set none). */
  id?: string;
  /** A reconnection delay the server asked for, in ms. */
  retry?: number;
}

/**
 * Parses a `text/event-stream` body as the HTML standard says (§9.2.6): lines end with CRLF, LF or
 * CR; `:` starts a comment; a blank line dispatches the message; `data` lines join with newlines.
 * Stops reading the body (cancels it) when the caller stops early or the signal aborts; with
 * `idleMs`, throws StreamIdleError when nothing arrives for that long.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal, idleMs?: number): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  // A stream that stays silent longer than `idleMs` (the server sends a heartbeat every 15 s) is
  // stalled, not quiet: its connection is dead without a close (a proxy, a network gone away).
  const read = (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    if (idleMs === undefined) return reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StreamIdleError(idleMs)), idleMs)));
    return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
  };
  // A body that does not end on abort (one served in process, say) is cancelled here.
  const onAbort = () => void reader.cancel(signal!.reason).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  const decoder = new TextDecoder();
  let buffer = '';
  let first = true;
  let eventType = '';
  let data: string[] = [];
  let lastEventId: string | undefined;
  let retry: number | undefined;

  function* processLine(line: string): Generator<ServerSentEvent> {
    if (line === '') {
      if (data.length > 0) {
        yield { event: eventType || 'message', data: data.join('\n'), ...(lastEventId !== undefined ? { id: lastEventId } : {}), ...(retry !== undefined ? { retry } : {}) };
      }
      eventType = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        eventType = value;
        break;
      case 'data':
        data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
    }
  }

  try {
    while (true) {
      const { done, value } = await read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      // A CR at the end may be the first half of a CRLF: keep it until the next chunk.
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const ch = buffer[i];
        if (ch !== '\n' && ch !== '\r') continue;
        if (ch === '\r' && i === buffer.length - 1) break;
        yield* processLine(buffer.slice(start, i));
        if (ch === '\r' && buffer[i + 1] === '\n') i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
    }
    signal?.throwIfAborted();
    // A CR kept back for a LF that never came ends its line. Then an unterminated message is
    // discarded, as the standard says.
    if (buffer.endsWith('\r')) yield* processLine(buffer.slice(0, -1));
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await reader.cancel().catch(() => {});
  }
}

export type { DeployerClient, DeployerClientOptions, Problem };
