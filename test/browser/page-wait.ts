// Waits on a condition in the page that name themselves when they time out: the error says what was
// awaited and what the page showed then (login form, its message, the connection pill, every member's
// state and feed, the watched values), so a failure in CI says which wait it was and why.

import type { Page, Response } from 'playwright-core';

declare const document: {
  querySelector(selector: string): { textContent: string | null; hidden?: boolean } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; getAttribute(name: string): string | null }>;
};
declare const sessionStorage: { getItem(k: string): string | null };

/** How long one wait may take: real processes and a real browser on a loaded 2-core CI machine. */
export const WAIT_MS = 15_000;

/** What the page shows, in one line (for a failure message). */
export async function pageState(page: Page): Promise<string> {
  try {
    return await page.evaluate(() => {
      const text = (sel: string): string => {
        const e = document.querySelector(sel);
        if (e === null) return '(none)';
        return (e.hidden === true ? '[hidden] ' : '') + JSON.stringify(e.textContent ?? '');
      };
      const rows = Array.from(document.querySelectorAll('#members tbody tr')).map((tr) => {
        const m = tr.getAttribute('data-member') ?? '?';
        const cell = (c: string): string => document.querySelector(`#members tr[data-member="${m}"] td.${c}`)?.textContent ?? '?';
        return `${m} ${cell('state')}, feed ${cell('feed')}`;
      });
      const values = Array.from(document.querySelectorAll('td.value')).map((td) => `${td.getAttribute('data-key') ?? '?'}@${td.getAttribute('data-node') ?? '?'}=${td.textContent ?? ''}`);
      return [
        `conn ${text('#conn')}`,
        `login form ${document.querySelector('#login')?.hidden === false ? 'shown' : 'hidden'}`,
        `login-error ${text('#login-error')}`,
        `who ${text('#who')}`,
        `token ${sessionStorage.getItem('tally.token') === null ? 'none' : 'kept'}`,
        `members [${rows.join('; ')}]`,
        `values [${values.join(', ')}]`,
      ].join(' | ');
    });
  } catch (e) {
    return `(page state unavailable: ${(e as Error).message})`;
  }
}

/**
 * Waits until `fn(arg)` (a string, e.g. a node id) is truthy in the page; on timeout throws an error naming `what` and the page's state.
 * It polls (on animation frames, playwright's default), so it can miss a state the page shows only
 * briefly: wait only for states that, once reached, hold until the test moves on.
 */
export async function waitFor(page: Page, what: string, fn: (arg: string) => unknown, arg = '', timeoutMs = WAIT_MS): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs });
  } catch (e) {
    if ((e as Error).name !== 'TimeoutError') throw e;
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the page shows: ${await pageState(page)}`, { cause: e });
  }
}

/**
 * The next `count` responses `match` lets through, from now on (an event per response, not a poll);
 * on timeout an error names `what`, how many came, and the page's state.
 */
export function waitForResponses(page: Page, what: string, count: number, match: (r: Response) => boolean, timeoutMs = WAIT_MS): Promise<Response[]> {
  return new Promise((resolve, reject) => {
    const got: Response[] = [];
    const done = (): void => {
      clearTimeout(timer);
      page.off('response', on);
    };
    const on = (r: Response): void => {
      if (!match(r)) return;
      got.push(r);
      if (got.length < count) return;
      done();
      resolve(got);
    };
    const timer = setTimeout(() => {
      done();
      void pageState(page).then((state) => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${got.length} of ${count} came); the page shows: ${state}`)));
    }, timeoutMs);
    page.on('response', on);
  });
}

/** `p`, or after `timeoutMs` an error naming `what`. */
export function within<T>(what: string, p: Promise<T>, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
