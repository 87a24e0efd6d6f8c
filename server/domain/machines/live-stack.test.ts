// Unit tests, no database: what is live, worked out from one deployment's record.
import { describe, expect, it } from 'vitest';
import type { StackSnapshot } from '../cloudformation/found-stack.ts';
import type { DeploymentData } from './deployment.ts';
import type { DeploymentStep } from './deployment-steps.ts';
import { liveStackOf } from './live-stack.ts';

const FOUND = '2026-11-26T10:00:00.000Z';
const at = (second: number) => `2026-11-26T10:00:${String(second).padStart(2, '0')}.000Z`;

const stackParameters = [
  { name: 'EnvName', value: 'dev' },
  { name: 'VersionTag', value: 'v2' },
  { name: 'DesiredCountapi', resolve: { desiredCount: {} } },
  { name: 'DesiredCountworker', resolve: { desiredCount: {} } },
  { name: 'ListenerRulePriorityFirst', resolve: { rulePriority: { routeGroup: {} } } },
];

// Step records are partial here: only what liveStackOf reads.
function deployment(stack: StackSnapshot | null, steps: object[]): DeploymentData {
  return {
    deploymentId: '0b5b0b32-4e5e-4f63-a1a4-1c3c2f7c9d10',
    stack,
    steps: steps.map((s) => ({ dependsOn: [], when: 'success', status: 'DONE', ...s }) as unknown as DeploymentStep),
  } as DeploymentData;
}

const snapshot: StackSnapshot = {
  status: 'UPDATE_COMPLETE',
  lifecycle: 'COMPLETE',
  outputs: {},
  parameters: { EnvName: 'dev', VersionTag: 'v1', DesiredCountapi: '1', DesiredCountworker: '1' },
  tags: {},
};

const scaleDown = { name: 'ScaleDown', type: 'cf_scale', input: { stackName: 'dev-app', desiredCount: 0 }, finishedAt: at(5), output: { status: 'UPDATE_COMPLETE' } };
const update = { name: 'CF.Update', type: 'cf_update', input: { stackName: 'dev-app', desiredCount: 0, parameters: stackParameters }, finishedAt: at(10), output: { status: 'UPDATE_COMPLETE' } };
const scaleUp = { name: 'ScaleUp', type: 'cf_scale', input: { stackName: 'dev-app', desiredCount: 1 }, finishedAt: at(20), output: { status: 'UPDATE_COMPLETE' } };

