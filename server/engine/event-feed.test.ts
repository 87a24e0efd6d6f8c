/**
 * The event feed: notices reach the subscribers of their entity, and after the database goes away
 * and comes back (played by a TCP proxy that drops every connection and refuses new ones for a
 * while) the feed listens again and tells every subscriber to look for what it missed.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { EventFeed, parseEventNotice, type FeedSubscription } from './event-feed.ts';
import { EVENT_CHANNEL } from './entities.ts';

/** A TCP proxy in front of Postgres that can play "down" (connections cut, new ones refused) and "up". */
async function startOutageProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  await up();
  return { port: () => port, up, down };
}

const silent = pino({ level: 'silent' });

describe('event feed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const notify = (payload: string) => db.sql`select pg_notify(${EVENT_CHANNEL}, ${payload})`;

  it('parses the notices the state store sends', () => {
    expect(parseEventNotice('deployment:3b241101-e2bb-4255-8caf-4136c566a962:42:RUNNING')).toEqual({
      machine: 'deployment',
      entityId: '3b241101-e2bb-4255-8caf-4136c566a962',
      position: 42,
      status: 'RUNNING',
    });
    expect(parseEventNotice('deployment:x:not-a-number:DONE')).toBeNull();
    expect(parseEventNotice('garbage')).toBeNull();
  });

  it('wakes the subscribers of the entity a notice is about, and only them', async () => {
    const feed = new EventFeed({ databaseUrl: db.url, logger: silent });
    await feed.start();
    try {
      const mine = feed.subscribe('deployment', 'a');
      const other = feed.subscribe('deployment', 'b');
      // The first subscriber's LISTEN wakes them all, to read what came before it was in place.
      expect(await mine.wait(5_000)).toBe('resync');
      expect(await other.wait(5_000)).toBe('resync');
      await notify('deployment:a:1:QUEUED');
      expect(await mine.wait(5_000)).toBe('event');
      expect(await other.wait(200)).toBe('timeout');
      // A notice that came while nobody waited is kept for the next wait.
      await notify('deployment:a:2:TRIGGERED');
      await new Promise((r) => setTimeout(r, 200));
      expect(await mine.wait(0)).toBe('event');

      const aborted = new AbortController();
      const waiting = mine.wait(10_000, aborted.signal);
      aborted.abort();
      expect(await waiting).toBe('aborted');

      mine.close();
      other.close();
      expect(feed.subscriberCount).toBe(0);
    } finally {
      await feed.close();
    }
  });

  it('listens only while someone follows: nobody is woken by every notice for nothing', async () => {
    const feed = new EventFeed({ databaseUrl: db.url, logger: silent });
    await feed.start();
    try {
      expect(feed.listening).toBe(false);
      const first = feed.subscribe('deployment', 'd');
      expect(await first.wait(5_000)).toBe('resync');
      expect(feed.listening).toBe(true);
      const second = feed.subscribeAll(['stack']);
      first.close();
      // One subscriber left: still listening, and its notices still come.
      await notify('stack:s:1:AVAILABLE');
      expect(await second.wait(5_000)).toBe('event');
      expect(feed.listening).toBe(true);
      second.close();
      await expect.poll(() => feed.listening).toBe(false);
      // Listening again for a new subscriber, which is told to read what it may have missed.
      const third = feed.subscribe('deployment', 'd');
      expect(await third.wait(5_000)).toBe('resync');
      await notify('deployment:d:2:RUNNING');
      expect(await third.wait(5_000)).toBe('event');
      third.close();
    } finally {
      await feed.close();
    }
  });

  it('listens again after the database went away and came back, and tells subscribers to resync', async () => {
    const target = new URL(db.url);
    const proxy = await startOutageProxy({ host: target.hostname, port: Number(target.port) });
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port());
    const feed = new EventFeed({ databaseUrl: viaProxy.toString(), logger: silent, reconnectDelayMs: { initial: 50, max: 200 } });
    await feed.start();
    let subscription: FeedSubscription | undefined;
    try {
      subscription = feed.subscribe('deployment', 'c');
      expect(await subscription.wait(5_000)).toBe('resync');
      await notify('deployment:c:1:QUEUED');
      expect(await subscription.wait(5_000)).toBe('event');

      await proxy.down();
      await expect.poll(() => feed.listening).toBe(false);
      // Down for a while: several attempts fail before the database is back.
      await new Promise((r) => setTimeout(r, 600));
      expect(feed.listening).toBe(false);
      await proxy.up();

      expect(await subscription.wait(10_000)).toBe('resync');
      expect(feed.listening).toBe(true);
      await notify('deployment:c:9:DONE');
      expect(await subscription.wait(5_000)).toBe('event');
    } finally {
      await feed.close();
      await proxy.down().catch(() => {});
    }
    // Closing the feed ends every subscription still open.
    expect(await subscription!.wait(1_000)).toBe('closed');
  });
});
