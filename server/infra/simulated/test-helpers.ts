/**
 * For the simulator's tests: a clock they move by hand, a template shaped like the ones the
 * template builder makes (a database secret and a migration task definition as outputs), and a
 * stack made by someone else than the deployer (as o5-deploy-aws would have left it).
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { emptyStackTemplate } from '../../domain/cloudformation/empty-stack.ts';
import type { InfraPort } from '../port.ts';
import { createSimulatedInfra, type SimulatedInfraOptions } from './index.ts';
import { beginCreate, stackRow } from './stack-operations.ts';
import { viewStack } from './stack-view.ts';
import { simulatorDb } from './store.ts';
import { ACCOUNT_ID, parseTemplate, resolveParameters, stackOutputs } from './template.ts';
import { storeTemplateBody, templateSha256 } from './template-storage.ts';

export interface ManualClock {
  now(): number;
  advance(ms: number): void;
}

export function manualClock(start = Date.parse('2026-11-26T10:00:00Z')): ManualClock {
  let current = start;
  return { now: () => current, advance: (ms) => void (current += ms) };
}

export function simulator(sql: Sql, clock: ManualClock, options: Partial<SimulatedInfraOptions> = {}): InfraPort {
  return createSimulatedInfra({ sql, now: clock.now, ...options });
}

export function appTemplate(options: { image?: string; extraOutput?: boolean } = {}): string {
  return JSON.stringify({
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: {
      EnvName: { Type: 'String' },
      VersionTag: { Type: 'String', Default: options.image ?? 'v1' },
      ListenerARN: { Type: 'String' },
      ListenerRulePriorityFirstabc: { Type: 'Number' },
      DesiredCountmain: { Type: 'Number', Default: '0' },
    },
    Resources: {
      SecretsManagerSecretDatabaseMain: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: { Name: { 'Fn::Join': ['/', ['', { Ref: 'EnvName' }, 'shop', 'postgres', 'dev_shop_main']] } },
      },
      ECSTaskDefinitionMigrateMain: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: { Family: { 'Fn::Sub': '${AWS::StackName}_migrate_main' } },
      },
      ECSServiceMain: { Type: 'AWS::ECS::Service', Properties: { DesiredCount: { Ref: 'DesiredCountmain' } } },
    },
    Outputs: {
      DatabaseSecretMain: { Value: { Ref: 'SecretsManagerSecretDatabaseMain' } },
      MigrationTaskDefinitionMain: { Value: { Ref: 'ECSTaskDefinitionMigrateMain' } },
      ...(options.extraOutput && { ServiceMain: { Value: { 'Fn::GetAtt': ['ECSServiceMain', 'Name'] } } }),
    },
  });
}

export const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/dev/1/2';

export function appParameters(overrides: Record<string, string> = {}) {
  const values: Record<string, string> = {
    EnvName: 'dev',
    ListenerARN: LISTENER,
    ListenerRulePriorityFirstabc: '5',
    DesiredCountmain: '0',
    ...overrides,
  };
  return Object.entries(values).map(([key, value]) => ({ key, value }));
}

export interface StackMadeElsewhere {
  stackName: string;
  /** The template it was created with (JSON or YAML); its outputs are computed from it. */
  templateBody: string;
  parameters: Record<string, string>;
  /** Its tags; a stack of o5-deploy-aws has none of ours. */
  tags?: Record<string, string>;
  /** `createFailed`: its first create failed and rolled back (ROLLBACK_COMPLETE). Default success. */
  outcome?: 'success' | 'createFailed';
}

/**
 * Puts a stack in the simulated cloud as someone other than the deployer would have made it (o5,
 * a person with the console): created with a full template and no call through the infra port.
 * Returns its stack id. The create is already finished at the simulator's current time.
 * `sql` must be a pool of its own, as the simulator's is (server/infra/create-infra.ts): drizzle
 * changes the JSON serializers of the pool it is given.
 */
export async function createStackElsewhere(sql: Sql, stack: StackMadeElsewhere, options: { region?: string; now?: () => number } = {}): Promise<string> {
  const ctx = { db: simulatorDb(sql), region: options.region ?? 'us-east-1', account: ACCOUNT_ID, latencyMs: 0, now: options.now ?? Date.now };
  const template = parseTemplate(stack.templateBody);
  const parameters = resolveParameters(template, stack.parameters);
  const outputs = stackOutputs(template, { stackName: stack.stackName, region: ctx.region, account: ctx.account, parameters, previousOutputs: {}, changed: true });
  const stackId = `arn:aws:cloudformation:${ctx.region}:${ACCOUNT_ID}:stack/${stack.stackName}/${randomUUID()}`;
  const failed = stack.outcome === 'createFailed';
  const placeholder = { sha256: templateSha256(emptyStackTemplate()), body: emptyStackTemplate() };
  const full = { sha256: templateSha256(stack.templateBody), body: stack.templateBody };
  await ctx.db.transaction(async (tx) => {
    await Promise.all([storeTemplateBody(tx, placeholder), storeTemplateBody(tx, full)]);
    const made = {
      stackName: stack.stackName,
      stackId,
      createdAt: new Date(ctx.now()),
      before: { templateSha256: placeholder.sha256, templateUrl: null, parameters: {}, outputs: {} },
      tags: stack.tags ?? {},
    };
    await beginCreate(tx, ctx, made, {
      target: { templateSha256: full.sha256, templateUrl: null, parameters, outputs },
      operation: 'create',
      clientToken: `console-${randomUUID()}`,
      strikes: failed ? { outcome: { id: 0, fault: { kind: 'createFailed' } }, faultIds: [] } : { faultIds: [] },
      ...(failed && { reason: 'The following resource(s) failed to create: [ECSServiceMain]. Rollback requested by user.' }),
    });
  });
  return stackId;
}

/**
 * The parameter values a simulated stack has in force, as CloudFormation keeps them: NoEcho ones
 * too, which DescribeStacks shows masked. Null when there is no such stack. `sql` as for createStackElsewhere.
 */
export async function stackParametersInForce(sql: Sql, stackName: string, options: { now?: () => number } = {}): Promise<Record<string, string> | null> {
  const [row] = await stackRow(simulatorDb(sql), stackName);
  return row ? { ...viewStack(row, (options.now ?? Date.now)()).content.parameters } : null;
}
