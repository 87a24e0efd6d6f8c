/** `deployer apply -f cluster.yaml`: store clusters (with their environments) and single environments. */
import { parseAllDocuments } from 'yaml';
import type { components } from '../../client.ts';
import { DeployerApiError } from '../../events.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, UsageError, type Cli, type Command } from '../cli.ts';

type Cluster = components['schemas']['Cluster'];
type Environment = components['schemas']['Environment'];

interface Document {
  file: string;
  /** 1-based, in its file. */
  index: number;
  body: Record<string, unknown>;
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Create or update clusters and environments from YAML (or JSON) files',
  help: `Usage: deployer apply -f FILE [-f FILE ...]

Stores each document of each file, in order, and stops at the first the deployer refuses:
  - a cluster: has \`name\` and \`aws\`, usually with its \`environments\` list
    (PUT /v1/clusters/{name}: the cluster and all its environments, in one transaction);
  - an environment: has \`fullName\` and \`clusterName\` (PUT /v1/environments/{fullName}).
A file may hold several documents separated by \`---\`.

Options:
  -f, --file FILE  a file to apply (repeatable)

${COMMON_HELP}

Examples:
  deployer apply -f db/seed/demo-cluster.yaml
  deployer apply -f prod.yaml -f staging-env.yaml --json`,

  async run(cli, argv) {
    const { values } = parseCommand(argv, { file: { type: 'string', short: 'f', multiple: true } }, { min: 0, max: 0 });
    const files = values.file ?? [];
    if (files.length === 0) throw new UsageError('-f FILE is required');

    const documents = files.flatMap((file) => readDocuments(cli, file));
    const results: Array<{ kind: 'cluster'; cluster: Cluster } | { kind: 'environment'; environment: Environment }> = [];
    for (const doc of documents) {
      const where = documents.length > 1 ? `${doc.file} (document ${doc.index})` : doc.file;
      try {
        if (isEnvironment(doc.body)) {
          const environment = await putEnvironment(cli, doc.body);
          results.push({ kind: 'environment', environment });
          cli.say(`environment ${environment.name} (cluster ${environment.clusterName}): version ${environment.version}`);
        } else {
          const cluster = await putCluster(cli, doc.body);
          results.push({ kind: 'cluster', cluster });
          const envs = cluster.environments.length ? `, environments ${cluster.environments.join(', ')}` : '';
          cli.say(`cluster ${cluster.name}: version ${cluster.version}${envs}`);
        }
      } catch (err) {
        // The problem itself is printed by the CLI; say which document it is about.
        if (err instanceof DeployerApiError) cli.warn(`${where} was not applied:`);
        throw err;
      }
    }
    if (cli.json) cli.printJson(results);
    return EXIT_OK;
  },
};

function readDocuments(cli: Cli, file: string): Document[] {
  const text = cli.readFile(file);
  const documents: Document[] = [];
  parseAllDocuments(text).forEach((parsed, i) => {
    const index = i + 1;
    if (!('errors' in parsed)) return; // an empty stream
    if (parsed.errors.length > 0) {
      throw new UsageError(`${file}: not valid YAML: ${parsed.errors[0]!.message.split('\n')[0]}`);
    }
    const body = parsed.toJS() as unknown;
    if (body === null || body === undefined) return; // an empty document between separators
    if (typeof body !== 'object' || Array.isArray(body)) throw new UsageError(`${file} (document ${index}): expected a mapping`);
    const doc = body as Record<string, unknown>;
    if (!isEnvironment(doc) && typeof doc.name !== 'string') {
      throw new UsageError(
        `${file} (document ${index}): neither a cluster (name, aws, environments) nor an environment (fullName, clusterName)`,
      );
    }
    documents.push({ file, index, body: doc });
  });
  if (documents.length === 0) throw new UsageError(`${file}: no documents`);
  return documents;
}

function isEnvironment(doc: Record<string, unknown>): boolean {
  return typeof doc.fullName === 'string' && typeof doc.clusterName === 'string';
}

async function putCluster(cli: Cli, body: Record<string, unknown>): Promise<Cluster> {
  const cluster = body.name as string;
  const { data, error, response } = await cli.client.PUT('/v1/clusters/{cluster}', {
    params: { path: { cluster } },
    body: body as components['schemas']['ClusterDocument'],
  });
  if (!data) throw DeployerApiError.from(response.status, error, response.statusText);
  return data;
}

async function putEnvironment(cli: Cli, body: Record<string, unknown>): Promise<Environment> {
  const environment = body.fullName as string;
  const { data, error, response } = await cli.client.PUT('/v1/environments/{environment}', {
    params: { path: { environment } },
    body: body as components['schemas']['EnvironmentDocument'],
  });
  if (!data) throw DeployerApiError.from(response.status, error, response.statusText);
  return data;
}
