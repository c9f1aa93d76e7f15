import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory.js';
import { type AppendFile, createNdjsonFileSink } from '../../src/standalone/sinks/ndjson-file.js';
import { createStdoutSink } from '../../src/standalone/sinks/stdout.js';
import { EVENT_META, type TraceEvent } from '../../src/engine/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'o365mt-sink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const events: TraceEvent[] = [
  { id: 'a', _time: '2026-01-01T00:00:00Z', subject: 'line\nbreak' },
  { id: 'b', _time: '2026-01-01T00:00:01Z' },
];

describe('ndjson file sink', () => {
  it('writes, then fsyncs, then resolves', async () => {
    const steps: string[] = [];
    const sink = createNdjsonFileSink({
      path: join(dir, 'events.ndjson'),
      openFile: async (): Promise<AppendFile> => ({
        write: async (data) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          steps.push(`write ${data.toString().split('\n').length - 1} lines`);
        },
        sync: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          steps.push('fsync');
        },
        close: async () => void steps.push('close'),
      }),
    });
    await sink.send(events, EVENT_META);
    steps.push('resolved');
    await sink.close?.();
    expect(steps).toEqual(['write 2 lines', 'fsync', 'resolved', 'close']);
  });

  it('does not resolve when the fsync fails', async () => {
    const sink = createNdjsonFileSink({
      path: join(dir, 'events.ndjson'),
      openFile: async () => ({
        write: async () => undefined,
        sync: async () => {
          throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        },
        close: async () => undefined,
      }),
    });
    await expect(sink.send(events, EVENT_META)).rejects.toMatchObject({ code: 'sink_failed' });
  });

  it('appends one JSON object per line to a 0600 file, in send order', async () => {
    const path = join(dir, 'events.ndjson');
    const sink = createNdjsonFileSink({ path });
    await Promise.all([sink.send(events, EVENT_META), sink.send([{ id: 'c', _time: 't' }], EVENT_META)]);
    await sink.close?.();
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => (JSON.parse(line) as TraceEvent).id)).toEqual(['a', 'b', 'c']);
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('cuts off a torn last line left by an interrupted write before appending', async () => {
    const path = join(dir, 'events.ndjson');
    await writeFile(path, '{"id":"old","_time":"t"}\n{"id":"tor');
    const engine = new MemoryEngine();
    const sink = createNdjsonFileSink({ path, log: engine.log });
    await sink.send([{ id: 'new', _time: 't' }], EVENT_META);
    await sink.close?.();
    expect(await readFile(path, 'utf8')).toBe('{"id":"old","_time":"t"}\n{"id":"new","_time":"t"}\n');
    expect(engine.logs.some((record) => record.level === 'warn' && record.message.includes('incomplete last line'))).toBe(true);
  });
});

describe('stdout sink', () => {
  it('writes NDJSON and resolves after the stream accepted it', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const sink = createStdoutSink({ stream });
    await sink.send(events, EVENT_META);
    await sink.close?.();
    expect(text.trimEnd().split('\n').map((line) => (JSON.parse(line) as TraceEvent).id)).toEqual(['a', 'b']);
  });

  it('waits for the write callback and rejects with sink_failed on a closed pipe', async () => {
    let release: (() => void) | undefined;
    const slow = new Writable({
      write(_chunk, _encoding, callback) {
        release = () => callback();
      },
    });
    const sink = createStdoutSink({ stream: slow });
    let resolved = false;
    const sending = sink.send(events, EVENT_META).then(() => {
      resolved = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(false);
    release?.();
    await sending;
    expect(resolved).toBe(true);

    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    await expect(createStdoutSink({ stream: broken }).send(events, EVENT_META)).rejects.toMatchObject({ code: 'sink_failed' });
  });
});
