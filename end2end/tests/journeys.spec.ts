import { expect, problemsOf, test } from './support';

test('a marketer creates a journey, sees it listed, and deletes it after confirming', async ({
  page,
}) => {
  // The refused empty name below is a 422 from the API, which Chromium logs as an error.
  const problems = problemsOf(page, ['/api/v1/journeys']);

  await page.goto('/journeys');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const name = `Abandoned cart ${Date.now()}`;

  await page.getByLabel('New journey').fill(name);
  await page.getByRole('button', { name: 'Create journey' }).click();

  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row).toBeVisible();
  await expect(row.getByText('draft')).toBeVisible();
  await expect(page.getByLabel('New journey')).toHaveValue('');

  // An empty name is refused with the API's own message, next to the form.
  await page.getByRole('button', { name: 'Create journey' }).click();
  await expect(page.getByRole('alert')).toHaveText('a journey needs a name');

  // Declining the confirmation keeps the journey; accepting deletes it.
  page.once('dialog', (dialog) => dialog.dismiss());
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(row).toBeVisible();
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  await expect(row).toHaveCount(0);

  expect(problems).toEqual([]);
  await page.screenshot({ path: 'artifacts/journeys.png' });
});
