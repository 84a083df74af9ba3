import { ADMIN, expect, problemsOf, test } from './support';

// Signed out: no session cookies.
test.use({ storageState: { cookies: [], origins: [] } });

test('a signed-out visitor signs in, comes back to the page they asked for, and signs out', async ({
  page,
  request,
}) => {
  const email = `editor-${Date.now()}@example.com`;
  const password = 'an editor passphrase';
  const created = await request.post('/api/v1/operators', { data: { email, role: 'editor', password } });
  expect(created.status()).toBe(201);
  const problems = problemsOf(page, ['/api/v1/session']);

  await page.goto('/webhooks');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fwebhooks$/);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('the email or the password is wrong');

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  await expect(page.getByRole('link', { name: email })).toBeVisible();

  // The editor edits: a journey created through the UI (a write with the session's CSRF token).
  await page.goto('/journeys');
  await page.getByLabel('New journey').fill(`Editor's ${Date.now()}`);
  await page.getByRole('button', { name: 'Create journey' }).click();
  await expect(page.getByRole('link', { name: /Editor's/ }).first()).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  const after = await page.request.get('/api/v1/journeys');
  expect(after.status()).toBe(401);
  expect(problems).toEqual([]);
});

test('the set-up page refuses a second admin', async ({ page }) => {
  const problems = problemsOf(page, ['/api/v1/setup']);
  await page.goto('/setup');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Your email').fill('mallory@example.com');
  await page.getByLabel(/Choose a password/).fill('mallory passphrase');
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('set up already');
  expect(ADMIN.email).not.toBe('mallory@example.com');
  expect(problems).toEqual([]);
});
