/**
 * AWS events wake the jobs that wait for them. One loop per event queue (server/infra/port.ts
 * EventQueue: an SQS queue per cluster account and region on AWS, the simulated cloud's own
 * otherwise) receives a batch, hands it to `handleAwsEvents`, and deletes it once handled; a crash
 * in between delivers it again, and the event's id, stored in `aws_events`, makes the repeat a no-op.
 *
 * What an event concerns is the domain's decision (server/domain/decisions/aws-events.ts); here it
 * is carried out: in one transaction per batch, the events' ids are recorded and the deployments on
 * their stacks read (together), and each job the decision names is made due now (its poll was up to a
 * minute away) and marked with the event (`woken`: its id, and what a stack event said), or, while
 * it runs, marked only: its next poll then runs at once (server/engine/job-runner.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { TransactionSql } from 'postgres';
import { decideWakes, isSettling, parseAwsEvent, stackOfEvent, wokenMark, type AwsEvent, type Wake, type Watcher } from '../../domain/decisions/aws-events.ts';
import { JOB_STACK_WAIT, JOB_STEP, type Queue, type Woken } from '../../domain/machines/jobs.ts';
import type { ClusterConfig } from '../../domain/config/cluster.ts';
import { awsTargetOf, type AwsTarget } from '../../domain/spec/aws-target.ts';
import { clientTokenFor } from '../../infra/client-token.ts';
import type { EventQueue, EventQueueSetting, InfraProvider, QueuedEvent } from '../../infra/port.ts';
import type { Logger } from '../../logger.ts';
import type { Engine } from '../engine.ts';
import { deploymentsWatchingStacks, type EntityState } from '../entities.ts';
import { markJobsWoken, type JobSelector } from '../job-table.ts';

/** What became of the events of a batch (for logs, metrics and tests). */
export interface HandledEvents {
  /** Not an event we follow, or one saying an operation is still going. */
  ignored: number;
  /** Seen before (a redelivery). */
  repeated: number;
  /** New, but nothing watching it (or nothing waiting any more). */
  dropped: number;
  /** Jobs made due (or marked while running). */
  woken: Array<Wake & { eventId: string }>;
}

/** How long ids of handled events are kept: far longer than any queue redelivers. */
const KEEP_EVENT_IDS = '1 day';

/** What a deployment watches, as the decision sees it. */
function watcherOf(deployment: EntityState<'deployment'> & { stackName: string }): Watcher {
  const spec = deployment.data.spec;
  return {
    deploymentId: deployment.id,
    status: deployment.status,
    account: spec?.aws?.account ?? '',
    region: spec?.aws?.region ?? spec?.template.region ?? '',
    stackName: spec?.cfStackName ?? deployment.stackName,
    steps: deployment.data.steps ?? [],
  };
}

/**
 * Handles a batch of received messages (their bodies): every one handled, or (an error) none. The
 * jobs the events make due are claimed by this process's runners in the same transaction, as far
 * as they have room, and run at once with the deployment it read (Engine.transaction).
 */
