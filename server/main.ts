/**
 * Process entry (`npm start`): settings, start, a line saying where everything is, and a clean
 * shutdown on SIGTERM/SIGINT within 10 seconds.
 */
import { ConfigError, helpText, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(helpText());
    return;
  }

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`deployer: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const logger = createLogger(config.logLevel);
  // Loaded only now, so --help and a bad setting answer at once.
  const { startDeployer } = await import('./start.ts');
  const deployer = await startDeployer(config, { logger });

  if (config.apiTokens.length === 0) {
    logger.warn('AUTH IS OFF: DEPLOYER_API_TOKENS is empty, so anyone on this machine can deploy. Listening on 127.0.0.1 only.');
  }
  logger.info(
    { api: `${deployer.url}/v1`, board: `${deployer.url}/ui`, docs: `${deployer.url}/docs`, openapi: `${deployer.url}/openapi.json`, infra: config.infra },
    `deployer ready: board ${deployer.url}/ui, API ${deployer.url}/v1, Swagger UI ${deployer.url}/docs, OpenAPI ${deployer.url}/openapi.json`,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    deployer.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // `npm start` does not pass a SIGTERM on to us: when npm goes away, we go too, cleanly.
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && shutdown('npm exited'), 500).unref();
  }
}

main().catch((err) => {
  console.error(`deployer: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.LOG_LEVEL === 'debug') console.error(err);
  process.exit(1);
});
