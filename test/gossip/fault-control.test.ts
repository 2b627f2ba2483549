// The fault hook the verify nemesis drives (src/gossip/fault-control.ts): the control file's parsing
// (drops, one-way drops, clock offsets, malformed files), the transport wrapper and the skewed clock.
// `tally verify` is its only user (test/verify/ drives it through real nodes).

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_CONTROL_ENV, FaultControl, MAX_CLOCK_OFFSET_MS, faultControlFromEnv, parseFaultRules, type FaultRules } from '../../src/gossip/fault-control.js';
import type { Logger } from '../../src/util/logger.js';

const A = '127.0.0.1:7001';
const B = '127.0.0.1:7002';
const C = '127.0.0.1:7003';

function memoryLog(): { log: Logger; lines: { level: string; obj: unknown; msg: string | undefined }[] } {
  const lines: { level: string; obj: unknown; msg: string | undefined }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj, msg });
    };
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return { log, lines };
}

function controlFile(rules: FaultRules | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-faults-'));
  const file = join(dir, 'faults.json');
  write(file, rules);
  return file;
}

function write(file: string, rules: FaultRules | string): void {
  writeFileSync(`${file}.tmp`, typeof rules === 'string' ? rules : JSON.stringify(rules));
  renameSync(`${file}.tmp`, file);
}

/** A transport that records where frames went. */
function recorder(): { sent: string[]; send(address: string, frame: Uint8Array): void } {
  const sent: string[] = [];
  return { sent, send: (address) => sent.push(address) };
}

