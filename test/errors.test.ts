// The error catalogue (src/errors.ts) against the docs: every text a client can see is listed in
// docs/commands.md, word for word. A parameterised text is checked in the docs' placeholder form.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';

const DOCS = readFileSync(new URL('../docs/commands.md', import.meta.url), 'utf8');

/** Replaces sample numbers by the docs' placeholders, e.g. 1001 -> `<k>`. */
function placeholders(text: string, names: Record<number, string>): string {
  let out = text;
  for (const [n, name] of Object.entries(names)) out = out.split(n).join(name);
  return out;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/**
 * Each function of the catalogue, called so that its text reads as docs/commands.md writes it (the
 * texts that quote a client's bytes are bytes: shown here as latin1, one character a byte).
 */
const SAMPLES: Record<string, () => string> = {
  keyTooLong: () => errors.keyTooLong(32768),
  wrongArity: () => errors.wrongArity('<name>'),
  unknownCommand: () => errors.unknownCommand(b('<name>'), [b('<arg1>'), b('<arg2>')]).toString('latin1'),
  unknownSubcommand: () => errors.unknownSubcommand(b('<sub>'), 'CLIENT').toString('latin1'),
  subcommandSyntax: () => errors.subcommandSyntax(b('<sub>'), 'SLOWLOG').toString('latin1'),
  helloSyntax: () => errors.helloSyntax(b('<opt>')).toString('latin1'),
  configUnsupported: () => errors.configUnsupported('<SUB>'),
  noPermission: () => errors.noPermission('<name>'),
  authThrottled: () => placeholders(errors.authThrottled(1001), { 1001: '<s>' }),
  aclUnsupported: () => errors.aclUnsupported('<SUB>'),
  consistencyLevel: () => errors.consistencyLevel('WRITES'),
  unknownConsistencyOption: () => errors.unknownConsistencyOption('<opt>'),
  noReplicas: () => placeholders(errors.noReplicas(1001, 1002, 1003), { 1001: '<k>', 1002: '<n>', 1003: '<t>' }),
  leaveNotHandedOff: () => placeholders(errors.leaveNotHandedOff(1001, 1002, 1003), { 1001: '<k>', 1002: '<n>', 1003: '<t>' }),
  removeUnknown: () => errors.removeUnknown('<id>'),
  removeAlready: () => errors.removeAlready('<id>'),
  removeLive: () => errors.removeLive('<id>', '<state>'),
  noQuorum: () => placeholders(errors.noQuorum(1001, 1002, 1003), { 1001: '<k>', 1002: '<n>', 1003: '<t>' }),
  throttlePeriodTooLong: () => errors.throttlePeriodTooLong(31536000),
  windowExists: () => placeholders(errors.windowExists(1001, 1002), { 1001: '<g>', 1002: '<r>' }),
  windowLongerThanRetention: () => placeholders(errors.windowLongerThanRetention(1001), { 1001: '<r>' }),
  periodLongerThanRetention: () => placeholders(errors.periodLongerThanRetention(1001), { 1001: '<r>' }),
  unsupportedOption: () => errors.unsupportedOption('<opt>'),
  invalidExpireTime: () => errors.invalidExpireTime('<command>'),
  clockOff: () => placeholders(errors.clockOff(1001, 1002), { 1001: '<offset>', 1002: '<bound>' }),
  cms: () => errors.cms('depth <d> must be an integer in 1..32'),
  topkRecordTooLarge: () => placeholders(errors.topkRecordTooLarge(1001, 1002), { 1001: '<n>', 1002: '<m>' }),
  protocolExpectedDollar: () => errors.protocolExpectedDollar('<c>'),
  wsNotMsgpack: () => errors.wsNotMsgpack('<reason>'),
  wsBadDb: () => errors.wsBadDb(15),
  wsBadArg: () => placeholders(errors.wsBadArg(1001), { 1001: '<i>' }),
  wsBadKeyList: () => errors.wsBadKeyList('watch'),
  wsBadKey: () => placeholders(errors.wsBadKey('watch', 1001), { 1001: '<i>' }),
  wsKeyTooLong: () => placeholders(errors.wsKeyTooLong('watch', 1001, 32768), { 1001: '<i>' }),
  wsTooManyPending: () => errors.wsTooManyPending(1024),
  tooManyWatches: () => placeholders(errors.tooManyWatches(1001, 1002), { 1001: '<n>', 1002: '<max>' }),
  execAbort: () => errors.execAbort('<reason>'),
  hllNoRedisEncoding: () => placeholders(errors.hllNoRedisEncoding(1001), { 1001: '<p>' }),
  hllPrecisionMismatch: () => placeholders(errors.hllPrecisionMismatch(1001, 1002), { 1001: '<p>', 1002: '<q>' }),
  scriptCompile: () => errors.scriptCompile('<lua error>'),
  scriptShebang: () => errors.scriptShebang('<detail>'),
};

const entries = Object.entries(errors) as [string, unknown][];

describe('the error catalogue', () => {
  it('lists every constant text in docs/commands.md', () => {
    const missing = entries.filter(([, v]) => typeof v === 'string' && !DOCS.includes(v)).map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('lists every parameterised text in docs/commands.md, in its placeholder form', () => {
    const functions = entries.filter(([, v]) => typeof v === 'function').map(([name]) => name);
    expect(functions.filter((name) => SAMPLES[name] === undefined), 'add a sample call to SAMPLES').toEqual([]);
    expect(functions.filter((name) => !DOCS.includes((SAMPLES[name] as () => string)()))).toEqual([]);
  });

  it('holds only texts and text makers', () => {
    for (const [name, v] of entries) expect(['string', 'function'], name).toContain(typeof v);
  });

  it('starts every error text with its code', () => {
    const closeReasons = new Set<unknown>([errors.WS_CLOSE_BAD_FRAMES, errors.WS_CLOSE_INTERNAL]);
    for (const [name, v] of entries) {
      const text = typeof v === 'string' ? v : (SAMPLES[name] as () => string)();
      if (closeReasons.has(v)) continue;
      expect(text, name).toMatch(/^(ERR|WRONGTYPE|INVALIDOBJ|NOAUTH|WRONGPASS|NOPERM|DENIED|NOPROTO|NOREPLICAS|NOQUORUM|EXECABORT|BUSY|OOM|NOTBUSY|UNKILLABLE|NOSCRIPT|CMS:|TopK:) /);
    }
  });
});
