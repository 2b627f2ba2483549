// Count-Min Sketch and Top-K commands with RedisBloom's names, arguments, replies and errors:
// CMS.INITBYDIM, CMS.INITBYPROB, CMS.INCRBY, CMS.QUERY, CMS.MERGE, CMS.INFO, TOPK.RESERVE, TOPK.ADD,
// TOPK.INCRBY, TOPK.QUERY, TOPK.COUNT, TOPK.LIST, TOPK.INFO. Differences: docs/crdt-sketches.md.

import { fullKey } from '../../keyspace/keyspace.js';
import { cmsDimsFromProb } from '../../crdt/count-min-sketch.js';
import { TOPK_DEFAULT_DEPTH, topkDefaultWidth } from '../../crdt/top-k.js';
import * as errors from '../../errors.js';
import { NULL_BULK, type Reply } from './reply.js';
import { ERR_SYNTAX, errKeyTooLong, MAX_KEY_BYTES, wrongArity } from './parse.js';
import type { CommandSpec } from './types.js';
import { errorReply, intArg } from './window-commands.js';

const OK: Reply = Object.freeze({ kind: 'simple', value: 'OK' });
const int = (v: number | bigint): Reply => ({ kind: 'int', value: v });
const e = (message: string): Reply => ({ kind: 'error', message });
const ints = (vs: readonly (number | bigint)[]): Reply => ({ kind: 'array', value: vs.map(int) });

