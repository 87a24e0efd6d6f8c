// Runs after `npm install` (package.json "postinstall"): two changes to postgres.js 3.4.9, the
// newest release. Each is applied once (its mark says so), and left undone, with a warning, when
// upstream has changed the lines it replaces.
//
// 1. A mend (porsager/postgres#1154, #1208): when Postgres goes away under load, a connection that
//    closes clears its pending write timer but does not forget it, so (1) the timer's late run
//    writes to a socket that is already null and throws an uncatchable TypeError, and (2) the next
//    query on that pooled connection is never sent. The mend forgets the timer and the pending chunk
//    when the connection ends, and skips a write with no socket.
// 2. A mend: a connection whose socket failed keeps the error Postgres sent before it went (say
//    57P01, "terminating connection" after pg_terminate_backend or a restart), and tells it to the
//    first query of the connection opened in its place, which then never becomes usable: the
//    pool's next query waits forever. The mend forgets it when the socket closes, and gives a
//    fatal one (Postgres's farewell) to the query it belongs to rather than a bare CONNECTION_CLOSED.
// 3. A mend: a connection that closes while a `sql.reserve()` waits for one is opened again for
//    that reservation, but taken out of the pool's waiting list; once open, it fetches the array
//    types first and forgets a reservation it was opened for, so nobody answers it and the
//    reservation waits forever. reserve() itself leaves its reservation in the list while it opens
//    a connection for it; the mend does the same here (at the list's end: postgres.js's queue has
//    no way to look at its head without taking it), and takes it out of the list should that
//    connection fail to open (a rejected reservation must not be handed a connection later).
// 4. One write per tick: postgres.js gathers the messages a tick asks into one socket write, but
//    writes at once whenever what it gathered reaches 1 KiB, so a transaction's pipelined
//    statements (an event of a few KiB, then its job) left in several writes. Each write costs the
//    process about 0.1 ms of CPU on the machines we measured, more than the statements; the bound
//    is now 64 KiB (each message is appended by a copy, so a far larger bound copies much for
//    little; db/pipelined-transaction.ts says why the statements are pipelined).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'postgres');

const changes = [
  {
    name: 'write timer after close',
    mark: '/* deployer: mended write timer */',
    replacements: (mark) => [
      // A late timer, or a write after the socket is gone: nothing to write to.
      ['  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)', `  function nextWrite(fn) {\n    ${mark}\n    if (!socket) return (chunk = nextWriteTimer = null, false)\n    const x = socket.write(chunk, fn)`],
      // terminate() and closed(): forget the timer, so the next write schedules a new one.
      ['    clearImmediate(nextWriteTimer)\n    if (socket) {', '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n    if (socket) {'],
      ['    clearImmediate(nextWriteTimer)\n    socket.removeListener', '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n    socket.removeListener'],
    ],
  },
  {
    name: 'forget the farewell',
    mark: '/* deployer: forget the farewell */',
    replacements: (mark) => [
      [
        "    socket.removeAllListeners()\n    socket = null\n\n    if (initial)\n      return reconnect()\n\n    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))",
        `    socket.removeAllListeners()\n    socket = null\n    ${mark}\n    const farewell = errorResponse && (errorResponse.severity === 'FATAL' || errorResponse.severity === 'PANIC') ? errorResponse : null\n    errorResponse = null\n\n    if (initial)\n      return reconnect()\n\n    !hadError && (query || sent.length) && error(farewell || Errors.connection('CONNECTION_CLOSED', options, socket))`,
      ],
    ],
  },
  {
    name: 'one write per tick',
    mark: '/* deployer: one write per tick */',
    replacements: (mark) => [['    if (fn || chunk.length >= 1024)\n', `    ${mark}\n    if (fn || chunk.length >= 65536)\n`]],
  },
];

const poolChanges = [
  {
    name: 'reservation kept while reconnecting',
    mark: '/* deployer: reservation kept while reconnecting */',
    replacements: (mark) => [
      [
        '    queries.length && connect(c, queries.shift())\n',
        `    ${mark}\n    queries.length && connect(c, keepReservation(queries.shift()))\n  }\n\n  function keepReservation(next) {\n    if (!next.reserve) return next\n    const reject = next.reject\n    next.reject = (err) => (queries.remove(next), reject(err))\n    queries.push(next)\n    return next\n`,
      ],
    ],
  },
];

for (const [fileName, fileChanges] of [['connection.js', changes], ['index.js', poolChanges]])
for (const flavour of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, flavour, fileName);
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  let changed = false;
  for (const { name, mark, replacements } of fileChanges) {
    if (text.includes(mark)) continue;
    const pairs = replacements(mark);
    if (pairs.some(([from]) => !text.includes(from))) {
      console.warn(`postgres.js ${flavour}/${fileName} has changed; not applying "${name}" (check whether upstream made it needless)`);
      continue;
    }
    for (const [from, to] of pairs) text = text.replace(from, to);
    changed = true;
    console.log(`postgres.js ${flavour}/${fileName}: ${name}`);
  }
  if (changed) writeFileSync(file, text);
}
