/**
 * The tenant's mail flow as a pure function of the seed. Time is cut into one-minute buckets; the
 * messages of a bucket are derived from hash(seed, bucket), so any window can be produced on demand in
 * time proportional to its rows, and nothing is ever materialised for the whole history (benchmarks
 * run 10 million rows a day). Message ids encode (bucket, index) through a keyed permutation so that
 * getDetailsByRecipient can find a message without scanning.
 */
import {
  COMPANIES,
  DISTRIBUTION_LISTS,
  EXTERNAL_DOMAINS,
  EXTERNAL_LOCAL_COUNT,
  INTERNAL_USERS,
  PUBLIC_V4_PREFIXES,
  PUBLIC_V6_PREFIXES,
  SPAM_SUBJECTS,
  SUBJECTS,
  TENANT_DOMAIN,
  TENANT_V4_PREFIXES,
  TENANT_V6_PREFIX,
  externalAddress,
} from './content.js';
import { formatTicks, msToTicks, TICK_EPOCH_MS, TICKS_PER_MS } from './instant.js';
import { hash32, Rng } from './rng.js';

/** Member names of `exchangeMessageTraceStatus`, in CSDL order. */
export const TRACE_STATUSES = [
  'gettingStatus',
  'pending',
  'failed',
  'delivered',
  'expanded',
  'quarantined',
  'filteredAsSpam',
  'unknownFutureValue',
] as const;
/**
 * Members added after v1.0's enum (the resource doc lists `recalled` as evolvable): Graph sends them only
 * to requests with `Prefer: include-unknown-enum-members`, and `unknownFutureValue` to everyone else.
 */
export const EVOLVABLE_STATUSES = ['recalled'] as const;
export type TraceStatus = (typeof TRACE_STATUSES)[number] | (typeof EVOLVABLE_STATUSES)[number];
export const KNOWN_STATUSES: readonly TraceStatus[] = [...TRACE_STATUSES, ...EVOLVABLE_STATUSES];

/** Properties the CSDL leaves nullable (`Edm.String` without `Nullable="false"`). */
export const NULLABLE_PROPERTIES = ['messageId', 'senderAddress', 'recipientAddress', 'subject', 'fromIP', 'toIP'] as const;

export const BUCKET_MS = 60_000;
const DAY_MS = 86_400_000;

export type Direction = 'inbound' | 'outbound' | 'internal';

export interface StatusChange {
  status: TraceStatus;
  atMs: number;
}

/** The fields Graph serves of a row, status aside: what a listing returns and what the ground truth compares. */
export type ServedFields = Pick<TraceRow, 'id' | 'messageId' | 'receivedDateTime' | 'senderAddress' | 'recipientAddress' | 'subject' | 'size' | 'fromIP' | 'toIP'>;

/** A row's served fields, in the order Graph lists them, with `status` where Graph puts it (after subject). */
export function servedFields(row: TraceRow, status?: string): ServedFields & { status?: string } {
  const head = { id: row.id, messageId: row.messageId, receivedDateTime: row.receivedDateTime, senderAddress: row.senderAddress, recipientAddress: row.recipientAddress, subject: row.subject };
  return { ...head, ...(status === undefined ? {} : { status }), size: row.size, fromIP: row.fromIP, toIP: row.toIP };
}

/** One row of the ground truth: a (message, recipient) pair with its whole life. */
export interface TraceRow {
  id: string;
  messageId: string | null;
  receivedTicks: number;
  receivedDateTime: string;
  senderAddress: string | null;
  recipientAddress: string | null;
  subject: string | null;
  size: number;
  fromIP: string | null;
  toIP: string | null;
  direction: Direction;
  /** When the row first appears in query results (epoch ms). */
  visibleAtMs: number;
  /** Non-empty, ascending; the first entry is at `visibleAtMs`, the last is the final status. */
  history: StatusChange[];
  bucket: number;
  messageIndex: number;
  recipientIndex: number;
}

export interface DataConfig {
  seed: number;
  ratePerDay: number;
  /** Busier office hours (the daily wave, 0.5× to 1.5× the mean, busiest at 14:00 UTC); false: the mean all day. */
  dailyWave?: boolean;
  /** No message is received before this instant (epoch ms). */
  historyStartMs: number;
  maxDelayMs: number;
  statusDelayMs: number;
  maxRecipients: number;
  /** Share of delivered rows that are recalled later (a second change after the final status). */
  recalledShare: number;
  /** Chance that a nullable property of a row (or of its message) is null. */
  nullShare: number;
  /** Share of inbound messages whose sending server's fromIP is IPv6. */
  ipv6Share: number;
}

/** A uniform draw in [0, 1) from coordinates; no generator object, for the per-row hot path. */
function uniform(...coordinates: number[]): number {
  return hash32(...coordinates) / 0x1_0000_0000;
}

