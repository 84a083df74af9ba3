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

test('a viewer sees no edit controls, and a write forced from the page is refused', async ({
  page,
  request,
}) => {
  const email = `viewer-${Date.now()}@example.com`;
  const password = 'a viewer passphrase';
  expect((await request.post('/api/v1/operators', { data: { email, role: 'viewer', password } })).status()).toBe(201);
  const journey = await request.post('/api/v1/journeys', { data: { name: `Viewed ${Date.now()}` } });
  const { id, name } = (await journey.json()) as { id: number; name: string };
  const problems = problemsOf(page, ['/api/v1/journeys']);

  await page.goto('/sign-in');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/journeys$/);
  await expect(page.getByRole('link', { name: email })).toBeVisible();

  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row.getByRole('link', { name: 'Open' })).toBeVisible();
  await expect(row.getByRole('button', { name: `Delete ${name}` })).toBeHidden();
  await expect(page.getByRole('button', { name: 'Create journey' })).toBeHidden();

  await row.getByRole('link', { name: 'Open' }).click();
  await expect(page.getByText('Read-only: your role cannot edit journeys')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Publish' })).toBeHidden();
  // Without the palette the canvas takes its room: wider than the page's other columns.
  const canvas = await page.locator('div.canvas').boundingBox();
  const panel = await page.locator('aside.side-panel').boundingBox();
  expect(canvas && panel && canvas.width > 2 * panel.width, `canvas ${canvas?.width} px wide`).toBe(true);

  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByRole('button', { name: 'New webhook' })).toBeHidden();

  // The server is the authority: the same write, forced from the page with the session's
  // CSRF token, is refused.
  const forced = await page.evaluate(async () => {
    const csrf = document.cookie
      .split('; ')
      .find((cookie) => cookie.startsWith('wayfarer_csrf='))
      ?.split('=')[1];
    const answer = await fetch('/api/v1/journeys', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf ?? '' },
      body: JSON.stringify({ name: 'forced' }),
    });
    return { status: answer.status, body: (await answer.json()) as { error: { code: string } } };
  });
  expect(forced.status).toBe(403);
  expect(forced.body.error.code).toBe('forbidden');
  const still = await request.get(`/api/v1/journeys/${id}`);
  expect(still.status()).toBe(200);
  expect(problems).toEqual([]);
});
