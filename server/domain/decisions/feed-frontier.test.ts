import { describe, expect, it } from 'vitest';
import { feedFrontier, GAP_SETTLE_MS } from './feed-frontier.ts';

const snapshot = (xmin: number, xmax: number) => ({ xmin: BigInt(xmin), xmax: BigInt(xmax) });
const T0 = 1_000_000;
const later = T0 + GAP_SETTLE_MS;

describe('how far the feed of every change may go', () => {
  it('sends rows without a gap, all of them', () => {
    expect(feedFrontier(10, [11, 12, 13], snapshot(500, 505), T0)).toEqual({ send: 3 });
    expect(feedFrontier(10, [], snapshot(500, 505), T0)).toEqual({ send: 0 });
  });

  it('stops at a missing position, and a moment later notes which transactions may still fill it', () => {
    // 12 is missing: first seen now.
    const first = feedFrontier(10, [11, 13, 14], snapshot(500, 505), T0);
    expect(first).toEqual({ send: 1, gap: { position: 12, seenAt: T0 } });
    // A moment later: the transactions running now (below xmax 507) may hold it.
    const noted = feedFrontier(11, [13, 14], snapshot(503, 507), later, first.gap);
    expect(noted).toEqual({ send: 0, gap: { position: 12, seenAt: T0, until: 507n } });
    // One of them still runs: it waits.
    expect(feedFrontier(11, [13, 14], snapshot(506, 510), later + 10, noted.gap)).toEqual({ send: 0, gap: noted.gap });
  });

  it('sends the late row once it commits (the gap filled)', () => {
    expect(feedFrontier(11, [12, 13, 14], snapshot(503, 509), later, { position: 12, seenAt: T0 })).toEqual({ send: 3 });
  });

  it('passes a gap that stays once every transaction that could fill it has ended (rolled back, or an insert that conflicted)', () => {
    expect(feedFrontier(11, [13, 14], snapshot(507, 509), later + 10, { position: 12, seenAt: T0, until: 507n })).toEqual({ send: 2 });
    // With nothing running at all (xmin = xmax), at the look that notes it.
    expect(feedFrontier(11, [13], snapshot(510, 510), later, { position: 12, seenAt: T0 })).toEqual({ send: 1 });
  });

  it('never passes a gap at its first sighting: a transaction may have its position and not yet its id', () => {
    expect(feedFrontier(10, [12], snapshot(510, 510), T0)).toEqual({ send: 0, gap: { position: 11, seenAt: T0 } });
  });

  it('stops at a second gap after passing the first', () => {
    expect(feedFrontier(11, [13, 15], snapshot(508, 509), later, { position: 12, seenAt: T0, until: 507n })).toEqual({ send: 1, gap: { position: 14, seenAt: later } });
  });
});
