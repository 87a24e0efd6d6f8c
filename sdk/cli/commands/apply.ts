/** `deployer apply -f cluster.yaml`: store clusters (with their environments) and single environments. */
import { CST, parseAllDocuments, Parser, parseDocument } from 'yaml';
import type { components } from '../../client.ts';
import { DeployerApiError } from '../../events.ts';
import { COMMON_HELP, EXIT_OK, parseCommand, UsageError, type Cli, type Command } from '../cli.ts';

type Cluster = components['schemas']['Cluster'];
type Environment = components['schemas']['Environment'];

interface Document {
  file: string;
  /** 1-based, in its file. */
  index: number;
  kind: 'cluster' | 'environment';
  /** The cluster's `name` or the environment's `fullName`, as written: the name in the path. */
  name: string;
  /** The text sent, as written: the deployer reads it (YAML as o5 reads it: YAML 1.1). */
  text: string;
  contentType: 'application/yaml' | 'application/json';
}

/**
 * What became of each document, in --json output: `applied` (with what the deployer stored),
 * `failed` (the deployer refused it: its problem; nothing of it was stored), `unknown` (no answer
 * came: the deployer could not be reached, or the command was interrupted), `skipped` (not sent:
 * apply stops at the first document that fails).
 */
type Outcome = { file: string; document: number; kind: Document['kind']; name: string } & (
  | { outcome: 'applied'; cluster: Cluster }
  | { outcome: 'applied'; environment: Environment }
  | { outcome: 'failed'; error: Record<string, unknown> }
  | { outcome: 'unknown' | 'skipped' }
);

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Create or update clusters and environments from YAML (or JSON) files',
  help: `Usage: deployer apply -f FILE [-f FILE ...]

Stores each document of each file, in order, and stops at the first the deployer refuses:
  - a cluster: has \`name\` and \`aws\`, usually with its \`environments\` list
    (PUT /v1/clusters/{name}: the cluster and all its environments, in one transaction);
  - an environment: has \`fullName\` and \`clusterName\` (PUT /v1/environments/{fullName}).
A file may hold several documents separated by \`---\`. Each YAML document is sent as it is
written, and the deployer reads it as it reads every YAML document (YAML 1.1, as o5 does:
\`on\`, \`yes\` are booleans, \`0755\` is octal): apply means what a PUT of the file means.

Options:
  -f, --file FILE  a file to apply (repeatable)

${COMMON_HELP}
With --json: the list of documents, each with its outcome (applied, failed, unknown, skipped);
when one failed, { "error": <problem>, "documents": [...] } and exit code 1.

Examples:
  deployer apply -f db/seed/demo-cluster.yaml
  deployer apply -f prod.yaml -f staging-env.yaml --json`,

  async run(cli, argv) {
    const { values } = parseCommand(argv, { file: { type: 'string', short: 'f', multiple: true } }, { min: 0, max: 0 });
    const files = values.file ?? [];
    if (files.length === 0) throw new UsageError('-f FILE is required');

    const documents = files.flatMap((file) => readDocuments(cli, file));
    const describe = (doc: Document) => ({ file: doc.file, document: doc.index, kind: doc.kind, name: doc.name });
    const outcomes: Outcome[] = documents.map((doc) => ({ ...describe(doc), outcome: 'skipped' }));
    // Whatever ends the run (the deployer's refusal, no answer, Ctrl-C), --json reports every document beside the error.
    cli.jsonErrorExtras = { documents: outcomes };
    for (const [i, doc] of documents.entries()) {
      const where = documents.length > 1 ? `${doc.file} (document ${doc.index})` : doc.file;
      try {
        if (doc.kind === 'environment') {
          const environment = await putEnvironment(cli, doc);
          outcomes[i] = { ...describe(doc), outcome: 'applied', environment };
          cli.say(`environment ${environment.name} (cluster ${environment.clusterName}): version ${environment.version}`);
        } else {
          const cluster = await putCluster(cli, doc);
          outcomes[i] = { ...describe(doc), outcome: 'applied', cluster };
          const envs = cluster.environments.length ? `, environments ${cluster.environments.join(', ')}` : '';
          cli.say(`cluster ${cluster.name}: version ${cluster.version}${envs}`);
        }
      } catch (err) {
        const refused = err instanceof DeployerApiError;
        outcomes[i] = refused ? { ...describe(doc), outcome: 'failed', error: { ...err.problem, status: err.status } } : { ...describe(doc), outcome: 'unknown' };
        // The problem itself is printed by the CLI; say which document it is about, and which were not sent.
        const rest = documents.slice(i + 1).map((d) => `${d.file} (document ${d.index})`);
        const notSent = rest.length ? ` (and not sent: ${rest.join(', ')})` : '';
        cli.warn(refused ? `${where} was not applied${notSent}:` : `${where}: no answer, it may or may not have been applied${notSent}:`);
        throw err;
      }
    }
    cli.jsonErrorExtras = undefined;
    if (cli.json) cli.printJson(outcomes);
    return EXIT_OK;
  },
};

