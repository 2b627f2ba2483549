// The registry of benchmark suites. Each suite prints its tables and returns a JSON-able summary.

export type Suite = (args: string[]) => Promise<unknown>;

export const suites: Record<string, Suite> = {
  crdt: async (args) => (await import('./crdt.js')).run(args),
  gossip: async (args) => (await import('./gossip.js')).run(args),
  load: async (args) => (await import('./load.js')).run(args),
  durability: async (args) => (await import('./durability.js')).run(args),
  sketch: async (args) => (await import('./sketch.js')).run(args),
  consistency: async (args) => (await import('./consistency.js')).run(args),
  resp: async (args) => (await import('./resp.js')).run(args),
  scale: async (args) => (await import('./scale.js')).run(args),
  detector: async (args) => (await import('./detector.js')).run(args),
  layout: async (args) => (await import('./layout.js')).run(args),
};
