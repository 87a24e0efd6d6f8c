/**
 * Helpers for tests that build CloudFormation templates: small applications, cluster database
 * hosts, and readers for the parts of a template the tests look at. Every template built through
 * `buildChecked` is also checked against the AWS resource specification.
 */
import { expect } from 'vitest';
import { parseApplication, type Application } from '../../server/domain/application/index.ts';
import { buildTemplate, type BuiltTemplate, type CfnTemplate, type CfnValue, type RdsHostAuth } from '../../server/domain/template/index.ts';
import { assertValidCfnTemplate } from './cfn-spec.ts';
import { corpusMissing, realConfigText } from './o5-corpus.ts';

export const SECRETS_MANAGER_HOST: RdsHostAuth = { serverGroupName: 'group', auth: { secretsManager: { secretName: '/env/root/secret' } } };
export const IAM_HOST: RdsHostAuth = { serverGroupName: 'group', auth: { iam: { dbUser: 'admin' } } };

/** Why the real configs of ../shared/fixtures/o5-real cannot be read (tests using them skip), or undefined. */
export const REAL_CONFIGS_MISSING = corpusMissing('o5-real');

/** Reads one of the real application configs in ../shared/fixtures/o5-real (see REAL_CONFIGS_MISSING). */
export function realFixture(name: 'o5deploy' | 'o5test'): Application {
  return parseApplication(realConfigText(name));
}

/** An application named `app1` with one runtime `main` whose container `main` runs `foobar:latest`. */
export function basicApp(runtime: Record<string, unknown> = {}, app: Record<string, unknown> = {}): Application {
  return parseApplication({
    name: 'app1',
    ...app,
    runtimes: [{ name: 'main', containers: [{ name: 'main', image: { name: 'foobar', tag: 'latest' } }], ...runtime }],
  });
}

/** Builds the template and checks it against the AWS resource specification. */
export async function buildChecked(application: Application, rdsHosts: readonly RdsHostAuth[] = [], version = 'version1'): Promise<BuiltTemplate> {
  const built = buildTemplate({ application, version, rdsHosts });
  await assertValidCfnTemplate(built.template);
  return built;
}

type Obj = Record<string, any>;

export function resource(template: CfnTemplate, logicalId: string): Obj {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId}; the template has ${Object.keys(template.Resources).join(', ')}`);
  return found as Obj;
}

export function resourcesOfType(template: CfnTemplate, type: string): [string, Obj][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type) as [string, Obj][];
}

export function containers(template: CfnTemplate, taskDefinitionId: string): Obj[] {
  return resource(template, taskDefinitionId).Properties.ContainerDefinitions;
}

export function container(template: CfnTemplate, taskDefinitionId: string, name: string): Obj | undefined {
  return containers(template, taskDefinitionId).find((c) => c.Name === name);
}

export function envValue(containerDefinition: Obj | undefined, name: string): CfnValue | undefined {
  return containerDefinition?.Environment?.find((e: Obj) => e.Name === name)?.Value;
}

export function secretValueFrom(containerDefinition: Obj | undefined, name: string): CfnValue | undefined {
  return containerDefinition?.Secrets?.find((s: Obj) => s.Name === name)?.ValueFrom;
}

/** The inline policy of a role whose name ends with `-<kind>` (`s3-readwrite`, `rds-connect`...). */
export function rolePolicy(template: CfnTemplate, roleId: string, kind: string): Obj | undefined {
  const policies: Obj[] = resource(template, roleId).Properties.Policies;
  return policies.find((p) => {
    const parts = p.PolicyName['Fn::Join'][1];
    return parts[parts.length - 1] === kind;
  })?.PolicyDocument;
}

export function parameterNames(built: BuiltTemplate): string[] {
  return built.parameters.map((p) => p.name);
}

/** Fails with the names present when a key is missing, rather than `undefined is not an object`. */
export function expectKeys(object: object, keys: string[]): void {
  expect(Object.keys(object)).toEqual(expect.arrayContaining(keys));
}
