// Free loopback ports for processes started next (test clusters, `tally verify`, benchmarks).
//
// Ports come from 20000-32767, below Linux's default ephemeral range (32768-60999). The kernel takes
// the local port of every outgoing connection from the ephemeral range, so a port picked there with
// listen(0) can be taken by some client's connection before the node binds it, or while a killed
// node is down and about to bind it again. Below that range only another listener can take it.
// Each vitest worker (VITEST_POOL_ID), or else each process (pid), searches its own slice of the
// range, so parallel test files do not hand out the same port either.

import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_767;
const SLICE = 800;
const SLICES = Math.floor((HIGH - LOW + 1) / SLICE);

function sliceStart(): number {
  const pool = Number(process.env.VITEST_POOL_ID);
  const k = Number.isInteger(pool) && pool > 0 ? pool - 1 : process.pid;
  return LOW + (k % SLICES) * SLICE;
}

/** Next offset in this process's slice: ports are handed out round the slice, never twice in a row. */
let cursor = Math.floor(Math.random() * SLICE);

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function ephemeral(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port on `host` (default 127.0.0.1) that nothing listens on now, from this process's slice of
 * 20000-32767. Falls back to a kernel-chosen port if the whole slice is taken.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const start = sliceStart();
  for (let i = 0; i < SLICE; i++) {
    const port = start + (cursor++ % SLICE);
    if (await canBind(host, port)) return port;
  }
  return ephemeral(host);
}
