/**
 * One collector process for the memory benchmark: params as JSON on stdin, one fetch-events run into a
 * counting sink, then one JSON line on stdout with the peak RSS (`process.resourceUsage().maxRSS`, KiB).
 */
import { isCommandError } from '../src/engine/types.js';
import { main } from '../src/main.js';
import { SinkEngine } from './common.js';

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
const params = JSON.parse(input) as Record<string, unknown>;
const baselineKb = process.resourceUsage().maxRSS;
const engine = new SinkEngine();
const outcome = await main('fetch-events', params, {}, engine);
if (isCommandError(outcome)) {
  process.stderr.write(`${outcome.error.code}: ${outcome.error.message}\n`);
  process.exit(1);
}
const summary = outcome.rawResponse as { rowsRead: number; stopReason: string; windows: number };
process.stdout.write(
  `${JSON.stringify({
    maxRssKb: process.resourceUsage().maxRSS,
    baselineKb,
    events: engine.events,
    rowsRead: summary.rowsRead,
    windows: summary.windows,
    stopReason: summary.stopReason,
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  })}\n`,
);
process.exit(0);