/**
 * The documents of a file. A JSON file is one document, sent as JSON. A YAML file is split into
 * its documents, each sent as its own text (with the directives and comments before it), after as
 * many empty lines as precede it in the file, so that a line in the deployer's answer is a line of
 * the file. The text is read here only to know what each document is and its name; a value means
 * what the deployer's reader makes of it.
 */
function readDocuments(cli: Cli, file: string): Document[] {
  const text = cli.readFile(file);
  const json = parseJson(text);
  const documents: Document[] = [];
  if (json !== undefined) {
    documents.push(classify(file, 1, json, text, 'application/json'));
  } else {
    // Failsafe: every scalar is its text, so nothing here decides what a value means.
    const options = { schema: 'failsafe', version: '1.1', uniqueKeys: false } as const;
    // Errors first, over the whole file: some are outside every document (`... junk` after an end marker).
    for (const parsed of parseAllDocuments(text, options)) {
      const errors = parsed.errors.filter((error) => !isQuoteEscape(text, error));
      if (errors.length > 0) throw new UsageError(`${file}: not valid YAML: ${errors[0]!.message.split('\n')[0]}`);
    }
    let from = 0;
    let index = 0;
    for (const token of new Parser().parse(text)) {
      if (token.type === 'doc-end') from = token.offset + CST.stringify(token).length;
      if (token.type !== 'document') continue;
      index++;
      const end = token.offset + CST.stringify(token).length;
      const lines = text.slice(0, from).split('\n').length - 1;
      const source = '\n'.repeat(lines) + text.slice(from, end);
      from = end;
      let body: unknown;
      try {
        body = parseDocument(source, options).toJS();
      } catch (err) {
        // An alias bomb: the yaml package refuses to expand it (the deployer would too).
        throw new UsageError(`${file} (document ${index}): ${(err as Error).message}`);
      }
      if (body === null || body === undefined) continue; // an empty document between separators
      documents.push(classify(file, index, body, source, 'application/yaml'));
    }
  }
  if (documents.length === 0) throw new UsageError(`${file}: no documents`);
  return documents;
}

/**
 * `\'` in a double-quoted string: the yaml package refuses it, o5's reader (libyaml) and the
 * deployer's read it as `'`. Left for the deployer, which decides what the text means.
 */
function isQuoteEscape(text: string, error: { code: string; pos: [number, number] }): boolean {
  return error.code === 'BAD_DQ_ESCAPE' && text.startsWith("\\'", error.pos[0]);
}

/** A JSON text's value, or undefined when the text is not JSON (then it is YAML). */
function parseJson(text: string): unknown {
  if (!/^\s*[{[]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function classify(file: string, index: number, body: unknown, text: string, contentType: Document['contentType']): Document {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError(`${file} (document ${index}): expected a mapping`);
  const doc = body as Record<string, unknown>;
  const named = (value: unknown) => (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined);
  const fullName = named(doc.fullName);
  if (fullName !== undefined && named(doc.clusterName) !== undefined) return { file, index, kind: 'environment', name: fullName, text, contentType };
  const name = named(doc.name);
  if (name !== undefined) return { file, index, kind: 'cluster', name, text, contentType };
  throw new UsageError(`${file} (document ${index}): neither a cluster (name, aws, environments) nor an environment (fullName, clusterName)`);
}

/** The document's own text as the request body, under its media type (the generated types describe the parsed document). */
function asWritten(doc: Document) {
  return { body: doc.text as never, bodySerializer: (text: unknown) => text, headers: { 'content-type': doc.contentType } };
}

async function putCluster(cli: Cli, doc: Document): Promise<Cluster> {
  const { data, error, response } = await cli.client.PUT('/v1/clusters/{cluster}', { params: { path: { cluster: doc.name } }, ...asWritten(doc) });
  if (!data) throw DeployerApiError.from(response.status, error, response.statusText);
  return data;
}

async function putEnvironment(cli: Cli, doc: Document): Promise<Environment> {
  const { data, error, response } = await cli.client.PUT('/v1/environments/{environment}', { params: { path: { environment: doc.name } }, ...asWritten(doc) });
  if (!data) throw DeployerApiError.from(response.status, error, response.statusText);
  return data;
}
