// COMMAND DOCS: a summary, the version that brought the command to Redis (or tally) and its group,
// for each command of the table. redis-cli reads it at start-up for its help and hints.

import type { Reply } from './reply.js';
import type { CommandSpec } from './types.js';

/** [summary, since, group]; tally's own commands carry tally's version and the group `tally`. */
const DOCS: Record<string, readonly [string, string, string]> = {
  incr: ['Increment the integer value of a key by one', '1.0.0', 'string'],
  decr: ['Decrement the integer value of a key by one', '1.0.0', 'string'],
  incrby: ['Increment the integer value of a key by the given amount', '1.0.0', 'string'],
  decrby: ['Decrement the integer value of a key by the given number', '1.0.0', 'string'],
  incrbyfloat: ['Refused: tally counters hold exact integers', '2.6.0', 'string'],
  get: ['Get the value of a counter, or the Redis HYLL bytes of a HyperLogLog', '1.0.0', 'string'],
  mget: ['Get the values of all the given counters (and HyperLogLogs, as HYLL bytes)', '1.0.0', 'string'],
  set: ['Reset a counter to an integer value, or set a HyperLogLog from Redis HYLL bytes (NX, XX, GET, EX, PX, EXAT, PXAT, KEEPTTL)', '1.0.0', 'string'],
  setnx: ['Set a counter only if the key does not exist', '1.0.0', 'string'],
  mset: ['Set several counters to integer values', '1.0.1', 'string'],
  msetnx: ['Set several counters, only if none of the keys exists', '1.0.1', 'string'],
  getset: ['Set a counter (or a HyperLogLog from HYLL bytes) and return its old value', '1.0.0', 'string'],
  getdel: ['Get the value of a counter (or HyperLogLog) and delete the key', '6.2.0', 'string'],
  getex: ['Get the value of a counter (or HyperLogLog) and optionally set its expiration', '6.2.0', 'string'],
  setex: ['Set a counter and its expiration in seconds', '2.0.0', 'string'],
  psetex: ['Set a counter and its expiration in milliseconds', '2.6.0', 'string'],
  strlen: ['Get the length of the value stored in a key', '2.2.0', 'string'],
  del: ['Delete a key', '1.0.0', 'generic'],
  unlink: ['Delete a key', '4.0.0', 'generic'],
  exists: ['Determine if a key exists', '1.0.0', 'generic'],
  type: ['Determine the type stored at key (string for every tally key)', '1.0.0', 'generic'],
  'tally.type': ['Determine the CRDT type stored at key', '0.1.0', 'tally'],
  expire: ["Set a key's time to live in seconds", '1.0.0', 'generic'],
  pexpire: ["Set a key's time to live in milliseconds", '2.6.0', 'generic'],
  expireat: ['Set the expiration for a key as a UNIX timestamp', '1.2.0', 'generic'],
  pexpireat: ['Set the expiration for a key as a UNIX timestamp specified in milliseconds', '2.6.0', 'generic'],
  ttl: ['Get the time to live for a key in seconds', '1.0.0', 'generic'],
  pttl: ['Get the time to live for a key in milliseconds', '2.6.0', 'generic'],
  expiretime: ['Get the expiration Unix timestamp for a key', '7.0.0', 'generic'],
  pexpiretime: ['Get the expiration Unix timestamp for a key in milliseconds', '7.0.0', 'generic'],
  persist: ['Remove the expiration from a key', '2.2.0', 'generic'],
  scan: ['Incrementally iterate the keys space', '2.8.0', 'generic'],
  keys: ['Find all keys matching the given pattern', '1.0.0', 'generic'],
  pfadd: ['Adds the specified elements to the specified HyperLogLog.', '2.8.9', 'hyperloglog'],
  pfcount: ['Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).', '2.8.9', 'hyperloglog'],
  pfmerge: ['Merge N different HyperLogLogs into a single one.', '2.8.9', 'hyperloglog'],
  memory: ['A container for memory diagnostics commands', '4.0.0', 'server'],
  time: ['Return the current server time', '2.6.0', 'server'],
  slowlog: ['A container for slow log commands', '2.2.12', 'server'],
  monitor: ['Listen for all requests received by the server in real time', '1.0.0', 'server'],
  ping: ['Ping the server', '1.0.0', 'connection'],
  echo: ['Echo the given string', '1.0.0', 'connection'],
  auth: ['Authenticate to the server', '1.0.0', 'connection'],
  hello: ['Handshake with Redis', '6.0.0', 'connection'],
  select: ['Change the selected database for the current connection', '1.0.0', 'connection'],
  quit: ['Close the connection', '1.0.0', 'connection'],
  client: ['A container for client connection commands', '2.4.0', 'connection'],
  dbsize: ['Return the number of keys in the selected database', '1.0.0', 'server'],
  flushdb: ['Remove all keys from the current database', '1.0.0', 'server'],
  flushall: ['Remove all keys from all databases', '1.0.0', 'server'],
  acl: ['A container for Access List Control commands (WHOAMI, USERS, LIST)', '6.0.0', 'server'],
  post: ['An HTTP request on the RESP port: the connection is closed', '0.1.0', 'tally'],
  'host:': ['An HTTP request on the RESP port: the connection is closed', '0.1.0', 'tally'],
  config: ['A container for server configuration commands', '2.0.0', 'server'],
  info: ['Get information and statistics about the server', '1.0.0', 'server'],
  command: ['Get array of Redis command details', '2.8.13', 'server'],
  multi: ['Mark the start of a transaction block', '1.2.0', 'transactions'],
  exec: ['Execute all commands issued after MULTI', '1.2.0', 'transactions'],
  discard: ['Discard all commands issued after MULTI', '2.0.0', 'transactions'],
  watch: ['Watch the given keys to determine execution of the MULTI/EXEC block', '2.2.0', 'transactions'],
  unwatch: ['Forget about all watched keys', '2.2.0', 'transactions'],
  eval: ['Execute a Lua script server side', '2.6.0', 'scripting'],
  evalsha: ['Execute a Lua script server side', '2.6.0', 'scripting'],
  eval_ro: ['Execute a read-only Lua script server side', '7.0.0', 'scripting'],
  evalsha_ro: ['Execute a read-only Lua script server side', '7.0.0', 'scripting'],
  script: ['A container for Lua scripts management commands', '2.6.0', 'scripting'],
  wait: ['Wait for the synchronous replication of all the write commands sent in the context of the current connection', '3.0.0', 'generic'],
  'tally.consistency': ['Set the write and read consistency levels of this connection', '0.1.0', 'tally'],
  'tally.leave': ['Leave the cluster for good, after handing this node\'s state to a majority', '0.1.0', 'tally'],
  'tally.remove': ['Remove a dead or stopped member from the cluster for good', '0.1.0', 'tally'],
  'window.create': ['Create a windowed counter', '0.1.0', 'tally'],
  'window.incrby': ['Add to the current (or a given) bucket of a windowed counter', '0.1.0', 'tally'],
  'window.count': ['Sum a windowed counter over a time range', '0.1.0', 'tally'],
  'window.sliding': ['Count a windowed counter over the last seconds', '0.1.0', 'tally'],
  'window.info': ['Describe a windowed counter', '0.1.0', 'tally'],
  throttle: ['Rate-limit decision over a sliding window', '0.1.0', 'tally'],
  'cms.initbydim': ['Initializes a Count-Min Sketch to dimensions specified by user', '0.1.0', 'cms'],
  'cms.initbyprob': ['Initializes a Count-Min Sketch to accommodate requested tolerances.', '0.1.0', 'cms'],
  'cms.incrby': ['Increases the count of one or more items by increment', '0.1.0', 'cms'],
  'cms.query': ['Returns the count for one or more items in a sketch', '0.1.0', 'cms'],
  'cms.merge': ['Merges several sketches into one sketch', '0.1.0', 'cms'],
  'cms.info': ['Returns information about a sketch', '0.1.0', 'cms'],
  'topk.reserve': ['Initializes a TopK with specified parameters', '0.1.0', 'topk'],
  'topk.add': ['Increases the count of one or more items by increment', '0.1.0', 'topk'],
  'topk.incrby': ['Increases the count of one or more items by increment', '0.1.0', 'topk'],
  'topk.query': ['Checks whether one or more items are in a sketch', '0.1.0', 'topk'],
  'topk.count': ['Return the count for one or more items are in a sketch', '0.1.0', 'topk'],
  'topk.list': ['Return full list of items in Top K list', '0.1.0', 'topk'],
  'topk.info': ['Returns information about a sketch', '0.1.0', 'topk'],
};

const bulk = (value: string): Reply => ({ kind: 'bulk', value });

/** Whether every command has docs (the command table test checks it). */
export function documented(name: string): boolean {
  return Object.hasOwn(DOCS, name);
}

/** COMMAND DOCS for `specs`: a map of name to its map of summary, since and group. */
export function commandDocs(specs: readonly CommandSpec[]): Reply {
  return {
    kind: 'map',
    value: specs.map((s) => {
      const [summary, since, group] = DOCS[s.name] ?? ['', '0.1.0', 'tally'];
      return [bulk(s.name), { kind: 'map', value: [[bulk('summary'), bulk(summary)], [bulk('since'), bulk(since)], [bulk('group'), bulk(group)]] }] as const;
    }),
  };
}
