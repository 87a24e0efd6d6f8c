// Runs after `npm install` (package.json "postinstall"): mends a bug of postgres.js 3.4.9, the
// newest release, that can crash the process when Postgres goes away under load
// (porsager/postgres#1154, #1208). When a connection closes, its pending write timer is cleared
// but not forgotten, so (1) the timer's late run writes to a socket that is already null and throws
// an uncatchable TypeError, and (2) the next query on that pooled connection is never sent. The
// mend forgets the timer and the pending chunk when the connection ends, and skips a write with no
// socket. Idempotent; it says what it did, and does nothing once upstream has changed these lines.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');
const MARK = '/* deployer: mended write timer */';

const replacements = [
  // A late timer, or a write after the socket is gone: nothing to write to.
  ['  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)', `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) return (chunk = nextWriteTimer = null, false)\n    const x = socket.write(chunk, fn)`],
  // terminate() and closed(): forget the timer, so the next write schedules a new one.
  ['    clearImmediate(nextWriteTimer)\n    if (socket) {', '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n    if (socket) {'],
  ['    clearImmediate(nextWriteTimer)\n    socket.removeListener', '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n    socket.removeListener'],
];

for (const flavour of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, flavour, 'connection.js');
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue;
  const missing = replacements.filter(([from]) => !text.includes(from));
  if (missing.length) {
    console.warn(`postgres.js ${flavour}/connection.js has changed; not mending it (check whether upstream fixed #1154)`);
    continue;
  }
  for (const [from, to] of replacements) text = text.replace(from, to);
  writeFileSync(file, text);
  console.log(`mended postgres.js ${flavour}/connection.js (write timer after close)`);
}
