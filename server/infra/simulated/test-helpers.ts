/**
 * For the simulator's tests: a clock they move by hand, and a template shaped like the ones the
 * template builder makes (a database secret and a migration task definition as outputs).
 */
import type { Sql } from 'postgres';
import type { InfraPort } from '../port.ts';
import { createSimulatedInfra, type SimulatedInfraOptions } from './index.ts';

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
