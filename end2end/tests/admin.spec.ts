import { expect, problemsOf, test } from './support';

test('an admin invites an operator, creates an API key shown once, and reads the audit log', async ({
  page,
  request,
}) => {
  const problems = problemsOf(page);
  await page.goto('/operators');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const email = `invited-${Date.now()}@example.com`;
  await page.getByLabel('Invite', { exact: true }).fill(email);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Create operator' }).click();
  const notice = page.getByRole('status').filter({ hasText: 'One-time password for' });
  await expect(notice).toContainText(email);
  const password = (await notice.locator('code').textContent()) ?? '';
  expect(password).toHaveLength(20);
  await expect(page.getByRole('row').filter({ hasText: email })).toBeVisible();
  // The invited operator signs in with it (and must choose their own password first).
  const signIn = await request.post('/api/v1/session', { data: { email, password } });
  expect(signIn.status()).toBe(200);
  expect((await signIn.json()).operator.must_change_password).toBe(true);

  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name (what uses it)').fill('Shop events');
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByRole('status').filter({ hasText: 'copy it now' });
  const key = (await shown.locator('code').textContent()) ?? '';
  expect(key).toMatch(/^wf_/);
  const row = page.getByRole('row').filter({ hasText: 'Shop events' });
  await expect(row).toContainText('contacts:write, events:write');
  await expect(row).not.toContainText(key);
  const event = await request.fetch('/api/v1/events', {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}` },
    data: { contact: 'nobody', event: 'page_view' },
  });
  expect(event.status()).toBe(404);

  await row.getByRole('button', { name: 'Revoke Shop events' }).click();
  await expect(row).toContainText('revoked');

  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('cell', { name: 'api_key_revoked' }).first()).toBeVisible();
  await page.getByLabel('Action', { exact: true }).selectOption('operator_created');
  await expect(page.getByRole('cell', { name: `operator ${email} (viewer)` })).toBeVisible();
  expect(problems).toEqual([]);
});
