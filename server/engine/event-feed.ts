/**
 * The live feed of events: one `LISTEN deployer_events` connection per process, shared by every
 * live stream (Server-Sent Events) that process serves, and listening only while one is open:
 * Postgres wakes every listening connection of the database for every notice, and each wake is a
 * transaction of its own, so a feed nobody follows would cost a commit per burst of events for
 * nothing. The first subscriber's LISTEN wakes it with `resync` (it reads what came meanwhile). The state store notifies
 * `<machine>:<entityId>:<position>:<status>` inside the transaction of every event, so a notice
 * arrives only once the event is committed and readable.
 *
 * A notice is a wake-up call, not the event: a subscriber re-reads its entity's events after the
 * last position it sent, so nothing depends on notices being complete. When the connection drops
 * (a database restart, a failover, a killed backend) the feed reconnects with backoff and wakes every
 * subscriber with `resync`, because notices sent while it was away are lost. While it is away,
 * `listening` is false and subscribers should look for new events on a timer of their own.
 */
import postgres, { type Sql } from 'postgres';
import type { Logger } from '../logger.ts';
import { EVENT_CHANNEL } from './entities.ts';

/** The entity id of a subscription to every entity of a machine (never a real id: those are UUIDs). */
const ANY_ENTITY = '*';

/** One committed event, as announced on the channel. */
export interface EventNotice {
  machine: string;
  entityId: string;
  position: number;
  /** Status of the entity after the event. */
  status: string;
}

/**
 * What a subscription's wait ends with: `event` (a new event of its entity), `resync` (the feed
 * reconnected; events may have been missed), `timeout`, `aborted` (the caller's signal), or
 * `closed` (the feed shut down: the process is stopping).
 */
export type WakeReason = 'event' | 'resync' | 'timeout' | 'aborted' | 'closed';

export interface EventFeedOptions {
  databaseUrl: string;
  logger: Logger;
  /** How often a quiet live stream sends a heartbeat (default 15 s). */
  heartbeatMs?: number;
  /** First and longest delay between reconnection attempts (default 250 ms and 5 s). */
  reconnectDelayMs?: { initial: number; max: number };
}

/** Shows in pg_stat_activity, so an operator (or a test) can find the feed's connection. */
export const EVENT_FEED_APPLICATION_NAME = 'deployer-event-feed';

export function parseEventNotice(payload: string): EventNotice | null {
  const parts = payload.split(':');
  if (parts.length !== 4) return null;
  const [machine, entityId, position, status] = parts as [string, string, string, string];
  const n = Number(position);
  if (!machine || !entityId || !status || !Number.isSafeInteger(n)) return null;
  return { machine, entityId, position: n, status };
}

/** One subscriber's view of the feed: wait for the next wake-up of its entity. */
export class FeedSubscription {
  /** A wake-up that came while nobody was waiting; the next wait() returns it at once. */
  private pending: WakeReason | undefined;
  private waiter: ((reason: WakeReason) => void) | undefined;
  private ended = false;

  constructor(private readonly release: () => void) {}

  /** Called by the feed. Wake-ups coalesce: `closed` beats `resync`, which beats `event`. */
  wake(reason: 'event' | 'resync' | 'closed'): void {
    if (this.ended) return;
    if (reason === 'closed') this.ended = true;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve(reason);
      return;
    }
    const rank = { event: 1, resync: 2, closed: 3 } as const;
    if (!this.pending || rank[reason] > rank[this.pending as keyof typeof rank]) this.pending = reason;
  }

  /** Resolves with the next wake-up since the last call, or `timeout` after `timeoutMs`. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<WakeReason> {
    if (signal?.aborted) return Promise.resolve('aborted');
    if (this.pending) {
      const reason = this.pending;
      this.pending = this.ended ? 'closed' : undefined;
      return Promise.resolve(reason);
    }
    if (this.ended) return Promise.resolve('closed');
    return new Promise<WakeReason>((resolve) => {
      const finish = (reason: WakeReason) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.waiter === finish) this.waiter = undefined;
        resolve(reason);
      };
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = finish;
    });
  }

  /** Stops listening; safe to call more than once. */
  close(): void {
    this.ended = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.('closed');
    this.release();
  }
}

/**
 * postgres.js delivers notifications to an `onnotify` option (its own `listen()` is built on it) but
 * leaves it out of its types. We use it rather than `sql.listen()`, whose re-listen after a dropped
 * connection is a single attempt whose failure is swallowed.
 */
interface ListenerOptions {
  onnotify: (channel: string, payload: string) => void;
}

export class EventFeed {
  readonly heartbeatMs: number;
  private readonly logger: Logger;
  private readonly delays: { initial: number; max: number };
  private readonly sql: Sql;
  private readonly subscriptions = new Map<string, Set<FeedSubscription>>();
  /** `ready`: connected and not listening (nobody follows); `listening`: the LISTEN is in place. */
  private state: 'idle' | 'ready' | 'listening' | 'reconnecting' | 'closed' = 'idle';
  private reconnecting: Promise<void> | undefined;
  /** The LISTEN or UNLISTEN under way: one at a time, each bringing the connection to what the subscribers want. */
  private following: Promise<void> = Promise.resolve();

