// The registry of benchmark suites. Each suite prints its tables and returns a JSON-able summary.

export type Suite = (args: string[]) => Promise<unknown>;

export const suites: Record<string, Suite> = {
  crdt: async (args) => (await import('./crdt.js')).run(args),
  gossip: async (args) => (await import('./gossip.js')).run(args),
};
