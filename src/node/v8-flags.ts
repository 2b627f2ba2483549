// V8 flags for a node's process, given by whatever starts one (`tally cluster up`, the benchmarks,
// and the shebang of src/cli/main.ts, which repeats them: a shebang cannot import). They must be given
// on the command line: V8 sizes its heap when the process starts, and setting them later does nothing.

/**
 * `--max-semi-space-size=64` (MB; Node 20's default is 16): a node under a bulk load creates objects
 * that live (every key's entry, counter and slot) among many that do not (decoded frames, replies),
 * and a small young generation collected them every few milliseconds. Measured on 2026-12-05: in the
 * simulator (3 nodes, 300,000 new keys) catch-up CPU per key 13.0-13.3 µs against 15.0-15.3, and in
 * `bench scale` at a million keys catch-up 9.6-10.7 s against 11.4-13.8 s and 10% less CPU, for about
 * 40 MB more RSS per node after the load (the young generation's pages stay committed).
 */
export const NODE_V8_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=64']);
