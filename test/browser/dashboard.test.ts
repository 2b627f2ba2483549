// The live dashboard in a real browser: playwright-core drives Debian's chromium (installed by scripts/test-deps.sh)
// against a real 3-node cluster. The page must show the three members alive, and after an INCR on n2
// the new value on every node. A screenshot is kept under the OS temp dir (path printed).
// TALLY_DASHBOARD_SCREENSHOT=path also writes it there (how docs/dashboard.png is made).

import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitForMembers, type TestCluster } from '../integration/harness.js';
import { waitFor } from './page-wait.js';

// The page functions below run in the browser; tsconfig has no DOM lib, so declare the little they use.
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';

let cluster: TestCluster;
let browser: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/test-deps.sh does it; npm test runs it first)`);
  cluster = await startCluster({ nodes: 3 });
  await waitForMembers(cluster, 3);
  // A fresh user-data-dir per run; root needs --no-sandbox.
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'tally-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Nothing may leave the cluster's own loopback ports.
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.hostname !== '127.0.0.1') pageErrors.push(`request outside the node: ${req.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await cluster?.stopAll();
});

const n = (id: string): { httpPort: number; respPort: number } => cluster.nodes.find((x) => x.id === id) as { httpPort: number; respPort: number };

describe('dashboard', () => {
  it('shows the members, and a value converging on every node after an INCR', async () => {
    await page.goto(`http://127.0.0.1:${n('n1').httpPort}/?keys=dash:hits`);

    for (const id of ['n1', 'n2', 'n3']) {
      await waitFor(page, `${id} listed alive`, (m) => document.querySelector(`#members tr[data-member="${m}"] td.state`)?.textContent === 'alive', id);
      await waitFor(page, `the live feed of ${id} connected`, (m) => document.querySelector(`#members tr[data-member="${m}"] td.feed`)?.textContent === 'connected', id);
    }
    // The key does not exist yet: every node reports nil.
    for (const id of ['n1', 'n2', 'n3']) {
      await waitFor(page, `dash:hits (nil) on ${id}`, (m) => document.querySelector(`td.value[data-key="dash:hits"][data-node="${m}"]`)?.textContent === '(nil)', id);
    }

    const r = new Redis({ port: n('n2').respPort, lazyConnect: true });
    await r.connect();
    try {
      expect(await r.incrby('dash:hits', 42)).toBe(42);
    } finally {
      r.disconnect();
    }
    for (const id of ['n1', 'n2', 'n3']) {
      await waitFor(page, `dash:hits = 42 on ${id}`, (m) => document.querySelector(`td.value[data-key="dash:hits"][data-node="${m}"]`)?.textContent === '42', id);
    }
    await waitFor(page, 'dash:hits marked converged (✓)', () => document.querySelector('td.mark[data-key="dash:hits"]')?.textContent === '✓');
    // The page measured the change converging, and draws traffic from /status.
    await waitFor(page, 'a measured convergence in the summary', () => /over \d+ change/.test(document.querySelector('#convergence-summary')?.textContent ?? ''));
    await waitFor(page, 'gossip traffic in frames/s', () => /frames\/s/.test(document.querySelector('#traffic-legend')?.textContent ?? ''));

    const keep = process.env.TALLY_DASHBOARD_SCREENSHOT;
    if (keep !== undefined && keep !== '') {
      // A deliberate picture for the docs: some probes and traffic first, so the charts have data.
      for (let i = 0; i < 8; i++) {
        await page.click('#probe-now');
        await page.waitForTimeout(1500);
      }
    }
    const shot = join(mkdtempSync(join(tmpdir(), 'tally-dashboard-')), 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    if (keep !== undefined && keep !== '') copyFileSync(shot, keep);

    expect(pageErrors).toEqual([]);
  });
});
