/**
 * Generated files are committed, and must be what the generators make of the code as it is now:
 * openapi/openapi.json from the routes, sdk/schema.d.ts from that document. When this fails, run
 * `npm run gen` and commit the result.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../openapi/document.ts';
import { OPENAPI_JSON, SDK_SCHEMA, sdkTypesOf } from '../../openapi/generate-sdk-types.ts';

const STALE = 'is stale: run npm run gen and commit the result';

describe('generated files', () => {
  const document = buildOpenApiDocument();

  it('openapi/openapi.json is the document the routes describe', () => {
    const expected = `${JSON.stringify(document, null, 2)}\n`;
    const committed = readFileSync(OPENAPI_JSON, 'utf8');
    // Compare parsed first for a readable diff, then the bytes (formatting, final newline).
    expect(JSON.parse(committed), `openapi/openapi.json ${STALE}`).toEqual(JSON.parse(expected));
    expect(committed === expected, `openapi/openapi.json ${STALE} (formatting differs)`).toBe(true);
  });

  it('sdk/schema.d.ts is what openapi-typescript makes of that document', async () => {
    const expected = await sdkTypesOf(document);
    const committed = readFileSync(SDK_SCHEMA, 'utf8');
    expect(committed, `sdk/schema.d.ts ${STALE}`).toBe(expected);
  });
});
