/**
 * The simulated cloud's EventBridge and SQS queue: when one of its operations ends, it puts the
 * event AWS would send ("CloudFormation Stack Status Change", "ECS Task State Change") on this
 * queue, which the engine reads like an SQS queue (server/engine/workers/aws-events.ts). So the
 * default `npm start` is event-driven too.
 *
 * Operations are computed from time (progressions.ts), so the event is scheduled when the operation
 * starts, for the moment it ends (at once for an operation of no duration: a job that started it
 * without looking, such as a repair of the wait phase, learns of its end from the event), once
 * the transaction that started it has committed (context.ts `simTransaction`). A resource has one
 * end to come: a later operation's (an update cancelled, a task stopped) replaces the one still
 * scheduled, which would announce an end that no longer happens. The queue lives in this process;
 * a deployer that starts announces again the ends its cloud still has to come or had lately
 * (event-replay.ts), as a real queue would still hold them; what is lost anyway is seen by the
 * engine's safety-net polls, as a lost AWS event would be.
 */
import { createHash } from 'node:crypto';
import { STACK_STATUS_CHANGE, TASK_STATE_CHANGE } from '../../domain/decisions/aws-events.ts';
import type { EventQueue, QueuedEvent } from '../port.ts';

/** SQS hands out at most 10 messages per receive. */
const BATCH = 10;
/** SQS's longest long poll. */
const LONG_POLL_MS = 20_000;
/**
 * How long a received message stays hidden before it is handed out again unless deleted (SQS's
 * visibility timeout): a batch whose handling failed (the database away) comes back.
 */
const VISIBILITY_MS = 2_000;

/** A uuid-shaped id derived from what the event is about: the same end announced twice has one id. */
function eventId(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class SimulatedEvents implements EventQueue {
  readonly name = 'simulated';
  private readonly ready: QueuedEvent[] = [];
  /** Received and not deleted yet, by receipt. */
  private readonly received = new Map<string, QueuedEvent>();
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * The end still to come of each resource (a stack id, a task ARN), with when what decided it
   * happened (the operation's start, a task's stop).
   */
  private readonly scheduled = new Map<string, { timer: NodeJS.Timeout; since: number }>();
  private closed = false;
  private sequence = 0;
  /** Events put on the queue so far (for tests and logs). */
  emitted = 0;

  covers(): boolean {
    return true;
  }

  /** A stack's operation ends at `atMs` in `status` (its final one). */
  stackStatusAt(atMs: number, e: { account: string; region: string; stackId: string; status: string; reason?: string | null; clientToken: string; startedAt: number }): void {
    this.announce(atMs, e.startedAt, e, eventId(e.stackId, String(e.startedAt), e.status), STACK_STATUS_CHANGE, 'aws.cloudformation', e.stackId, {
      'stack-id': e.stackId,
      'status-details': { status: e.status, 'status-reason': e.reason ?? '' },
      'client-request-token': e.clientToken,
    });
  }

  /** A one-off task stops at `atMs`: on its own (`since` its start), or stopped by StopTask (`since` it was asked). */
  taskStoppedAt(
    atMs: number,
    e: {
      since: number;
      account: string;
      region: string;
      taskArn: string;
      cluster: string;
      taskDefinition: string;
      startedBy: string;
      stopCode: string;
      stoppedReason: string;
      container: { name: string; exitCode?: number; reason?: string };
    },
  ): void {
    const clusterArn = e.cluster.startsWith('arn:') ? e.cluster : `arn:aws:ecs:${e.region}:${e.account}:cluster/${e.cluster}`;
    const taskDefinitionArn = e.taskDefinition.startsWith('arn:') ? e.taskDefinition : `arn:aws:ecs:${e.region}:${e.account}:task-definition/${e.taskDefinition}`;
    this.announce(atMs, e.since, e, eventId(e.taskArn, 'STOPPED'), TASK_STATE_CHANGE, 'aws.ecs', e.taskArn, {
      taskArn: e.taskArn,
      clusterArn,
      taskDefinitionArn,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      startedBy: e.startedBy,
      stopCode: e.stopCode,
      stoppedReason: e.stoppedReason,
      containers: [{ ...e.container, lastStatus: 'STOPPED' }],
    });
  }

  /** An event in EventBridge's envelope, about one resource of one account and region. */
  private announce(
    atMs: number,
    since: number,
    where: { account: string; region: string },
    id: string,
    detailType: string,
    source: string,
    resource: string,
    detail: Record<string, unknown>,
  ): void {
    this.at(atMs, resource, since, {
      version: '0',
      id,
      'detail-type': detailType,
      source,
      account: where.account,
      time: new Date(atMs).toISOString(),
      region: where.region,
      resources: [resource],
      detail,
    });
  }

  private at(atMs: number, resource: string, since: number, event: object): void {
    if (this.closed) return;
    const pending = this.scheduled.get(resource);
    if (pending) {
      // Older than the end scheduled (announced again on start-up from what was read before the
      // resource's latest operation began): stale itself.
      if (since < pending.since) return;
      clearTimeout(pending.timer);
      this.timers.delete(pending.timer);
      this.scheduled.delete(resource);
    }
    const push = () => {
      this.ready.push({ receipt: String(++this.sequence), body: JSON.stringify(event) });
      this.emitted++;
      this.wakeReceivers();
    };
    // An end that has come (an operation of no duration, its transaction committed) goes out at once.
    const now = Date.now();
    if (atMs <= now) return void queueMicrotask(push);
    // A millisecond late rather than early: a timer may fire a little before its time, and the
    // operation must have ended when the engine looks.
    const delay = atMs - now + 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.scheduled.get(resource)?.timer === timer) this.scheduled.delete(resource);
      push();
    }, delay);
    timer.unref();
    this.timers.add(timer);
    this.scheduled.set(resource, { timer, since });
  }

  async receive(signal: AbortSignal): Promise<QueuedEvent[]> {
    if (this.ready.length === 0 && !this.closed && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, LONG_POLL_MS);
        this.waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
      // Events that end together come in one batch, as SQS would hand them out.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const batch = this.ready.splice(0, BATCH);
    for (const message of batch) this.received.set(message.receipt, message);
    if (batch.length > 0) {
      // Not deleted in time: handed out again.
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const back = batch.filter((m) => this.received.delete(m.receipt));
        if (back.length === 0 || this.closed) return;
        this.ready.unshift(...back.map((m) => ({ receipt: String(++this.sequence), body: m.body })));
        this.wakeReceivers();
      }, VISIBILITY_MS);
      timer.unref();
      this.timers.add(timer);
    }
    return batch;
  }

  async delete(receipts: string[]): Promise<void> {
    for (const receipt of receipts) this.received.delete(receipt);
  }

  private wakeReceivers(): void {
    for (const wake of this.waiters) wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.scheduled.clear();
    for (const wake of this.waiters) wake();
  }
}
