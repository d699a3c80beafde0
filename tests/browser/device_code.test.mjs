// msal-node's acquireTokenByDeviceCode, unchanged, against `latchkey serve
// --tls-self-signed` (configured as msal-node documents for an authority
// that is not Azure AD's: `knownAuthorities`), with a person in headless
// Chromium at the device login page: typing the user code msal-node's
// deviceCodeCallback was given, signing in, and accepting or declining.
// And a device that starts polling only after its code expired sees the
// server's `expired_token`.
//
// The server polls fast for the test: `--device-code-interval 1
// --device-code-lifetime 5`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as msal from '@azure/msal-node';
import { chromium } from 'playwright-core';
import { DIRECTORY, launch } from './support.mjs';

// The Contoso test directory's names: Contoso Device (public, the device
// code grant), Frank.
const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const DEVICE = 'a1d2e3f4-5b6c-4d7e-8f90-1a2b3c4d5e6f';
const FILES_READ = 'https://files.contoso.example/Files.Read';
const LIFETIME = 5;

let server;
let ca;
let base;
let host;
let browser;
/** The token endpoint's answers msal-node saw: status and `error`. */
const polls = [];

const networkClient = {
  sendGetRequestAsync: (url, options) => send('GET', url, options),
  sendPostRequestAsync: (url, options) => send('POST', url, options),
};

function send(method, url, options = {}) {
  return new Promise((resolve, reject) => {
    // A connection per request: the device that sleeps past its code's
    // lifetime would otherwise reuse one the server closed meanwhile.
    const req = httpsRequest(new URL(url), { method, headers: options.headers ?? {}, ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const body = JSON.parse(text);
          if (new URL(url).pathname.endsWith('/oauth2/v2.0/token')) polls.push({ status: res.statusCode, error: body.error });
          resolve({ headers: res.headers, body, status: res.statusCode });
        } catch (error) {
          reject(new Error(`${method} ${url}: ${res.statusCode} with a body that is not JSON: ${text}`));
        }
      });
    });
    req.on('error', reject);
    if (method === 'POST') req.write(options.body ?? '');
    req.end();
  });
}

function app() {
  return new msal.PublicClientApplication({
    auth: { clientId: DEVICE, authority: `${base}/${TENANT}`, knownAuthorities: [host] },
    system: { networkClient },
  });
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-device-'));
  const { child, lines } = await launch(
    ['serve', '--directory', DIRECTORY, '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--tls-self-signed',
      '--device-code-interval', '1', '--device-code-lifetime', String(LIFETIME)], 2);
  server = child;
  base = lines[0].match(/listening on (https:\/\/\S+)/)[1];
  host = new URL(base).host;
  ca = readFileSync(lines[1].match(/local CA at (\S+)/)[1]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

/** The person, a moment after the device started polling: at the page the
 * device named, the code it showed, Frank's sign-in, then `button`. */
async function person(response, button) {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await page.goto(response.verificationUri);
  await page.getByLabel('Code').fill(response.userCode.toLowerCase());
  await page.getByRole('button', { name: 'Next' }).click();
  await page.waitForSelector('#signin');
  await page.getByLabel('Email or user name').fill('frank@contoso.example');
  await page.getByLabel('Password').fill('frank-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#device-notice');
  assert.match(await page.textContent('#device-notice'), new RegExp(response.userCode));
  await page.getByRole('button', { name: button }).click();
  await page.waitForSelector(button === 'Accept' ? '#device-approved' : '#device-declined');
  await page.context().close();
}

test('acquireTokenByDeviceCode: pending, then the person approves in Chromium', async () => {
  const client = app();
  let approving;
  polls.length = 0;
  const result = await client.acquireTokenByDeviceCode({
    scopes: [FILES_READ],
    deviceCodeCallback: (response) => {
      assert.equal(response.verificationUri, `${base}/devicelogin`);
      assert.match(response.message, new RegExp(response.userCode));
      approving = person(response, 'Accept');
    },
  });
  await approving;
  assert.equal(polls[0].error, 'authorization_pending', JSON.stringify(polls));
  assert.equal(polls.at(-1).status, 200);
  assert.equal(result.account.username, 'frank@contoso.example');
  assert.deepEqual(result.scopes, [FILES_READ, 'openid', 'profile', 'offline_access']);
  // msal-node filed the tokens: a silent call is served from its cache.
  const cached = await client.acquireTokenSilent({ account: result.account, scopes: [FILES_READ] });
  assert.equal(cached.fromCache, true);
  assert.equal(cached.accessToken, result.accessToken);
});

test('acquireTokenByDeviceCode: the person declines', async () => {
  let declining;
  await assert.rejects(
    app().acquireTokenByDeviceCode({
      scopes: [FILES_READ],
      deviceCodeCallback: (response) => { declining = person(response, 'Decline'); },
    }),
    (error) => {
      assert.match(error.message, /authorization_declined/);
      return true;
    },
  );
  await declining;
});

test('acquireTokenByDeviceCode: a device that polls only after its code expired', async () => {
  polls.length = 0;
  await assert.rejects(
    app().acquireTokenByDeviceCode({
      scopes: [FILES_READ],
      // The app's callback blocks (a device busy elsewhere) past the
      // code's lifetime; msal-node polls once it returns.
      deviceCodeCallback: () => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, (LIFETIME + 1) * 1000);
      },
    }),
    (error) => {
      assert.match(error.message, /expired_token/);
      return true;
    },
  );
  assert.deepEqual(polls, [{ status: 400, error: 'expired_token' }]);
});