describe('liveStackOf', () => {
  it('is null for a deployment that never found the stack', () => {
    expect(liveStackOf(deployment(null, []), null)).toBeNull();
  });

  it('is the wait snapshot when no CloudFormation step has ended yet', () => {
    expect(liveStackOf(deployment(snapshot, [{ ...scaleDown, status: 'ACTIVE', finishedAt: undefined, output: undefined }]), FOUND)).toEqual({
      deploymentId: '0b5b0b32-4e5e-4f63-a1a4-1c3c2f7c9d10',
      stackStatus: 'UPDATE_COMPLETE',
      version: 'v1',
      runtimes: [
        { runtime: 'api', desiredCount: 1 },
        { runtime: 'worker', desiredCount: 1 },
      ],
      observedAt: FOUND,
    });
  });

  it('a NoEcho VersionTag, which the stack shows only as ****, is an unknown version (null), not the version ****', () => {
    const masked = { ...snapshot, parameters: { ...snapshot.parameters, VersionTag: '****' } };
    expect(liveStackOf(deployment(masked, []), FOUND)!.version).toBeNull();
    // CF.Apply pinned the running version it found masked (sent as UsePreviousValue): still unknown.
    const apply = { name: 'CF.Apply', type: 'cf_apply', input: { stackName: 'dev-app', desiredCount: 1, parameters: stackParameters, versionParameters: { VersionTag: '****' } }, finishedAt: at(10), output: { status: 'UPDATE_COMPLETE' } };
    expect(liveStackOf(deployment(masked, [apply]), FOUND)!.version).toBeNull();
  });

  it('follows the steps that ended, in the order they ended: scale down, update, scale up', () => {
    // Listed out of order on purpose: the order is the steps' end times.
    const live = liveStackOf(deployment(snapshot, [scaleUp, scaleDown, update, { name: 'DB.Migrate.main', type: 'pg_migrate', finishedAt: at(15) }]), FOUND);
    expect(live).toMatchObject({ stackStatus: 'UPDATE_COMPLETE', version: 'v2', observedAt: at(20) });
    expect(live!.runtimes).toEqual([
      { runtime: 'api', desiredCount: 1 },
      { runtime: 'worker', desiredCount: 1 },
    ]);
    const beforeScaleUp = liveStackOf(deployment(snapshot, [scaleDown, update]), FOUND);
    expect(beforeScaleUp).toMatchObject({ version: 'v2', observedAt: at(10), runtimes: [{ runtime: 'api', desiredCount: 0 }, { runtime: 'worker', desiredCount: 0 }] });
  });

  it('keeps the parameters the stack had when an update rolled back, with the status it ended on', () => {
    const rolledBack = { ...update, status: 'FAILED' as const, output: { status: 'UPDATE_ROLLBACK_COMPLETE' } };
    const recovered = { ...scaleUp, name: 'ScaleUp.Recover', finishedAt: at(30) };
    expect(liveStackOf(deployment(snapshot, [scaleDown, rolledBack]), FOUND)).toMatchObject({
      stackStatus: 'UPDATE_ROLLBACK_COMPLETE',
      version: 'v1',
      runtimes: [{ runtime: 'api', desiredCount: 0 }, { runtime: 'worker', desiredCount: 0 }],
      observedAt: at(10),
    });
    expect(liveStackOf(deployment(snapshot, [scaleDown, rolledBack, recovered]), FOUND)).toMatchObject({ version: 'v1', runtimes: [{ desiredCount: 1 }, { desiredCount: 1 }] });
  });

  it('a new stack: nothing found, then the empty stack, then the first version', () => {
    const create = { name: 'CF.CreateEmpty', type: 'cf_create', input: { stackName: 'dev-app' }, finishedAt: at(3), output: { status: 'CREATE_COMPLETE' } };
    expect(liveStackOf(deployment(null, []), FOUND)).toMatchObject({ stackStatus: null, version: null, runtimes: [] });
    expect(liveStackOf(deployment(null, [create]), FOUND)).toMatchObject({ stackStatus: 'CREATE_COMPLETE', version: null, runtimes: [], observedAt: at(3) });
    expect(liveStackOf(deployment(null, [create, update, scaleUp]), FOUND)).toMatchObject({ stackStatus: 'UPDATE_COMPLETE', version: 'v2', observedAt: at(20) });
  });

  it('"no updates" is not a status: the last real one stays', () => {
    const noChange = { ...scaleUp, output: { status: 'NO UPDATES TO BE PERFORMED' } };
    expect(liveStackOf(deployment({ ...snapshot, status: 'UPDATE_ROLLBACK_COMPLETE' }, [noChange]), FOUND)).toMatchObject({
      stackStatus: 'UPDATE_ROLLBACK_COMPLETE',
      observedAt: at(20),
    });
  });

  it('evaluated branches: CF.Plan changes nothing, CF.Apply keeps a pinned running version, CF.Version sets the version', () => {
    const plan = { name: 'CF.Plan', type: 'cf_evaluate', input: { stackName: 'dev-app', desiredCount: 1, parameters: stackParameters }, finishedAt: at(3), output: { status: 'CREATE_COMPLETE' } };
    const apply = {
      name: 'CF.Apply',
      type: 'cf_apply',
      input: { stackName: 'dev-app', desiredCount: 2, parameters: stackParameters, versionParameters: { VersionTag: 'v1' } },
      finishedAt: at(10),
      output: { status: 'UPDATE_COMPLETE' },
    };
    const version = { name: 'CF.Version', type: 'cf_version', input: { stackName: 'dev-app', versionParameters: { VersionTag: 'v2' } }, finishedAt: at(20), output: { status: 'UPDATE_COMPLETE' } };
    const afterApply = liveStackOf(deployment(snapshot, [plan, apply]), FOUND)!;
    expect(afterApply).toMatchObject({ version: 'v1', runtimes: [{ runtime: 'api', desiredCount: 2 }, { runtime: 'worker', desiredCount: 2 }], observedAt: at(10) });
    expect(liveStackOf(deployment(snapshot, [plan, apply, version]), FOUND)).toMatchObject({ version: 'v2', runtimes: [{ desiredCount: 2 }, { desiredCount: 2 }] });
    expect(liveStackOf(deployment(snapshot, [plan]), FOUND)).toMatchObject({ version: 'v1', observedAt: FOUND });
  });
});
