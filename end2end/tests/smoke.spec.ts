import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect, problemsOf, test } from './support';

// What a newcomer does in the first minute with what `.ci/serve` serves: every page comes to
// life in the browser, a journey opens and a node moves, a webhook's Test button answers.
// `.ci/test` runs the whole suite against that release build; this spec is its short form.

test('every page hydrates without a console error', async ({ page }) => {
  const problems = problemsOf(page);
  for (const [path, heading] of [
    ['/journeys', 'Journeys'],
    ['/webhooks', 'Webhooks'],
    ['/contacts', 'Contacts'],
    ['/channels', 'Channels'],
  ]) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    // The pages' first loads have finished: nothing left saying it is loading.
    await expect(page.locator('.loading')).toHaveCount(0);
  }
  expect(problems).toEqual([]);
});

test('the journeys list starts without the editor\'s code, which comes when a journey opens', async ({
  page,
  request,
}) => {
  const created = await request.post('/api/v1/journeys', { data: { name: `Split ${Date.now()}` } });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  const fetched: string[] = [];
  page.on('request', (sent) => fetched.push(new URL(sent.url()).pathname));

  await page.goto('/journeys');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  expect(fetched).toContain('/pkg/wayfarer.wasm');
  expect(fetched.filter((path) => path.includes('_route_view_'))).toEqual([]);

  await page.goto(`/journeys/${id}`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByRole('application', { name: 'Journey canvas' })).toBeVisible();
  expect(fetched.some((path) => path.includes('editor_route_view_'))).toBe(true);
});

test('the editor opens a journey and a node dragged with the mouse stays where it was put', async ({
  page,
  request,
}) => {
  const problems = problemsOf(page);
  const created = await request.post('/api/v1/journeys', {
    data: {
      name: `Smoke ${Date.now()}`,
      draft: {
        nodes: [
          { id: 'start', position: { x: 40, y: 40 }, kind: 'trigger', settings: { event: 'signup' } },
          { id: 'done', position: { x: 40, y: 240 }, kind: 'exit' },
        ],
        edges: [{ from: 'start', branch: 'next', to: 'done' }],
      },
    },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();

  await page.goto(`/journeys/${id}`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const exit = page.locator('div.node[data-node-id="done"] .node-box');
  await expect(exit).toBeVisible();
  const before = await exit.boundingBox();
  if (!before) throw new Error('the exit node is not on screen');
  const grab = { x: before.x + before.width / 2, y: before.y + before.height / 2 };
  await page.mouse.move(grab.x, grab.y);
  await page.mouse.down();
  await page.mouse.move(grab.x + 160, grab.y + 40, { steps: 10 });
  await page.mouse.up();

  const after = await exit.boundingBox();
  expect(after?.x).toBeGreaterThan(before.x + 100);
  await expect(page.getByRole('status').filter({ hasText: 'All changes saved' })).toBeVisible();
  const saved = await (await request.get(`/api/v1/journeys/${id}`)).json();
  const moved = saved.draft.nodes.find((node: { id: string }) => node.id === 'done');
  expect(moved.position.x).toBeGreaterThan(100);
  expect(problems).toEqual([]);
});

test("a webhook's Test button sends the request and shows the answer", async ({ page }) => {
  let received = 0;
  const receiver = http.createServer((incoming, response) => {
    incoming.resume();
    incoming.on('end', () => {
      received += 1;
      response.end('thanks');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  const problems = problemsOf(page);

  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'New webhook' }).click();
  const form = page.getByRole('form', { name: 'Webhook settings' });
  await form.getByLabel('Name', { exact: true }).fill(`Smoke ${Date.now()}`);
  await form.getByLabel('URL', { exact: true }).fill(`http://127.0.0.1:${port}/hook`);
  await form.getByRole('button', { name: 'Send test' }).click();
  await expect(form.getByRole('status').filter({ hasText: '✓' })).toHaveText(/^✓ 200 in \d+ ms$/);
  expect(received).toBe(1);
  expect(problems).toEqual([]);
  receiver.close();
});

// A lazily loaded page hydrates once its code has arrived; the session may have loaded by
// then. What the page shows only to some operators must still hydrate as the server rendered
// it (signed-out) and appear afterwards. Holding the page's code back until the session is
// in makes the race that panicked `/webhooks` about one CI run in five happen every time.
test('a lazily loaded page hydrates after the session has loaded', async ({ page }) => {
  const problems = problemsOf(page);
  let sessionLoaded = () => {};
  const session = new Promise<void>((resolve) => {
    sessionLoaded = resolve;
  });
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/api/v1/session') sessionLoaded();
  });
  await page.route(/_route_view_/, async (route) => {
    await session;
    // The response is in; give the page a moment to read it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await route.continue();
  });
  await page.goto('/webhooks');
  await expect(page.getByRole('button', { name: 'New webhook' })).toBeVisible();
  await expect(page.locator('.loading')).toHaveCount(0);
  expect(problems).toEqual([]);
});
