/**
 * What a free stack starts next, and why each queued deployment waits: one pure decision, used by
 * the stack machine's pop (server/domain/machines/stack.ts) and by every read that shows
 * `waitingFor` (the API, the CLI's `status`, the board), so the two can never disagree.
 *
 * - A hold on the stack stops every queued deployment except the one it was made for (a rollback's
 *   own hold lets the rollback through).
 * - A freeze on the environment stops every application it does not `allow`.
 * - Among the deployments nothing stops, `fifo` starts the oldest; `supersede` starts the newest and
 *   every deployment queued before it ends SUPERSEDED; `reject` refuses requests while a deployment
 *   runs (the stack's `deployment_requested` guard) and otherwise behaves like `fifo`.
 */

export const queuePolicies = ['fifo', 'supersede', 'reject'] as const;
export type QueuePolicy = (typeof queuePolicies)[number];

export interface QueuedRef {
  deploymentId: string;
  version: string;
}

/** A stop on one stack ("hold") or on a whole environment ("freeze"). */
export interface Stop {
  id: string;
  reason: string;
  /** ISO time; lifted by a scheduled job then. */
  until?: string;
  /** Name of the token that made it. */
  createdBy: string;
  createdAt?: string;
}

export interface Hold extends Stop {
  /** The one deployment this hold lets through (the rollback that placed it). */
  lets?: string;
}

export interface Freeze extends Stop {
  /** Applications this freeze lets through. */
  allow?: string[];
}

/** One reason a queued deployment waits. */
export type Blocker =
  | { kind: 'deployment'; deploymentId: string; version: string; step?: string; settling?: true }
  | { kind: 'hold'; id: string; reason: string; until?: string; createdBy: string }
  | { kind: 'freeze'; id: string; reason: string; until?: string; createdBy: string; environment: string }
  | { kind: 'approval'; deploymentId: string };

export interface QueueView {
  policy: QueuePolicy;
  applicationName: string;
  environmentName: string;
  /**
   * The deployment holding the stack, its running step when known, whether it stopped for an
   * approval (EVALUATED), and whether it was terminated and holds the stack while what it began
   * is cancelled or settles.
   */
  current: (QueuedRef & { step?: string; awaitsApproval?: boolean; settling?: boolean }) | null;
  queue: readonly QueuedRef[];
  holds: readonly Hold[];
  freezes: readonly Freeze[];
}

export type NextMove =
  | { kind: 'busy' }
  | { kind: 'empty' }
  | { kind: 'stopped' }
  | { kind: 'start'; deploymentId: string; supersedes: string[] };

/** The effective policy: the stack's own, else its environment's default, else fifo. */
export function effectivePolicy(stackPolicy: QueuePolicy | undefined, environmentPolicy: QueuePolicy | undefined): QueuePolicy {
  return stackPolicy ?? environmentPolicy ?? 'fifo';
}

/** The holds and freezes that stop one deployment of this stack. */
export function stopsOf(view: Pick<QueueView, 'holds' | 'freezes' | 'applicationName' | 'environmentName'>, deploymentId: string): Blocker[] {
  const holds = view.holds
    .filter((h) => h.lets !== deploymentId)
    .map((h): Blocker => ({ kind: 'hold', id: h.id, reason: h.reason, createdBy: h.createdBy, ...(h.until ? { until: h.until } : {}) }));
  const freezes = view.freezes
    .filter((f) => !(f.allow ?? []).includes(view.applicationName))
    .map(
      (f): Blocker => ({
        kind: 'freeze',
        id: f.id,
        reason: f.reason,
        createdBy: f.createdBy,
        environment: view.environmentName,
        ...(f.until ? { until: f.until } : {}),
      }),
    );
  return [...holds, ...freezes];
}

/** What a stack starts now: nothing while one runs, the first (fifo) or newest (supersede) that nothing stops. */
export function nextToStart(view: QueueView): NextMove {
  if (view.current) return { kind: 'busy' };
  if (view.queue.length === 0) return { kind: 'empty' };
  const free = view.queue.map((q, index) => ({ q, index })).filter(({ q }) => stopsOf(view, q.deploymentId).length === 0);
  if (free.length === 0) return { kind: 'stopped' };
  if (view.policy === 'supersede') {
    const newest = free[free.length - 1]!;
    return { kind: 'start', deploymentId: newest.q.deploymentId, supersedes: view.queue.slice(0, newest.index).map((q) => q.deploymentId) };
  }
  return { kind: 'start', deploymentId: free[0]!.q.deploymentId, supersedes: [] };
}

export interface WaitingFor {
  /** 1 = next in the queue. */
  position: number;
  blockers: Blocker[];
}

/**
 * Why each queued deployment waits: its position and everything that stops it now (the running
 * deployment and its step, the holds and freezes). A deployment that a free stack would start at
 * once has no blocker. While the running deployment waits for an approval, that is what all wait for.
 */
export function waitingFor(view: QueueView): Map<string, WaitingFor> {
  const out = new Map<string, WaitingFor>();
  view.queue.forEach((q, i) => {
    const blockers: Blocker[] = [];
    if (view.current?.awaitsApproval) {
      // Nothing runs until somebody approves or rejects the one in front.
      blockers.push({ kind: 'approval', deploymentId: view.current.deploymentId });
    } else if (view.current) {
      blockers.push({
        kind: 'deployment',
        deploymentId: view.current.deploymentId,
        version: view.current.version,
        ...(view.current.step ? { step: view.current.step } : {}),
        ...(view.current.settling ? { settling: true as const } : {}),
      });
    }
    blockers.push(...stopsOf(view, q.deploymentId));
    // FIFO: a free deployment behind an earlier free one waits for that one to run first.
    if (!view.current && blockers.length === 0 && view.policy !== 'supersede') {
      const earlier = view.queue.slice(0, i).find((e) => stopsOf(view, e.deploymentId).length === 0);
      if (earlier) blockers.push({ kind: 'deployment', deploymentId: earlier.deploymentId, version: earlier.version });
    }
    out.set(q.deploymentId, { position: i + 1, blockers });
  });
  return out;
}

/** One line for people (GitHub's status description, the CLI): the first blocker, said plainly. */
export function describeBlocker(b: Blocker): string {
  switch (b.kind) {
    case 'deployment':
      return b.settling
        ? `waiting for terminated deployment ${b.version} (${b.deploymentId}) to settle ${b.step ?? 'what it began'}`
        : `waiting for deployment ${b.version} (${b.deploymentId})${b.step ? ` at step ${b.step}` : ''}`;
    case 'hold':
      return `held: ${b.reason}${b.until ? ` (until ${b.until})` : ''}`;
    case 'freeze':
      return `environment ${b.environment} frozen: ${b.reason}${b.until ? ` (until ${b.until})` : ''}`;
    case 'approval':
      return `waiting for deployment ${b.deploymentId} to be approved or rejected`;
  }
}
