import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect, test } from '@playwright/test';

import { problemsOf } from './support';

/** A local receiver: 200 on /ok, 500 on anything else; remembers the paths it was sent. */
async function startReceiver(): Promise<{ url: string; paths: string[]; close: () => void }> {
  const paths: string[] = [];
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? '');
    request.resume();
    request.on('end', () => {
      response.statusCode = request.url?.startsWith('/ok') ? 200 : 500;
      response.end(response.statusCode === 200 ? 'thanks' : 'boom');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, paths, close: () => server.close() };
}

test('a marketer adds webhooks and tests them: a green check for 2xx, a red cross otherwise', async ({
  page,
}) => {
  const receiver = await startReceiver();
  // Refused settings are a 422 from the API, which Chromium logs as an error.
  const problems = problemsOf(page, ['/api/v1/webhooks']);
  await page.goto('/webhooks');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

  const add = async (name: string, url: string) => {
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('URL').fill(url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
  };
  const suffix = Date.now();
  const working = `CRM ${suffix}`;
  const broken = `Broken ${suffix}`;

  await add(working, `${receiver.url}/ok/{{contact.external_id}}`);
  const workingRow = page.getByRole('row').filter({ hasText: working });
  await expect(workingRow).toBeVisible();
  await workingRow.getByRole('button', { name: `Test ${working}` }).click();
  await expect(workingRow.getByRole('status')).toHaveText(/^✓ 200 in \d+ ms$/);
  expect(receiver.paths).toContain('/ok/sample-contact');

  await add(broken, `${receiver.url}/down`);
  const brokenRow = page.getByRole('row').filter({ hasText: broken });
  await brokenRow.getByRole('button', { name: `Test ${broken}` }).click();
  await expect(brokenRow.getByRole('status')).toHaveText('✗ answered 500');

  await add(`Invalid ${suffix}`, 'ftp://files.example/drop');
  await expect(page.getByRole('alert')).toContainText('must start with http:// or https://');
  await expect(brokenRow.getByRole('status')).toHaveText('✗ answered 500');

  expect(problems).toEqual([]);
  await page.screenshot({ path: 'artifacts/webhooks.png' });
  receiver.close();
});
