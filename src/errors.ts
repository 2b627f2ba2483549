// Every error text a client can see, in one place: the Redis error strings tally mirrors and its own.
// Pure data at the bottom of the layers (no imports): the keyspace, the command table, RESP and the
// WebSocket API take their texts from here. docs/commands.md lists each one; test/errors.test.ts checks.
//
// The first word of a text is its error code (ERR, WRONGTYPE, NOAUTH, ...), as in Redis: clients
// branch on it. Where tally mirrors a Redis command the text is Redis's, byte for byte.

// ---- any command ---------------------------------------------------------------------------------

/** A command of one type on a live key of another (a deleted key has no type). */
export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
/**
 * PFADD, PFCOUNT or PFMERGE on a live key that is not a HyperLogLog. Redis answers this text for a
 * string that holds no HLL (a counter is a string there), and tally's TYPE calls every key a string.
 */
export const NOT_AN_HLL = 'WRONGTYPE Key is not a valid HyperLogLog string value.';
/**
 * A HyperLogLog string whose registers are broken (Redis: sparse runs that do not cover exactly
 * 16,384 registers; tally also: a dense register above 51). tally refuses it at SET; Redis stores
 * it and answers this at the next PF command.
 */
export const HLL_CORRUPT = 'INVALIDOBJ Corrupted HLL object detected';
/** GET (and the commands that answer a value) of a HyperLogLog written before tally hashed as Redis does. */
export const HLL_LEGACY_HASH =
  "ERR this HyperLogLog was written with tally's legacy hash, so its registers are not Redis's and it has no HYLL encoding (DEL it and add its elements again)";
/** PFCOUNT of several keys or PFMERGE combining a legacy-hash HyperLogLog with a Redis-hash one. */
export const HLL_HASH_MISMATCH =
  "ERR cannot combine a HyperLogLog written with tally's legacy hash and one written with Redis's hash (the same element lands in different registers)";

/** GET (and the commands that answer a value) of a HyperLogLog of a precision other than Redis's 14. */
export function hllNoRedisEncoding(p: number): string {
  return `ERR this HyperLogLog has precision ${p}, and Redis's HYLL encoding holds precision 14 only`;
}

/** HyperLogLogs of two precisions combined, or Redis HYLL bytes (precision 14) on a node configured with another. */
export function hllPrecisionMismatch(given: number, held: number): string {
  return `ERR HyperLogLog precision ${given} does not match this node's ${held} (Redis HYLL bytes hold precision 14: set hllPrecision to 14)`;
}

/** A malformed integer, or one below a command's minimum. */
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
/** A counter result or amount beyond ±(2^53-1), or no room left in this node's slot. */
export const OVERFLOW = 'ERR increment or decrement would overflow';
/** Bad optional words. */
export const SYNTAX = 'ERR syntax error';
/** A command (or a WebSocket watch / unwatch) before AUTH on a node with a password. */
export const NOAUTH = 'NOAUTH Authentication required.';
/** A command threw (a bug): the details go to the node's log, not to the client. */
export const INTERNAL = 'ERR internal error';
/** A connection beyond `maxClients` (RESP answers it, the WebSocket API closes with it as reason). */
export const MAX_CLIENTS = 'ERR max number of clients reached';
/** An empty argument list (neither protocol can send one; the table answers it anyway). */
export const EMPTY_COMMAND = 'ERR empty command';

/** Creating a key longer than `maxBytes`: a key travels whole in every gossip delta that carries it. */
export function keyTooLong(maxBytes: number): string {
  return `ERR key is too long (tally accepts keys of at most ${maxBytes} bytes)`;
}

