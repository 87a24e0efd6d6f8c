/**
 * Writes openapi/openapi.json from the routes (`npm run gen`, which then regenerates sdk/schema.d.ts).
 * The document comes from the same app the server runs, built without a database.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from './document.ts';

const target = fileURLToPath(new URL('./openapi.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${target}`);