export async function handleAwsEvents(engine: Engine, bodies: string[]): Promise<HandledEvents> {
  const result: HandledEvents = { ignored: 0, repeated: 0, dropped: 0, woken: [] };
  const events: AwsEvent[] = [];
  for (const body of bodies) {
    let parsed: AwsEvent | null = null;
    try {
      parsed = parseAwsEvent(JSON.parse(body));
    } catch {
      parsed = null;
    }
    // Only the end of an operation is worth a look; nothing to store for the rest.
    if (parsed && isSettling(parsed) && stackOfEvent(parsed)) events.push(parsed);
    else result.ignored++;
  }
  if (events.length === 0) return result;

  await engine.transaction(async (tx) => {
    result.repeated = 0;
    result.dropped = 0;
    result.woken = [];
    const ids = [...new Set(events.map((e) => e.id))];
    // The ids recorded and the deployments read together (one round trip, not two): the watchers of
    // every event's stack, of which those of repeated events go unused.
    const [recorded, watching] = await Promise.all([
      tx<{ id: string }[]>`insert into aws_events (id) select unnest(${ids}::text[]) on conflict do nothing returning id`,
      deploymentsWatchingStacks(tx, [...new Set(events.map((e) => stackOfEvent(e)!))]),
    ]);
    // The jobs woken here are claimed with their deployments as read here (unchanged by this transaction).
    engine.knows(tx, watching);
    const fresh = new Set(recorded.map((r) => r.id));
    const news = events.filter((e) => fresh.delete(e.id));
    result.repeated = events.length - news.length;
    if (news.length === 0) return;
    const watchers = watching.map(watcherOf);
    const wakes = news.flatMap((event) =>
      decideWakes(event, watchers, (deploymentId, step) => clientTokenFor(deploymentId, step).slice(0, 36)).map((wake) => ({
        event,
        wake,
        queue: (wake.step === undefined ? JOB_STACK_WAIT : JOB_STEP) as Queue,
      })),
    );
    // The marks are the transaction's last statements: the claim of the jobs they make due, and
    // the COMMIT, go with them (Engine.transaction `claimWithWrites`). One slot is asked per wake:
    // a wake whose job is running (marked only) may so claim an older due job of the queue, which
    // is this worker's to run as much as any.
    engine.claimWithLastWrites(tx, wakes);
    const marks = await Promise.all(wakes.map(({ event, wake, queue }) => markTwice(tx, { queue, deploymentId: wake.deploymentId, step: wake.step ?? null }, wokenMark(event, new Date().toISOString()))));
    const woke = new Set<string>();
    for (const [i, { event, wake, queue }] of wakes.entries()) {
      const marked = marks[i]!;
      if (marked.length === 0) continue;
      woke.add(event.id);
      result.woken.push({ ...wake, eventId: event.id });
      // A running job is marked only; the waiting ones are due now.
      engine.madeDue(tx, queue, marked.filter((job) => job.state !== 'active').map((job) => job.id));
    }
    result.dropped = news.filter((event) => !woke.has(event.id)).length;
  }, { claimWithWrites: true });
  return result;
}

/**
 * Marks the job a wake names, with two looks asked together: a job being replaced by its next poll
 * at this very moment is passed over by the first (its update waits for the old row's lock, then
 * skips it, completed) and matched by the second, whose snapshot is taken once the first is done.
 * A job both match is marked twice alike.
 */
async function markTwice(tx: TransactionSql, selector: JobSelector, woken: Woken): Promise<{ id: string; state: string }[]> {
  const [first, second] = await Promise.all([markJobsWoken(tx, selector, woken), markJobsWoken(tx, selector, woken)]);
  return [...new Map([...first, ...second].map((job) => [job.id, job] as const)).values()];
}

/**
 * Makes the step jobs of a deployment due now, or (running) their next poll (a terminate: they stop
 * what they began). The wake is named `terminate` where an AWS event's id would be.
 */
export async function wakeStepsOf(engine: Engine, deploymentId: string): Promise<void> {
  await engine.transaction(async (tx) => {
    const selector: JobSelector = { queue: JOB_STEP, deploymentId };
    const woken = { eventId: 'terminate', at: new Date().toISOString() };
    // Two looks, always: the first passes over a job being replaced by its next poll at this very
    // moment (its update waits for the old row's lock, then skips it, completed), and with several
    // jobs to mark, finding some says nothing about that one.
    const marked = [...(await markJobsWoken(tx, selector, woken)), ...(await markJobsWoken(tx, selector, woken))];
    engine.madeDue(tx, JOB_STEP, [...new Set(marked.filter((job) => job.state !== 'active').map((job) => job.id))]);
  });
}

/** Forgets the ids of events handled long ago. */
async function pruneEventIds(engine: Engine): Promise<void> {
  await engine.deps.sql`delete from aws_events where received_at < now() - ${KEEP_EVENT_IDS}::interval`;
}

/** One queue's loop: receive, handle, delete; a failure is logged and the batch comes back later. */
class QueueConsumer {
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  /**
   * False while the queue cannot be read (deleted, access denied, credentials refused): no event of
   * its account and region can come then, so deployments there must not count on them and poll
   * quickly instead of waiting for their safety-net poll. True again at the next receive that works.
   */
  readable = true;

