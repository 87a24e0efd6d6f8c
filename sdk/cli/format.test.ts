/** How `deployer status` lays a deployment out (sdk/cli/format.ts). */
import { describe, expect, it } from 'vitest';
import type { Deployment } from '../events.ts';
import { deploymentLines } from './format.ts';

const terminated = {
  id: '4c2836b7-f678-4ed5-9ee9-ced8fd0d1191',
  status: 'TERMINATED',
  applicationName: 'shop',
  version: 'v30',
  environmentName: 'demo',
  stackName: 'demo-shop',
  source: { kind: 'api', requestedBy: 'ops' },
  createdAt: '2026-12-02T22:33:42.308Z',
  startedAt: '2026-12-02T22:33:42.310Z',
  finishedAt: '2026-12-02T22:33:48.510Z',
  flags: {},
  planNotes: [],
  steps: [],
  // A deployment's error has a line per failed step, then what CF.Restore did.
  error: 'Terminated: stop it\nCF.Restore: put back version v1 (the template of deployment ba660e6d) at the desired count it ran with (api: 1)',
} as unknown as Deployment;

describe('deploymentLines', () => {
  it('keeps every line of a multi-line error under its "error:" label, so it reads as part of the deployment', () => {
    const lines = deploymentLines(terminated, Date.parse('2026-12-02T22:40:00Z'), false);
    const at = lines.findIndex((line) => line.startsWith('  error: '));
    expect(lines.slice(at, at + 2)).toEqual([
      '  error: Terminated: stop it',
      '         CF.Restore: put back version v1 (the template of deployment ba660e6d) at the desired count it ran with (api: 1)',
    ]);
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
  });
});
