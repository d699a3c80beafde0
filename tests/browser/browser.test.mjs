// Latchkey's pages in real headless Chromium: a person signs in, passes
// TOTP, consents, and lands on a loopback redirect with a code that
// redeems for tokens; a person who cancels lands with access_denied and the
// state; an untrusted redirect shows the error page, whose AADSTS number
// links to the error lookup page. A screenshot of each
// page is saved under artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DIRECTORY, launch } from './support.mjs';

// The Contoso test directory, shared with the other test suites; the names
// below are its own. CLIENT is its public loopback app (Contoso Desktop).
const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const CLIENT = '8f3e2d1c-0b9a-4c8d-a7e6-f5d4c3b2a190';
const RESOURCE = 'https://files.contoso.example/';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXP';
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;

let server;
let base;
let browser;
let callback;
let redirectUri;
const arrivals = [];

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
function totp(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

const b64url = (buf) => buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The app's loopback redirect listener.
  callback = createServer((req, res) => {
    const url = new URL(req.url, redirectUri);
    if (url.pathname === '/cb') arrivals.push(url);
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>App</title><h1 id="landed">Back in the app</h1>');
  });
  await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${callback.address().port}/cb`;

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-browser-'));
  const started = await launch(['serve', '--directory', DIRECTORY, '--listen', '127.0.0.1:0', '--data', join(dir, 'data')]);
  server = started.child;
  const [first] = started.lines;
  base = first.match(/listening on (http:\/\/\S+)/)[1];

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  callback?.close();
});

function authorizeUrl(extra = {}) {
  const params = new URLSearchParams({
    client_id: CLIENT, redirect_uri: redirectUri, response_type: 'code', resource: RESOURCE, ...extra,
  });
  return `${base}/${TENANT}/oauth2/authorize?${params}`;
}

function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

/** Waits for the app's page; returns the one redirect that reached it. */
async function landing(page, before) {
  await page.waitForSelector('#landed', { timeout: 15_000 });
  assert.equal(arrivals.length, before + 1, 'exactly one arrival at the redirect URI');
  return arrivals[before];
}

test('a person signs in, passes TOTP, consents and the code redeems for tokens', async () => {
  const page = await (await browser.newContext()).newPage();
  const { verifier, challenge } = pkce();
  const state = `st-${b64url(randomBytes(12))}&x=é`;
  await page.goto(authorizeUrl({ scope: 'openid Files.Read', state, code_challenge: challenge, code_challenge_method: 'S256' }));

  await page.waitForSelector('#signin');
  assert.equal(await page.title(), 'Sign in · Latchkey');
  await page.screenshot({ path: join(ARTIFACTS, 'signin.png') });
  await page.getByLabel('Email or user name').fill('mia@contoso.example');
  await page.getByLabel('Password').fill('mia-password');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await page.waitForSelector('#mfa');
  await page.screenshot({ path: join(ARTIFACTS, 'mfa.png') });
  await page.getByLabel('Code').fill(totp(TOTP_SECRET));
  await page.getByRole('button', { name: 'Verify' }).click();

  await page.waitForSelector('#consent');
  assert.match(await page.textContent('#scopes'), /Files\.Read/);
  await page.screenshot({ path: join(ARTIFACTS, 'consent.png') });
  const before = arrivals.length;
  await page.getByRole('button', { name: 'Accept' }).click();

  const arrived = await landing(page, before);
  await page.screenshot({ path: join(ARTIFACTS, 'landed.png') });
  assert.equal(arrived.searchParams.get('state'), state);
  const code = arrived.searchParams.get('code');
  assert.ok(code && code.length >= 43);

  const response = await fetch(`${base}/${TENANT}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: CLIENT, code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  assert.equal(response.status, 200);
  const tokens = await response.json();
  assert.equal(tokens.token_type, 'Bearer');
  assert.equal(tokens.resource, RESOURCE);
  assert.equal(tokens.scope, 'Files.Read');
  const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url'));
  assert.deepEqual(claims.amr, ['pwd', 'mfa']);
  assert.equal(claims.upn, 'mia@contoso.example');
});

