/**
 * Role, database and extension names cannot be bind parameters in DDL, so they are checked and
 * quoted here, the way Postgres' own quote_ident and quote_literal do it. Quoting also keeps the
 * name's case, so the role created is the role looked up later.
 */
import { InfraError } from '../port.ts';

/** Postgres silently truncates longer identifiers, which would make a second upsert miss the first. */
const MAX_IDENTIFIER_BYTES = 63;

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new InfraError('InvalidLiteral', 'a SQL literal cannot contain a NUL character');
  const quoted = `'${value.replaceAll("'", "''")}'`;
  // E'' strings treat backslashes as escapes whatever standard_conforming_strings says.
  return value.includes('\\') ? `E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

/** Database and role names come from configs as `{env}_{app}_{suffix}`: letters, digits, underscores. */
export function checkDatabaseName(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new InfraError('InvalidDatabaseName', `unsafe database name ${JSON.stringify(name)}: letters, digits and _ only`);
  }
  checkLength(name, 'database name');
  return name;
}

export function checkExtensionName(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new InfraError('InvalidExtensionName', `unsafe extension name ${JSON.stringify(name)}: letters, digits, _ and - only`);
  }
  checkLength(name, 'extension name');
  return name;
}

function checkLength(name: string, what: string): void {
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new InfraError('InvalidDatabaseName', `${what} ${name} is longer than Postgres' ${MAX_IDENTIFIER_BYTES} bytes`);
  }
}
