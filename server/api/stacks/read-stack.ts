import type { Sql } from 'postgres';
import { NotFoundError } from '../../domain/errors.ts';
import { stackId } from '../../domain/ids.ts';
import { toStackResponse, type StackResponse } from './stack-schemas.ts';

export async function readStack(sql: Sql, environment: string, application: string): Promise<StackResponse> {
  const [row] = await sql`select * from stacks where id = ${stackId(environment, application)}`;
  if (!row) throw new NotFoundError(`no stack for application '${application}' in environment '${environment}'`);
  return toStackResponse(row);
}
