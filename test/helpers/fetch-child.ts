/**
 * A collector process for the SIGKILL test: params as JSON on stdin, the state directory as argument; runs
 * fetch-events with the file engine (events to events.ndjson there) until no backlog is left.
 */
import { openFileEngine } from '../../src/standalone/file-engine.js';
import { isCommandError } from '../../src/engine/types.js';
import { main } from '../../src/main.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: fetch-child.ts STATE_DIR');
let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const params = JSON.parse(input) as Record<string, unknown>;

const engine = await openFileEngine({ dir });
let code = 0;
try {
  for (let run = 0; run < 500; run++) {
    const outcome = await main('fetch-events', params, {}, engine);
    if (isCommandError(outcome)) {
      process.stderr.write(`${outcome.error.code}: ${outcome.error.message}\n`);
      code = 1;
      break;
    }
    if (outcome.nextTrigger !== '0') break;
  }
} finally {
  await engine.close();
}
process.exit(code);