export function bucketOfTicks(ticks: number): number {
  return Math.floor(ticks / (BUCKET_MS * TICKS_PER_MS));
}

export function bucketStartTicks(bucket: number): number {
  return bucket * BUCKET_MS * TICKS_PER_MS;
}

/** Status of a row at `atMs`, or null while it is not yet visible. */
export function statusAt(row: TraceRow, atMs: number): TraceStatus | null {
  if (atMs < row.visibleAtMs) return null;
  let current: TraceStatus | null = null;
  for (const change of row.history) {
    if (change.atMs <= atMs) current = change.status;
    else break;
  }
  return current;
}

export function finalStatus(row: TraceRow): TraceStatus {
  const last = row.history[row.history.length - 1];
  if (!last) throw new Error('row without history');
  return last.status;
}

const CACHE_ROW_LIMIT = 60_000;

export class TraceData {
  private readonly cache = new Map<number, TraceRow[]>();
  private cachedRows = 0;

  constructor(readonly config: DataConfig) {}

  /** Rows received in `bucket`, ascending by receivedDateTime (ties: message, recipient). */
  bucketRows(bucket: number): readonly TraceRow[] {
    const hit = this.cache.get(bucket);
    if (hit) {
      // Refresh LRU position.
      this.cache.delete(bucket);
      this.cache.set(bucket, hit);
      return hit;
    }
    const rows = this.generateBucket(bucket);
    this.cache.set(bucket, rows);
    this.cachedRows += rows.length;
    while (this.cachedRows > CACHE_ROW_LIMIT && this.cache.size > 1) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cachedRows -= this.cache.get(oldest.value)?.length ?? 0;
      this.cache.delete(oldest.value);
    }
    return rows;
  }

  /** How many messages were received in a bucket (before the history cut). */
  messageCount(bucket: number): number {
    const { seed, ratePerDay } = this.config;
    const startMs = TICK_EPOCH_MS + bucket * BUCKET_MS;
    const mean = (ratePerDay * BUCKET_MS) / DAY_MS;
    // Office hours are busier: a daily wave with mean 1 keeps the daily total at ratePerDay.
    const hourOfDay = ((startMs % DAY_MS) + DAY_MS) % DAY_MS / 3_600_000;
    const wave = this.config.dailyWave === false ? 1 : 1 + 0.5 * Math.sin(((hourOfDay - 8) / 24) * 2 * Math.PI);
    const r = new Rng(seed, 0xb0c, bucket).next();
    return Math.floor(mean * wave + r);
  }

  /** All rows of the message with this id, or null if the id was not issued by this tenant. */
  messageById(id: string): TraceRow[] | null {
    const decoded = decodeMessageId(this.config.seed, id);
    if (!decoded) return null;
    const { bucket, index } = decoded;
    if (index >= this.messageCount(bucket)) return null;
    const rows = this.bucketRows(bucket).filter((r) => r.messageIndex === index);
    if (rows.length === 0 || rows[0]?.id !== id.toLowerCase()) return null;
    return rows;
  }

  private generateBucket(bucket: number): TraceRow[] {
    const count = this.messageCount(bucket);
    const historyStartTicks = msToTicks(this.config.historyStartMs);
    const rows: TraceRow[] = [];
    for (let index = 0; index < count; index++) {
      for (const row of this.generateMessage(bucket, index)) {
        if (row.receivedTicks >= historyStartTicks) rows.push(row);
      }
    }
    rows.sort(
      (a, b) =>
        a.receivedTicks - b.receivedTicks || a.messageIndex - b.messageIndex || a.recipientIndex - b.recipientIndex,
    );
    return rows;
  }

  private generateMessage(bucket: number, index: number): TraceRow[] {
    const { seed, maxDelayMs, statusDelayMs, maxRecipients } = this.config;
    const rng = new Rng(seed, 0x4d5, bucket, index);

    // Graph mixes whole-second and 100 ns timestamps; the string is the truth, so ticks are truncated
    // to whatever precision is printed.
    let ticks = bucketStartTicks(bucket) + Math.floor(rng.next() * BUCKET_MS * TICKS_PER_MS);
    // Hot path (millions of rows): thresholds instead of weighted tables, to keep allocation down.
    const pr = rng.next();
    const precision = pr < 0.3 ? 0 : pr < 0.95 ? 7 : 3;
    const unit = precision === 0 ? 10_000_000 : precision === 3 ? 10_000 : 1;
    ticks -= ticks % unit;
    const receivedDateTime = formatTicks(ticks);
    const receivedMs = TICK_EPOCH_MS + Math.ceil(ticks / TICKS_PER_MS);

    const dr = rng.next();
    const direction: Direction = dr < 0.6 ? 'inbound' : dr < 0.85 ? 'outbound' : 'internal';
    const spammy = direction === 'inbound' && rng.chance(0.08);
    const externalDomainIndex = rng.int(0, EXTERNAL_DOMAINS.length - 1);
    const sender =
      direction === 'inbound'
        ? externalAddress(rng.int(0, EXTERNAL_LOCAL_COUNT - 1), spammy ? EXTERNAL_DOMAINS.length - 1 : externalDomainIndex)
        : rng.pick(INTERNAL_USERS);

    const rr = rng.next();
    const recipientCount = Math.min(
      maxRecipients,
      rr < 0.75 ? 1 : rr < 0.87 ? 2 : rr < 0.93 ? 3 : rr < 0.99 ? rng.int(4, 9) : rng.int(10, Math.max(10, Math.min(maxRecipients, 40))),
    );
    const recipients: string[] = [];
    for (let attempt = 0; recipients.length < recipientCount && attempt < recipientCount * 8; attempt++) {
      let candidate: string;
      if (direction === 'outbound') {
        candidate = externalAddress(rng.int(0, EXTERNAL_LOCAL_COUNT - 1), rng.int(0, EXTERNAL_DOMAINS.length - 2));
      } else if (rng.chance(0.04)) {
        candidate = rng.pick(DISTRIBUTION_LISTS);
      } else {
        candidate = rng.pick(INTERNAL_USERS);
      }
      if (candidate !== sender && !recipients.includes(candidate)) recipients.push(candidate);
    }
    if (recipients.length === 0) recipients.push(`all-staff@${TENANT_DOMAIN}`);

    const subject = spammy ? rng.pick(SPAM_SUBJECTS) : fillSubject(rng.pick(SUBJECTS), rng);
    const baseSize = Math.round(Math.exp(8.5 + rng.next() * 4 + rng.next() * 2));
    const size = Math.min(150_000_000, Math.max(900, baseSize));
    let fromIP: string | null =
      direction === 'inbound'
        ? publicV4(rng, PUBLIC_V4_PREFIXES)
        : rng.chance(0.3)
          ? `${TENANT_V6_PREFIX}:${rng.hex(4)}::${rng.int(1, 0xfff).toString(16)}`
          : publicV4(rng, TENANT_V4_PREFIXES);

    const id = encodeMessageId(seed, bucket, index, rng);
    const internetMessageId = makeInternetMessageId(rng, sender, direction);
    // What follows draws from hashes of the coordinates, not from `rng`: the rest of the message stays the
    // same whether these behaviours are on or off.
    const { recalledShare, nullShare, ipv6Share } = this.config;
    if (direction === 'inbound' && ipv6Share > 0 && uniform(seed, 0x1b6, bucket, index) < ipv6Share) {
      const h = hash32(seed, 0x1b7, bucket, index);
      fromIP = `${PUBLIC_V6_PREFIXES[h % PUBLIC_V6_PREFIXES.length]}:${((h >>> 8) & 0xffff).toString(16)}::${((h >>> 20) & 0xfff).toString(16) || '1'}`;
    }
    // Message-level properties are null for every recipient's row alike.
    const nulled = (k: number, ...row: number[]): boolean => nullShare > 0 && uniform(seed, 0x9011, bucket, index, k, ...row) < nullShare;
    const messageId = nulled(0) ? null : internetMessageId;
    const senderAddress = nulled(1) ? null : sender;
    const subjectOrNull = nulled(2) ? null : subject;
    if (nulled(3)) fromIP = null;

    const rows: TraceRow[] = [];
    for (let recipientIndex = 0; recipientIndex < recipients.length; recipientIndex++) {
      const recipient = recipients[recipientIndex] as string;
      // One generator per message (not per row): allocation, not arithmetic, dominates at 10M rows/day.
      const r = rng;
      const toIP =
        direction === 'outbound' ? `${PUBLIC_V4_PREFIXES[hash32(seed, recipient.length, recipient.charCodeAt(0)) % PUBLIC_V4_PREFIXES.length]}.${r.int(0, 255)}.${r.int(1, 254)}` : '';
      const visibleAtMs = receivedMs + Math.floor(r.next() * (maxDelayMs + 1));
      const fr = r.next();
      const final: TraceStatus = DISTRIBUTION_LISTS.includes(recipient)
        ? 'expanded'
        : spammy
          ? fr < 0.7
            ? 'filteredAsSpam'
            : fr < 0.95
              ? 'quarantined'
              : 'delivered'
          : fr < (direction === 'outbound' ? 0.92 : 0.96)
            ? 'delivered'
            : fr < 0.98
              ? 'failed'
              : 'quarantined';
      const history: StatusChange[] = [];
      let finalAt = visibleAtMs;
      if (r.chance(0.2)) {
        history.push({ status: final, atMs: visibleAtMs });
      } else {
        finalAt = visibleAtMs + 1 + Math.floor(r.next() * Math.max(1, statusDelayMs - 1));
        if (r.chance(0.5)) {
          history.push({ status: 'gettingStatus', atMs: visibleAtMs });
          if (r.chance(0.5) && finalAt - visibleAtMs > 2) {
            history.push({ status: 'pending', atMs: visibleAtMs + 1 + Math.floor(r.next() * (finalAt - visibleAtMs - 1)) });
          }
        } else {
          history.push({ status: 'pending', atMs: visibleAtMs });
        }
        history.push({ status: final, atMs: finalAt });
      }
      // A recall comes after delivery, still within the status delay of first visibility, so a collector
      // whose look-back covers that delay sees it.
      const recallRoom = visibleAtMs + statusDelayMs - finalAt;
      if (final === 'delivered' && recalledShare > 0 && recallRoom > 1 && uniform(seed, 0x7ec, bucket, index, recipientIndex) < recalledShare) {
        history.push({ status: 'recalled', atMs: finalAt + 1 + Math.floor(uniform(seed, 0x7ed, bucket, index, recipientIndex) * (recallRoom - 1)) });
      }
      // A row without a recipient could not be told apart from its siblings; only single-recipient
      // messages lose it.
      const recipientNull = recipients.length === 1 && nulled(4);
      rows.push({
        id,
        messageId,
        receivedTicks: ticks,
        receivedDateTime,
        senderAddress,
        recipientAddress: recipientNull ? null : recipient,
        subject: subjectOrNull,
        size: direction === 'outbound' ? size + r.int(0, 400) : size,
        fromIP,
        toIP: nulled(5, recipientIndex) ? null : toIP,
        direction,
        visibleAtMs,
        history,
        bucket,
        messageIndex: index,
        recipientIndex,
      });
    }
    return rows;
  }
}

