/**
 * Reads a /metrics exposition the way Prometheus would: with a real text-format parser
 * (parse-prometheus-text-format, a port of the reference client's parser), and with `promtool check
 * metrics` where promtool is installed (Debian: prometheus).
 */
import { spawnSync } from 'node:child_process';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

export function parseExposition(text: string): ParsedFamily[] {
  return parsePrometheusTextFormat(text);
}

/** The value of one sample; undefined when the family or the labelled sample is absent. */
export function sampleValue(families: readonly ParsedFamily[], name: string, labels: Record<string, string>): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([key, value]) => m.labels?.[key] === value));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

/** Sum over the samples matching `labels` (e.g. every status code of one instance). */
export function sampleSum(families: readonly ParsedFamily[], name: string, labels: Record<string, string>): number {
  const family = families.find((f) => f.name === name);
  return (family?.metrics ?? [])
    .filter((m) => Object.entries(labels).every(([key, value]) => m.labels?.[key] === value))
    .reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

export function promtoolAvailable(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** `promtool check metrics` on the exposition: { ok, output }. */
export function promtoolCheck(text: string): { ok: boolean; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}
