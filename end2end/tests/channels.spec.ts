import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Page } from '@playwright/test';

import { expect, problemsOf, test } from './support';

interface Received {
  path: string;
  contentType: string;
  authorization: string;
  body: string;
}

/** A local SMS provider: takes every message with 201 and its id, `SM1`, as a provider would. */
async function startSmsProvider(): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        contentType: String(request.headers['content-type'] ?? ''),
        authorization: String(request.headers.authorization ?? ''),
        body,
      });
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ sid: 'SM1' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => server.close() };
}

/** The row of a channel in the list, found by its name cell. */
function channelRow(page: Page, name: string) {
  return page.getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) });
}

const PROVIDER_PASSWORD = 'provider-s3cret-pw';
const RECEIPT_PASSWORD = 'receipt-s3cret-pw';

test('an admin sets up SMS from a preset, and a journey texts through that provider', async ({
  page,
  request,
  baseURL,
}) => {
  const provider = await startSmsProvider();
  const problems = problemsOf(page);
  const suffix = Date.now();

  await page.goto('/journeys');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Channels' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Channels' })).toBeVisible();
  const sms = channelRow(page, 'SMS');
  await expect(sms).toContainText('sms messages are skipped until a provider is set up');
  await expect(sms).toContainText(`${baseURL}/api/v1/receipts/sms`);

  await sms.getByRole('button', { name: 'Edit SMS' }).click();
  const form = page.getByRole('form', { name: 'Channel settings' });
  await expect(form.getByLabel('Address attribute')).toHaveValue('phone');
  await form.getByLabel('Start from a preset').selectOption('form_sms');
  await expect(form.getByLabel('Body format')).toHaveValue('form');
  await expect(form.getByLabel('Receipt username')).toHaveValue('receipts');
  await expect(form.getByLabel('status 3 word')).toHaveValue('undelivered');
  const providerUrl = `${provider.url}/2010-04-01/Accounts/AC1/Messages.json`;
  await form.getByLabel('URL', { exact: true }).fill(providerUrl);
  await form.getByLabel('Body', { exact: true }).fill('To={{message.to}}&From=Shop&Body={{message.text}}');
  await form.getByLabel('Username', { exact: true }).fill('AC1');
  await form.getByLabel('Password', { exact: true }).fill(PROVIDER_PASSWORD);
  await form.getByLabel('Receipt password').fill(RECEIPT_PASSWORD);
  await form.screenshot({ path: 'artifacts/channel-form.png' });
  await form.getByRole('button', { name: 'Save', exact: true }).click();

  await expect(page.getByRole('status').filter({ hasText: 'sms channel' })).toHaveText('Saved the sms channel.');
  await expect(form).toHaveCount(0);
  await expect(sms.getByText('Ready', { exact: true })).toBeVisible();
  await expect(sms).toContainText(providerUrl);
  await page.screenshot({ path: 'artifacts/channels.png' });

  // Secrets never come back: not in the page, and the form shows them as unchanged.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(sms.getByText('Ready', { exact: true })).toBeVisible();
  await sms.getByRole('button', { name: 'Edit SMS' }).click();
  await expect(form.getByLabel('Username', { exact: true })).toHaveValue('AC1');
  for (const secret of ['Password', 'Receipt password']) {
    await expect(form.getByLabel(secret, { exact: true })).toHaveValue('');
    await expect(form.getByLabel(secret, { exact: true })).toHaveAttribute('placeholder', /unchanged/);
  }
  const html = await page.content();
  expect(html).not.toContain(PROVIDER_PASSWORD);
  expect(html).not.toContain(RECEIPT_PASSWORD);
  // The server sends its secrets to no other host: there they have to be typed again.
  await form.getByLabel('URL', { exact: true }).fill('https://elsewhere.example/v1/messages');
  await expect(form.getByLabel('Password', { exact: true })).toHaveAttribute('placeholder', '');
  await form.getByLabel('URL', { exact: true }).fill(providerUrl);
  await expect(form.getByLabel('Password', { exact: true })).toHaveAttribute('placeholder', /unchanged/);
  await form.getByRole('button', { name: 'Cancel' }).click();

  // A journey texts a contact through the provider.
  const template = await request.post('/api/v1/templates', {
    data: { name: `Welcome SMS ${suffix}`, content: { channel: 'sms', text: 'Hi {{contact.first_name}}' } },
  });
  expect(template.status()).toBe(201);
  const templateId = (await template.json()).id;
  const event = `sms_signup_${suffix}`;
  const journey = await request.post('/api/v1/journeys', {
    data: {
      name: `Welcome text ${suffix}`,
      draft: {
        nodes: [
          { id: 'start', position: { x: 0, y: 0 }, kind: 'trigger', settings: { event } },
          { id: 'text', position: { x: 0, y: 160 }, kind: 'action', settings: { channel: 'sms', template: templateId } },
          { id: 'done', position: { x: 0, y: 320 }, kind: 'exit' },
        ],
        edges: [
          { from: 'start', branch: 'next', to: 'text' },
          { from: 'text', branch: 'next', to: 'done' },
        ],
      },
    },
  });
  expect(journey.status()).toBe(201);
  const journeyId = (await journey.json()).id;
  expect((await request.post(`/api/v1/journeys/${journeyId}/publish`)).status()).toBe(201);
  const contact = `ana-${suffix}`;
  const phone = '+33 6 11 22 33 44';
  expect((await request.put(`/api/v1/contacts/${contact}`, { data: { attributes: { phone, first_name: 'Ana' } } })).ok()).toBe(true);
  expect((await request.post('/api/v1/events', { data: { contact, event } })).status()).toBe(202);
  // A contact without a phone number is skipped, and the message log says why.
  const unreachable = `bo-${suffix}`;
  expect((await request.put(`/api/v1/contacts/${unreachable}`, { data: { attributes: { first_name: 'Bo' } } })).ok()).toBe(true);
  expect((await request.post('/api/v1/events', { data: { contact: unreachable, event } })).status()).toBe(202);

  await expect.poll(() => provider.received.length, { timeout: 20_000 }).toBe(1);
  const sent = provider.received[0];
  expect(sent.path).toBe('/2010-04-01/Accounts/AC1/Messages.json');
  expect(sent.contentType).toBe('application/x-www-form-urlencoded');
  expect(sent.authorization).toBe(`Basic ${Buffer.from(`AC1:${PROVIDER_PASSWORD}`).toString('base64')}`);
  expect(sent.body).toContain('Body=Hi+Ana');
  const fields = new URLSearchParams(sent.body);
  expect(fields.get('Body')).toBe('Hi Ana');
  expect(fields.get('To')).toBe(phone);

  // The provider's receipt, with the receipt password, names the message by its answer's sid.
  const receipt = () =>
    request.post('/api/v1/receipts/sms', {
      headers: { Authorization: `Basic ${Buffer.from(`receipts:${RECEIPT_PASSWORD}`).toString('base64')}` },
      form: { MessageSid: 'SM1', MessageStatus: 'delivered' },
    });
  await expect.poll(async () => (await receipt()).status(), { timeout: 10_000 }).toBe(200);

  // Reset (after confirming) forgets the provider.
  page.once('dialog', (dialog) => dialog.accept());
  await sms.getByRole('button', { name: 'Reset SMS' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'sms channel' })).toHaveText('Reset the sms channel to its defaults.');
  await expect(sms).toContainText('sms messages are skipped until a provider is set up');
  await expect(sms.getByRole('button', { name: 'Reset SMS' })).toHaveCount(0);

  // Selecting the action node on the canvas shows its messages, each with its state: the one
  // sent with the provider's id and its delivery receipt, the skipped one with its reason.
  await page.goto(`/journeys/${journeyId}`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.locator('div.node[data-node-id="text"] .node-box').click();
  const log = page.getByRole('region', { name: 'Message log' });
  await expect(log.getByRole('heading')).toHaveText('Message log text');
  const rows = log.locator('.message-row');
  await expect(rows).toHaveCount(2, { timeout: 20_000 });
  const sentRow = rows.filter({ hasText: contact });
  await expect(sentRow.locator('.pill')).toHaveText('sent');
  await expect(sentRow.locator('.detail')).toContainText('1 attempt(s) · provider id SM1');
  await expect(sentRow.getByRole('list', { name: 'Activities' })).toHaveText('delivered');
  await expect(sentRow.locator('.when')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  const skippedRow = rows.filter({ hasText: unreachable });
  await expect(skippedRow.locator('.pill')).toHaveText('skipped');
  await expect(skippedRow.locator('.reason')).toHaveText('the contact has no sms address (attribute "phone")');
  await page.screenshot({ path: 'artifacts/message-log.png' });
  // Another kind of node has no message log.
  await page.locator('div.node[data-node-id="start"] .node-box').click();
  await expect(log).toHaveCount(0);

  expect(problems).toEqual([]);
  provider.close();
});