describe('fault control file', () => {
  it('parses each node its own drops and clock offset', () => {
    const text = JSON.stringify({ drop: { n1: [B, C], n2: [] }, clockOffsetMs: { n1: -90_000, n3: 1_500 } });
    expect(parseFaultRules(text, 'n1')).toEqual({ drop: new Set([B, C]), clockOffsetMs: -90_000 });
    expect(parseFaultRules(text, 'n2')).toEqual({ drop: new Set(), clockOffsetMs: 0 });
    expect(parseFaultRules(text, 'n3')).toEqual({ drop: new Set(), clockOffsetMs: 1_500 });
    // Files written before clock offsets existed still parse.
    expect(parseFaultRules(JSON.stringify({ drop: { n1: [A] } }), 'n1')).toEqual({ drop: new Set([A]), clockOffsetMs: 0 });
  });

  it('rejects malformed files, naming what is wrong', () => {
    const bad = (text: string): string => parseFaultRules(text, 'n1') as string;
    expect(bad('{')).toMatch(/^not JSON/);
    expect(bad('[]')).toBe('expected an object');
    expect(bad('{}')).toBe('expected "drop" to be an object');
    expect(bad(JSON.stringify({ drop: { n1: A } }))).toMatch(/drop.n1: expected a list/);
    expect(bad(JSON.stringify({ drop: { n1: ['10.0.0.2:7000'] } }))).toMatch(/not a 127.0.0.1:port address/);
    expect(bad(JSON.stringify({ drop: { n1: ['localhost:7000'] } }))).toMatch(/not a 127.0.0.1:port address/);
    expect(bad(JSON.stringify({ drop: {}, clockOffsetMs: [] }))).toBe('expected "clockOffsetMs" to be an object');
    expect(bad(JSON.stringify({ drop: {}, clockOffsetMs: { n1: 1.5 } }))).toMatch(/clockOffsetMs.n1: expected an integer/);
    expect(bad(JSON.stringify({ drop: {}, clockOffsetMs: { n1: '5' } }))).toMatch(/clockOffsetMs.n1: expected an integer/);
    expect(bad(JSON.stringify({ drop: {}, clockOffsetMs: { n1: MAX_CLOCK_OFFSET_MS + 1 } }))).toMatch(/clockOffsetMs.n1: expected an integer from/);
    // Another node's bad offset is not this node's business only if it parses; a bad entry for n2 is ignored by n1.
    expect(typeof parseFaultRules(JSON.stringify({ drop: {}, clockOffsetMs: { n2: 'x' } }), 'n1')).toBe('object');
  });

  it('cuts one direction only: A drops its frames to B, B still reaches A, A still reaches C', () => {
    const file = controlFile({ drop: { a: [B] } });
    const { log } = memoryLog();
    const fa = new FaultControl(file, 'a', log);
    const fb = new FaultControl(file, 'b', log);
    const ta = recorder();
    const tb = recorder();
    const sendA = fa.wrap(ta);
    const sendB = fb.wrap(tb);
    sendA.send(B, new Uint8Array(1));
    sendA.send(C, new Uint8Array(1));
    sendB.send(A, new Uint8Array(1));
    expect(ta.sent).toEqual([C]);
    expect(tb.sent).toEqual([A]);
    expect(fa.dropped).toBe(1);
    expect(fb.dropped).toBe(0);
    // Both ways: a partition.
    write(file, { drop: { a: [B], b: [A] } });
    fa.reload();
    fb.reload();
    sendA.send(B, new Uint8Array(1));
    sendB.send(A, new Uint8Array(1));
    expect(ta.sent).toEqual([C]);
    expect(tb.sent).toEqual([A]);
    // Healed.
    write(file, { drop: {} });
    fa.reload();
    fb.reload();
    sendA.send(B, new Uint8Array(1));
    sendB.send(A, new Uint8Array(1));
    expect(ta.sent).toEqual([C, B]);
    expect(tb.sent).toEqual([A, A]);
    fa.close();
    fb.close();
  });

  it('serves a clock that is the base clock plus the current offset, and jumps when it changes', () => {
    let base = 1_000_000;
    const file = controlFile({ drop: {}, clockOffsetMs: { a: 120_000 } });
    const { log, lines } = memoryLog();
    const f = new FaultControl(file, 'a', log, { now: () => base });
    expect(f.clock.now()).toBe(1_120_000);
    base += 10;
    expect(f.clock.now()).toBe(1_120_010);
    write(file, { drop: {}, clockOffsetMs: { a: -5_000 } });
    f.reload();
    expect(f.clock.now()).toBe(995_010);
    write(file, { drop: {} });
    f.reload();
    expect(f.clock.now()).toBe(1_000_010);
    expect(lines.filter((l) => l.msg === 'fault control: clock offset changed').map((l) => l.obj)).toEqual([
      { offsetMs: 120_000, was: 0 },
      { offsetMs: -5_000, was: 120_000 },
      { offsetMs: 0, was: -5_000 },
    ]);
    f.close();
  });

  it('keeps the rules in force, and logs, when the file turns malformed', () => {
    const file = controlFile({ drop: { a: [B] }, clockOffsetMs: { a: 7_000 } });
    const { log, lines } = memoryLog();
    const f = new FaultControl(file, 'a', log, { now: () => 0 });
    for (const bad of ['{"drop": ', JSON.stringify({ drop: { a: ['192.168.1.1:7000'] } }), JSON.stringify({ drop: {}, clockOffsetMs: { a: 'soon' } })]) {
      write(file, bad);
      f.reload();
      expect(f.current.drop).toEqual(new Set([B]));
      expect(f.clock.now()).toBe(7_000);
    }
    expect(lines.filter((l) => l.level === 'warn' && l.msg === 'fault control file ignored')).toHaveLength(3);
    f.close();
  });

  it('is off unless TALLY_FAULT_CONTROL is set, and only on 127.0.0.1', () => {
    const { log } = memoryLog();
    expect(faultControlFromEnv('a', '127.0.0.1', log, {})).toBeNull();
    expect(faultControlFromEnv('a', '127.0.0.1', log, { [FAULT_CONTROL_ENV]: '' })).toBeNull();
    expect(() => faultControlFromEnv('a', '0.0.0.0', log, { [FAULT_CONTROL_ENV]: '/tmp/x.json' })).toThrow(/only for 127.0.0.1/);
    const f = faultControlFromEnv('a', '127.0.0.1', log, { [FAULT_CONTROL_ENV]: controlFile({ drop: {}, clockOffsetMs: { a: 3 } }) });
    expect(f).not.toBeNull();
    expect(Math.abs((f as FaultControl).clock.now() - 3 - Date.now())).toBeLessThan(1_000);
    f?.close();
  });
});
