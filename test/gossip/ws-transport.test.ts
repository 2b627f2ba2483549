// WsGossipTransport over real sockets on 127.0.0.1 (ephemeral ports): exchange both ways, wrong keys,
// live key rotation in three steps, reconnect after a restart, oversize and garbage input. Polls with
// deadlines, never fixed sleeps.

import net from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FrameSealer, Keyring } from '../../src/gossip/frame-auth.js';
import { WsGossipTransport, type WsGossipTransportOptions } from '../../src/gossip/ws-transport.js';

const HOST = '127.0.0.1';
const CLUSTER = 'tally-test';
const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);
const k3 = Buffer.alloc(32, 3);
const ring = (...keys: Buffer[]): Keyring => new Keyring({ keys, clusterName: CLUSTER });

/** Polls `cond` until it holds or the deadline passes; never a fixed sleep. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Node {
  t: WsGossipTransport;
  port: number;
  address: string;
  frames: { peer: string; text: string }[];
  rejects: { peer: string; reason: string; detail: string }[];
}

const open: WsGossipTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function node(keyring: Keyring | null, extra: Partial<WsGossipTransportOptions> = {}): Promise<Node> {
  const frames: Node['frames'] = [];
  const rejects: Node['rejects'] = [];
  const t = new WsGossipTransport({
    host: HOST,
    port: 0,
    keyring,
    maxFrameBytes: 64 * 1024,
    onFrame: (peer, frame) => frames.push({ peer, text: Buffer.from(frame).toString('utf8') }),
    onReject: (peer, reason, detail) => rejects.push({ peer, reason, detail }),
    clock: () => Date.now(),
    ...extra,
  });
  open.push(t);
  const port = await t.listen();
  return { t, port, address: `${HOST}:${port}`, frames, rejects };
}

const msg = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const got = (n: Node, text: string): boolean => n.frames.some((f) => f.text === text);

let seq = 0;
/** Sends one fresh frame each way and waits for both to arrive. */
async function exchange(a: Node, b: Node, what: string): Promise<void> {
  const ab = `${what} a->b ${++seq}`;
  const ba = `${what} b->a ${++seq}`;
  a.t.send(b.address, msg(ab));
  b.t.send(a.address, msg(ba));
  await until(() => got(b, ab) && got(a, ba), `${what}: frames both ways`);
}

/** A raw ws client to a node's gossip endpoint (for hostile input). */
async function rawClient(n: Node, path = '/gossip'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://${n.address}${path}`, { perMessageDeflate: false });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return ws;
}

