/**
 * The simulated tenants of the many-tenants bench, in a worker thread so their CPU is not the
 * collector's: the main thread's CPU is then the collector's alone. The virtual clock is shared memory
 * the main thread moves. Answers ground-truth questions as key hashes (key-hash.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { type SimulatedTenant, startSimulatedTenant } from '../src/simulator/index.js';
import { eventKey, keyHash } from './key-hash.js';

export interface SimulatorsData {
  seeds: number[];
  ratePerDay: number;
  maxDelaySeconds: number;
  statusDelaySeconds: number;
  clock: SharedArrayBuffer;
}

export type SimulatorsRequest =
  | { type: 'hello' }
  | { type: 'truth'; index: number; fromMs: number; settleMs: number }
  | { type: 'elu' }
  | { type: 'stop' };

export interface SimulatorIdentity {
  graphUrl: string;
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPem: string;
}

const data = workerData as SimulatorsData;
const clock = new Float64Array(data.clock);
const sims: SimulatedTenant[] = [];
for (const seed of data.seeds) {
  sims.push(
    await startSimulatedTenant({
      seed,
      ratePerDay: data.ratePerDay,
      historyDays: 1,
      maxDelaySeconds: data.maxDelaySeconds,
      statusDelaySeconds: data.statusDelaySeconds,
      // Several collectors read each simulated tenant: its own quota would throttle them together.
      throttle: 'off',
      clock: () => clock[0] as number,
    }),
  );
}
const port = parentPort;
if (port === null) throw new Error('tenants-simulators.ts runs as a worker');
const identities: SimulatorIdentity[] = sims.map((sim) => ({
  graphUrl: sim.graphUrl,
  authorityUrl: sim.authorityUrl,
  tenantId: sim.tenantId,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  caCertPem: sim.caCertPem,
}));
const eluStart = performance.eventLoopUtilization();
port.postMessage({ type: 'ready', identities });

port.on('message', async (message: SimulatorsRequest) => {
  if (message.type === 'elu') {
    // Time the simulators' event loop was busy since they were ready: their share of the process CPU.
    port.postMessage({ type: 'elu', activeMs: performance.eventLoopUtilization(eluStart).active });
    return;
  }
  if (message.type === 'stop') {
    await Promise.all(sims.map((sim) => sim.stop()));
    port.postMessage({ type: 'stopped' });
    port.close();
    return;
  }
  if (message.type !== 'truth') return;
  const sim = sims[message.index] as SimulatedTenant;
  // Rows received since fromMs whose final status showed by settleMs: each must be delivered.
  const hashes: number[] = [];
  let rows = 0;
  for (const row of sim.iterateGroundTruth(message.fromMs, message.settleMs)) {
    rows++;
    const last = row.statusHistory[row.statusHistory.length - 1];
    if (last === undefined || Date.parse(last.at) > message.settleMs) continue;
    hashes.push(keyHash(eventKey(row.id, row.recipientAddress, row.finalStatus)));
  }
  const array = Float64Array.from(hashes);
  port.postMessage({ type: 'truth', index: message.index, rows, hashes: array }, [array.buffer]);
});
