/**
 * Process entry of the GitHub webhook receiver (`npm run webhook`). It talks to the deployer only
 * through the SDK, so it can run anywhere GitHub can reach and the deployer API is reachable.
 * On SIGTERM/SIGINT it stops accepting deliveries and lets those being stored finish (up to 20 s):
 * a delivery is acknowledged only once the deployer has stored it, so nothing acknowledged is left here.
 */
import { createDeployerClient } from '../../sdk/client.ts';
import { ConfigError } from '../config.ts';
import { serveHttp } from '../http-server.ts';
import { createLogger } from '../logger.ts';
import { createWebhookReceiver } from './webhook/receiver.ts';
import { WEBHOOK_SETTINGS, loadWebhookSettings, maskUrlCredentials } from './webhook/settings.ts';

const SHUTDOWN_DEADLINE_MS = 20_000;

function helpText(): string {
  const width = Math.max(...WEBHOOK_SETTINGS.map((s) => s.name.length));
  return [
    'deployer webhook receiver: turns GitHub pushes into deployments, through the deployer API',
    '',
    'Usage: npm run webhook      (settings come from environment variables)',
    '',
    ...WEBHOOK_SETTINGS.map((s) => `  ${s.name.padEnd(width)}  ${s.description} [default: ${s.default}]`),
  ].join('\n');
}

function main(): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  let settings;
  try {
    settings = loadWebhookSettings();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`webhook: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const logger = createLogger(settings.logLevel).child({ component: 'webhook' });
  const deployer = createDeployerClient({ baseUrl: settings.deployerUrl, token: settings.deployerToken });
  const receiver = createWebhookReceiver({ secret: settings.secret, deployer, logger });
  const server = serveHttp({ fetch: receiver.app.fetch, port: settings.port }, (info) => {
    logger.info({ port: info.port, deployer: maskUrlCredentials(settings.deployerUrl) }, `webhook receiver ready: POST http://localhost:${info.port}/github/webhook`);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing the deliveries being stored');
    setTimeout(() => {
      logger.error('deliveries still being stored after 20 s; exiting (GitHub shows them failed: redeliver them)');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    server.close(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main();
