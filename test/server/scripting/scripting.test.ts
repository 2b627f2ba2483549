// Lua scripting on the command table: Redis's conversions both ways, its error texts, the sandbox,
// atomicity, and the busy threshold with SCRIPT KILL (on a fake clock). test/oracle/ compares the
// same against a live redis-server.

import { describe, expect, it } from 'vitest';
import { testNode } from '../command-harness.js';
import { BUSY_REPLY_THRESHOLD_MS } from '../../../src/server/scripting/limits.js';
import { sha1hex } from '../../../src/server/scripting/engine.js';
import { onScriptIdle, scriptBusy } from '../../../src/server/commands/state.js';

const evalr = (n: ReturnType<typeof testNode>, script: string, ...rest: string[]): string => n.run(n.session(), 'EVAL', script, ...rest);

describe('EVAL replies, converted as Redis converts them', () => {
  const n = testNode();
  it.each([
    ['return 1', ':1\r\n'],
    ['return 3.99', ':3\r\n'],
    ['return -3.99', ':-3\r\n'],
    ["return 'x'", '$1\r\nx\r\n'],
    ['return true', ':1\r\n'],
    ['return false', '$-1\r\n'],
    ['return nil', '$-1\r\n'],
    ['return {1, 2, {3}, nil, 5}', '*3\r\n:1\r\n:2\r\n*1\r\n:3\r\n'],
    ["return {ok='FINE'}", '+FINE\r\n'],
    ["return {err='MY bad'}", '-MY bad\r\n'],
    ["return redis.status_reply('FINE')", '+FINE\r\n'],
    ["return redis.error_reply('MY err')", '-MY err\r\n'],
    ["return redis.error_reply('nospace')", '-ERR nospace\r\n'],
    ['return {double=0.1}', '$19\r\n0.10000000000000001\r\n'],
    ["return redis.call('ping')", '+PONG\r\n'],
    ["return redis.call('get', 'missing')", '$-1\r\n'],
    ["return type(redis.call('get', 'missing'))", '$7\r\nboolean\r\n'],
    ['return tostring(10/2)', '$1\r\n5\r\n'],
    ['return tostring(123456789012345)', '$19\r\n1.2345678901235e+14\r\n'],
    ['local s = 0 for i = 1, 100000 do s = s + i end return s', ':5000050000\r\n'],
    ['return unpack({1, 2})', ':1\r\n'],
    ['return bit.band(6, 3)', ':2\r\n'],
    ['return #KEYS + #ARGV', ':0\r\n'],
  ])('%s', (script, bytes) => {
    expect(evalr(n, script, '0')).toBe(bytes);
  });

  it('passes KEYS and ARGV, numbers to commands as %.17g, and writes through the command table', () => {
    expect(evalr(n, "return redis.call('INCRBY', KEYS[1], ARGV[1] * 1000000)", '1', 'big', '123456')).toBe(':123456000000\r\n');
    expect(evalr(n, "return redis.call('INCRBY', KEYS[1], 2.5)", '1', 'big')).toBe(
      `-ERR value is not an integer or out of range script: ${sha1hex(Buffer.from("return redis.call('INCRBY', KEYS[1], 2.5)"))}, on @user_script:1.\r\n`,
    );
    expect(n.run(n.session(), 'GET', 'big')).toBe('$12\r\n123456000000\r\n');
  });
});

describe('script errors, in Redis 7.0\'s words', () => {
  const n = testNode();
  const sha = (s: string): string => sha1hex(Buffer.from(s));
  it.each([
    ["return redis.call('nosuch')", 'ERR Unknown Redis command called from script'],
    ["return redis.call('incr')", 'ERR Wrong number of args calling Redis command from script'],
    ["return redis.call('multi')", 'ERR This Redis command is not allowed from script'],
    ['return redis.call()', 'ERR Please specify at least one argument for this redis lib call'],
    ['return redis.call({})', 'ERR Lua redis lib command arguments must be strings or integers'],
    ["error('boom')", 'ERR user_script:1: boom'],
    ["error({err='X y'})", 'X y'],
    ['return x', "ERR user_script:1: Script attempted to access nonexistent global variable 'x'"],
    ['x = 1', 'ERR user_script:1: Attempt to modify a readonly table'],
    ['string.x = 1', 'ERR user_script:1: Attempt to modify a readonly table'],
    ['return type(os)', "ERR user_script:1: Script attempted to access nonexistent global variable 'os'"],
    ['return io', "ERR user_script:1: Script attempted to access nonexistent global variable 'io'"],
    ["return require('fs')", "ERR user_script:1: Script attempted to access nonexistent global variable 'require'"],
    ["return loadfile('/etc/passwd')", "ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile'"],
    ['return redis.setresp(4)', 'ERR RESP version must be 2 or 3.'],
  ])('%s', (script, text) => {
    expect(evalr(n, script, '0')).toBe(`-${text} script: ${sha(script)}, on @user_script:1.\r\n`);
  });

  it('pcall and redis.pcall return the error instead of raising it', () => {
    expect(evalr(n, "local ok, e = pcall(function() return redis.call('nosuch') end) return e", '0')).toBe('$44\r\nERR Unknown Redis command called from script\r\n');
    expect(evalr(n, "return redis.pcall('incr')", '0')).toBe('-ERR Wrong number of args calling Redis command from script\r\n');
  });

  it('a script that does not compile answers Error compiling script, and nothing is cached', () => {
    expect(evalr(n, 'return +', '0')).toMatch(/^-ERR Error compiling script \(new function\): user_script:1: /);
    expect(n.run(n.session(), 'SCRIPT', 'EXISTS', sha('return +'))).toBe('*1\r\n:0\r\n');
  });

  it('binary load is refused: text chunks only', () => {
    expect(evalr(n, "return tostring(load(string.dump(function() return 1 end)))", '0')).toBe('$3\r\nnil\r\n');
  });
});

