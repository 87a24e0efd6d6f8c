/**
 * What a person can do from the board. Each action is one entry: where it applies, the API call it
 * makes, and the question it asks first. The page renders a button per applicable entry and the
 * script (assets/board.js) carries out any of them the same way: confirm, call the API with the
 * bearer token, show the problem on refusal. Approve/reject, hold/release and rollback are one
 * entry each here once their API routes exist.
 */
import { html } from 'hono/html';
import { isTerminal, type Deployment, type Stack } from './board-model.ts';

/** What an action acts on. A queue entry is a deployment known only by id and version. */
export type ActionTarget =
  | { kind: 'deployment'; deployment: Pick<Deployment, 'id' | 'status' | 'version' | 'application' | 'environment'> }
  | { kind: 'stack'; stack: Stack };

export interface BoardAction {
  /** Names the button for tests and for the script's messages. */
  name: string;
  label: string;
  appliesTo(target: ActionTarget): boolean;
  /** The API call; the body is JSON. `reason` (when asked) is added to it. */
  request(target: ActionTarget): { method: 'POST' | 'PUT' | 'DELETE'; path: string; body?: Record<string, unknown> };
  /** The confirmation question, in words. */
  confirm(target: ActionTarget): string;
  /** Ask for a free-text reason and send it as `reason`. */
  asksReason?: boolean;
  /** Styled as destructive. */
  danger?: boolean;
}

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
        (d.status === 'QUEUED' ? 'It leaves the queue.' : 'The stack is released at once; operations already running in AWS finish there.');
    },
    asksReason: true,
    danger: true,
  },
];

/** The buttons of every action that applies to the target; empty when none does. */
export function actionButtons(target: ActionTarget) {
  const buttons = BOARD_ACTIONS.filter((a) => a.appliesTo(target)).map((a) => {
    const request = a.request(target);
    return html`<button type="button" class="action${a.danger ? ' danger' : ''}" data-action="${a.name}"
      data-method="${request.method}" data-path="${request.path}" data-body="${JSON.stringify(request.body ?? {})}"
      data-confirm="${a.confirm(target)}"${a.asksReason ? html` data-asks-reason="true"` : ''}>${a.label}</button>`;
  });
  return buttons.length ? html`<span class="actions">${buttons}</span>` : '';
}
