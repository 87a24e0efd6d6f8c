/** The SDK's Server-Sent Events parser, and its unions against the server's state machine. */
import { describe, expect, it } from 'vitest';
import { deploymentMachine } from '../server/domain/machines/deployment.ts';
import { stepStatusSchema } from '../server/api/deployments/deployment-schemas.ts';
import { DEPLOYMENT_EVENT_TYPES, DEPLOYMENT_STATUSES, readServerSentEvents, STEP_STATUSES, StreamIdleError, type ServerSentEvent } from './events.ts';

/** A body that arrives in exactly these chunks. */
function body(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function parse(...chunks: string[]): Promise<ServerSentEvent[]> {
  const messages: ServerSentEvent[] = [];
  for await (const message of readServerSentEvents(body(...chunks))) messages.push(message);
  return messages;
}

describe('readServerSentEvents', () => {
  it('with idleMs, gives up on a stream that goes silent without closing (a dead connection), after what it had', async () => {
    const encoder = new TextEncoder();
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('id: 1\ndata: {"a":1}\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const messages: ServerSentEvent[] = [];
    await expect(
      (async () => {
        for await (const message of readServerSentEvents(stalled, undefined, 50)) messages.push(message);
      })(),
    ).rejects.toBeInstanceOf(StreamIdleError);
    expect(messages).toEqual([{ id: '1', event: 'message', data: '{"a":1}' }]);
    expect(cancelled).toBe(true);
  });

  it('reads id, event and data, skipping comments', async () => {
    expect(await parse(': hello\n\nid: 7\nevent: created\ndata: {"a":1}\n\n: heartbeat\n\n')).toEqual([
      { id: '7', event: 'created', data: '{"a":1}' },
    ]);
  });

  it('joins data lines, defaults the type to message, and carries the last id over', async () => {
    expect(await parse('id: 1\ndata: one\ndata: two\n\ndata:three\n\n')).toEqual([
      { id: '1', event: 'message', data: 'one\ntwo' },
      { id: '1', event: 'message', data: 'three' },
    ]);
  });

  it('accepts CRLF, CR and LF line ends, even when a CRLF is split between chunks', async () => {
    expect(await parse('id: 1\r', '\ndata: a\r\n\r', '\nid: 2\rdata: b\r\r')).toEqual([
      { id: '1', event: 'message', data: 'a' },
      { id: '2', event: 'message', data: 'b' },
    ]);
  });

  it('reassembles fields split anywhere, including inside a multi-byte character', async () => {
    const text = 'id: 3\nevent: step_result\ndata: {"step":"DB.Migrate.main","note":"café ✓"}\n\n';
    const bytes = new TextEncoder().encode(text);
    const split = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const b of bytes) controller.enqueue(new Uint8Array([b]));
        controller.close();
      },
    });
    const messages: ServerSentEvent[] = [];
    for await (const m of readServerSentEvents(split)) messages.push(m);
    expect(messages).toEqual([{ id: '3', event: 'step_result', data: '{"step":"DB.Migrate.main","note":"café ✓"}' }]);
  });

  it('ignores a leading BOM, unknown fields, empty data-less blocks and an unterminated last message', async () => {
    expect(await parse('\uFEFFfoo: bar\nretry: 2500\n\nevent: x\n\ndata: kept\n\ndata: lost')).toEqual([
      { event: 'message', data: 'kept', retry: 2500 },
    ]);
  });
});

describe('SDK unions', () => {
  it('name every event type of the deployment state machine', () => {
    const machineEvents = new Set(deploymentMachine.transitions.map((t) => t.on));
    expect(new Set(DEPLOYMENT_EVENT_TYPES)).toEqual(machineEvents);
  });

  it('name every deployment and step status the API reports', () => {
    expect(DEPLOYMENT_STATUSES).toEqual(deploymentMachine.statuses.filter((s) => s !== 'UNSPECIFIED'));
    expect(STEP_STATUSES).toEqual(stepStatusSchema.options);
  });
});
