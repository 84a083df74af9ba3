import * as fs from 'node:fs';
import * as path from 'node:path';

import { ADMIN, API_KEY_FILE, expect, test } from './support';

// A fresh server has no operator: every page leads to the set-up page, which creates the first
// admin and signs them in. The session is kept for the other specs, with an API key for their
// direct API calls.
test('a fresh server is set up through its set-up page', async ({ page }) => {
  await page.goto('/journeys');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Your email').fill(ADMIN.email);
  await page.getByLabel(/Choose a password/).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await expect(page).toHaveURL(/\/journeys$/);
  await expect(page.getByRole('link', { name: ADMIN.email })).toBeVisible();

  const key = await page.evaluate(async () => {
    const csrf = document.cookie
      .split('; ')
      .find((cookie) => cookie.startsWith('wayfarer_csrf='))
      ?.split('=')[1];
    const answer = await fetch('/api/v1/api-keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf ?? '' },
      body: JSON.stringify({ name: 'end-to-end specs', scopes: ['admin'] }),
    });
    return ((await answer.json()) as { key: string }).key;
  });
  expect(key).toMatch(/^wf_/);
  fs.writeFileSync(API_KEY_FILE, key);
  await page.context().storageState({ path: path.join(path.dirname(API_KEY_FILE), 'operator.json') });
});
