/**
 * How far the feed of every change (GET /v1/events) may go. An event's `position` is taken from a
 * sequence when its row is inserted, not when its transaction commits: a transaction that took
 * position N may commit after one that took N+1. A feed that sent N+1 and moved past it would never
 * send N (nor would a resume from N+1's id). So the feed sends events in position order up to the
 * first missing position, and passes a missing one only once every transaction that could still
 * fill it has ended. Whoever holds it took it before the later position the feed saw, so it is
 * running, with its transaction id, a moment after the gap was first seen (an insert gets its id
 * microseconds after its position): the feed notes the snapshot's xmax at a look GAP_SETTLE_MS
 * after the first, and passes the gap once a snapshot's xmin has reached that xmax (every
 * transaction then running has ended). A gap that stays (a rolled-back transaction, an insert that
 * conflicted) is passed then; one that fills is sent in its place.
 */

/** How long after first seeing a gap the feed notes which transactions may still fill it. */
export const GAP_SETTLE_MS = 50;

/** A missing position the feed waits at: when it was first seen, and the xmax it waits for xmin to reach. */
export interface FeedGap {
  position: number;
  seenAt: number;
  until?: bigint;
}

/** The xmin and xmax of `pg_current_snapshot()` as the read that found the rows saw them. */
export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
}

export interface FeedFrontier {
  /** How many of the rows read (in position order) may be sent now. */
  send: number;
  /** The gap the feed waits at, if it stopped at one (kept across reads until it is passed). */
  gap?: FeedGap;
}

/** `positions`: those read after `after`, in order; `now`: when the read was made (ms). */
export function feedFrontier(after: number, positions: readonly number[], snapshot: Snapshot, now: number, waiting?: FeedGap): FeedFrontier {
  let expected = after + 1;
  for (let i = 0; i < positions.length; i++) {
    const position = positions[i]!;
    if (position !== expected) {
      let gap: FeedGap = waiting?.position === expected ? waiting : { position: expected, seenAt: now };
      if (gap.until === undefined && now - gap.seenAt >= GAP_SETTLE_MS) gap = { ...gap, until: snapshot.xmax };
      // Not yet known that every transaction that could fill it has ended: wait here.
      if (gap.until === undefined || snapshot.xmin < gap.until) return { send: i, gap };
    }
    expected = position + 1;
  }
  return { send: positions.length };
}