test('a provider whose body is not JSON is refused in the form', async ({ page }) => {
  // The refused settings are a 422 from the API, which Chromium logs as an error.
  const problems = problemsOf(page, ['/api/v1/channels/whatsapp']);
  await page.goto('/channels');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const whatsapp = channelRow(page, 'WhatsApp');
  await whatsapp.getByRole('button', { name: 'Edit WhatsApp' }).click();
  const form = page.getByRole('form', { name: 'Channel settings' });
  await form.getByLabel('Start from a preset').selectOption('form_sms');
  await form.getByLabel('URL', { exact: true }).fill('https://whatsapp-provider.example/v1/messages');
  await form.getByLabel('Body format').selectOption('json');
  await form.getByLabel('Body', { exact: true }).fill('{"text": {{message.text}}}');
  await form.getByLabel('Password', { exact: true }).fill('whatsapp-password');
  await form.getByLabel('Receipt password').fill('whatsapp-receipts');
  await form.getByRole('button', { name: 'Save', exact: true }).click();

  await expect(form.getByRole('alert')).toContainText('The body is not JSON once its placeholders are filled');
  await expect(form.getByLabel('Body', { exact: true })).toHaveValue('{"text": {{message.text}}}');
  await form.getByRole('button', { name: 'Cancel' }).click();
  await expect(whatsapp).toContainText('whatsapp messages are skipped until a provider is set up');
  expect(problems).toEqual([]);
});

