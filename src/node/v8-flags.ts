// V8 flags for a node's process, given by whatever starts one (`tally cluster up`, the benchmarks,
// and the shebang of src/cli/main.ts, which repeats them: a shebang cannot import). They must be given
// on the command line: V8 sizes its heap when the process starts, and setting them later does nothing.

/**
 * `--max-semi-space-size=32` (MB; Node 20's default is 16) until 2026-12-07: a node under a bulk load creates objects
 * that live (every key's entry, counter and slot) among many that do not (decoded frames, replies),
 * and a small young generation collected them every few milliseconds. Measured on 2026-12-05: in the
 * simulator (3 nodes, 300,000 new keys) catch-up CPU per key 13.0-13.3 µs at 64 MB against 15.0-15.3
 * at 16, and in `bench scale` at a million keys catch-up 9.6-10.7 s against 11.4-13.8 s and 10% less
 * CPU. But the young generation's pages stayed committed once it had grown (V8 shrinks it only at a
 * collection that finds allocation slow, and a quiet node ran none until node/young-trim.ts): two
 * semi-spaces of 64 MB held 131 MB of every loaded node's RSS.
 * On 2026-12-06, four rounds of `bench scale --writers=1` alternating 16, 32 and 64 MB: 32 used the
 * CPU 64 did (peers until caught up 8.0-11.4 s against 8.1-10.8) and catch-up took 9.3-12.7 s
 * against 9.3-11.6, for 55-90 MB less RSS per node; 16 saved 25 MB more but cost the peers 10-15%
 * more CPU and missed 10 s of catch-up in all four rounds (10.6-16.6 s).
 * `--max-semi-space-size=16` since 2026-12-07: with compact keys (keyspace/key-table.ts) a key a bulk
 * load creates or a peer receives leaves no object behind but its string, so the young generation's
 * survivors, which each scavenge copies, are few, and its size no longer buys CPU. Five rounds of
 * `bench scale --writers=1` alternating 32 and 16 MB: CPU of the writer during its pipe 3.7-5.5 s
 * at 32 against 4.0-4.3 at 16, of each peer until caught up 3.7-5.4 against 3.9-4.5, catch-up
 * 4.4-9.4 s against 4.2-7.8; RSS per key once settled 237-291 B on the writer at 32 against 219-233,
 * 211-254 on the peers against 188-226. Pinned rather than left to Node's default, which other
 * Node versions size otherwise.
 */
export const NODE_V8_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=16']);