test('a person who cancels consent lands with access_denied and the state', async () => {
  const page = await (await browser.newContext()).newPage();
  const { challenge } = pkce();
  await page.goto(authorizeUrl({ state: 'cancel-me', code_challenge: challenge, code_challenge_method: 'S256' }));
  await page.getByLabel('Email or user name').fill('nora@contoso.example');
  await page.getByLabel('Password').fill('nora-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#consent');
  const before = arrivals.length;
  await page.getByRole('button', { name: 'Cancel' }).click();
  const arrived = await landing(page, before);
  assert.equal(arrived.searchParams.get('error'), 'access_denied');
  assert.equal(arrived.searchParams.get('state'), 'cancel-me');
  assert.match(arrived.searchParams.get('error_description'), /^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: /);
});

test('an untrusted redirect shows the error page and goes nowhere', async () => {
  const page = await (await browser.newContext()).newPage();
  const before = arrivals.length;
  const evil = `http://127.0.0.1:${callback.address().port}/evil`;
  const response = await page.goto(authorizeUrl({ redirect_uri: evil, state: 's' }));
  assert.equal(response.status(), 200);
  await page.waitForSelector('#error-page');
  await page.screenshot({ path: join(ARTIFACTS, 'error.png') });
  assert.ok(page.url().startsWith(base), `stayed on Latchkey: ${page.url()}`);
  assert.match(await page.textContent('#description'), /^AADSTS50011: The redirect URI/);
  const doc = JSON.parse(await page.textContent('#latchkey-error'));
  assert.equal(doc.error, 'invalid_request');
  assert.deepEqual(doc.error_codes, [50011]);
  assert.equal(await page.getAttribute('#error-page', 'data-trace-id'), doc.trace_id);
  assert.equal(arrivals.length, before, 'nothing reached the redirect URI');
});

test('the error page links its AADSTS number to the lookup page, which names the client action', async () => {
  const page = await (await browser.newContext()).newPage();
  const evil = `http://127.0.0.1:${callback.address().port}/evil`;
  await page.goto(authorizeUrl({ redirect_uri: evil }));
  await page.waitForSelector('#error-page');
  await Promise.all([page.waitForURL(/\/error\?code=50011$/), page.click('a.lookup')]);
  await page.waitForSelector('#error-lookup');
  assert.equal(page.url(), `${base}/error?code=50011`);
  assert.equal(await page.textContent('h1'), 'AADSTS50011');
  assert.equal(await page.getAttribute('#error-lookup', 'data-entries'), '1');
  assert.equal(await page.textContent('.entry .error'), 'invalid_request');
  assert.equal(await page.textContent('.entry .client-action'), 'fix and resubmit the request');
  assert.match(await page.textContent('.entry .message'), /^AADSTS50011: The redirect URI '\{redirect_uri\}'/);
  await page.screenshot({ path: join(ARTIFACTS, 'error-lookup.png'), fullPage: true });

  // Two conditions share 70011: both are shown. Typed as it is printed.
  await page.fill('#code', 'AADSTS70011');
  await Promise.all([page.waitForURL(/code=AADSTS70011$/), page.click('button[type=submit]')]);
  assert.equal(await page.textContent('h1'), 'AADSTS70011');
  assert.equal(await page.locator('.entry').count(), 2);
  assert.deepEqual(await page.locator('.entry .error').allTextContents(), ['invalid_scope', 'invalid_scope']);

  // An unknown number says so, with 404.
  const unknown = await page.goto(`${base}/error?code=12345`);
  assert.equal(unknown.status(), 404);
  assert.match(await page.textContent('#message'), /AADSTS12345 is not in Latchkey's catalogue/);
  await page.screenshot({ path: join(ARTIFACTS, 'error-lookup-unknown.png') });
});
