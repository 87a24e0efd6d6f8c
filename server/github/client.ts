/**
 * The few GitHub REST calls the deployer makes, over @octokit/rest: resolve a ref, read files and
 * directories at a commit, create (and find) deployments and their statuses. Every call has a deadline, and
 * every failure becomes a GitHubApiError that says whether trying again may help.
 */
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { NotFoundError } from '../domain/errors.ts';
import type { Logger } from '../logger.ts';
import type { GitHubSettings } from './github-config.ts';

export interface Repo {
  owner: string;
  repo: string;
}

export interface DirectoryEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'submodule';
}

/** The states a GitHub deployment status can take that we use. */
export type GitHubDeploymentState = 'pending' | 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

/** A GitHub call that failed. `retryable`: GitHub was down, slow or rate limiting; the request itself may be fine. */
export class GitHubApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'GitHubApiError';
  }
}

/** Deadline of one GitHub request: the webhook path and the status jobs both wait on these. */
const REQUEST_TIMEOUT_MS = 10_000;

export function createOctokit(settings: GitHubSettings, logger: Logger): Octokit {
  const common = {
    baseUrl: settings.apiUrl,
    userAgent: 'deployer',
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => logger.warn({ github: true }, message),
      // Octokit's request log says `error` for every answer that is not a 2xx, the expected ones
      // too (a 404 for each config path looked for); each call's caller decides what an answer
      // means and logs what is wrong (GitHubApiError, the jobs' retries).
      error: (message: string) => logger.debug({ github: true }, message),
    },
  };
  const octokit =
    settings.auth.kind === 'token'
      ? new Octokit({ ...common, auth: settings.auth.token })
      : new Octokit({
          ...common,
          authStrategy: createAppAuth,
          auth: { appId: settings.auth.appId, privateKey: settings.auth.privateKey, installationId: settings.auth.installationId },
        });
  octokit.hook.before('request', (options) => {
    options.request = { ...options.request, signal: options.request?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  });
  return octokit;
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}

function githubMessage(err: unknown): string {
  const data = (err as { response?: { data?: { message?: string } } })?.response?.data;
  return data?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Wraps an octokit failure. 5xx, 429 and rate-limit 403s are worth retrying, and so is a 401: the
 * deployer's credentials expired or were rotated, which says nothing of the request (a push refused
 * for it would be dropped for good). Other answers are final.
 */
function apiError(what: string, err: unknown): GitHubApiError {
  const status = statusOf(err);
  const message = githubMessage(err);
  const rateLimited = status === 429 || (status === 403 && /rate limit/i.test(message));
  const retryable = status === undefined || status >= 500 || rateLimited || status === 401;
  return new GitHubApiError(`GitHub ${what} failed${status ? ` (${status})` : ''}: ${message}`, status, retryable);
}

const slug = (r: Repo) => `${r.owner}/${r.repo}`;

export class GitHubClient {
  constructor(readonly octokit: Octokit) {}

  /** The full SHA of a branch, tag or (short or full) commit SHA. Unknown repository or ref: NotFoundError. */
  async resolveCommit(repo: Repo, ref: string): Promise<string> {
    try {
      const { data } = await this.octokit.rest.repos.getCommit({ ...repo, ref, per_page: 1 });
      return data.sha;
    } catch (err) {
      const status = statusOf(err);
      // GitHub answers an unknown ref with 422 ("No commit found for SHA"), an unknown repository with 404.
      if (status === 422) throw new NotFoundError(`ref '${ref}' is not a branch, tag or commit of ${slug(repo)}`);
      if (status === 404) throw new NotFoundError(`repository ${slug(repo)} does not exist or the deployer's GitHub credentials cannot read it`);
      throw apiError(`resolving ${slug(repo)}@${ref}`, err);
    }
  }

  /**
   * The commit a branch points at now, asked as `heads/<branch>` so that a tag of the same name is
   * never taken for it. A branch that does not exist (any more): NotFoundError.
   */
  async branchHead(repo: Repo, branch: string): Promise<string> {
    return this.resolveCommit(repo, `heads/${branch}`);
  }