describe('SCRIPT and EVALSHA', () => {
  it('LOAD, EXISTS (any case), EVALSHA, FLUSH, NOSCRIPT', () => {
    const n = testNode();
    const s = n.session();
    const sha = sha1hex(Buffer.from('return ARGV[1]'));
    expect(n.run(s, 'EVALSHA', sha, '0', 'x')).toBe('-NOSCRIPT No matching script. Please use EVAL.\r\n');
    expect(n.run(s, 'SCRIPT', 'LOAD', 'return ARGV[1]')).toBe(`$40\r\n${sha}\r\n`);
    expect(n.run(s, 'SCRIPT', 'EXISTS', sha.toUpperCase(), 'nope')).toBe('*2\r\n:1\r\n:0\r\n');
    expect(n.run(s, 'EVALSHA', sha.toUpperCase(), '0', 'x')).toBe('$1\r\nx\r\n');
    expect(n.run(s, 'SCRIPT', 'FLUSH')).toBe('+OK\r\n');
    expect(n.run(s, 'EVALSHA', sha, '0', 'x')).toBe('-NOSCRIPT No matching script. Please use EVAL.\r\n');
    expect(n.run(s, 'EVAL', 'return 1', '2', 'a')).toBe("-ERR Number of keys can't be greater than number of args\r\n");
    expect(n.run(s, 'EVAL', 'return 1', '-1')).toBe("-ERR Number of keys can't be negative\r\n");
  });

  it('SCRIPT FLUSH takes SYNC or ASYNC, DEBUG says there is no debugger, HELP lists the subcommands, a short SHA is never found', () => {
    const n = testNode();
    const s = n.session();
    const sha = sha1hex(Buffer.from('return 7'));
    for (const mode of ['sync', 'ASYNC']) {
      n.run(s, 'SCRIPT', 'LOAD', 'return 7');
      expect(n.run(s, 'SCRIPT', 'FLUSH', mode)).toBe('+OK\r\n');
      expect(n.run(s, 'SCRIPT', 'EXISTS', sha)).toBe('*1\r\n:0\r\n');
    }
    n.run(s, 'SCRIPT', 'LOAD', 'return 7');
    expect(n.run(s, 'SCRIPT', 'FLUSH', 'now')).toBe('-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n');
    expect(n.run(s, 'SCRIPT', 'FLUSH', 'SYNC', 'ASYNC')).toBe('-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n');
    expect(n.run(s, 'SCRIPT', 'EXISTS', sha)).toBe('*1\r\n:1\r\n');
    expect(n.run(s, 'SCRIPT', 'DEBUG', 'yes')).toBe('-ERR SCRIPT DEBUG is not supported: tally has no Lua debugger\r\n');
    expect(n.run(s, 'SCRIPT', 'HELP')).toMatch(/^\*\d+\r\n\+SCRIPT <subcommand>/);
    expect(n.run(s, 'SCRIPT', 'EXISTS')).toBe("-ERR wrong number of arguments for 'script|exists' command\r\n");
    // EVALSHA of the first 39 characters of a loaded script's SHA does not run it.
    expect(n.run(s, 'EVALSHA', sha.slice(0, 39), '0')).toBe('-NOSCRIPT No matching script. Please use EVAL.\r\n');
    expect(n.run(s, 'EVALSHA', sha, '0')).toBe(':7\r\n');
  });

  it('EVAL_RO and a no-writes shebang refuse write commands', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'EVAL_RO', "return redis.call('INCR', KEYS[1])", '1', 'k')).toMatch(/^-ERR Write commands are not allowed from read-only scripts\. script: /);
    expect(n.run(s, 'EVAL', "#!lua flags=no-writes\nreturn redis.call('INCR', KEYS[1])", '1', 'k')).toMatch(/^-ERR Write commands are not allowed from read-only scripts\. script: [0-9a-f]+, on @user_script:2\./);
    expect(n.run(s, 'EVAL_RO', "#!lua\nreturn 1", '0')).toBe('-ERR Can not execute a script with write flag using *_ro command.\r\n');
    expect(n.run(s, 'EVAL', '#!python\nreturn 1', '0')).toBe('-ERR Unexpected engine in script shebang: #!python\r\n');
    expect(n.run(s, 'GET', 'k')).toBe('$-1\r\n');
  });

  it('a script\'s SELECT stays inside it', () => {
    const n = testNode();
    const s = n.session();
    expect(n.run(s, 'EVAL', "redis.call('SELECT', 3) return redis.call('INCR', KEYS[1])", '1', 'k')).toBe(':1\r\n');
    expect(n.run(s, 'GET', 'k')).toBe('$-1\r\n');
    n.run(s, 'SELECT', '3');
    expect(n.run(s, 'GET', 'k')).toBe('$1\r\n1\r\n');
  });
});

