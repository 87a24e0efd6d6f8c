/**
 * The real o5 application configs that other people wrote, read from ../shared/fixtures (beside
 * the repository, never copied into it), and a cluster whose environment provides what they
 * need: RDS server group `default`, IAM policies `sqs-direct` and `assume-o5-deployer`, five
 * custom variables, and links to the sibling environments `webhook` and `publicweb`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
const PUBLIC = `${SHARED_FIXTURES}o5-public/`;

export type CorpusClass = 'valid' | 'legacy' | 'invalid';

export interface CorpusConfig {
  /** Path under o5-public/: `snake_case/registry__ext_o5_app.yaml`. */
  file: string;
  kind: CorpusClass;
  text: string;
}

/** Why the corpus cannot be read, or undefined when it can. */
export function corpusMissing(dir = 'o5-public'): string | undefined {
  return existsSync(`${SHARED_FIXTURES}${dir}`) ? undefined : `SKIPPED: ${SHARED_FIXTURES}${dir} is absent (real configs are kept beside the repository, not in it)`;
}

export function corpusConfigs(): CorpusConfig[] {
  const read = (sub: string, kind: CorpusClass) =>
    readdirSync(`${PUBLIC}${sub}`)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => ({ file: `${sub}${f}`, kind, text: readFileSync(`${PUBLIC}${sub}${f}`, 'utf8') }));
  return [...read('', 'valid'), ...read('snake_case/', 'legacy'), ...read('invalid/', 'invalid')];
}

/** One of the two configs in ../shared/fixtures/o5-real (`o5deploy`, `o5test`). */
export function realConfigText(name: string): string {
  return readFileSync(`${SHARED_FIXTURES}o5-real/${name}.app.yaml`, 'utf8');
}

export const CORPUS_ENV = 'corpus-main';

/** A cluster with the environment the corpus deploys to, and its two siblings. */
export const corpusClusterYaml = `
name: corpus
aws:
  awsAccount: "000000000000"
  awsRegion: us-east-1
  vpcId: vpc-corpus
  globalNamespace: corpus
  o5Deployer: { assumeRoleArn: "arn:aws:iam::000000000000:role/o5-deployer" }
  albIngress:
    listenerArn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/corpus/abc/def"
    securityGroupId: sg-corpus-alb
  o5Sidecar: { imageVersion: "v1.20.0" }
  eventBridge: { eventBusArn: "arn:aws:events:us-east-1:000000000000:event-bus/corpus" }
  ecsCluster:
    clusterName: corpus
    taskExecutionRole: "arn:aws:iam::000000000000:role/ecs-task-exec"
    defaultRegistry: 000000000000.dkr.ecr.us-east-1.amazonaws.com
    subnetIds: [subnet-corpus-a]
  rdsHosts:
    - serverGroupName: default
      clientSecurityGroupId: sg-corpus-db-clients
      auth: { secretsManager: { secretName: /corpus/global/rds/default/root } }
environments:
  - fullName: ${CORPUS_ENV}
    vars:
      - { name: o5-deployer-assume-role, value: "arn:aws:iam::000000000000:role/o5-deployer-target" }
      - { name: o5-deployer-callback-arn, value: "arn:aws:sns:us-east-1:000000000000:o5-deployer-callback" }
      - { name: j5-repos, value: "pentops/j5,pentops/registry" }
      - { name: sns-prefix, value: "arn:aws:sns:us-east-1:000000000000:${CORPUS_ENV}" }
      - { name: upstream-jwks, value: "https://auth.example.com/.well-known/jwks.json" }
    aws:
      hostHeader: corpus.example.com
      iamPolicies:
        - { name: sqs-direct, policyArn: "arn:aws:iam::000000000000:policy/sqs-direct" }
        - { name: assume-o5-deployer, policyArn: "arn:aws:iam::000000000000:policy/assume-o5-deployer" }
      environmentLinks:
        - { lookupName: webhook, fullName: corpus-webhook, snsPrefix: "arn:aws:sns:us-east-1:000000000000:corpus-webhook" }
        - { lookupName: publicweb, fullName: corpus-publicweb, snsPrefix: "arn:aws:sns:us-east-1:000000000000:corpus-publicweb" }
  - fullName: corpus-webhook
  - fullName: corpus-publicweb
`;

/** Says in the test report why tests were skipped: a skipped test named after the reason. */
export function reportSkipped(reason: string | undefined, what: string): void {
  if (reason !== undefined) describe(what, () => it.skip(reason, () => {}));
}
