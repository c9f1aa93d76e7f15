/**
 * One virtual-clock part of the bench in a process of its own (run.ts starts it), so the parts that only
 * measure requests, lag and state can run side by side on the two cores while the throughput and memory
 * figures are taken alone. Progress on stderr, one JSON line on stdout.
 *
 *   node --import tsx bench/part.ts steady '{"rowsPerDay":10000000,"virtualMinutes":120}'
 *   node --import tsx bench/part.ts backfill '{"rowsPerDay":1000000,"days":3}'
 *   node --import tsx bench/part.ts tenants '{"tenants":200,"rowsPerDay":200000,"virtualMinutes":30}'
 */
import { runBackfill } from './backfill.js';
import { runSteady } from './steady.js';
import { runTenants } from './tenants.js';

const [kind, json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json) as Record<string, number>;
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const num = (key: string, fallback: number): number => (typeof options[key] === 'number' ? (options[key] as number) : fallback);

let result: unknown;
if (kind === 'steady') {
  result = await runSteady({
    rowsPerDay: num('rowsPerDay', 10_000_000),
    virtualMinutes: num('virtualMinutes', 120),
    drainMinutes: num('drainMinutes', 20),
    wallLimitMs: num('wallLimitMs', 300_000),
    warmUpMinutes: num('warmUpMinutes', 0),
    log,
  });
} else if (kind === 'backfill') {
  result = await runBackfill({
    rowsPerDay: num('rowsPerDay', 1_000_000),
    days: num('days', 3),
    wallLimitMs: num('wallLimitMs', 300_000),
    log,
  });
} else if (kind === 'tenants') {
  result = await runTenants({
    tenants: num('tenants', 200),
    simulators: num('simulators', 10),
    rowsPerDay: num('rowsPerDay', 200_000),
    virtualMinutes: num('virtualMinutes', 30),
    drainMinutes: num('drainMinutes', 15),
    concurrency: num('concurrency', 8),
    wallLimitMs: num('wallLimitMs', 300_000),
    log,
  });
} else {
  throw new Error(`usage: part.ts steady|backfill|tenants [OPTIONS_JSON]; got '${kind}'`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