describe('a script past busy-reply-threshold', () => {
  /** A clock that moves 100 ms each time it is read. */
  function ticking(): () => number {
    let t = 0;
    return () => (t += 100);
  }

  it('gives the loop back: others get BUSY, SCRIPT KILL stops a read-only script, and it answers the killed error', async () => {
    const n = testNode({ now: ticking() });
    const [a, b] = [n.session(), n.session()];
    const pending = n.result(a, 'EVAL', 'local i = 0 while true do i = i + 1 end', '0');
    expect(pending).toBeInstanceOf(Promise);
    expect(n.run(b, 'PING')).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
    expect(n.run(b, 'MULTI')).toBe('+OK\r\n'); // allowed while busy, as in Redis
    expect(n.run(b, 'INCR', 'x')).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
    expect(n.run(b, 'EXEC')).toBe('-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
    expect(n.run(b, 'SCRIPT', 'KILL')).toBe('+OK\r\n');
    const r = (await pending) as { kind: string; message: string };
    expect(r.message).toMatch(/^ERR Script killed by user with SCRIPT KILL\.\.\. script: [0-9a-f]{40}, on @user_script:1\.$/);
    expect(n.run(b, 'PING')).toBe('+PONG\r\n');
    expect(n.run(b, 'SCRIPT', 'KILL')).toBe('-NOTBUSY No scripts in execution right now.\r\n');
  });

  it('SCRIPT KILL (any case) is the only SCRIPT subcommand that runs meanwhile; the node is told when the script ends', async () => {
    const n = testNode({ now: ticking() });
    const [a, b] = [n.session(), n.session()];
    const ended: string[] = [];
    onScriptIdle(n.ctx, () => ended.push('first'));
    const off = onScriptIdle(n.ctx, () => ended.push('unsubscribed'));
    off();
    expect(scriptBusy(n.ctx)).toBe(false);
    const pending = n.result(a, 'EVAL', 'local i = 0 while true do i = i + 1 end', '0');
    expect(pending).toBeInstanceOf(Promise);
    expect(scriptBusy(n.ctx)).toBe(true);
    const BUSY = '-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n';
    expect(n.run(b, 'SCRIPT', 'LOAD', 'return 1')).toBe(BUSY);
    expect(n.run(b, 'SCRIPT', 'FLUSH')).toBe(BUSY);
    expect(n.run(b, 'SCRIPT', 'EXISTS', 'x')).toBe(BUSY);
    expect(ended).toEqual([]);
    expect(n.run(b, 'script', 'kill')).toBe('+OK\r\n');
    await pending;
    expect(scriptBusy(n.ctx)).toBe(false);
    expect(ended).toEqual(['first']);
    expect(n.run(b, 'SCRIPT', 'EXISTS', sha1hex(Buffer.from('return 1')))).toBe('*1\r\n:0\r\n');
  });

  it('a script that wrote cannot be killed (UNKILLABLE) and runs to its end', async () => {
    const n = testNode({ now: ticking() });
    const [a, b] = [n.session(), n.session()];
    const steps = Math.ceil((BUSY_REPLY_THRESHOLD_MS + 2000) / 100) * 20;
    const pending = n.result(a, 'EVAL', `redis.call('INCR', KEYS[1]) for i = 1, ${steps * 10000} do end return redis.call('INCR', KEYS[1])`, '1', 'w');
    expect(pending).toBeInstanceOf(Promise);
    expect(n.run(b, 'SCRIPT', 'KILL')).toMatch(/^-UNKILLABLE Sorry the script already executed write commands/);
    expect(await n.runAsync(a, 'GET', 'w').catch(() => 'busy')).toMatch(/BUSY|busy/);
    const r = (await pending) as { kind: string; value: number };
    expect(r).toEqual({ kind: 'int', value: 2 });
  }, 30_000);
});
