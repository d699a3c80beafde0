// The sign-in log's admin pages in real headless Chromium: a failed token
// request's trace id, typed into the filter form, finds exactly its row
// (highlighted as a failure), and its detail page names the seed's client
// action; the correlation id finds it too. The browser authenticates with
// the admin key as HTTP Basic's password (Playwright's httpCredentials).
// No page runs a script: the CSP allows none. Screenshots under artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DIRECTORY, launch } from './support.mjs';

const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const ROBOT = '5c6b0b7e-2a4f-4d7e-8f38-4c1f0e9a7b21';
const ROBOT_SECRET = 'robot-secret-0123456789-abcdefghijklmn';
const RESOURCE = 'https://files.contoso.example/';
const ADMIN_KEY = 'browser-admin-key-0123456789abcdef';
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;

let server;
let base;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-sign-in-log-'));
  const started = await launch([
    'serve', '--directory', DIRECTORY, '--listen', '127.0.0.1:0', '--data', join(dir, 'data'),
    '--admin-key', ADMIN_KEY,
  ]);
  server = started.child;
  base = started.lines[0].match(/listening on (http:\/\/\S+)/)[1];
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function tokenRequest(secret, correlationId) {
  const response = await fetch(`${base}/${TENANT}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'client-request-id': correlationId },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: ROBOT, client_secret: secret, resource: RESOURCE }),
  });
  return { status: response.status, body: await response.json() };
}

/** The admin API's records for `query`, once there are `count` (written off the request path). */
async function waitForRecords(query, count) {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${base}/_admin/sign-ins?${query}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const { value } = await response.json();
    if (value.length >= count) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no sign-ins for ${query}`);
}

test('a failed token request is found by its trace and correlation ids on the admin pages', async () => {
  const ok = await tokenRequest(ROBOT_SECRET, '0a1b2c3d-0000-4000-8000-000000000001');
  assert.equal(ok.status, 200);
  const failed = await tokenRequest('not-the-robot-secret-0123456789abcdef', '0a1b2c3d-0000-4000-8000-000000000002');
  assert.equal(failed.status, 401);
  const { trace_id: traceId, correlation_id: correlationId } = failed.body;
  await waitForRecords(`trace_id=${traceId}`, 1);
  await waitForRecords('', 2);

  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_KEY } });
  const page = await context.newPage();
  const scripts = [];
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) scripts.push(message.text()); });
  const response = await page.goto(`${base}/_admin/portal/sign-ins`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /^default-src 'none'/);
  assert.equal(await page.locator('tr.sign-in').count(), 2);
  assert.equal(await page.locator('tr.sign-in.failure').count(), 1, 'the failure is highlighted');
  await page.screenshot({ path: join(ARTIFACTS, 'sign-ins.png'), fullPage: true });

  // Filter by the trace id: exactly its row.
  await page.fill('input[name=trace_id]', traceId);
  await Promise.all([page.waitForURL(/trace_id=/), page.click('button[type=submit]')]);
  const rows = page.locator('tr.sign-in');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute('data-trace-id'), traceId);
  assert.equal(await rows.first().getAttribute('data-correlation-id'), correlationId);
  assert.match(await rows.first().getAttribute('class'), /failure/);
  const background = await rows.first().locator('td').first().evaluate((td) => getComputedStyle(td).backgroundColor);
  assert.equal(background, 'rgb(254, 242, 242)', 'a failed row is tinted red');
  await page.screenshot({ path: join(ARTIFACTS, 'sign-ins-by-trace-id.png'), fullPage: true });

  // The detail view names the seed's client action for the error.
  await Promise.all([page.waitForURL(/\/sign-ins\/\d+$/), rows.first().locator('a').click()]);
  assert.equal(await page.textContent('#trace-id'), traceId);
  assert.equal(await page.textContent('#correlation-id'), correlationId);
  assert.equal(await page.textContent('#error'), 'invalid_client');
  assert.equal(await page.textContent('#error-codes'), '7000215');
  assert.equal(await page.textContent('#client-action'), 'the administrator updates the credentials');
  assert.equal(await page.getAttribute('#sign-in', 'data-injected'), 'false');
  await page.screenshot({ path: join(ARTIFACTS, 'sign-in-detail.png'), fullPage: true });

  // The correlation id finds the same one record.
  await page.goto(`${base}/_admin/portal/sign-ins?correlation_id=${correlationId}`);
  assert.equal(await page.locator('tr.sign-in').count(), 1);
  assert.equal(await page.locator('tr.sign-in').first().getAttribute('data-trace-id'), traceId);
  assert.deepEqual(scripts, [], 'nothing the CSP refused');
  await context.close();
});

test('the admin pages ask a browser without the key for it', async () => {
  // Headless Chromium has no credentials prompt to show (a navigation
  // without credentials fails); its request context shows the challenge.
  const context = await browser.newContext();
  const response = await context.request.get(`${base}/_admin/portal/sign-ins`);
  assert.equal(response.status(), 401);
  assert.match(response.headers()['www-authenticate'], /^Basic realm="latchkey-admin"/);
  const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: 'not-the-admin-key-0123456789' } });
  const page = await wrong.newPage();
  const refused = await page.goto(`${base}/_admin/portal/sign-ins`);
  assert.equal(refused.status(), 401, 'a wrong key is refused');
  await wrong.close();
  await context.close();
});
