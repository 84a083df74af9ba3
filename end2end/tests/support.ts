import * as fs from 'node:fs';
import * as path from 'node:path';

import { test as base, type APIRequestContext, type Page } from '@playwright/test';

export { expect } from '@playwright/test';

/** The fixture admin the `setup` project creates through the set-up page. */
export const ADMIN = { email: 'admin@example.com', password: 'end-to-end passphrase' };

/** Where the `setup` project leaves an admin API key for the specs' own API calls. */
export const API_KEY_FILE = path.join(process.env.WAYFARER_E2E_DATA ?? '.', 'api-key');

/**
 * Playwright's `test`, failing every test in which a page threw an uncaught exception: a page
 * whose WASM failed to start (or panicked later) shows server-rendered HTML that looks fine, so
 * the uncaught error is the one sure sign. Every spec imports `test` from here (`.ci/test`
 * checks), so no spec can forget it.
 */
export const test = base.extend<{ uncaughtErrors: string[]; request: APIRequestContext }>({
  // The specs' direct API calls (seeding journeys, posting events) send the admin API key, as
  // an integration would; the pages use the browser's session.
  request: async ({ playwright, baseURL }, use) => {
    const key = fs.readFileSync(API_KEY_FILE, 'utf8').trim();
    const context = await playwright.request.newContext({
      baseURL,
      extraHTTPHeaders: { Authorization: `Bearer ${key}` },
    });
    await use(context);
    await context.dispose();
  },
  uncaughtErrors: [
    async ({ context }, use) => {
      const errors: string[] = [];
      context.on('weberror', (webError) => {
        const error = webError.error();
        errors.push(`${webError.page()?.url() ?? 'a page'}: ${error.stack ?? error.message}`);
      });
      await use(errors);
      // Also when the test failed already: the uncaught error is most likely why.
      if (errors.length > 0) {
        throw new Error(`uncaught errors in the page:\n${errors.join('\n')}`);
      }
    },
    { auto: true },
  ],
});

/**
 * Console errors and uncaught exceptions of the page, collected from the first request on.
 * Chromium reports every error status as a console error; `expectedErrorPaths` names the paths
 * whose error status the test asked for.
 */
export function problemsOf(page: Page, expectedErrorPaths: string[] = []): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const source = message.location().url;
    // Playwright runs its own scripts in every frame, and Chromium reports that the email
    // preview's sandbox (no `allow-scripts`) refused them (microsoft/playwright#33343). A browser
    // without Playwright logs nothing there; any other error from that frame still counts.
    if (source === 'about:srcdoc' && message.text().startsWith("Blocked script execution in 'about:srcdoc'")) return;
    const expected = expectedErrorPaths.some((path) => source && new URL(source).pathname === path);
    if (!expected) problems.push(`console: ${message.text()} (${source})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return problems;
}
