/** The cause recorded with a command's events: which operation, which token (by name), which request. */
import type { Context } from 'hono';
import type { AppEnv } from './context.ts';

export function commandCause(c: Context<AppEnv>, name: string) {
  return { kind: 'command' as const, name, actor: c.get('caller').name, requestId: c.get('requestId') };
}
