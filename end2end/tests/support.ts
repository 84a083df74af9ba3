import type { Page } from '@playwright/test';

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
