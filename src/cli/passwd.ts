// `tally passwd`: reads a password (twice, without echo, on a terminal; else the first line of stdin)
// and prints its salted scrypt hash for auth.users, or with --user a whole user entry. The password
// is never an argument, so it stays out of the shell history and the process list.

import type { Command } from 'commander';
import { DEFAULT_SCRYPT_COST, hashPassword, RECOMMENDED_MIN_LN, SCRYPT_LIMITS } from '../server/auth/password-hash.js';
import { ROLES, type Role } from '../server/auth/permissions.js';
import { intArg } from './args.js';

interface PasswdFlags {
  user?: string;
  role: string;
  cost: number;
}

/** Reads one line from a terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let line = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err: Error | null): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err === null) resolveLine(line);
      else reject(err);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The first line of a piped stdin (a trailing CR LF or LF is not part of the password). */
async function firstLine(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    text += chunk as string;
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

export async function readPassword(): Promise<string> {
  if (process.stdin.isTTY !== true) return firstLine();
  const a = await promptHidden('password: ');
  const b = await promptHidden('again: ');
  if (a !== b) throw new Error('the two passwords differ');
  return a;
}

export function registerPasswd(program: Command): void {
  program
    .command('passwd')
    .description('read a password from the terminal (or the first line of stdin) and print its scrypt hash for auth.users')
    .option('--user <name>', 'print a whole auth.users entry (JSON) for this user')
    .option('--role <role>', `the entry's role with --user (${ROLES.join(', ')})`, 'read-write')
    .option('--cost <ln>', `scrypt cost: N = 2^ln (default ${DEFAULT_SCRYPT_COST.ln}; below ${RECOMMENDED_MIN_LN} the node warns)`, intArg(SCRYPT_LIMITS.ln[0], SCRYPT_LIMITS.ln[1]), DEFAULT_SCRYPT_COST.ln)
    .action(async (flags: PasswdFlags) => {
      if (!(ROLES as readonly string[]).includes(flags.role)) throw new Error(`--role: expected one of ${ROLES.join(', ')}, got '${flags.role}'`);
      if (flags.user !== undefined && !/^[A-Za-z0-9_.@+-]{1,64}$/.test(flags.user)) throw new Error(`--user: expected 1-64 letters, digits, "_", ".", "@", "+" or "-", got '${flags.user}'`);
      const password = await readPassword();
      if (password.length === 0) throw new Error('empty password');
      if (password.includes('\u0000')) throw new Error('a password may not hold a NUL byte (scrypt could not tell it from the password without it)');
      if (Buffer.byteLength(password) > 512) throw new Error('password longer than 512 bytes');
      const passwordHash = hashPassword(password, { ...DEFAULT_SCRYPT_COST, ln: flags.cost });
      if (flags.user === undefined) console.log(passwordHash);
      else console.log(JSON.stringify({ name: flags.user, passwordHash, role: flags.role as Role }));
    });
}
