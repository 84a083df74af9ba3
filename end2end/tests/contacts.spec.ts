import { expect, problemsOf, test } from './support';

test('a marketer finds a contact by email and sees its attributes, events and journeys', async ({
  page,
  request,
}) => {
  const problems = problemsOf(page);
  const suffix = Date.now();
  const contact = `lea-${suffix}`;
  const email = `lea.${suffix}@example.com`;

  const created = await request.post('/api/v1/journeys', {
    data: {
      name: `Welcome ${suffix}`,
      draft: {
        nodes: [
          { id: 'start', kind: 'trigger', settings: { event: `signup_${suffix}` } },
          { id: 'pause', kind: 'delay', settings: { duration: { value: 1, unit: 'days' } } },
          { id: 'done', kind: 'exit' },
        ],
        edges: [
          { from: 'start', branch: 'next', to: 'pause' },
          { from: 'pause', branch: 'next', to: 'done' },
        ],
      },
    },
  });
  const journey = await created.json();
  expect((await request.post(`/api/v1/journeys/${journey.id}/publish`)).status()).toBe(201);
  await request.put(`/api/v1/contacts/${contact}`, { data: { attributes: { email, plan: 'pro' } } });
  await request.post('/api/v1/events', { data: { contact, event: `signup_${suffix}` } });

  await page.goto('/contacts');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Find a contact').fill(email.slice(0, 12).toUpperCase());
  await page.getByRole('button', { name: new RegExp(contact) }).click();

  const detail = page.getByRole('region', { name: `Contact ${contact}` });
  await expect(detail.getByRole('row', { name: /plan/ })).toContainText('pro');
  await expect(detail.locator('.event-list')).toContainText(`signup_${suffix}`);
  const run = detail.getByRole('row', { name: new RegExp(`Welcome ${suffix}`) });
  await expect(run).toContainText('pause');
  await expect(run).toContainText('waiting');
  await run.getByRole('link', { name: `Welcome ${suffix}` }).click();
  await expect(page.locator('div.node[data-node-id="pause"]')).toBeVisible();

  expect(problems).toEqual([]);
});