test('an admin names the email channel\'s SMTP relay and reads its bounce reports', async ({ page, baseURL }) => {
  // The refused URL is a 422 from the API, which Chromium logs as an error.
  const problems = problemsOf(page, ['/api/v1/channels/email']);
  const relayUrl = `smtp://127.0.0.1:${process.env.WAYFARER_E2E_SMTP_PORT}`;
  const relaySecret = 'relay-s3cret-signing';
  await page.goto('/channels');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const email = channelRow(page, 'Email');
  await email.getByRole('button', { name: 'Edit Email' }).click();
  const form = page.getByRole('form', { name: 'Channel settings' });

  await form.getByLabel('SMTP relay URL').fill('http://mail.example');
  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(form.getByRole('alert')).toContainText('smtp_url');

  await form.getByLabel('SMTP relay URL').fill(relayUrl);
  await form.getByLabel("Read the relay's reports (bounces, deliveries)").check();
  await expect(form).toContainText(`${baseURL}/api/v1/receipts/email`);
  await form.getByLabel('Signing secret').fill(relaySecret);
  await form.getByLabel('Message path').fill('$.mail.commonHeaders.messageId');
  await form.getByLabel('Status path').fill('$.eventType');
  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'email channel' })).toHaveText('Saved the email channel.');
  await expect(email.getByText('Ready', { exact: true })).toBeVisible();
  await expect(email).toContainText(relayUrl);
  await expect(email).toContainText(`${baseURL}/api/v1/receipts/email`);

  // Reopened, the form shows what was saved, the secret as unchanged and never its text.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await email.getByRole('button', { name: 'Edit Email' }).click();
  await expect(form.getByLabel('SMTP relay URL')).toHaveValue(relayUrl);
  await expect(form.getByLabel("Read the relay's reports (bounces, deliveries)")).toBeChecked();
  await expect(form.getByLabel('Message path')).toHaveValue('$.mail.commonHeaders.messageId');
  await expect(form.getByLabel('Signing secret')).toHaveValue('');
  await expect(form.getByLabel('Signing secret')).toHaveAttribute('placeholder', /unchanged/);
  expect(await page.content()).not.toContain(relaySecret);

  // Back to the server's --smtp-url, as the other tests expect.
  await form.getByLabel('SMTP relay URL').fill('');
  await form.getByLabel("Read the relay's reports (bounces, deliveries)").uncheck();
  await form.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(form).toHaveCount(0);
  await expect(email.getByText('Ready', { exact: true })).toBeVisible();
  await expect(email).not.toContainText('/api/v1/receipts/email');
  expect(problems).toEqual([]);
});
