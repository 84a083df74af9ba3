import { test as base, type Page } from '@playwright/test';

export { expect } from '@playwright/test';

/**
 * Playwright's `test`, failing every test in which a page threw an uncaught exception: a page
 * whose WASM failed to start (or panicked later) shows server-rendered HTML that looks fine, so
 * the uncaught error is the one sure sign. Every spec imports `test` from here (`.ci/test`
 * checks), so no spec can forget it.
 */
export const test = base.extend<{ uncaughtErrors: string[] }>({
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
    const expected = expectedErrorPaths.some((path) => source && new URL(source).pathname === path);
    if (!expected) problems.push(`console: ${message.text()} (${source})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return problems;
}
