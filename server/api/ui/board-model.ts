/**
 * What the board reads: the API's own shapes (sdk/schema.d.ts, generated from the routes), plus
 * the fields the API does not have yet but will (an evaluated plan's strategy). Each of those is optional here and rendered when present, so a
 * route that starts sending one lights it up on the board with no other change; once the route
 * declares it, `npm run gen` puts it in the generated type and the line below becomes redundant.
 */
import type { components } from '../../../sdk/client.ts';

type Schemas = components['schemas'];

export type QueuedDeployment = Schemas['Stack']['queue'][number];
export type StackHold = Schemas['Hold'];
export type StackFreeze = Schemas['Freeze'];

/** A stack as the list answers it: its queue as a length (the stack's own page has the queue). */
export type StackSummary = Omit<Schemas['StackSummary'], 'status'> & { status: string };

export type Stack = Omit<Schemas['Stack'], 'status'> & {
  /** Any stack status, shown as a word. */
  status: string;
};

/** The strategy an evaluated plan chose, and why. */
export interface Strategy {
  choice: string;
  reasons?: string[];
}

export type DeploymentStep = Schemas['DeploymentStep'];

export type Deployment = Omit<Schemas['Deployment'], 'status'> & {
  /** The statuses of today plus any new one (EVALUATED, SUPERSEDED): shown as a word either way. */
  status: string;
  strategy?: Strategy | null;
};

export type Event = Schemas['Event'];
export type Problem = Schemas['Problem'];

/**
 * How a status looks: every status of every entity maps to one tone, and the stylesheet colours
 * tones (server/api/ui/assets/board.css). A status missing here is shown as a word in the neutral tone.
 */
export type Tone = 'waiting' | 'active' | 'good' | 'bad' | 'stopped' | 'neutral';

export const STATUS_TONES: Record<string, Tone> = {
  // deployments
  QUEUED: 'waiting',
  EVALUATED: 'waiting',
  TRIGGERED: 'active',
  WAITING: 'active',
  AVAILABLE: 'active',
  RUNNING: 'active',
  DONE: 'good',
  FAILED: 'bad',
  TERMINATED: 'stopped',
  SUPERSEDED: 'stopped',
  // steps
  BLOCKED: 'waiting',
  READY: 'waiting',
  ACTIVE: 'active',
  SKIPPED: 'stopped',
  // stacks (AVAILABLE above reads "active" for a deployment; a stack's AVAILABLE is idle)
  MIGRATING: 'active',
  BROKEN: 'bad',
  HELD: 'waiting',
  FROZEN: 'waiting',
};

/** Stacks use some deployment words with another meaning. */
export const STACK_STATUS_TONES: Record<string, Tone> = { ...STATUS_TONES, AVAILABLE: 'good', CREATING: 'active', STABLE: 'good' };

export const TERMINAL_DEPLOYMENT_STATUSES: readonly string[] = ['DONE', 'FAILED', 'TERMINATED', 'SUPERSEDED'];

export function isTerminal(status: string): boolean {
  return TERMINAL_DEPLOYMENT_STATUSES.includes(status);
}
