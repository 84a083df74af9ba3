import { expect, problemsOf, test } from './support';

test('the app shell loads, hydrates and navigates in the browser', async ({ page }) => {
  const problems = problemsOf(page);

  await page.goto('/');

  await expect(page).toHaveURL(/\/journeys$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Journeys' })).toBeVisible();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  // A marker on `window` survives only if the next navigation happens without a page load,
  // which is what the hydrated client-side router does.
  await page.evaluate(() => {
    (window as unknown as { sameDocument: boolean }).sameDocument = true;
  });
  const nav = page.getByRole('navigation', { name: 'Primary' });
  await nav.getByRole('link', { name: 'Webhooks' }).click();

  await expect(page).toHaveURL(/\/webhooks$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
  await expect(page).toHaveTitle('Webhooks · Wayfarer');
  await expect(nav.getByRole('link', { name: 'Webhooks' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: 'Journeys' })).not.toHaveAttribute('aria-current');
  const sameDocument = await page.evaluate(
    () => (window as unknown as { sameDocument?: boolean }).sameDocument,
  );
  expect(sameDocument, 'navigation happened inside the page, not by a reload').toBe(true);

  expect(problems).toEqual([]);
  await page.screenshot({ path: 'artifacts/app-shell.png' });
});

test('an unknown page says so with a 404', async ({ page }) => {
  const problems = problemsOf(page, ['/no-such-page']);

  const response = await page.goto('/no-such-page');

  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  expect(problems).toEqual([]);
});