describe('WsGossipTransport', () => {
  it('carries frames both ways, labelled with the remote ip:port, and counts them', async () => {
    const a = await node(ring(k1));
    const b = await node(ring(k1));
    for (let i = 0; i < 20; i++) a.t.send(b.address, msg(`a${i}`));
    b.t.send(a.address, msg('from b'));
    await until(() => b.frames.length === 20 && a.frames.length === 1, 'all frames');
    // In order: one connection per peer, sealed with increasing sequence numbers.
    expect(b.frames.map((f) => f.text)).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(b.frames[0]!.peer).toMatch(/^(::ffff:)?127\.0\.0\.1:\d+$/);
    const sa = a.t.stats();
    const sb = b.t.stats();
    expect(sa.framesOut).toBe(20);
    expect(sb.framesIn).toBe(20);
    expect(sb.bytesIn).toBe(sa.bytesOut);
    expect(sa.connectionsOpen.outbound).toBe(1);
    expect(sb.connectionsOpen.inbound).toBe(1);
    expect(Object.values(sb.rejected).every((n) => n === 0)).toBe(true);
    expect(a.rejects).toEqual([]);
  });

  it('without a keyring, passes frames as is', async () => {
    const a = await node(null);
    const b = await node(null);
    await exchange(a, b, 'plain');
  });

  it('with the wrong key or cluster name, every frame is rejected and none delivered', async () => {
    const b = await node(ring(k1));
    const wrongKey = await node(ring(k2));
    const wrongCluster = await node(new Keyring({ keys: [k1], clusterName: 'other' }));
    for (let i = 0; i < 5; i++) {
      wrongKey.t.send(b.address, msg(`k${i}`));
      wrongCluster.t.send(b.address, msg(`c${i}`));
    }
    await until(() => b.rejects.length === 10, 'ten rejections');
    expect(b.frames).toEqual([]);
    const s = b.t.stats();
    expect(s.rejected['unknown-key']).toBe(5);
    expect(s.rejected.auth).toBe(5);
    expect(s.framesIn).toBe(0);
    expect(b.rejects.filter((r) => r.reason === 'unknown-key')).toHaveLength(5);
  });

  it('rotates keys in three steps without losing traffic between nodes that moved and nodes that did not', async () => {
    // Start: every node [k1].
    const a = await node(ring(k1));
    const b = await node(ring(k1));
    await exchange(a, b, 'start');

    // Step 1, rolling: add k2 as an accepted key, still sending k1. A has moved, B has not.
    a.t.setKeyring(ring(k1, k2));
    await exchange(a, b, 'step 1, a moved');
    b.t.setKeyring(ring(k1, k2));
    await exchange(a, b, 'step 1 done');

    // Step 2, rolling: send with k2, still accept k1.
    a.t.setKeyring(ring(k2, k1));
    await exchange(a, b, 'step 2, a moved');
    b.t.setKeyring(ring(k2, k1));
    await exchange(a, b, 'step 2 done');

    // Step 3, rolling: drop k1.
    a.t.setKeyring(ring(k2));
    await exchange(a, b, 'step 3, a moved');
    b.t.setKeyring(ring(k2));
    await exchange(a, b, 'step 3 done');

    expect(a.rejects).toEqual([]);
    expect(b.rejects).toEqual([]);
    expect(a.t.stats().reconnects).toBe(0);
  });

  it('skipping step 1 breaks traffic: a node sending a key its peer does not hold is refused', async () => {
    const a = await node(ring(k3, k1));
    const b = await node(ring(k1));
    a.t.send(b.address, msg('too early'));
    await until(() => b.rejects.length === 1, 'rejection');
    expect(b.rejects[0]!.reason).toBe('unknown-key');
    expect(b.frames).toEqual([]);
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const a = await node(ring(k1), { backoffMinMs: 20, backoffMaxMs: 200 });
    const b = await node(ring(k1));
    await exchange(a, b, 'before');
    const port = b.port;
    await b.t.close();
    await until(() => a.t.stats().connectionsOpen.outbound === 0, 'a to see the close');

    const b2 = await node(ring(k1), { port });
    expect(b2.port).toBe(port);
    let i = 0;
    await until(() => {
      a.t.send(b2.address, msg(`after ${i++}`));
      return b2.frames.length > 0;
    }, 'a frame to reach the restarted peer');
    expect(a.t.stats().reconnects).toBeGreaterThanOrEqual(1);
    await exchange(a, b2, 'after restart');
  });

  it('drops frames queued for a dead peer once they are too old, without throwing', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, HOST, () => r()));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const a = await node(ring(k1), { maxQueueAgeMs: 100, backoffMinMs: 20, backoffMaxMs: 50 });
    a.t.send(`${HOST}:${deadPort}`, msg('into the void'));
    a.t.send('not an address at all', msg('nowhere'));
    await until(() => a.t.stats().dropped.expired === 1, 'the queued frame to expire');
    expect(a.t.stats().dropped['bad-address']).toBe(1);
    expect(a.t.stats().framesOut).toBe(0);
  });

  it('an oversize message closes only that connection; others keep flowing', async () => {
    const r = await node(ring(k1), { maxFrameBytes: 1024 });
    const big = await node(ring(k1), { maxFrameBytes: 1024 * 1024, backoffMinMs: 20 });
    const c = await node(ring(k1));
    c.t.send(r.address, msg('c before'));
    big.t.send(r.address, msg('big before'));
    await until(() => got(r, 'c before') && got(r, 'big before'), 'first frames');

    big.t.send(r.address, Buffer.alloc(4096, 'x'));
    await until(() => r.t.stats().rejected.oversize === 1, 'oversize rejection');
    expect(r.rejects[0]!.reason).toBe('oversize');
    await until(() => big.t.stats().connectionsOpen.outbound === 0, 'the big sender to be disconnected');

    c.t.send(r.address, msg('c after'));
    await until(() => got(r, 'c after'), 'c after');
    expect(c.t.stats().reconnects).toBe(0);
    // The offender reconnects and its well-sized frames flow again.
    big.t.send(r.address, msg('big after'));
    await until(() => got(r, 'big after'), 'big after');

    // A transport never puts a frame over its own limit on the wire.
    c.t.send(r.address, Buffer.alloc(64 * 1024 + 1));
    expect(c.t.stats().dropped.oversize).toBe(1);
  });

  it('rejects text and garbage, closes a connection after too many rejects (1008), and keeps serving', async () => {
    const r = await node(ring(k1), { maxRejectsPerConnection: 20 });
    const ws = await rawClient(r);
    let closeCode = 0;
    ws.on('close', (code) => (closeCode = code));
    ws.send('hello, text');
    await until(() => r.rejects.length === 1, 'text rejection');
    expect(r.rejects[0]!.reason).toBe('format');
    expect(r.rejects[0]!.detail).toMatch(/text/);
    ws.send(Buffer.from([1, 2, 3]));
    for (let i = 0; i < 30; i++) ws.send(Buffer.alloc(100, i));
    await until(() => closeCode !== 0, 'the hostile connection to close');
    expect(closeCode).toBe(1008);
    expect(r.rejects).toHaveLength(20);
    const s = r.t.stats();
    expect(s.rejected.format).toBeGreaterThanOrEqual(2);
    expect(s.rejected.format + s.rejected['unknown-key']).toBe(20);

    // Unknown paths get 404; raw TCP garbage is dropped.
    await expect(rawClient(r, '/nope')).rejects.toThrow('HTTP 404');
    const sock = net.connect(r.port, HOST);
    sock.on('error', () => {});
    sock.write('\x00\x01garbage\r\n\r\n');
    await until(() => sock.destroyed || sock.readableEnded, 'garbage socket closed');

    // Still serving real peers.
    const a = await node(ring(k1));
    await exchange(a, r, 'after abuse');
    expect(r.t.stats().framesIn).toBeGreaterThanOrEqual(1);
  });

  it('refuses a replayed frame captured off the wire, on a fresh connection', async () => {
    const r = await node(ring(k1));
    const frame = new FrameSealer(ring(k1)).seal(msg('once'), Date.now());
    const ws1 = await rawClient(r);
    ws1.send(frame);
    await until(() => got(r, 'once'), 'first delivery');
    const ws2 = await rawClient(r);
    ws2.send(frame);
    await until(() => r.rejects.length === 1, 'replay rejection');
    expect(r.rejects[0]!.reason).toBe('replay');
    expect(r.frames).toHaveLength(1);
    ws1.terminate();
    ws2.terminate();
  });

  it('close() is idempotent and later sends are dropped, not thrown', async () => {
    const a = await node(ring(k1));
    await a.t.close();
    await a.t.close();
    expect(() => a.t.send('127.0.0.1:1', msg('late'))).not.toThrow();
    expect(a.t.stats().dropped.closed).toBe(1);
  });
});

