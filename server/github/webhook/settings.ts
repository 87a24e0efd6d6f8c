/**
 * Settings of the webhook receiver (`npm run webhook`), from environment variables. It needs only
 * the webhook secret and a way to reach the deployer: it reads nothing else, and holds no GitHub
 * or database credentials.
 */
import { ConfigError } from '../../config.ts';

export interface WebhookSettings {
  /** The secret set on the GitHub webhook; every delivery is signed with it. */
  secret: string;
  deployerUrl: string;
  /** A deployer API token with the `deploy` scope (absent when the deployer's auth is off). */
  deployerToken?: string;
  port: number;
  logLevel: string;
}

export const WEBHOOK_SETTINGS: ReadonlyArray<{ name: string; default: string; description: string }> = [
  { name: 'GITHUB_WEBHOOK_SECRET', default: '(required)', description: "The GitHub webhook's secret; deliveries without a valid X-Hub-Signature-256 are refused (401)." },
  { name: 'DEPLOYER_URL', default: '(required)', description: 'Base URL of the deployer API, e.g. http://deployer:8080.' },
  { name: 'DEPLOYER_TOKEN', default: '(none)', description: 'Deployer API token with the deploy scope.' },
  { name: 'PORT', default: '8081', description: 'Port the receiver listens on (POST /github/webhook, GET /healthz).' },
  { name: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error, fatal or silent.' },
];

/**
 * A URL as it may be shown (logged, or in a config error): a user and password written into it
 * (`https://user:password@deployer`) become `***`. Also for text that does not parse as a URL.
 */
export function maskUrlCredentials(url: string): string {
  // Up to the last `@` before the path, query or fragment, as a URL parser reads the user part.
  return url.replace(/^([a-z][a-z0-9+.-]*:[/\\]*)[^/?#]*@/i, '$1***@');
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function loadWebhookSettings(env: Record<string, string | undefined> = process.env): WebhookSettings {
  const secret = env.GITHUB_WEBHOOK_SECRET;
  if (!secret) throw new ConfigError('GITHUB_WEBHOOK_SECRET', 'is required: the secret configured on the GitHub webhook');
  const deployerUrl = env.DEPLOYER_URL;
  if (!deployerUrl) throw new ConfigError('DEPLOYER_URL', 'is required: the base URL of the deployer API');
  let parsed: URL;
  try {
    parsed = new URL(deployerUrl);
    if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error();
  } catch {
    throw new ConfigError('DEPLOYER_URL', `must be an http or https URL (got '${maskUrlCredentials(deployerUrl)}')`);
  }
  // fetch refuses such a URL at every push, and its error (logged, answered to GitHub) repeats it whole.
  if (parsed.username || parsed.password) {
    throw new ConfigError('DEPLOYER_URL', `must not hold a user or password (got '${maskUrlCredentials(deployerUrl)}'); the deployer's token goes in DEPLOYER_TOKEN`);
  }
  const port = Number(env.PORT || 8081);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT', `must be an integer from 0 to 65535 (got '${env.PORT}')`);
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got '${env.LOG_LEVEL}')`);
  return { secret, deployerUrl, deployerToken: env.DEPLOYER_TOKEN || undefined, port, logLevel };
}
