import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { defineConfig } from '@playwright/test';

// The test script (.ci/test) chooses a free port, a throwaway data folder and the binary; run
// alone, `npx playwright test` falls back to the release build (`cargo leptos build --release`,
// what .ci/serve runs) in ./target and a new temporary folder.
// Values go through process.env so that worker processes, which load this file again, agree.
process.env.WAYFARER_E2E_PORT ??= '3917';
// Where the server sends email; a spec that reads it listens there (tests/smtp.ts).
process.env.WAYFARER_E2E_SMTP_PORT ??= '3918';
process.env.WAYFARER_E2E_DATA ??= fs.mkdtempSync(path.join(os.tmpdir(), 'wayfarer-e2e-'));
process.env.WAYFARER_E2E_BIN ??= path.resolve(__dirname, '../target/release/wayfarer');

const port = process.env.WAYFARER_E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;
const database = `sqlite://${path.join(process.env.WAYFARER_E2E_DATA, 'e2e.db')}?mode=rwc`;
const siteRoot = path.resolve(__dirname, '../target/site');
// The fixture admin's browser state (session cookies), which the `setup` project writes.
const operatorState = path.join(process.env.WAYFARER_E2E_DATA, 'operator.json');

export default defineConfig({
  // `e2e` is the browser test suite (.ci/test runs it); `bench` prints the canvas's frame
  // rates (.ci/bench-canvas).
  // `setup` sets up the fresh server through its set-up page (the fixture admin) and keeps the
  // session for the other projects, whose pages are then signed in.
  projects: [
    { name: 'setup', testDir: './tests', testMatch: 'sign-in.setup.ts' },
    { name: 'e2e', testDir: './tests', dependencies: ['setup'], use: { storageState: operatorState } },
    // No trace: recording one snapshots the whole page at every mouse move, which costs a
    // 1,000-node canvas a third of its frames.
    {
      name: 'bench',
      testDir: './bench',
      testMatch: '*.bench.ts',
      dependencies: ['setup'],
      use: { trace: 'off', storageState: operatorState },
    },
  ],
  outputDir: './artifacts/test-results',
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      // Playwright's own browser downloads cannot work here; Debian's Chromium is used instead.
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-quic',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: [
      JSON.stringify(process.env.WAYFARER_E2E_BIN),
      `--listen 127.0.0.1:${port}`,
      `--database-url ${JSON.stringify(database)}`,
      `--site-root ${JSON.stringify(siteRoot)}`,
      '--log warn',
      // The tests' webhook receivers listen on 127.0.0.1.
      '--allow-private-targets',
      `--smtp-url smtp://127.0.0.1:${process.env.WAYFARER_E2E_SMTP_PORT}`,
    ].join(' '),
    url: `${baseURL}/api/v1/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