function fillSubject(template: string, rng: Rng): string {
  return template
    .replace('{n}', String(rng.int(1, 99_999)))
    .replace('{q}', String(rng.int(1, 4)))
    .replace('{c}', rng.pick(COMPANIES));
}

function publicV4(rng: Rng, prefixes: readonly string[]): string {
  return `${rng.pick(prefixes)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function makeInternetMessageId(rng: Rng, sender: string, direction: Direction): string {
  const senderDomain = sender.slice(sender.indexOf('@') + 1);
  if (direction !== 'inbound') {
    // Exchange Online style: <SERVER-GUID-ish@SERVER.namprd00.prod.outlook.com>
    const server = `BY${rng.int(1, 5)}PR${String(rng.int(1, 99)).padStart(2, '0')}MB${rng.int(1000, 9999)}`;
    return `<${server}${rng.hex(24).toUpperCase()}@${server}.namprd${String(rng.int(1, 20)).padStart(2, '0')}.prod.outlook.com>`;
  }
  if (senderDomain === 'gmail.com') return `<CA+${rng.hex(30)}@mail.gmail.com>`;
  return `<${rng.hex(8)}.${rng.int(100000, 999999)}.${rng.hex(12)}@${senderDomain}>`;
}

// --- Message id <-> (bucket, index) -----------------------------------------------------------

function feistelRound(seed: number, round: number, half: number): number {
  return hash32(seed, 0xfe1, round, half);
}

/** A GUID that looks random but carries (bucket, index) under a seed-keyed 4-round Feistel network. */
function encodeMessageId(seed: number, bucket: number, index: number, rng: Rng): string {
  let left = bucket >>> 0;
  let right = index >>> 0;
  for (let round = 0; round < 4; round++) {
    const next = (left ^ feistelRound(seed, round, right)) >>> 0;
    left = right;
    right = next;
  }
  const hexL = left.toString(16).padStart(8, '0');
  const hexR = right.toString(16).padStart(8, '0');
  const noise = rng.hex(15);
  const variant = ((Number.parseInt(noise[3] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hexL}-${hexR.slice(0, 4)}-4${noise.slice(0, 3)}-${variant}${noise.slice(4, 7)}-${hexR.slice(4, 8)}${noise.slice(7, 15)}`;
}

function decodeMessageId(seed: number, id: string): { bucket: number; index: number } | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-([0-9a-f]{4})[0-9a-f]{8}$/i.exec(id);
  if (!m) return null;
  let left = Number.parseInt(m[1] as string, 16) >>> 0;
  let right = Number.parseInt(`${m[2]}${m[3]}`, 16) >>> 0;
  for (let round = 3; round >= 0; round--) {
    const prev = (right ^ feistelRound(seed, round, left)) >>> 0;
    right = left;
    left = prev;
  }
  return { bucket: left, index: right };
}
