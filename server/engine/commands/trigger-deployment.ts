/**
 * A deployment from GitHub: resolve the ref (branch, tag or SHA) to a commit, read the application
 * config at that commit (server/github/app-config.ts), and request the deployment with the commit
 * SHA as its version and the repository as its source, so that its statuses go back to GitHub.
 *
 * A trigger that carries a webhook delivery id comes from a push, and nobody is waiting for its
 * answer: when the push cannot be deployed (invalid config, unknown environment...), the reason is
 * also reported to GitHub as a failed deployment of the commit.
 */
import { ConflictError, DomainError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { DeploymentFlags } from '../../domain/spec/index.ts';
import { readAppConfig } from '../../github/app-config.ts';
import type { GitHubService } from '../../github/service.ts';
import type { RequestedStrategy } from '../../domain/decisions/strategy.ts';
import type { Engine } from '../engine.ts';
import type { Cause } from '../state-store.ts';
import { requestDeployment, type RequestedDeployment } from './request-deployment.ts';

export interface TriggerRequest {
  deploymentId?: string;
  /** Environment name (or id). */
  environment: string;
  source: { github: { owner: string; repo: string; ref: string; deliveryId?: string } };
  flags?: DeploymentFlags;
  strategy?: RequestedStrategy;
  approval?: 'required';
  requestedBy?: string;
}

export interface TriggeredDeployment extends RequestedDeployment {
  /** The config file the application came from, e.g. `ext/o5/app.yaml`. */
  configPath: string;
}

export async function triggerDeployment(engine: Engine, github: GitHubService, request: TriggerRequest, cause: Cause): Promise<TriggeredDeployment> {
  const { owner, repo, ref, deliveryId } = request.source.github;
  const commit = await github.client.resolveCommit({ owner, repo }, ref);
  const deploymentId = request.deploymentId ?? newId();
  try {
    const { path, application, warnings } = await readAppConfig(github.client, { owner, repo }, commit);
    const requested = await requestDeployment(
      engine,
      {
        deploymentId,
        environment: request.environment,
        version: commit,
        application,
        flags: request.flags,
        ...(request.strategy && { strategy: request.strategy }),
        ...(request.approval && { approval: request.approval }),
        source: { kind: 'github', github: { owner, repo, ref, commit, ...(deliveryId ? { deliveryId } : {}) }, requestedBy: request.requestedBy },
      },
      cause,
    );
    return { ...requested, warnings: [...warnings, ...requested.warnings], configPath: path };
  } catch (err) {
    // This deployment id already exists with another request: not a push to report. Any other
    // refusal is (a stack busy under a `reject` queue policy is a conflict too, and is reported).
    if (deliveryId && err instanceof DomainError && !(err instanceof ConflictError)) {
      await github.reporter
        .reportRejectedPush({ deploymentId, owner, repo, environment: request.environment, commit }, err.message)
        .catch((reportErr) => engine.deps.logger.error({ err: reportErr, deploymentId }, 'could not report a rejected push to GitHub'));
    }
    throw err;
  }
}