  constructor(
    readonly queue: EventQueue,
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { signal } = this.stopping;
    // Failures in a row: the pause before the next receive doubles from 1 s to a minute, so a queue
    // that stays unreadable costs a call and a warning a minute, not one a second.
    let failures = 0;
    while (!signal.aborted) {
      try {
        let messages: QueuedEvent[];
        try {
          messages = await this.queue.receive(signal);
          this.readable = true;
        } catch (err) {
          if (!signal.aborted) this.readable = false;
          throw err;
        }
        failures = 0;
        if (messages.length === 0) continue;
        const handled = await handleAwsEvents(this.engine, messages.map((m) => m.body));
        await this.queue.delete(messages.map((m) => m.receipt));
        if (handled.woken.length > 0) this.logger.debug({ queue: this.queue.name, woken: handled.woken }, 'AWS events woke jobs');
      } catch (err) {
        if (signal.aborted) break;
        // Not deleted: SQS hands the batch out again after its visibility timeout.
        const pauseMs = Math.min(1_000 * 2 ** failures, 60_000);
        failures++;
        this.logger.warn({ err, queue: this.queue.name, failures, pauseMs }, 'handling AWS events failed; trying again');
        // Cut short by a stop.
        await delay(pauseMs, undefined, { signal, ref: false }).catch(() => undefined);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await this.queue.close();
  }
}

/** Reads the event queues the clusters name (`aws.o5Deployer.eventQueueUrl`). */
export async function eventQueueSettings(engine: Engine): Promise<EventQueueSetting[]> {
  const rows = await engine.deps.sql<{ config: ClusterConfig }[]>`
    select data->'config' as config from clusters where data->'config'->'aws'->'o5Deployer'->>'eventQueueUrl' is not null`;
  return rows.map(({ config }) => ({ target: awsTargetOf(config), queueUrl: config.aws.o5Deployer.eventQueueUrl! }));
}

/** How often the clusters' queue settings are read again (a cluster added or changed). */
const SETTINGS_INTERVAL_MS = 60_000;
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * The consumers of every event queue: the simulated cloud's one, or one per SQS queue named by a
 * cluster, kept in step with the clusters. `covers` says whether a deployment's events arrive, so
 * that its jobs poll only as a safety net (server/domain/decisions/polling.ts).
 */
export class AwsEventListener {
  private readonly consumers = new Map<string, QueueConsumer>();
  private timers: NodeJS.Timeout[] = [];
  private refreshing?: Promise<void>;

  constructor(
    private readonly engine: Engine,
    private readonly infra: InfraProvider,
  ) {}

  covers(target: Pick<AwsTarget, 'account' | 'region'>): boolean {
    for (const consumer of this.consumers.values()) if (consumer.readable && consumer.queue.covers(target)) return true;
    return false;
  }

  async start(): Promise<void> {
    if (!this.infra.eventQueue) return;
    await this.refresh();
    const every = (ms: number, work: () => Promise<void>) => {
      const timer = setInterval(() => void work().catch((err) => this.engine.deps.logger.warn({ err }, 'AWS event listener: periodic work failed')), ms);
      timer.unref();
      this.timers.push(timer);
    };
    if (this.infra.kind === 'aws') every(SETTINGS_INTERVAL_MS, () => this.refresh());
    every(PRUNE_INTERVAL_MS, () => pruneEventIds(this.engine));
  }

  /** Opens consumers for the queues the clusters name now, and closes those no longer named. */
  refresh(): Promise<void> {
    this.refreshing ??= this.reconcile().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async reconcile(): Promise<void> {
    const open = this.infra.eventQueue!.bind(this.infra);
    const wanted = new Map<string, EventQueueSetting | null>();
    if (this.infra.kind === 'simulated') wanted.set('simulated', null);
    else for (const setting of await eventQueueSettings(this.engine)) wanted.set(JSON.stringify([setting.queueUrl, setting.target.account, setting.target.region, setting.target.roleArn ?? null]), setting);
    for (const [key, consumer] of this.consumers) {
      if (wanted.has(key)) continue;
      this.consumers.delete(key);
      await consumer.stop();
    }
    for (const [key, setting] of wanted) {
      if (this.consumers.has(key)) continue;
      const consumer = new QueueConsumer(open(setting), this.engine, this.engine.deps.logger.child({ eventQueue: setting?.queueUrl ?? 'simulated' }));
      consumer.start();
      this.consumers.set(key, consumer);
      this.engine.deps.logger.info({ queue: consumer.queue.name }, 'listening for AWS events');
    }
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.refreshing;
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.consumers.clear();
  }
}
