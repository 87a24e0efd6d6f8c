/**
 * Finds and reads a repository's application config (its o5.yaml) at one commit.
 *
 * The config is the first of APP_CONFIG_PATHS that exists. One repository deploys one application:
 * an `ext/o5/` directory that holds more than one config file (`*.yaml`, `*.yml`, `*.json`, as the
 * original o5 read every file there), or a config file with several YAML documents, is "several
 * applications" and is refused rather than guessed at. Every error names the file and the commit.
 */
import { applicationSchema, legacyFieldWarnings, type Application, type LegacyFieldWarning } from '../domain/application/index.ts';
import { describeIssues, parseDocument, validateDocument, yamlDocumentCount } from '../domain/documents.ts';
import { DomainError, ValidationError } from '../domain/errors.ts';
import type { GitHubClient, Repo } from './client.ts';

export const APP_CONFIG_DIR = 'ext/o5';
export const APP_CONFIG_PATHS = ['ext/o5/app.yaml', 'ext/o5/app.yml', 'o5.yaml', 'o5.yml'] as const;
const CONFIG_FILE = /\.(ya?ml|json)$/i;

export interface AppConfigFile {
  path: string;
  application: Application;
  /** Legacy field names in the file (read as their current spelling), each saying which file. */
  warnings: LegacyFieldWarning[];
}

type Files = Pick<GitHubClient, 'listDirectory' | 'readFile'>;

const at = (repo: Repo, commit: string) => `${repo.owner}/${repo.repo}@${commit.slice(0, 7)}`;

export async function readAppConfig(github: Files, repo: Repo, commit: string): Promise<AppConfigFile> {
  const { path, text } = await findAppConfig(github, repo, commit);
  const { application, value } = readAppConfigText(text, path, `${path} in ${at(repo, commit)}`);
  const warnings = legacyFieldWarnings(applicationSchema, value).map((w) => ({
    ...w,
    path: `application.${w.path}`,
    message: `${w.message} (in ${path})`,
  }));
  return { path, application, warnings };
}

async function findAppConfig(github: Files, repo: Repo, commit: string): Promise<{ path: string; text: string }> {
  const entries = (await github.listDirectory(repo, APP_CONFIG_DIR, commit)) ?? [];
  const configFiles = entries.filter((e) => e.type === 'file' && CONFIG_FILE.test(e.name)).map((e) => e.path);
  if (configFiles.length > 1) {
    throw new DomainError(
      'unprocessable',
      `${APP_CONFIG_DIR}/ in ${at(repo, commit)} holds ${configFiles.length} application configs (${configFiles.join(', ')}); ` +
        'the deployer deploys one application per repository: keep one of them as ext/o5/app.yaml',
    );
  }
  // The directory was listed already: of its candidates, read only the one that is there.
  const candidates = APP_CONFIG_PATHS.filter((p) => !p.startsWith(`${APP_CONFIG_DIR}/`) || configFiles.includes(p));
  for (const path of candidates) {
    const text = await github.readFile(repo, path, commit);
    if (text !== null) return { path, text };
  }
  const stray = configFiles.length ? ` (${configFiles[0]} is not one of these names)` : '';
  throw new DomainError('unprocessable', `no application config in ${at(repo, commit)}: looked for ${APP_CONFIG_PATHS.join(', ')}${stray}`);
}

/** Parses and validates one config file; errors keep the paths into the file and name it in the message. */
export function parseAppConfig(text: string, path: string, where: string = path): Application {
  return readAppConfigText(text, path, where).application;
}

/** The config as validated, and the document as written (its legacy keys are only visible there). */
function readAppConfigText(text: string, path: string, where: string): { application: Application; value: unknown } {
  const documents = path.endsWith('.json') ? 1 : yamlDocumentCount(text);
  if (documents > 1) {
    throw new DomainError('unprocessable', `${where} holds ${documents} YAML documents; one application config per repository`);
  }
  let value: unknown;
  try {
    value = parseDocument(text, path.endsWith('.json') ? 'json' : 'yaml');
  } catch (err) {
    if (err instanceof DomainError) throw new DomainError(err.kind, `${where} does not parse: ${err.message}`, err.issues);
    throw err;
  }
  try {
    return { application: validateDocument(applicationSchema, value, 'application config'), value };
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ValidationError(`${where} is not a valid application config: ${describeIssues(err.issues)}`, err.issues);
    }
    throw err;
  }
}
