// The dashboard behind its login, in a real browser: playwright-core drives Debian's chromium against
// a real 3-node cluster with users. The page shows its form (no data, no browser prompt); a wrong
// password is refused; the right one gets a token with which the page reads /status and opens a live
// feed to every node (the nodes share the key file, so one token opens all three); a value converges
// on every node; logging out asks again. Nothing ever goes to a host outside the cluster.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/server/auth/password-hash.js';
import { startCluster, waitForMembers, type TestCluster } from '../integration/harness.js';
import { waitFor, waitForResponses, within } from './page-wait.js';

declare const document: { querySelector(selector: string): { textContent: string | null; hidden?: boolean } | null };
declare const sessionStorage: Record<string, string>;

const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'dash-Secret-pw';

let cluster: TestCluster;
let browser: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const unauthorized: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/test-deps.sh does it; npm test runs it first)`);
  cluster = await startCluster({
    nodes: 3,
    config: { auth: { users: [{ name: 'ops', passwordHash: hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }), role: 'read-write' }] } },
    http: { user: 'ops', password: PASSWORD },
  });
  await waitForMembers(cluster, 3);
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'tally-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.hostname !== '127.0.0.1') pageErrors.push(`request outside the node: ${req.url()}`);
  });
  page.on('response', (res) => {
    if (res.status() === 401) unauthorized.push(new URL(res.url()).pathname);
  });
  // A Basic challenge would make chromium show its own prompt: the page must never get one.
  page.on('dialog', (d) => {
    pageErrors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stopAll();
});

const n = (id: string): { httpPort: number; respPort: number } => cluster.nodes.find((x) => x.id === id) as { httpPort: number; respPort: number };
const visible = (sel: string): Promise<void> => waitFor(page, `${sel} shown`, (s) => document.querySelector(s)?.hidden === false, sel);

describe('dashboard behind its login', () => {
  it('asks for a user and password, refuses a wrong one, and with the right one shows every node live', async () => {
    await page.goto(`http://127.0.0.1:${n('n1').httpPort}/?keys=login:hits`);
    await visible('#login');
    expect(unauthorized).toContain('/status');
    // No data reached the page: no members listed.
    expect(await page.locator('#members tbody tr').count()).toBe(0);

    await page.fill('#username', 'ops');
    await page.fill('#password', 'not-the-password');
    await page.click('#auth button');
    await waitFor(page, "the login error 'wrong user or password'", () => document.querySelector('#login-error')?.textContent === 'wrong user or password');
    // The page polls /status every second while its form is up (401 each time): the message stays
    // until the next attempt. Two polls answered from now: the page has handled at least the first.
    await waitForResponses(page, 'two /status polls answered 401 after the wrong password', 2, (res) => new URL(res.url()).pathname === '/status' && res.status() === 401);
    expect(await page.evaluate(() => ({ text: document.querySelector('#login-error')?.textContent, hidden: document.querySelector('#login-error')?.hidden }))).toEqual({
      text: 'wrong user or password',
      hidden: false,
    });

    await page.fill('#password', PASSWORD);
    await page.click('#auth button');
    await waitFor(page, 'the login form hidden after the right password', () => document.querySelector('#login')?.hidden === true);
    await waitFor(page, "'logged in as ops'", () => document.querySelector('#who')?.textContent === 'logged in as ops');
    for (const id of ['n1', 'n2', 'n3']) {
      await waitFor(page, `${id} listed alive`, (m) => document.querySelector(`#members tr[data-member="${m}"] td.state`)?.textContent === 'alive', id);
      await waitFor(page, `the live feed of ${id} connected`, (m) => document.querySelector(`#members tr[data-member="${m}"] td.feed`)?.textContent === 'connected', id);
    }
    // The password is not kept by the page: only the token is.
    expect(await page.evaluate(() => JSON.stringify(sessionStorage))).not.toContain(PASSWORD);

    const r = new Redis({ port: n('n3').respPort, username: 'ops', password: PASSWORD, lazyConnect: true });
    await r.connect();
    try {
      expect(await r.incrby('login:hits', 7)).toBe(7);
    } finally {
      r.disconnect();
    }
    for (const id of ['n1', 'n2', 'n3']) {
      await waitFor(page, `login:hits = 7 on ${id}`, (m) => document.querySelector(`td.value[data-key="login:hits"][data-node="${m}"]`)?.textContent === '7', id);
    }

    // A reload keeps the session (the token in sessionStorage); logging out asks again.
    await page.reload();
    await waitFor(page, 'n2 listed alive after a reload', () => document.querySelector('#members tr[data-member="n2"] td.state')?.textContent === 'alive');
    await page.click('#logout');
    await visible('#login');

    const shot = join(mkdtempSync(join(tmpdir(), 'tally-dashboard-')), 'dashboard-login.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard login screenshot: ${shot}`);
    expect(pageErrors).toEqual([]);
  });

  it('a 401 to a /status poll sent before the login does not end the session the login began', async () => {
    // A new tab (its own sessionStorage: no token), on n2. One of its token-less polls is held in the
    // browser until the login has completed, then goes on to the node, which answers it 401: an
    // answer about no credential, which must not end the session the new token began. On a loaded
    // machine a poll's answer can come after the login's just so; here it always does.
    const tab = await browser.newPage();
    const errs: string[] = [];
    tab.on('pageerror', (e) => errs.push(e.message));
    tab.on('dialog', (d) => {
      errs.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    let hold: ((req: Request) => void) | null = null;
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    await tab.route('**/status', async (route) => {
      if (hold !== null && route.request().headers()['authorization'] === undefined) {
        const h = hold;
        hold = null;
        h(route.request());
        await released;
      }
      await route.continue();
    });
    try {
      await tab.goto(`http://127.0.0.1:${n('n2').httpPort}/`);
      await waitFor(tab, '#login shown in the new tab', () => document.querySelector('#login')?.hidden === false);
      const held = await within('a token-less /status poll to hold', new Promise<Request>((r) => (hold = r)));

      await tab.fill('#username', 'ops');
      await tab.fill('#password', PASSWORD);
      await tab.click('#auth button');
      await waitFor(tab, "'logged in as ops' in the new tab", () => document.querySelector('#who')?.textContent === 'logged in as ops');
      // Polls the page sends from now on carry its token. (Other token-less polls sent before the
      // login may still be answered 401 after it on a loaded machine: the same race, not held.)
      const sentLater = new Set<Request>();
      tab.on('request', (req) => {
        if (new URL(req.url()).pathname === '/status' && req.headers()['authorization'] !== undefined) sentLater.add(req);
      });
      const later = waitForResponses(tab, 'two /status polls with the token answered after the held one', 2, (res) => sentLater.has(res.request()));
      release();
      expect((await within('the held poll answered', held.response()))?.status()).toBe(401);
      // Two polls sent after the held one was let through, a second apart, are answered: the page has
      // long handled the held answer, and still polls with its token.
      expect((await later).map((res) => res.status())).toEqual([200, 200]);
      expect(
        await tab.evaluate(() => ({ login: document.querySelector('#login')?.hidden, who: document.querySelector('#who')?.textContent, token: sessionStorage['tally.token'] !== undefined })),
      ).toEqual({ login: true, who: 'logged in as ops', token: true });
      for (const id of ['n1', 'n2', 'n3']) {
        await waitFor(tab, `the live feed of ${id} connected in the new tab`, (m) => document.querySelector(`#members tr[data-member="${m}"] td.feed`)?.textContent === 'connected', id);
      }
      expect(errs).toEqual([]);
    } finally {
      release();
      await tab.close();
    }
  });
});
