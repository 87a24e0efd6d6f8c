/**
 * The deployer's GitHub service: the client that reads configs and writes deployments, and the
 * reporter that mirrors our deployments there. Absent when no GitHub credentials are configured.
 */
import type { Sql } from 'postgres';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { GitHubClient, createOctokit } from './client.ts';
import { githubSettingsOf } from './github-config.ts';
import { GitHubDeploymentReporter } from './status-reporter.ts';

export interface GitHubService {
  client: GitHubClient;
  reporter: GitHubDeploymentReporter;
}

export function createGitHubService(deps: { config: Config; sql: Sql; logger: Logger }): GitHubService | undefined {
  const settings = githubSettingsOf(deps.config.github);
  if (!settings) return undefined;
  const logger = deps.logger.child({ component: 'github' });
  const client = new GitHubClient(createOctokit(settings, logger));
  const reporter = new GitHubDeploymentReporter({ sql: deps.sql, github: client, publicUrl: deps.config.publicUrl.replace(/\/+$/, ''), logger });
  logger.info({ apiUrl: settings.apiUrl, auth: settings.auth.kind }, 'GitHub configured: triggers read configs there, deployments are reported there');
  return { client, reporter };
}
