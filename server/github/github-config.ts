/**
 * How the deployer signs in to GitHub, from the GITHUB_* settings (server/config.ts reads them):
 * a token, or a GitHub App installation. No credentials means GitHub is not configured: triggers
 * answer 503 and nothing is reported back, but push targets still work.
 */
import { ConfigError, type Config } from '../config.ts';

export type GitHubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId: string };

export interface GitHubSettings {
  auth: GitHubAuth;
  /** REST API base URL; GitHub Enterprise is `https://<host>/api/v3`. */
  apiUrl: string;
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

export function githubSettingsOf(github: Config['github']): GitHubSettings | undefined {
  const apiUrl = (github.apiUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
  const appSettings = { GITHUB_APP_ID: github.appId, GITHUB_APP_PRIVATE_KEY: github.appPrivateKey, GITHUB_APP_INSTALLATION_ID: github.appInstallationId };
  const appGiven = Object.values(appSettings).some(Boolean);
  if (github.token && appGiven) {
    throw new ConfigError('GITHUB_TOKEN', 'set either GITHUB_TOKEN or the GITHUB_APP_* settings, not both');
  }
  if (github.token) return { auth: { kind: 'token', token: github.token }, apiUrl };
  if (!appGiven) return undefined;
  for (const [name, value] of Object.entries(appSettings)) {
    if (!value) throw new ConfigError(name, 'is required with the other GITHUB_APP_* settings');
  }
  return {
    auth: { kind: 'app', appId: github.appId!, privateKey: readPrivateKey(github.appPrivateKey!), installationId: github.appInstallationId! },
    apiUrl,
  };
}

/**
 * The App's private key as PEM. Environment variables often carry it base64-encoded (as o5 did) or
 * with its newlines written as `\n`; both are accepted.
 */
function readPrivateKey(raw: string): string {
  if (raw.includes('-----BEGIN')) return raw.replace(/\\n/g, '\n');
  const decoded = Buffer.from(raw, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN')) {
    throw new ConfigError('GITHUB_APP_PRIVATE_KEY', 'must be a PEM private key, as is or base64-encoded');
  }
  return decoded;
}
