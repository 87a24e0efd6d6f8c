/**
 * The GitHub jobs, run by the engine like its own: requesting the deployments of a stored push
 * delivery (deliveries.ts), and the periodic branch-head check (push-check.ts).
 */
import type { Config } from '../config.ts';
import type { Engine } from '../engine/engine.ts';
import { JOB_GITHUB_DELIVERY, JOB_GITHUB_PUSH_CHECK } from '../domain/machines/jobs.ts';
import { handleDeliveryJob } from './deliveries.ts';
import { handlePushCheckJob, schedulePushChecks } from './push-check.ts';
import type { GitHubService } from './service.ts';

/** Adds the queues; call before engine.start(). */
export function addGitHubQueues(engine: Engine, github: GitHubService, config: Config): void {
  engine.addQueue(JOB_GITHUB_DELIVERY, 'standard', (job) => handleDeliveryJob(engine, github, job.data));
  const every = config.githubPushCheckSeconds;
  if (every > 0) engine.addQueue(JOB_GITHUB_PUSH_CHECK, 'stately', () => handlePushCheckJob(engine, github, every));
}

/** Starts the branch-head checks (one chain for all processes); call after engine.start(). */
export async function startGitHubJobs(engine: Engine, config: Config): Promise<void> {
  if (config.githubPushCheckSeconds > 0) await schedulePushChecks(engine, config.githubPushCheckSeconds);
}