  constructor(options: EventFeedOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.logger = options.logger.child({ component: 'event-feed' });
    this.delays = options.reconnectDelayMs ?? { initial: 250, max: 5_000 };
    const connectionOptions: postgres.Options<{}> & ListenerOptions = {
      max: 1,
      // The one connection must stay open: it is the LISTEN (no idle timeout is the default).
      max_lifetime: 0,
      connect_timeout: 5,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: EVENT_FEED_APPLICATION_NAME },
      onnotify: (channel, payload) => {
        if (channel === EVENT_CHANNEL) this.dispatch(payload);
      },
      onclose: () => {
        if (this.state === 'listening') {
          this.logger.warn('event feed lost its database connection; reconnecting');
          void this.reconnect();
        }
      },
    };
    this.sql = postgres(options.databaseUrl, connectionOptions);
  }

  private get closed(): boolean {
    return this.state === 'closed';
  }

  /** True while the LISTEN is in place; while false, notices may be missed. */
  get listening(): boolean {
    return this.state === 'listening';
  }

  /** Connects (it listens once someone subscribes). Rejects when the first attempt fails (the database is not there). */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    await this.sql`select 1`;
    this.state = 'ready';
    this.follow();
  }

  /**
   * Brings the connection to what the subscribers want, after what is under way: LISTEN when the
   * first subscribes (and wake them all to read what came before it), UNLISTEN when the last leaves.
   */
  private follow(): void {
    this.following = this.following.then(async () => {
      const wanted = this.subscriptions.size > 0;
      try {
        if (wanted && this.state === 'ready') {
          await this.listen();
          if (this.state !== 'ready') return;
          this.state = 'listening';
          this.wakeAll('resync');
        } else if (!wanted && this.state === 'listening') {
          this.state = 'ready';
          await this.sql.unsafe(`unlisten ${JSON.stringify(EVENT_CHANNEL)}`);
        }
      } catch (err) {
        // The connection failed under the LISTEN (or UNLISTEN): the reconnection loop takes over.
        if (this.state === 'ready' && wanted) {
          this.logger.warn({ err }, 'event feed cannot listen yet; retrying');
          void this.reconnect();
        }
      }
    });
  }

  private wakeAll(reason: 'resync' | 'closed'): void {
    for (const set of this.subscriptions.values()) for (const subscription of set) subscription.wake(reason);
  }

  /** Follows one entity until the subscription is closed (or the feed is). */
  subscribe(machine: string, entityId: string): FeedSubscription {
    return this.subscribeTo([`${machine}:${entityId}`]);
  }

  /** Follows every entity of the given machines: one subscription, woken by each of their events. */
  subscribeAll(machines: readonly string[]): FeedSubscription {
    return this.subscribeTo(machines.map((machine) => `${machine}:${ANY_ENTITY}`));
  }

  private subscribeTo(keys: string[]): FeedSubscription {
    const subscription: FeedSubscription = new FeedSubscription(() => {
      for (const key of keys) {
        const set = this.subscriptions.get(key);
        set?.delete(subscription);
        if (set?.size === 0) this.subscriptions.delete(key);
      }
      if (this.subscriptions.size === 0) this.follow();
    });
    if (this.state === 'closed') {
      subscription.wake('closed');
      return subscription;
    }
    const first = this.subscriptions.size === 0;
    for (const key of keys) {
      let set = this.subscriptions.get(key);
      if (!set) this.subscriptions.set(key, (set = new Set()));
      set.add(subscription);
    }
    if (first) this.follow();
    return subscription;
  }

  /** How many subscriptions are open (for tests and diagnostics). */
  get subscriberCount(): number {
    const all = new Set<FeedSubscription>();
    for (const set of this.subscriptions.values()) for (const subscription of set) all.add(subscription);
    return all.size;
  }

  /** Ends every subscription (their streams end, clients reconnect elsewhere) and the connection. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.wakeAll('closed');
    this.subscriptions.clear();
    await this.reconnecting?.catch(() => {});
    await this.following;
    await this.sql.end({ timeout: 2 });
  }

  private async listen(): Promise<void> {
    await this.sql.unsafe(`listen ${JSON.stringify(EVENT_CHANNEL)}`);
  }

  private dispatch(payload: string): void {
    const notice = parseEventNotice(payload);
    if (!notice) {
      this.logger.warn({ payload }, 'unreadable event notice');
      return;
    }
    for (const key of [`${notice.machine}:${notice.entityId}`, `${notice.machine}:${ANY_ENTITY}`]) {
      const set = this.subscriptions.get(key);
      if (set) for (const subscription of set) subscription.wake('event');
    }
  }

  private reconnect(): Promise<void> {
    if (this.reconnecting) return this.reconnecting;
    this.state = 'reconnecting';
    this.reconnecting = (async () => {
      let delay = this.delays.initial;
      for (let attempt = 1; ; attempt++) {
        await new Promise((r) => setTimeout(r, delay));
        if (this.closed) return;
        try {
          await this.listen();
        } catch (err) {
          if (attempt === 1 || attempt % 10 === 0) this.logger.warn({ err, attempt }, 'event feed cannot listen yet; retrying');
          delay = Math.min(delay * 2, this.delays.max);
          continue;
        }
        if (this.closed) return;
        this.state = 'listening';
        this.logger.info({ attempts: attempt }, 'event feed listening again');
        this.wakeAll('resync');
        // The subscribers may all have left meanwhile.
        this.follow();
        return;
      }
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }
}
