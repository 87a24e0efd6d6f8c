/**
 * The one pagination shape: `?limit=&cursor=` in, `{ items, nextCursor }` out. Cursors are opaque
 * (base64url JSON of the last row's sort key), so the sort key can change without breaking clients.
 */
import { z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.ts';

/**
 * A query's `limit` as decimal digits only: coercing with Number() alone would take `0x10`, ` 5`,
 * `1e1` or `+5` for numbers, answering a page to a limit nobody wrote.
 */
const digitsAsNumber = (value: unknown) => (typeof value === 'string' && /^[0-9]{1,6}$/.test(value) ? Number(value) : value);

export const pageQuerySchema = z.object({
  limit: z
    .preprocess(digitsAsNumber, z.number().int().min(1).max(500).default(50))
    .openapi({ type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Items per page (1-500).', example: 50 }),
  cursor: z.string().optional().openapi({ description: 'The `nextCursor` of the previous page.' }),
});

export function pageOf<T extends z.ZodTypeAny>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    })
    .openapi(name);
}

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function refuseNul(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.includes('\0')) throw new Error('NUL in a cursor');
  return value;
}

export function decodeCursor<T>(cursor: string | undefined, check: (value: unknown) => value is T): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    // A string with a NUL would reach Postgres, which refuses one in text (a 500): no cursor of ours has one.
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'), refuseNul) as unknown;
    if (check(value)) return value;
  } catch {
    // fall through
  }
  throw new DomainError('validation', 'The cursor is not one this API gave out', [{ path: 'cursor', message: 'Invalid cursor' }]);
}

/** Takes `limit + 1` rows: the extra one says whether there is a next page. */
export function page<Row, Item>(rows: Row[], limit: number, toItem: (row: Row) => Item, keyOf: (row: Row) => unknown) {
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? encodeCursor(keyOf(items[items.length - 1]!)) : null;
  return { items: items.map(toItem), nextCursor };
}