describe('clock notices', () => {
  it('a node an hour ahead, every frame of which is refused as stale, learns its clock is off from the refusing peer', async () => {
    const notices: { address: string; offsetMs: number }[] = [];
    const fast = await node(ring(k1), { clock: () => Date.now() + 3_600_000, onClockNotice: (address, offsetMs) => notices.push({ address, offsetMs }) });
    const honest = await node(ring(k1));
    fast.t.send(honest.address, msg('from the future'));
    await until(() => notices.length > 0, 'a clock notice');
    expect(got(honest, 'from the future')).toBe(false);
    expect(honest.rejects.some((r) => r.reason === 'stale')).toBe(true);
    expect(notices[0]?.address).toBe(honest.address);
    // The peer's clock minus ours: about an hour behind, within the latency of one frame.
    expect(Math.abs((notices[0]?.offsetMs ?? 0) + 3_600_000)).toBeLessThan(5_000);
    expect(honest.t.stats().clockNotices.sent).toBeGreaterThan(0);
    expect(fast.t.stats().clockNotices.received).toBe(notices.length);
  });

  it('a forged or replayed notice is not believed: wrong key, or an echo of no recent frame of ours', async () => {
    const notices: number[] = [];
    const a = await node(ring(k1), { onClockNotice: (_addr, o) => notices.push(o) });
    const b = await node(ring(k1));
    await exchange(a, b, 'warm');
    // A peer that holds a different key cannot make us believe anything.
    const forger = new FrameSealer(ring(k2));
    const stranger = new FrameSealer(ring(k1));
    const { FrameOpener } = await import('../../src/gossip/frame-auth.js');
    const opener = new FrameOpener(ring(k1));
    expect(opener.openNotice(forger.sealNotice(Date.now(), Date.now() - 3_600_000), Date.now()).ok).toBe(false);
    // The right key, but echoing a timestamp of an hour ago: a replay, not an answer to us.
    expect(opener.openNotice(stranger.sealNotice(Date.now() - 3_600_000, Date.now()), Date.now()).ok).toBe(false);
    // The right key and a recent echo: believed.
    const okNotice = opener.openNotice(stranger.sealNotice(Date.now() - 100, Date.now() + 5_000), Date.now());
    expect(okNotice.ok && okNotice.value.peerNow - okNotice.value.echoedTs).toBeGreaterThan(4_000);
    expect(notices).toEqual([]);
  });
});

describe('WebSocket masking', () => {
  it('is native: bufferutil loads its prebuilt addon here, which ws then masks and unmasks with', () => {
    // A client masks every frame it sends (RFC 6455); in JavaScript that was 2-3% of a writing node's CPU.
    const bufferutil = createRequire(import.meta.url)('bufferutil') as { mask: (...a: unknown[]) => void };
    expect(Function.prototype.toString.call(bufferutil.mask)).toContain('[native code]');
  });
});