  /** The entries of a directory at a commit; null when there is no such directory. */
  async listDirectory(repo: Repo, path: string, commit: string): Promise<DirectoryEntry[] | null> {
    const data = await this.getContent(repo, path, commit);
    if (data === null || !Array.isArray(data)) return null;
    return data.map((e) => ({ name: e.name, path: e.path, type: e.type as DirectoryEntry['type'] }));
  }

  /** A file's text at a commit; null when there is no such file. */
  async readFile(repo: Repo, path: string, commit: string): Promise<string | null> {
    const data = await this.getContent(repo, path, commit);
    if (data === null || Array.isArray(data) || data.type !== 'file') return null;
    if ('content' in data && typeof data.content === 'string' && data.encoding === 'base64') {
      return Buffer.from(data.content, 'base64').toString('utf8');
    }
    throw new GitHubApiError(`GitHub returned ${path} of ${slug(repo)} without its content (files over 1 MB are not read)`, undefined, false);
  }

  private async getContent(repo: Repo, path: string, commit: string) {
    try {
      const { data } = await this.octokit.rest.repos.getContent({ ...repo, path, ref: commit });
      return data;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw apiError(`reading ${path} of ${slug(repo)}@${commit}`, err);
    }
  }

  /** Creates a GitHub Deployment of a commit and returns its id. */
  async createDeployment(
    repo: Repo,
    deployment: { commit: string; environment: string; description: string; payload: Record<string, unknown> },
  ): Promise<number> {
    try {
      const response = await this.octokit.rest.repos.createDeployment({
        ...repo,
        ref: deployment.commit,
        environment: deployment.environment,
        description: deployment.description,
        payload: deployment.payload,
        // We deploy exactly this commit; GitHub must not merge anything or wait for checks first.
        auto_merge: false,
        required_contexts: [],
        production_environment: false,
        transient_environment: false,
      });
      if (response.status !== 201 || !('id' in response.data)) {
        throw new GitHubApiError(`GitHub did not create the deployment: ${JSON.stringify(response.data)}`, response.status, false);
      }
      return response.data.id;
    } catch (err) {
      if (err instanceof GitHubApiError) throw err;
      throw apiError(`creating a deployment of ${slug(repo)}@${deployment.commit}`, err);
    }
  }

  /**
   * The id of a GitHub Deployment of this commit and environment that `matches`, newest first; null
   * when there is none. Finds a deployment whose creation answered with an error (or never answered)
   * although GitHub made it.
   */
  async findDeployment(
    repo: Repo,
    where: { commit: string; environment: string },
    matches: (found: { description: string | null; payload: unknown }) => boolean,
  ): Promise<number | null> {
    try {
      const pages = this.octokit.paginate.iterator(this.octokit.rest.repos.listDeployments, {
        ...repo,
        sha: where.commit,
        environment: where.environment,
        per_page: 100,
      });
      for await (const { data } of pages) {
        const found = data.find((d) => matches({ description: d.description ?? null, payload: d.payload }));
        if (found) return found.id;
      }
      return null;
    } catch (err) {
      throw apiError(`listing the deployments of ${slug(repo)}@${where.commit}`, err);
    }
  }

  async createDeploymentStatus(
    repo: Repo,
    deploymentId: number,
    status: { state: GitHubDeploymentState; description: string; logUrl?: string },
  ): Promise<void> {
    try {
      await this.octokit.rest.repos.createDeploymentStatus({
        ...repo,
        deployment_id: deploymentId,
        state: status.state,
        description: truncate(status.description, 140),
        ...(status.logUrl ? { log_url: status.logUrl } : {}),
        // A newer successful deployment marks the older ones of the environment inactive.
        auto_inactive: true,
      });
    } catch (err) {
      throw apiError(`adding a '${status.state}' status to deployment ${deploymentId} of ${slug(repo)}`, err);
    }
  }
}

/**
 * GitHub rejects descriptions over 140 characters. Cut in UTF-16 units (so at most `max` however
 * GitHub counts), never between the two halves of a character outside the BMP (an emoji in a
 * terminate reason): half of one is not valid Unicode, and GitHub refused the status, for good.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  if (/[\uD800-\uDBFF]/.test(text.charAt(cut - 1))) cut--;
  return `${text.slice(0, cut)}…`;
}
