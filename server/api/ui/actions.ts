/**
 * What a person can do from the board. Each action is one entry: where it applies, the API call it
 * makes, and the question it asks first. The page renders a button per applicable entry and the
 * script (assets/board.js) carries out any of them the same way: confirm, call the API with the
 * bearer token, show the problem on refusal. Approve/reject are one entry each here once their
 * API routes exist.
 */
import { html } from 'hono/html';
import { isTerminal, type Deployment, type Stack, type StackHold } from './board-model.ts';

/** What an action acts on. A queue entry is a deployment known only by id and version. */
export type ActionTarget =
  | { kind: 'deployment'; deployment: Pick<Deployment, 'id' | 'status' | 'version' | 'application' | 'environment'> }
  | { kind: 'stack'; stack: Pick<Stack, 'environment' | 'application'> }
  | { kind: 'hold'; stack: Pick<Stack, 'environment' | 'application'>; hold: Pick<StackHold, 'id' | 'reason'> };

export interface BoardAction {
  /** Names the button for tests and for the script's messages. */
  name: string;
  label: string;
  appliesTo(target: ActionTarget): boolean;
  /** The API call; the body is JSON. `reason` (when asked) is added to it. */
  request(target: ActionTarget): { method: 'POST' | 'PUT' | 'DELETE'; path: string; body?: Record<string, unknown> };
  /** The confirmation question, in words. */
  confirm(target: ActionTarget): string;
  /** Ask for a free-text reason and send it as `reason`: `required` where the API requires one (a hold, a reject). */
  asksReason?: 'optional' | 'required';
  /** Styled as destructive. */
  danger?: boolean;
}

const stackPath = (stack: Pick<Stack, 'environment' | 'application'>) =>
  `/v1/stacks/${encodeURIComponent(stack.environment)}/${encodeURIComponent(stack.application)}`;

const deploymentOf = (target: ActionTarget) => {
  if (target.kind !== 'deployment') throw new Error(`expected a deployment, got a ${target.kind}`);
  return target.deployment;
};

export const BOARD_ACTIONS: readonly BoardAction[] = [
  {
    name: 'terminate',
    label: 'Terminate',
    appliesTo: (t) => t.kind === 'deployment' && !isTerminal(t.deployment.status),
    request: (t) => ({ method: 'POST', path: `/v1/deployments/${encodeURIComponent(deploymentOf(t).id)}/terminate`, body: {} }),
    confirm: (t) => {
      const d = deploymentOf(t);
      return `Terminate ${d.application} ${d.version} in ${d.environment} (${d.status})? ` +
        (d.status === 'QUEUED'
          ? 'It leaves the queue.'
          : 'Nothing new starts; what it began in AWS is cancelled (or, where it cannot be, awaited) before the next deployment of the stack starts.');
    },
    asksReason: 'optional',
    danger: true,
  },
  {
    name: 'approve',
    label: 'Approve',
    appliesTo: (t) => t.kind === 'deployment' && t.deployment.status === 'EVALUATED',
    request: (t) => ({ method: 'POST', path: `/v1/deployments/${encodeURIComponent(deploymentOf(t).id)}/approve` }),
    confirm: (t) => {
      const d = deploymentOf(t);
      return `Approve ${d.application} ${d.version} in ${d.environment}? What is shown runs at once.`;
    },
  },
  {
    name: 'reject',
    label: 'Reject',
    appliesTo: (t) => t.kind === 'deployment' && t.deployment.status === 'EVALUATED',
    request: (t) => ({ method: 'POST', path: `/v1/deployments/${encodeURIComponent(deploymentOf(t).id)}/reject`, body: {} }),
    confirm: (t) => {
      const d = deploymentOf(t);
      return `Reject ${d.application} ${d.version} in ${d.environment}? It ends TERMINATED with your reason, and the stack takes the next deployment.`;
    },
    asksReason: 'required',
    danger: true,
  },
  {
    name: 'hold',
    label: 'Hold',
    appliesTo: (t) => t.kind === 'stack',
    request: (t) => ({ method: 'POST', path: `${stackPath((t as Extract<ActionTarget, { kind: 'stack' }>).stack)}/holds`, body: {} }),
    confirm: (t) => {
      const { stack } = t as Extract<ActionTarget, { kind: 'stack' }>;
      return `Hold ${stack.application} in ${stack.environment}? Deployments requested meanwhile queue until the hold is released; the running one goes on.`;
    },
    asksReason: 'required',
  },
  {
    name: 'rollback',
    label: 'Roll back',
    appliesTo: (t) => t.kind === 'stack',
    request: (t) => ({ method: 'POST', path: `${stackPath((t as Extract<ActionTarget, { kind: 'stack' }>).stack)}/rollback`, body: {} }),
    confirm: (t) => {
      const { stack } = t as Extract<ActionTarget, { kind: 'stack' }>;
      return `Roll ${stack.application} in ${stack.environment} back to the last DONE deployment before the current one, and hold the stack there?`;
    },
    danger: true,
  },
  {
    name: 'release',
    label: 'Release',
    appliesTo: (t) => t.kind === 'hold',
    request: (t) => {
      const { stack, hold } = t as Extract<ActionTarget, { kind: 'hold' }>;
      return { method: 'DELETE', path: `${stackPath(stack)}/holds/${encodeURIComponent(hold.id)}` };
    },
    confirm: (t) => {
      const { stack, hold } = t as Extract<ActionTarget, { kind: 'hold' }>;
      return `Release the hold "${hold.reason}" on ${stack.application} in ${stack.environment}? The queue resumes when no hold or freeze is left.`;
    },
  },
];

/** The buttons of every action that applies to the target; empty when none does. */
export function actionButtons(target: ActionTarget) {
  const buttons = BOARD_ACTIONS.filter((a) => a.appliesTo(target)).map((a) => {
    const request = a.request(target);
    return html`<button type="button" class="action${a.danger ? ' danger' : ''}" data-action="${a.name}"
      data-method="${request.method}" data-path="${request.path}" data-body="${JSON.stringify(request.body ?? {})}"
      data-confirm="${a.confirm(target)}"${a.asksReason ? html` data-asks-reason="${a.asksReason}"` : ''}>${a.label}</button>`;
  });
  return buttons.length ? html`<span class="actions">${buttons}</span>` : '';
}