/** A decimal float strictly inside (0, 1), as RedisBloom accepts for error / probability / decay. */
function unitFloat(b: Buffer | undefined, closedTop = false): number | undefined {
  if (b === undefined) return undefined;
  const t = b.toString('latin1');
  if (!/^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
  const v = Number(t);
  return v > 0 && (v < 1 || (closedTop && v === 1)) ? v : undefined;
}

/** (item, increment) pairs from args[from..]; undefined if an increment does not parse. */
function pairs(a: readonly Buffer[], from: number): [Buffer, number][] | undefined {
  const out: [Buffer, number][] = [];
  for (let i = from; i < a.length; i += 2) {
    const n = intArg(a[i + 1], 0);
    if (n === undefined) return undefined;
    out.push([a[i] as Buffer, n]);
  }
  return out;
}

export const sketchCommands: CommandSpec[] = [
  {
    name: 'cms.initbydim',
    arity: 4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      const w = intArg(a[2], 1);
      if (w === undefined) return e(errors.CMS_INVALID_WIDTH);
      const d = intArg(a[3], 1);
      if (d === undefined) return e(errors.CMS_INVALID_DEPTH);
      const r = ctx.keyspace.cmsInit(fullKey(s.db, a[1] as Buffer), w, d);
      return r.ok ? OK : errorReply(r.error);
    },
  },
  {
    name: 'cms.initbyprob',
    arity: 4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      const eps = unitFloat(a[2]);
      if (eps === undefined) return e(errors.CMS_INVALID_OVERESTIMATION);
      const p = unitFloat(a[3]);
      if (p === undefined) return e(errors.CMS_INVALID_PROB);
      const dims = cmsDimsFromProb(eps, p);
      if (!dims.ok) return e(errors.cms(dims.error.message));
      const r = ctx.keyspace.cmsInit(fullKey(s.db, a[1] as Buffer), dims.value.width, dims.value.depth);
      return r.ok ? OK : errorReply(r.error);
    },
  },
  {
    name: 'cms.incrby',
    arity: -4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if ((a.length - 2) % 2 !== 0) return wrongArity('cms.incrby');
      const ps = pairs(a, 2);
      if (ps === undefined) return e(errors.CMS_CANNOT_PARSE_NUMBER);
      const r = ctx.keyspace.cmsIncrBy(fullKey(s.db, a[1] as Buffer), ps);
      return r.ok ? ints(r.value) : errorReply(r.error);
    },
  },
  {
    name: 'cms.query',
    arity: -3,
    flags: ['readonly'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const r = ctx.keyspace.cmsQuery(fullKey(s.db, a[1] as Buffer), a.slice(2));
      return r.ok ? ints(r.value) : errorReply(r.error);
    },
  },
  {
    name: 'cms.merge',
    arity: -4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const n = intArg(a[2], 1);
      if (n === undefined) return e(errors.CMS_INVALID_NUMKEYS);
      if (a.length < 3 + n) return wrongArity('cms.merge');
      const sources = a.slice(3, 3 + n).map((k) => fullKey(s.db, k));
      let weights: number[] = [];
      if (a.length > 3 + n) {
        if ((a[3 + n] as Buffer).toString('latin1').toUpperCase() !== 'WEIGHTS' || a.length !== 4 + 2 * n) return ERR_SYNTAX;
        weights = [];
        for (const b of a.slice(4 + n)) {
          const w = intArg(b, 0);
          if (w === undefined) return e(errors.CMS_INVALID_WEIGHT);
          weights.push(w);
        }
      }
      const r = ctx.keyspace.cmsMerge(fullKey(s.db, a[1] as Buffer), sources, weights);
      return r.ok ? OK : errorReply(r.error);
    },
  },
  {
    name: 'cms.info',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const r = ctx.keyspace.cmsInfo(fullKey(s.db, a[1] as Buffer));
      if (!r.ok) return errorReply(r.error);
      const v = r.value;
      return { kind: 'array', value: [{ kind: 'bulk', value: 'width' }, int(v.width), { kind: 'bulk', value: 'depth' }, int(v.depth), { kind: 'bulk', value: 'count' }, int(v.count)] };
    },
  },
  {
    name: 'topk.reserve',
    arity: -3,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if (a.length !== 3 && a.length !== 6) return wrongArity('topk.reserve');
      if ((a[1] as Buffer).length > MAX_KEY_BYTES) return errKeyTooLong(ctx.keyspace.maxKeyBytes);
      const k = intArg(a[2], 1);
      if (k === undefined) return e(errors.TOPK_INVALID_K);
      let width = topkDefaultWidth(k);
      let depth = TOPK_DEFAULT_DEPTH;
      if (a.length === 6) {
        const w = intArg(a[3], 1);
        if (w === undefined) return e(errors.TOPK_INVALID_WIDTH);
        const d = intArg(a[4], 1);
        if (d === undefined) return e(errors.TOPK_INVALID_DEPTH);
        if (unitFloat(a[5], true) === undefined) return e(errors.TOPK_INVALID_DECAY);
        width = w;
        depth = d;
      }
      const r = ctx.keyspace.topkReserve(fullKey(s.db, a[1] as Buffer), k, width, depth);
      return r.ok ? OK : errorReply(r.error);
    },
  },
  {
    name: 'topk.add',
    arity: -3,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const r = ctx.keyspace.topkAdd(fullKey(s.db, a[1] as Buffer), a.slice(2).map((b) => [b, 1] as [Buffer, number]));
      return r.ok ? { kind: 'array', value: r.value.map((x) => (x === null ? NULL_BULK : { kind: 'bulk', value: x })) } : errorReply(r.error);
    },
  },
  {
    name: 'topk.incrby',
    arity: -4,
    flags: ['write', 'denyoom'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if ((a.length - 2) % 2 !== 0) return wrongArity('topk.incrby');
      const ps = pairs(a, 2);
      if (ps === undefined || ps.some(([, n]) => n < 1)) return e(errors.TOPK_INVALID_INCREMENT);
      const r = ctx.keyspace.topkAdd(fullKey(s.db, a[1] as Buffer), ps);
      return r.ok ? { kind: 'array', value: r.value.map((x) => (x === null ? NULL_BULK : { kind: 'bulk', value: x })) } : errorReply(r.error);
    },
  },
  {
    name: 'topk.query',
    arity: -3,
    flags: ['readonly'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const t = ctx.keyspace.topk(fullKey(s.db, a[1] as Buffer));
      return t.ok ? ints(a.slice(2).map((i) => (t.value.has(i) ? 1 : 0))) : errorReply(t.error);
    },
  },
  {
    name: 'topk.count',
    arity: -3,
    flags: ['readonly'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const t = ctx.keyspace.topk(fullKey(s.db, a[1] as Buffer));
      return t.ok ? ints(a.slice(2).map((i) => t.value.query(i))) : errorReply(t.error);
    },
  },
  {
    name: 'topk.list',
    arity: -2,
    flags: ['readonly'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      if (a.length > 3 || (a.length === 3 && (a[2] as Buffer).toString('latin1').toUpperCase() !== 'WITHCOUNT')) return ERR_SYNTAX;
      const t = ctx.keyspace.topk(fullKey(s.db, a[1] as Buffer));
      if (!t.ok) return errorReply(t.error);
      const withCount = a.length === 3;
      return { kind: 'array', value: t.value.list().flatMap((x) => (withCount ? [{ kind: 'bulk', value: x.item }, int(x.count)] : [{ kind: 'bulk', value: x.item }]) as Reply[]) };
    },
  },
  {
    name: 'topk.info',
    arity: 2,
    flags: ['readonly', 'fast'],
    keys: [1, 1, 1],
    run: (ctx, s, a) => {
      const t = ctx.keyspace.topk(fullKey(s.db, a[1] as Buffer));
      if (!t.ok) return errorReply(t.error);
      const v = t.value;
      const b = (x: string): Reply => ({ kind: 'bulk', value: x });
      return { kind: 'array', value: [b('k'), int(v.k), b('width'), int(v.width), b('depth'), int(v.depth), b('decay'), b('0')] };
    },
  },
];
