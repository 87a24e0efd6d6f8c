/**
 * The one logger: JSON lines (pino), pretty when stdout is a terminal. Children carry context:
 * a request id on every HTTP log, deployment/stack/step ids on every engine log.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY;
  return pino({
    level,
    base: { service: 'deployer' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' } } } : {}),
  });
}
