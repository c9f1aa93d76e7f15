/**
 * The collector's Prometheus metrics (prom-client, a registry of its own so nothing global leaks in),
 * labelled by instance. Counters move as runs finish; gauges that depend on the time (lag, requests in the
 * rolling budget window) are computed when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CollectorProgress } from './collector-loop.js';
import { pruneRequestLog } from '../http/budget.js';
import type { RunSummary } from './run-report.js';

export const METRIC_PREFIX = 'o365mt_';

export interface MetricsOptions {
  now: () => number;
  /** The Graph request budget every instance keeps to. */
  budget: { limit: number; windowMs: number };
}

interface InstanceReading {
  /** Epoch ms of the newest instant delivered (readUpTo of the last run). */
  readUpToMs?: number;
  requestLog: number[];
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly readings = new Map<string, InstanceReading>();

  private readonly eventsDelivered: Counter<'instance'>;
  private readonly rowsRead: Counter<'instance'>;
  private readonly graphRequests: Counter<'instance' | 'code'>;
  private readonly retries: Counter<'instance'>;
  private readonly errors: Counter<'instance' | 'code'>;
  private readonly runs: Counter<'instance' | 'outcome'>;
  private readonly backlog: Gauge<'instance'>;
  private readonly lookbackProgress: Gauge<'instance'>;
  private readonly lastSuccess: Gauge<'instance'>;
  private readonly up: Gauge<'instance'>;
  private readonly duration: Histogram<'instance'>;

  constructor(instances: readonly string[], options: MetricsOptions) {
    const registers = [this.registry];
    const name = (suffix: string) => `${METRIC_PREFIX}${suffix}`;
    this.eventsDelivered = new Counter({ name: name('events_delivered_total'), help: 'Events the sink accepted.', labelNames: ['instance'], registers });
    this.rowsRead = new Counter({ name: name('rows_read_total'), help: 'Message trace rows read from Graph (re-reads included).', labelNames: ['instance'], registers });
    this.graphRequests = new Counter({
      name: name('graph_requests_total'),
      help: 'Graph requests answered, by HTTP status code (each retry counts).',
      labelNames: ['instance', 'code'],
      registers,
    });
    this.retries = new Counter({ name: name('graph_retries_total'), help: 'Graph requests retried (429, 5xx, network), in runs that finished.', labelNames: ['instance'], registers });
    this.errors = new Counter({ name: name('errors_total'), help: 'Failed fetch runs, by error code.', labelNames: ['instance', 'code'], registers });
    this.runs = new Counter({ name: name('runs_total'), help: 'Fetch runs, by outcome.', labelNames: ['instance', 'outcome'], registers });
    this.backlog = new Gauge({
      name: name('backlog_seconds'),
      help: 'How far the reading position was behind the latest readable instant at the end of the last run.',
      labelNames: ['instance'],
      registers,
    });
    this.lookbackProgress = new Gauge({
      name: name('lookback_round_progress_ratio'),
      help: 'Share of the look-back re-read done in the current round (1: the round is complete).',
      labelNames: ['instance'],
      registers,
    });
    this.lastSuccess = new Gauge({ name: name('last_success_timestamp_seconds'), help: 'When the last successful run ended (Unix time).', labelNames: ['instance'], registers });
    this.up = new Gauge({ name: name('instance_up'), help: '1 when the last run of the instance worked, else 0.', labelNames: ['instance'], registers });
    this.duration = new Histogram({
      name: name('run_duration_seconds'),
      help: 'How long a fetch run took.',
      labelNames: ['instance'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 240, 600],
      registers,
    });
    const readings = this.readings;
    const budget = options.budget;
    new Gauge({
      name: name('lag_seconds'),
      help: 'Now minus the newest instant delivered (the end of the last window read and sent).',
      labelNames: ['instance'],
      registers,
      collect() {
        for (const [instance, reading] of readings) {
          if (reading.readUpToMs !== undefined) this.set({ instance }, Math.max(0, (options.now() - reading.readUpToMs) / 1000));
        }
      },
    });
    new Gauge({
      name: name('graph_requests_in_budget_window'),
      help: 'Graph requests spent in the rolling budget window (5 minutes).',
      labelNames: ['instance'],
      registers,
      collect() {
        for (const [instance, reading] of readings) {
          this.set({ instance }, pruneRequestLog(reading.requestLog, options.now(), budget.windowMs).length);
        }
      },
    });
    const budgetGauge = new Gauge({ name: name('graph_request_budget'), help: 'Graph requests allowed in the rolling budget window.', labelNames: ['instance'], registers });
    for (const instance of instances) {
      this.readings.set(instance, { requestLog: [] });
      // Zero from the start, so a rate() over the first run is right and a never-working instance shows.
      this.eventsDelivered.inc({ instance }, 0);
      this.rowsRead.inc({ instance }, 0);
      this.retries.inc({ instance }, 0);
      this.up.set({ instance }, 0);
      budgetGauge.set({ instance }, budget.limit);
    }
  }

  recordRun(instance: string, progress: CollectorProgress, summary: RunSummary | undefined): void {
    this.eventsDelivered.inc({ instance }, progress.eventsThisRun);
    this.duration.observe({ instance }, progress.durationMs / 1000);
    const failed = progress.error !== undefined;
    this.runs.inc({ instance, outcome: failed ? 'failed' : 'success' });
    this.up.set({ instance }, failed ? 0 : 1);
    if (progress.error) this.errors.inc({ instance, code: progress.error.code });
    else this.lastSuccess.set({ instance }, (progress.startedAtMs + progress.durationMs) / 1000);
    if (summary === undefined) return;
    this.rowsRead.inc({ instance }, summary.rowsRead);
    this.retries.inc({ instance }, summary.graphRequests?.retries ?? 0);
    this.backlog.set({ instance }, summary.behindMs / 1000);
    const reading = this.reading(instance);
    reading.readUpToMs = Date.parse(summary.readUpTo);
    this.lookbackProgress.set({ instance }, lookbackProgress(summary));
  }

  recordGraphResponse(instance: string, status: number): void {
    this.graphRequests.inc({ instance, code: String(status) });
  }

  recordRequestLog(instance: string, timestamps: number[]): void {
    this.reading(instance).requestLog = timestamps;
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private reading(instance: string): InstanceReading {
    let reading = this.readings.get(instance);
    if (reading === undefined) {
      reading = { requestLog: [] };
      this.readings.set(instance, reading);
    }
    return reading;
  }
}

/** 1 when the round is done; else how far the re-read got between the cursor and readUpTo. */
export function lookbackProgress(summary: RunSummary): number {
  const rereadFrom = summary.lookback?.rereadFrom;
  if (!summary.lookback?.continuesNextRun || rereadFrom === undefined) return 1;
  const cursor = Date.parse(summary.cursor);
  const span = Date.parse(summary.readUpTo) - cursor;
  if (!(span > 0)) return 1;
  return Math.min(1, Math.max(0, (Date.parse(rereadFrom) - cursor) / span));
}
