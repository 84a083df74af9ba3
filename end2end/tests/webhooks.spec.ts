import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Page } from '@playwright/test';

import { expect, problemsOf, test } from './support';

interface Received {
  path: string;
  authorization: string;
  source: string;
}

/** A local receiver: 200 on /ok…, 500 on anything else; remembers what it was sent. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    received.push({
      path: request.url ?? '',
      authorization: String(request.headers.authorization ?? ''),
      source: String(request.headers['x-source'] ?? ''),
    });
    request.resume();
    request.on('end', () => {
      response.statusCode = request.url?.startsWith('/ok') ? 200 : 500;
      response.end(response.statusCode === 200 ? 'thanks' : 'boom');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => server.close() };
}

/** Opens the form for a new webhook and fills in its name and URL. */
async function newWebhook(page: Page, name: string, url: string): Promise<void> {
  await page.getByRole('button', { name: 'New webhook' }).click();
  const form = page.getByRole('form', { name: 'Webhook settings' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('URL', { exact: true }).fill(url);
}

test('a marketer sets up a webhook with every setting, previews and tests it', async ({ page }) => {
  const receiver = await startReceiver();
  // Refused settings are a 422 from the API, which Chromium logs as an error.
  const problems = problemsOf(page, ['/api/v1/webhooks']);
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const suffix = Date.now();
  const working = `CRM ${suffix}`;
  const form = page.getByRole('form', { name: 'Webhook settings' });

  await newWebhook(page, working, `${receiver.url}/ok/`);
  await form.getByLabel('Insert placeholder').selectOption('{{contact.external_id}}');
  await expect(form.getByLabel('URL', { exact: true })).toHaveValue(`${receiver.url}/ok/{{contact.external_id}}`);
  await form.getByLabel('Authentication').selectOption('bearer');
  await form.getByLabel('Token', { exact: true }).fill('s3cret-token');
  await form.getByRole('button', { name: '+ Add header' }).click();
  await form.getByLabel('header 1 key').fill('X-Source');
  await form.getByLabel('header 1 value').fill('wayfarer');
  // Marked secret: never shown again, but sent.
  await form.getByLabel('header 1 secret').check();
  await form.getByLabel('Contact fields to send').fill('email, first_name');
  await form.getByLabel('Email when requests fail for good').fill('ops@example.com, crm@example.com');
  const pause = form.getByLabel('At most one alert every (minutes)');
  await expect(pause).toHaveValue('60');
  await pause.fill('1440');
  // Alerts off for now, the addresses kept for later.
  const alertsOn = form.getByLabel('Send alert emails');
  await expect(alertsOn).toBeChecked();
  await alertsOn.uncheck();

  await form.getByRole('button', { name: 'Preview request' }).click();
  const preview = form.getByRole('region', { name: 'Request preview' });
  await expect(preview).toContainText(`POST ${receiver.url}/ok/sample-contact`);
  await expect(preview).toContainText('authorization: Bearer ***');
  await expect(preview).toContainText('x-source: ********');
  await expect(preview).not.toContainText('wayfarer');
  await expect(preview).not.toContainText('s3cret-token');
  expect(receiver.received).toEqual([]);

  await form.getByRole('button', { name: 'Send test' }).click();
  await expect(form.getByRole('status').filter({ hasText: '✓' })).toHaveText(/^✓ 200 in \d+ ms$/);
  await expect(form.getByLabel('Response body')).toHaveText('thanks');
  expect(receiver.received).toEqual([
    { path: '/ok/sample-contact', authorization: 'Bearer s3cret-token', source: 'wayfarer' },
  ]);
  await page.screenshot({ path: 'artifacts/webhooks.png' });
  // Previewed and tested, not saved: Save does that.
  const row = page.getByRole('row').filter({ hasText: working });
  await expect(row).toHaveCount(0);
  await form.getByRole('button', { name: 'Save webhook' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await expect(row).toHaveCount(1);

  // Reopened, the secret is not shown but kept when the form is saved again.
  await form.getByRole('button', { name: 'Close' }).click();
  await row.getByRole('button', { name: `Edit ${working}` }).click();
  await expect(form.getByLabel('Token', { exact: true })).toHaveValue('');
  await expect(form.getByLabel('Email when requests fail for good')).toHaveValue('ops@example.com, crm@example.com');
  await expect(form.getByLabel('At most one alert every (minutes)')).toHaveValue('1440');
  await expect(form.getByLabel('Send alert emails')).not.toBeChecked();
  await expect(form.getByLabel('Token', { exact: true })).toHaveAttribute('placeholder', /stored/);
  await expect(form.getByLabel('header 1 value')).toHaveValue('********');
  await expect(form.getByLabel('header 1 secret')).toBeChecked();
  await form.getByRole('button', { name: 'Save webhook' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await row.getByRole('button', { name: `Test ${working}` }).click();
  await expect(row.getByRole('status')).toHaveText(/^✓ 200 in \d+ ms$/);
  expect(receiver.received.at(-1)?.authorization).toBe('Bearer s3cret-token');
  expect(receiver.received.at(-1)?.source).toBe('wayfarer');
  await form.getByRole('button', { name: 'Close' }).click();

  // A receiver that fails gets a red cross with its status.
  const broken = `Broken ${suffix}`;
  await newWebhook(page, broken, `${receiver.url}/down`);
  await form.getByRole('button', { name: 'Send test' }).click();
  await expect(form.getByRole('status').filter({ hasText: '✗' })).toHaveText('✗ answered 500');
  await form.getByRole('button', { name: 'Close' }).click();

  // Bad settings are refused where the marketer typed them.
  await newWebhook(page, `Invalid ${suffix}`, 'ftp://files.example/drop');
  await form.getByRole('button', { name: 'Save webhook' }).click();
  await expect(form.getByRole('alert')).toContainText('must start with http:// or https://');

  expect(problems).toEqual([]);
  receiver.close();
});

test('an operator disables a webhook, which holds its requests, and enables it again', async ({ page, request }) => {
  const receiver = await startReceiver();
  const problems = problemsOf(page, []);
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const name = `Paused CRM ${Date.now()}`;
  const form = page.getByRole('form', { name: 'Webhook settings' });

  await newWebhook(page, name, `${receiver.url}/ok`);
  const disableAfter = form.getByLabel('Disable after failing for (hours)');
  await expect(disableAfter).toHaveValue('24');
  await disableAfter.fill('6');
  await form.getByRole('button', { name: 'Save webhook' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await form.getByRole('button', { name: 'Close' }).click();

  const row = page.getByRole('row').filter({ hasText: name });
  const state = row.locator('td.health .state');
  await expect(state).toHaveText('enabled');
  await expect(row.locator('[data-field="day"]')).toHaveText('24 h: ✓ 0 · ✗ 0');
  await row.getByRole('button', { name: `Disable ${name}` }).click();
  await expect(state).toHaveText(/^disabled since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: by an operator$/);

  // A contact reaches the webhook while it is disabled: the request is held, not sent.
  const webhookId = (await (await request.get('/api/v1/webhooks')).json()).find(
    (webhook: { name: string }) => webhook.name === name,
  ).id;
  const event = `paused_${Date.now()}`;
  const created = await request.post('/api/v1/journeys', {
    data: {
      name: `Paused ${event}`,
      draft: {
        nodes: [
          { id: 'start', position: { x: 0, y: 0 }, kind: 'trigger', settings: { event } },
          { id: 'hook', position: { x: 0, y: 160 }, kind: 'webhook', settings: { webhook: webhookId } },
          { id: 'done', position: { x: 0, y: 320 }, kind: 'exit' },
        ],
        edges: [
          { from: 'start', branch: 'next', to: 'hook' },
          { from: 'hook', branch: 'next', to: 'done' },
        ],
      },
    },
  });
  expect(created.status()).toBe(201);
  const journey = await created.json();
  expect((await request.post(`/api/v1/journeys/${journey.id}/publish`)).status()).toBe(201);
  const contact = `held-${event}`;
  expect((await request.put(`/api/v1/contacts/${contact}`, { data: { attributes: {} } })).ok()).toBe(true);
  expect((await request.post('/api/v1/events', { data: { contact, event } })).status()).toBe(202);
  await expect(async () => {
    await page.reload();
    await expect(row.locator('[data-field="unsent"]')).toHaveText('1 held', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  expect(receiver.received).toHaveLength(0);

  // Enabled again, it sends what it held; its line counts the request accepted.
  await row.getByRole('button', { name: `Enable ${name}` }).click();
  await expect(row.getByRole('button', { name: `Disable ${name}` })).toBeVisible();
  await expect(state).toHaveText('enabled');
  await expect(async () => {
    await page.reload();
    await expect(row.locator('[data-field="day"]')).toHaveText('24 h: ✓ 1 · ✗ 0', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(row.locator('[data-field="unsent"]')).toHaveCount(0);
  await expect(row.getByRole('img', { name: 'last 24 hours: 1 accepted, 0 failed' })).toBeVisible();
  expect(receiver.received).toHaveLength(1);

  await row.getByRole('button', { name: `Edit ${name}` }).click();
  await expect(form.getByLabel('Disable after failing for (hours)')).toHaveValue('6');
  expect(problems).toEqual([]);
  receiver.close();
});

test('previewing and testing an unsaved form leaves the webhooks as they were', async ({ page, request }) => {
  const receiver = await startReceiver();
  const problems = problemsOf(page, []);
  const suffix = Date.now();
  const stored = `Stored CRM ${suffix}`;
  const created = await request.post('/api/v1/webhooks', {
    data: { name: stored, url: `${receiver.url}/ok/stored`, auth: { type: 'bearer', token: 'st0red-token' } },
  });
  expect(created.status()).toBe(201);
  const before = await (await request.get('/api/v1/webhooks')).json();
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const form = page.getByRole('form', { name: 'Webhook settings' });
  const unsaved = `Unsaved CRM ${suffix}`;

  // A new webhook in the form format: its body is shown as sent and decoded.
  await newWebhook(page, unsaved, `${receiver.url}/ok/new`);
  await form.getByLabel('Format').selectOption('form');
  await form.getByRole('button', { name: 'Preview request' }).click();
  const preview = form.getByRole('region', { name: 'Request preview' });
  await expect(preview).toContainText('data=%7B%22');
  const decoded = preview.getByLabel('data, decoded');
  await expect(decoded).toBeVisible();
  await expect(decoded).toContainText('"external_id": "sample-contact"');
  await expect(decoded).toContainText('"event": "sample.event"');
  await form.getByRole('button', { name: 'Send test' }).click();
  await expect(form.getByRole('status').filter({ hasText: '✓' })).toHaveText(/^✓ 200 in \d+ ms$/);
  expect(receiver.received.at(-1)?.path).toBe('/ok/new');
  await form.getByRole('button', { name: 'Close' }).click();

  // An edit, tried before it is saved: the stored token (not shown, left blank) is sent.
  const row = page.getByRole('row').filter({ hasText: stored });
  await row.getByRole('button', { name: `Edit ${stored}` }).click();
  await form.getByLabel('Name', { exact: true }).fill(`${stored} renamed`);
  await form.getByLabel('URL', { exact: true }).fill(`${receiver.url}/ok/edited`);
  await form.getByRole('button', { name: 'Preview request' }).click();
  await expect(preview).toContainText(`POST ${receiver.url}/ok/edited`);
  await form.getByRole('button', { name: 'Send test' }).click();
  await expect(form.getByRole('status').filter({ hasText: '✓' })).toHaveText(/^✓ 200 in \d+ ms$/);
  expect(receiver.received.at(-1)).toEqual({ path: '/ok/edited', authorization: 'Bearer st0red-token', source: '' });
  await form.getByRole('button', { name: 'Close' }).click();

  // Nothing was created or changed, on the page or on the server.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(row).toContainText(`${receiver.url}/ok/stored`);
  await expect(page.getByRole('row').filter({ hasText: unsaved })).toHaveCount(0);
  await expect(page.getByRole('row').filter({ hasText: 'renamed' })).toHaveCount(0);
  expect(await (await request.get('/api/v1/webhooks')).json()).toEqual(before);
  expect(problems).toEqual([]);
  receiver.close();
});

test('a long URL reads in a few lines and a failed test wraps inside its row', async ({ page, request }) => {
  await page.setViewportSize({ width: 900, height: 800 });
  // A port nobody listens on: the test fails with the connection error.
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const name = `Long URL ${Date.now()}`;
  const url =
    `http://127.0.0.1:${port}/hooks/crm/contacts/{{contact.external_id}}/events` +
    '?list=newsletter-weekly&source=wayfarer-journeys';
  const created = await request.post('/api/v1/webhooks', { data: { name, url } });
  expect(created.status()).toBe(201);
  const problems = problemsOf(page, []);
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const row = page.getByRole('row').filter({ hasText: name });
  await row.getByRole('button', { name: `Test ${name}` }).click();
  const verdict = row.getByRole('status');
  await expect(verdict).toContainText('✗');
  const width = page.viewportSize()?.width ?? 900;
  const verdictBox = await verdict.boundingBox();
  expect(verdictBox && verdictBox.x + verdictBox.width).toBeLessThanOrEqual(width);

  // The URL cell beside it stays a readable column: a few lines of 20 characters or more,
  // not a character per line.
  const cell = row.locator('td.url');
  await expect(cell).toHaveText(url);
  const lines = await cell.evaluate((element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
  });
  expect(lines).toBeLessThanOrEqual(Math.ceil(url.length / 20));
  await page.screenshot({ path: 'artifacts/webhooks-narrow.png' });
  expect(problems).toEqual([]);
});

/** Whether `signature` (a `webhook-signature` header) holds a v1 signature of the request by `secret`. */
function signedBy(secret: string, id: string, timestamp: string, body: string, signature: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return signature.split(' ').includes(`v1,${expected}`);
}

test('an editor reads the signing secret a receiver verifies with, and rotates it with an overlap', async ({ page, request }) => {
  const signed: { id: string; timestamp: string; signature: string; body: string }[] = [];
  const receiver = http.createServer((incoming, response) => {
    let body = '';
    incoming.on('data', (chunk) => (body += chunk));
    incoming.on('end', () => {
      signed.push({
        id: String(incoming.headers['webhook-id'] ?? ''),
        timestamp: String(incoming.headers['webhook-timestamp'] ?? ''),
        signature: String(incoming.headers['webhook-signature'] ?? ''),
        body,
      });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  const name = `Signed CRM ${Date.now()}`;
  const created = await request.post('/api/v1/webhooks', {
    data: { name, url: `http://127.0.0.1:${port}/hook` },
  });
  expect(created.status()).toBe(201);
  const problems = problemsOf(page, []);
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const row = page.getByRole('row').filter({ hasText: name });
  await row.getByRole('button', { name: `Signing secret of ${name}` }).click();
  const panel = row.getByRole('region', { name: 'Signing secret' });
  const secretField = panel.getByLabel('Secret', { exact: true });
  await expect(secretField).toHaveValue(/^whsec_/);
  const first = await secretField.inputValue();

  // The receiver verifies a test request with the secret the page shows.
  await row.getByRole('button', { name: `Test ${name}` }).click();
  await expect(row.getByRole('status')).toContainText('✓ 200');
  expect(signed).toHaveLength(1);
  expect(signedBy(first, signed[0].id, signed[0].timestamp, signed[0].body, signed[0].signature)).toBe(true);

  // Rotated with an hour of overlap: a new secret, the old one shown beside it, and requests
  // signed by both until the overlap ends, so a receiver still on the old one keeps working.
  await panel.getByLabel('Old secret signs too for (hours)').fill('1');
  await panel.getByRole('button', { name: 'Rotate secret' }).click();
  await expect(secretField).not.toHaveValue(first);
  const second = await secretField.inputValue();
  expect(second).toMatch(/^whsec_/);
  await expect(panel.getByLabel(/^Previous secret \(signs too until/)).toHaveValue(first);
  await page.screenshot({ path: 'artifacts/signing-secret.png' });
  await row.getByRole('button', { name: `Test ${name}` }).click();
  await expect.poll(() => signed.length).toBe(2);
  const after = signed[1];
  expect(signedBy(second, after.id, after.timestamp, after.body, after.signature)).toBe(true);
  expect(signedBy(first, after.id, after.timestamp, after.body, after.signature)).toBe(true);
  expect(problems).toEqual([]);
  receiver.close();
});

test('a webhook set to batch in the form sends its deliveries together under its key', async ({ page, request }) => {
  const bodies: string[] = [];
  const server = http.createServer((incoming, response) => {
    let body = '';
    incoming.setEncoding('utf8');
    incoming.on('data', (chunk: string) => {
      body += chunk;
    });
    incoming.on('end', () => {
      bodies.push(body);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // The refused query-format batch is a 422 from the API, which Chromium logs as an error.
  const problems = problemsOf(page, ['/api/v1/webhooks']);
  const suffix = Date.now();
  const name = `Batched ${suffix}`;
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const form = page.getByRole('form', { name: 'Webhook settings' });
  await newWebhook(page, name, `http://127.0.0.1:${port}/batch`);
  await form.getByLabel('Send in batches').check();
  await form.getByLabel('Batch size (deliveries)').fill('3');
  await form.getByLabel('Gather for (seconds)').fill('0');
  await form.getByLabel('Batch key').fill('acme');
  await form.getByLabel('Format').selectOption('query');
  await form.getByRole('button', { name: 'Save webhook' }).click();
  await expect(form.getByRole('alert')).toContainText('batch');
  await form.getByLabel('Format').selectOption('json');
  await form.getByRole('button', { name: 'Preview request' }).click();
  await expect(form.getByRole('region', { name: 'Request preview' })).toContainText('{"acme":[');
  await form.getByRole('button', { name: 'Save webhook' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await form.getByRole('button', { name: 'Close' }).click();

  // Reopened, the form shows the batch settings as saved.
  const row = page.getByRole('row').filter({ hasText: name });
  await row.getByRole('button', { name: `Edit ${name}` }).click();
  await expect(form.getByLabel('Send in batches')).toBeChecked();
  await expect(form.getByLabel('Batch size (deliveries)')).toHaveValue('3');
  await expect(form.getByLabel('Batch key')).toHaveValue('acme');
  await form.getByRole('button', { name: 'Close' }).click();

  // Three contacts reach the webhook node together: one request, three envelopes.
  const webhooks: { id: number; name: string }[] = await (await request.get('/api/v1/webhooks')).json();
  const webhook = webhooks.find((candidate) => candidate.name === name);
  expect(webhook).toBeDefined();
  const event = `batched_signup_${suffix}`;
  const created = await request.post('/api/v1/journeys', {
    data: {
      name: `Batched ${suffix}`,
      draft: {
        nodes: [
          { id: 'start', position: { x: 0, y: 0 }, kind: 'trigger', settings: { event } },
          { id: 'hook', position: { x: 0, y: 160 }, kind: 'webhook', settings: { webhook: webhook?.id } },
          { id: 'done', position: { x: 0, y: 320 }, kind: 'exit' },
        ],
        edges: [
          { from: 'start', branch: 'next', to: 'hook' },
          { from: 'hook', branch: 'next', to: 'done' },
        ],
      },
    },
  });
  expect(created.status()).toBe(201);
  const journeyId = (await created.json()).id;
  expect((await request.post(`/api/v1/journeys/${journeyId}/publish`)).status()).toBe(201);
  const contacts = ['a', 'b', 'c'].map((letter) => `${letter}-${suffix}`);
  const batch = await request.post('/api/v1/contacts/batch', {
    data: { contacts: contacts.map((external_id) => ({ external_id })) },
  });
  expect(batch.ok()).toBe(true);
  const events = await request.post('/api/v1/events/batch', {
    data: { events: contacts.map((contact) => ({ contact, event })) },
  });
  expect(events.status()).toBe(202);
  await expect.poll(() => bodies.length, { timeout: 20_000 }).toBe(1);
  const envelopes = JSON.parse(bodies[0]).acme as { data: { contact: { external_id: string } } }[];
  expect(envelopes.map((envelope) => envelope.data.contact.external_id).sort()).toEqual(contacts);
  expect(problems).toEqual([]);
  server.close();
});