/** Arity; `name` is the lower-case command name, or `command|subcommand`. */
export function wrongArity(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/**
 * The client's bytes as Redis's `%.*s` prints a C string: up to the first NUL byte, at most `max`
 * bytes (a cut may fall inside a UTF-8 character: Redis counts bytes, and so does this).
 */
function cString(b: Uint8Array, max: number): Uint8Array {
  const nul = b.indexOf(0);
  return b.subarray(0, Math.min(nul === -1 ? b.length : nul, max));
}

/** The text as bytes, with CR and LF as spaces (Redis's rejectCommandFormat: one line, always). */
function oneLine(parts: readonly (string | Uint8Array)[]): Buffer {
  const out = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  for (let i = 0; i < out.length; i++) if (out[i] === 0x0d || out[i] === 0x0a) out[i] = 0x20;
  return out;
}

/**
 * A name outside the command table, byte for byte as Redis 7.0 prints it (processCommand): the
 * name cut to 128 bytes; then, while the arguments shown so far take under 128 bytes, the next one,
 * quoted, cut to what is left of those 128 bytes, and a space. Bytes, not a string: the client's
 * bytes come back as sent, even an argument cut inside a UTF-8 character.
 */
export function unknownCommand(name: Uint8Array, args: readonly Uint8Array[]): Buffer {
  const parts: (string | Uint8Array)[] = ["ERR unknown command '", cString(name, 128), "', with args beginning with: "];
  let shown = 0;
  for (let i = 0; i < args.length && shown < 128; i++) {
    const arg = cString(args[i] as Uint8Array, 128 - shown);
    parts.push("'", arg, "' ");
    shown += arg.length + 3;
  }
  return oneLine(parts);
}

/** An unknown subcommand of a container command (COMMAND, CLIENT, CONFIG, ACL, SCRIPT...), as Redis prints it: `sub` as sent, cut to 128 bytes. */
export function unknownSubcommand(sub: Uint8Array, command: string): Buffer {
  return oneLine(["ERR unknown subcommand '", cString(sub, 128), `'. Try ${command} HELP.`]);
}

/** A known subcommand with arguments its own check refuses (Redis's addReplySubcommandSyntaxError). */
export function subcommandSyntax(sub: Uint8Array, command: string): Buffer {
  return oneLine(["ERR unknown subcommand or wrong number of arguments for '", cString(sub, 128), `'. Try ${command} HELP.`]);
}

// ---- counters -----------------------------------------------------------------------------------

export const GCOUNTER_DECREMENT =
  'ERR G-Counter keys only grow: DECR, DECRBY, a negative INCRBY and a negative SET are not allowed (DEL and SET reset them)';
export const INCRBYFLOAT_UNSUPPORTED =
  'ERR tally counters hold exact integers; INCRBYFLOAT is not supported (use INCRBY with an integer in your smallest unit)';
export const SET_NOT_INTEGER = 'ERR value is not an integer or out of range (tally keys hold counters: SET takes an integer)';

// ---- connection and server commands --------------------------------------------------------------

/** AUTH / HELLO AUTH with a wrong password or a username other than `default`. */
export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
export const AUTH_WITHOUT_PASSWORD =
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';
export const HELLO_PROTOCOL_NOT_INTEGER = 'ERR Protocol version is not an integer or out of range';
export const NOPROTO = 'NOPROTO unsupported protocol version';
export const HELLO_NOAUTH =
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time';
export const DB_INDEX_OUT_OF_RANGE = 'ERR DB index is out of range';
export const CLIENT_NAME_INVALID = 'ERR Client names cannot contain spaces, newlines or special characters.';

/** A HELLO option it does not take, as Redis prints it: the option as sent. */
export function helloSyntax(option: Uint8Array): Buffer {
  return oneLine(["ERR Syntax error in HELLO option '", cString(option, Infinity), "'"]);
}

/** CONFIG SET / REWRITE / RESETSTAT; `sub` in upper case. */
export function configUnsupported(sub: string): string {
  return `ERR CONFIG ${sub} is not supported: tally is configured by cluster.config.json and command-line flags`;
}

// ---- users, permissions, protected mode (docs/security.md) -----------------------------------------

/**
 * A command the connection's user may not run (its role lacks the command's flag), Redis 7.0's text:
 * `name` is the lower-case command name, or `command|subcommand` for a container command.
 */
export function noPermission(name: string): string {
  return `NOPERM this user has no permissions to run the '${name}' command`;
}

/**
 * What a client that is not on the loopback interface reads (then the connection is closed) when the
 * node has no password and no users and protected mode is on: Redis 7.0's text, byte for byte. Its
 * advice is Redis's; tally's equivalents are in docs/security.md ("Protected mode").
 */
export const PROTECTED_MODE_DENIED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/** An AUTH (or HTTP login) from an address whose failed attempts have queued it for longer than the limit. */
export function authThrottled(retryAfterS: number): string {
  return `ERR too many failed AUTH attempts from this address; try again in ${retryAfterS} s`;
}

/** A /ws upgrade from a page that no node of the cluster served (cross-site WebSocket hijacking): 403. */
export const WS_CROSS_ORIGIN = "ERR cross-origin WebSocket refused: only pages served by this cluster's nodes may open /ws";
/**
 * An HTTP request to a node without credentials whose Host header is not one of the cluster's names
 * or an IP address (DNS rebinding: a web page reaching the node through its own domain name): 403.
 */
export const HOST_NOT_ACCEPTED =
  "ERR the Host header names no node of this cluster; a node without credentials answers only to its own names and IP addresses (DNS rebinding protection)";

/** ACL SETUSER, DELUSER, LOAD, SAVE...: users are part of the configuration. `sub` in upper case. */
export function aclUnsupported(sub: string): string {
  return `ERR ACL ${sub} is not supported: tally's users are configured in cluster.config.json (auth.users)`;
}

// ---- consistency (WAIT, TALLY.CONSISTENCY, majority levels) ---------------------------------------

export const TIMEOUT_NEGATIVE = 'ERR timeout is negative';
export const NO_CONSISTENCY = 'ERR this node does not offer tunable consistency';
export const CONSISTENCY_TIMEOUT = 'ERR TIMEOUT must be an integer number of milliseconds from 1 to 3600000';

/** `option` is WRITES or READS. */
export function consistencyLevel(option: string): string {
  return `ERR ${option} must be LOCAL or MAJORITY`;
}

export function unknownConsistencyOption(option: string): string {
  return `ERR unknown TALLY.CONSISTENCY option '${option}' (WRITES, READS, TIMEOUT)`;
}

/** Why a joining node could not count a majority (it has not been sent a voter's membership table). */
const VOTERS_UNKNOWN = 'this node is joining and has not yet learned the cluster\'s voters from a member, so it cannot tell what a majority is';

export function noReplicas(count: number, needed: number, timeoutMs: number, votersUnknown = false): string {
  const what = votersUnknown ? `${VOTERS_UNKNOWN} after ${timeoutMs} ms` : `${count} of the ${needed} peers a majority needs hold the write after ${timeoutMs} ms`;
  return `NOREPLICAS majority not reached: ${what}; it is applied on this node and will keep spreading, so a retry may count it twice`;
}

export function noQuorum(count: number, needed: number, timeoutMs: number, votersUnknown = false): string {
  if (votersUnknown) return `NOQUORUM majority read failed: ${VOTERS_UNKNOWN} after ${timeoutMs} ms`;
  return `NOQUORUM majority read failed: ${count} of the ${needed} peers a majority needs answered within ${timeoutMs} ms`;
}

// ---- membership (TALLY.LEAVE, TALLY.REMOVE: docs/operations.md, "Adding and removing nodes") -------

export const NO_MEMBERSHIP = 'ERR this node does not manage cluster membership';
export const LEAVE_TIMEOUT = 'ERR TIMEOUT must be an integer number of milliseconds from 1 to 3600000';
export const LEAVE_ALONE = "ERR this node is the cluster's only member: there is nobody to hand its state to (stop it instead)";
export const LEAVE_BUSY = 'ERR this node is already leaving, stopping or gone';
export const REMOVE_SELF = 'ERR a node cannot remove itself: run TALLY.LEAVE (tally leave) on it instead';

/** The hand-off did not reach a majority of the other members by the deadline. */
export function leaveNotHandedOff(holders: number, needed: number, timeoutMs: number): string {
  return `ERR leave not completed: ${holders} of the ${needed} other members a majority needs hold everything this node holds after ${timeoutMs} ms; this node stays a member`;
}

export function removeUnknown(id: string): string {
  return `ERR no member '${id}' is known to this node`;
}

export function removeAlready(id: string): string {
  return `ERR member '${id}' is already removed`;
}

/** `state` is alive or suspect. */
export function removeLive(id: string, state: string): string {
  return `ERR member '${id}' is ${state} here: remove only a dead or stopped member (a running one leaves with TALLY.LEAVE)`;
}

// ---- windows and THROTTLE -------------------------------------------------------------------------
// The keyspace (src/keyspace/keyspace.ts) still spells its own window texts; they are listed here too
// so this file is the whole catalogue, and the keyspace can take them from here.

export const NO_WINDOW = 'ERR no such window key (create it with WINDOW.CREATE)';
export const FROM_AFTER_TO = 'ERR from is after to';

export function throttlePeriodTooLong(maxS: number): string {
  return `ERR period must be at most ${maxS} s`;
}

export function windowExists(granularityS: number, retentionS: number): string {
  return `ERR window exists with granularity ${granularityS} s and retention ${retentionS} s`;
}

export function windowLongerThanRetention(retentionS: number): string {
  return `ERR the window is longer than the retention (${retentionS} s)`;
}

export function periodLongerThanRetention(retentionS: number): string {
  return `ERR the period is longer than the key's window retention (${retentionS} s)`;
}

/** EXPIRE with an option it does not know. */
export function unsupportedOption(opt: string): string {
  return `ERR Unsupported option ${opt}`;
}
export const EXPIRE_NX_EXCLUSIVE = 'ERR NX and XX, GT or LT options at the same time are not compatible';
export const EXPIRE_GT_LT = 'ERR GT and LT options at the same time are not compatible';
/** A TTL whose deadline does not fit (Redis's text names the command). */
export function invalidExpireTime(command: string): string {
  return `ERR invalid expire time in '${command}' command`;
}

/** A windowed write on a node whose clock most peers find beyond the bound (docs/consistency.md, "Clocks"). */
/** Windowed writes just after this node's clock jumped (or it stalled), before a peer measured it again. */
export const CLOCK_UNVERIFIED = "ERR this node's clock just jumped (a step, or the process was stalled): windowed writes are refused until a peer has measured it again";

export function clockOff(offsetMs: number, boundMs: number): string {
  return `ERR this node's clock is ${offsetMs} ms off from most of its peers (tolerated: ${boundMs} ms): windowed writes are refused until it is fixed`;
}

// ---- Count-Min Sketch and Top-K (RedisBloom's texts: no ERR, the first word is CMS: or TopK:) ------

export const CMS_INVALID_WIDTH = 'CMS: invalid width';
export const CMS_INVALID_DEPTH = 'CMS: invalid depth';
export const CMS_INVALID_OVERESTIMATION = 'CMS: invalid overestimation value';
export const CMS_INVALID_PROB = 'CMS: invalid prob value';
export const CMS_CANNOT_PARSE_NUMBER = 'CMS: Cannot parse number';
export const CMS_INVALID_NUMKEYS = 'CMS: invalid numkeys';
export const CMS_INVALID_WEIGHT = 'CMS: invalid weight value';
/** The keyspace still spells this and the next three itself (see the note on windows). */
export const CMS_NO_KEY = 'CMS: key does not exist';
export const CMS_KEY_EXISTS = 'CMS: key already exists';
export const TOPK_NO_KEY = 'TopK: key does not exist';
export const TOPK_KEY_EXISTS = 'TopK: key already exists';
export const TOPK_INVALID_K = 'TopK: invalid k';
export const TOPK_INVALID_WIDTH = 'TopK: invalid width';
export const TOPK_INVALID_DEPTH = 'TopK: invalid depth';
export const TOPK_INVALID_DECAY = "TopK: invalid decay value. must be '<= 1' & '> 0'";
export const TOPK_INVALID_INCREMENT = 'TopK: increment must be an integer greater or equal to 1';

/**
 * TOPK.RESERVE whose parameters let one writer's record (its matrix and 2k candidates, which gossip
 * cannot cut: crdt/top-k.ts, `topkMaxRecordBytes`) outgrow what a gossip frame carries of a key.
 */
export function topkRecordTooLarge(maxRecordBytes: number, frameBytes: number): string {
  return `TopK: one writer's state could take up to ${maxRecordBytes} bytes, more than a gossip frame holds (maxMessageBytes leaves ${frameBytes}); use a smaller k, width or depth`;
}

/** A sketch's own validation message (from the CRDT layer) as a CMS error. */
export function cms(message: string): string {
  return `CMS: ${message}`;
}

// ---- RESP protocol errors (answered, then the connection is closed) -------------------------------

export const PROTOCOL_INVALID_MULTIBULK_LENGTH = 'ERR Protocol error: invalid multibulk length';
export const PROTOCOL_INVALID_BULK_LENGTH = 'ERR Protocol error: invalid bulk length';
export const PROTOCOL_INLINE_TOO_BIG = 'ERR Protocol error: too big inline request';
export const PROTOCOL_UNBALANCED_QUOTES = 'ERR Protocol error: unbalanced quotes in request';

/** A multibulk argument that does not start with `$`; `shown` is the byte found (CR or LF as a space). */
export function protocolExpectedDollar(shown: string): string {
  return `ERR Protocol error: expected '$', got '${shown}'`;
}

// ---- WebSocket API: malformed frames (answered `{ id, err }`; nothing changes) ---------------------

export const WS_TEXT_FRAME = 'ERR invalid frame: text frames are not accepted, send one msgpack map per binary frame';
export const WS_NOT_A_MAP = 'ERR invalid frame: the frame must be a msgpack map';
export const WS_MISSING_ID = 'ERR invalid request: missing id (an integer)';
export const WS_BAD_ID = 'ERR invalid request: id must be a safe integer';
export const WS_NO_KIND = 'ERR invalid request: expected one of cmd, watch or unwatch';
export const WS_EXCLUSIVE_KINDS = 'ERR invalid request: cmd, watch and unwatch are exclusive';
export const WS_BAD_CMD = 'ERR invalid request: cmd must be a non-empty string';
export const WS_BAD_ARGS = 'ERR invalid request: args must be an array';
export const WS_EMPTY_WATCH = 'ERR invalid request: watch needs at least one key';

/** Undecodable, truncated or trailing bytes; `why` is the decoder's reason. */
export function wsNotMsgpack(why: string): string {
  return `ERR invalid frame: not valid msgpack (${why})`;
}

export function wsBadDb(maxDb: number): string {
  return `ERR invalid request: db must be an integer from 0 to ${maxDb}`;
}

export function wsBadArg(index: number): string {
  return `ERR invalid request: args[${index}] must be a string, binary or finite number`;
}

/** `kind` is watch or unwatch. */
export function wsBadKeyList(kind: string): string {
  return `ERR invalid request: ${kind} must be an array of key names`;
}

export function wsBadKey(kind: string, index: number): string {
  return `ERR invalid request: ${kind}[${index}] must be a string`;
}

export function wsKeyTooLong(kind: string, index: number, maxBytes: number): string {
  return `ERR invalid request: ${kind}[${index}] is longer than ${maxBytes} bytes`;
}

// ---- WebSocket API: other errors and close reasons ------------------------------------------------

export function wsTooManyPending(max: number): string {
  return `ERR too many pending requests on this connection (max ${max})`;
}

export function tooManyWatches(wouldWatch: number, max: number): string {
  return `ERR too many watched keys: this connection would watch ${wouldWatch}, the limit is ${max}`;
}

/** Close reason (1008) after too many malformed frames in a row. */
export const WS_CLOSE_BAD_FRAMES = 'too many malformed frames';
/** Close reason (1011) when the node could not create the session of a new connection. */
export const WS_CLOSE_INTERNAL = 'internal error';

// ---- transactions, scripts, keys and server commands (Redis 7.0's texts) -------------------------

export const MULTI_NESTED = 'ERR MULTI calls can not be nested';
export const EXEC_WITHOUT_MULTI = 'ERR EXEC without MULTI';
export const DISCARD_WITHOUT_MULTI = 'ERR DISCARD without MULTI';
export const WATCH_INSIDE_MULTI = 'ERR WATCH inside MULTI is not allowed';
export const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';
/** A queued command EXEC finds the user may no longer run (an AUTH queued before it changed the user): Redis 7.0's text. */
export const EXEC_NOPERM =
  'NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand';
/** redis.call / redis.pcall of a command the script's user may not run: Redis 7.0's text (the error table's `err`). */
export const SCRIPT_NOPERM = "ERR The user executing the script can't run this command or subcommand";
/** EXEC itself refused (its arity, NOAUTH, BUSY): the transaction is discarded with the reason. */
export function execAbort(reason: string): string {
  return `EXECABORT Transaction discarded because of: ${reason}`;
}
/** Redis's text for a command that may add memory, refused while used memory is over `maxmemory` (noeviction). */
export const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
export const BUSY_SCRIPT = 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
export const NOTBUSY = 'NOTBUSY No scripts in execution right now.';
export const UNKILLABLE =
  'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.';
export const NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';
export const NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args";
export const NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative";
export const SCRIPT_FLUSH_MODE = 'ERR SCRIPT FLUSH only support SYNC|ASYNC option';
export const SCRIPT_DEBUG_UNSUPPORTED = 'ERR SCRIPT DEBUG is not supported: tally has no Lua debugger';
/** A script that does not compile; `detail` is Lua's message (`user_script:1: ...`). */
export function scriptCompile(detail: string): string {
  return `ERR Error compiling script (new function): ${detail}`;
}
/** Script flags (`#!lua flags=...`) and shebang errors, as Redis 7.0 words them. */
export function scriptShebang(detail: string): string {
  return `ERR ${detail}`;
}
export const SCRIPT_RO_COMMAND = 'ERR Can not execute a script with write flag using *_ro command.';
export const INVALID_CURSOR = 'ERR invalid cursor';
export const MONITOR_OVER_WS = 'ERR MONITOR is only available over RESP';
export const SLOWLOG_COUNT = 'ERR count should be greater than or equal to -1';
