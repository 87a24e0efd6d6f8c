/** What the board reads: the API's own shapes (sdk/schema.d.ts, generated from the routes). */
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

export type DeploymentStep = Schemas['DeploymentStep'];

export type Deployment = Omit<Schemas['Deployment'], 'status'> & {
  /** Any deployment status, shown as a word. */
  status: string;
};

/** What EvalJoin chose and why, with the approval asked for and given. */
export type Evaluation = NonNullable<Schemas['Deployment']['evaluation']>;

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

/** A deployment that has ended: the SDK's own test, so the board and its clients agree. */
export { isTerminalStatus as isTerminal } from '../../../sdk/events.ts';
