// msal-node, unchanged, against `latchkey serve --tls-self-signed`, set up
// as its documentation says for an authority that is not Azure AD's:
// `knownAuthorities` (no `authorityMetadata` workaround). What MSAL's token
// cache needs from the server is proven by cache hits, not by fields: the
// authorization code flow (a person signs in in headless Chromium) and
// the password grant, each followed by silent calls answered from the
// cache (the server sees no token request, the same access token comes
// back) and forced refreshes that rotate the refresh token without
// `invalid_grant`. And the correlation id msal-node sends (the
// `client-request-id` query parameter) is the one its errors report.
//
// msal-node reaches the server through a `system.networkClient` (a
// documented option) that trusts the local CA and counts the requests;
// Chromium, which only plays the person, skips the TLS check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as msal from '@azure/msal-node';
import { chromium } from 'playwright-core';
import { DIRECTORY, launch } from './support.mjs';

// The Contoso test directory, shared with the other test suites; the names
// below are its own: Contoso Web (confidential, a loopback redirect URI on
// any port) and Contoso CLI (public, the password grant).
const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const WEB = '2d4d11a2-f814-46a7-890a-274a72a7309e';
const WEB_SECRET = 'web-secret-0123456789-abcdefghijklmnop';
const CLI = '0b6d4a6e-6c1f-4b6e-9d42-3f1b0c3a9e11';
const FILES = 'https://files.contoso.example/';
const FILES_READ = `${FILES}Files.Read`;

const children = [];
let ca;
let base;
let host;
let browser;
let callback;
let redirectUri;
const arrivals = [];
/** Every request msal-node sent: method and URL. */
const sent = [];

/** msal-node's INetworkModule over node:https, trusting the local CA. */
const networkClient = {
  sendGetRequestAsync: (url, options) => send('GET', url, options),
  sendPostRequestAsync: (url, options) => send('POST', url, options),
};

function send(method, url, options = {}) {
  sent.push({ method, url: new URL(url) });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(url), { method, headers: options.headers ?? {}, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ headers: res.headers, body: JSON.parse(text), status: res.statusCode });
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

/** Token requests msal-node has sent so far. */
const tokenRequests = () => sent.filter((r) => r.method === 'POST' && r.url.pathname.endsWith('/oauth2/v2.0/token'));

/** Starts a latchkey command; resolves with the lines it printed first. */
async function start(args, count) {
  const { child, lines } = await launch(args, count);
  children.push(child);
  return lines;
}

function config(auth) {
  return {
    auth: { authority: `${base}/${TENANT}`, knownAuthorities: [host], ...auth },
    system: { networkClient },
  };
}

before(async () => {
  callback = createServer((req, res) => {
    const url = new URL(req.url, redirectUri);
    if (url.pathname === '/cb') arrivals.push(url);
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>App</title><h1 id="landed">Back in the app</h1>');
  });
  await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${callback.address().port}/cb`;

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-msal-node-'));
  const [listening, trust] = await start(
    ['serve', '--directory', DIRECTORY, '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--tls-self-signed'], 2);
  base = listening.match(/listening on (https:\/\/\S+)/)[1];
  host = new URL(base).host;
  ca = readFileSync(trust.match(/local CA at (\S+)/)[1]);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  for (const child of children) child.kill();
  callback?.close();
});

/**
 * `count` silent calls, each from the cache: the same access token, no
 * token request. Then `refreshes` forced refreshes, each a new access
 * token from one token request (the rotated refresh token, filed under the
 * same account, is the one presented next), and the cache serving the
 * newest afterwards.
 */
async function silentCallsHitTheCacheAndRefreshesRotate(app, first, scopes) {
  const account = first.account;
  const before = tokenRequests().length;
  for (let i = 0; i < 5; i += 1) {
    const silent = await app.acquireTokenSilent({ account, scopes });
    assert.equal(silent.fromCache, true, `silent call ${i} from the cache`);
    assert.equal(silent.accessToken, first.accessToken, `silent call ${i}: the same access token`);
  }
  assert.equal(tokenRequests().length, before, 'no token request for cached tokens');

  let latest = first.accessToken;
  for (let i = 0; i < 3; i += 1) {
    const refreshed = await app.acquireTokenSilent({ account, scopes, forceRefresh: true });
    assert.equal(refreshed.fromCache, false);
    assert.notEqual(refreshed.accessToken, latest, `refresh ${i}: a new access token`);
    assert.equal(refreshed.account.homeAccountId, account.homeAccountId, `refresh ${i}: the same account`);
    assert.equal(tokenRequests().length, before + i + 1, `refresh ${i}: one token request`);
    latest = refreshed.accessToken;
    const cached = await app.acquireTokenSilent({ account, scopes });
    assert.equal(cached.fromCache, true, `after refresh ${i}: from the cache`);
    assert.equal(cached.accessToken, latest, `after refresh ${i}: the newest token`);
  }
  assert.equal(tokenRequests().length, before + 3);
  const accounts = await app.getTokenCache().getAllAccounts();
  assert.equal(accounts.length, 1, 'one account: refreshes never file tokens under another');
  return latest;
}

/** The account MSAL built from `client_info`: `uid.utid`. */
function assertAccount(result) {
  const oid = JSON.parse(Buffer.from(result.accessToken.split('.')[1], 'base64url')).oid;
  assert.equal(result.account.homeAccountId, `${oid}.${TENANT}`);
  assert.equal(result.account.tenantId, TENANT);
  assert.equal(result.account.username, 'frank@contoso.example');
}

test('authorization code in Chromium, then silent calls from the cache and forced refreshes', async () => {
  const app = new msal.ConfidentialClientApplication(config({ clientId: WEB, clientSecret: WEB_SECRET }));
  const { verifier, challenge } = await new msal.CryptoProvider().generatePkceCodes();
  const url = await app.getAuthCodeUrl({
    scopes: [FILES_READ], redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256',
  });
  assert.ok(url.startsWith(`${base}/${TENANT}/oauth2/v2.0/authorize?`), url);

  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const before = arrivals.length;
  await page.goto(url);
  await page.waitForSelector('#signin');
  await page.getByLabel('Email or user name').fill('frank@contoso.example');
  await page.getByLabel('Password').fill('frank-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#landed', { timeout: 15_000 });
  assert.equal(arrivals.length, before + 1);
  const code = arrivals[before].searchParams.get('code');
  assert.ok(code, `a code: ${arrivals[before]}`);

  const first = await app.acquireTokenByCode({ code, scopes: [FILES_READ], redirectUri, codeVerifier: verifier });
  assert.equal(first.fromCache, false);
  assertAccount(first);
  assert.deepEqual(first.scopes, [FILES_READ, 'openid', 'profile', 'offline_access']);
  await silentCallsHitTheCacheAndRefreshesRotate(app, first, [FILES_READ]);

  // `.default`: the first asks the server (a refresh), the next ones hit.
  const account = first.account;
  const before2 = tokenRequests().length;
  const viaDefault = await app.acquireTokenSilent({ account, scopes: [`${FILES}.default`] });
  assert.equal(tokenRequests().length, before2 + 1);
  const again = await app.acquireTokenSilent({ account, scopes: [`${FILES}.default`] });
  assert.equal(again.fromCache, true);
  assert.equal(again.accessToken, viaDefault.accessToken);
  assert.equal(tokenRequests().length, before2 + 1);
});

test('the password grant, then silent calls from the cache and forced refreshes', async () => {
  const app = new msal.PublicClientApplication(config({ clientId: CLI }));
  const first = await app.acquireTokenByUsernamePassword({
    scopes: [FILES_READ], username: 'frank@contoso.example', password: 'frank-password',
  });
  assertAccount(first);
  await silentCallsHitTheCacheAndRefreshesRotate(app, first, [FILES_READ]);
});

test('the correlation id msal-node sends is the one its errors report', async () => {
  const app = new msal.PublicClientApplication(config({ clientId: CLI }));
  for (const [request, error, number] of [
    [{ scopes: [FILES_READ], username: 'frank@contoso.example', password: 'not-the-password' }, 'invalid_grant', 50126],
    [{ scopes: [`${FILES}Files.Delete`], username: 'frank@contoso.example', password: 'frank-password' }, 'invalid_scope', 70011],
  ]) {
    const correlationId = randomUUID();
    await assert.rejects(
      app.acquireTokenByUsernamePassword({ ...request, correlationId }),
      (err) => {
        assert.ok(err instanceof msal.ServerError, String(err));
        assert.equal(err.errorCode, error);
        assert.equal(err.correlationId, correlationId);
        assert.match(err.errorMessage, new RegExp(`^Error\\(s\\): ${number} - `));
        assert.ok(err.errorMessage.includes(`Correlation ID: ${correlationId}`), err.errorMessage);
        return true;
      },
    );
    const last = tokenRequests().at(-1);
    assert.equal(last.url.searchParams.get('client-request-id'), correlationId, 'msal-node sends it in the query');
  }
});

// On-behalf-of: Contoso Todo API (confidential; the API it exposes has its
// client id as `app_id`) exchanges the token Ben's native client (Contoso
// Todo Native, public, the password grant) got for it, for one to Contoso
// Graph; then the refusals, each with its exact code.
const TODO_API = '7d1e5f3a-2b4c-4d6e-8f9a-0b1c2d3e4f5a';
const TODO_SECRET = 'todo-api-secret-0123456789-abcdefghijk';
const TODO_NATIVE = '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5';
const ACCESS_AS_USER = 'api://todo.contoso.example/access_as_user';
const GRAPH_USER_READ = 'https://graph.contoso.example/User.Read';
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

async function userToken(clientId, scopes, username, password) {
  const app = new msal.PublicClientApplication(config({ clientId }));
  return (await app.acquireTokenByUsernamePassword({ scopes, username, password })).accessToken;
}

test('acquireTokenOnBehalfOf: the user token to the middle tier becomes one to the downstream API', async () => {
  const assertion = await userToken(TODO_NATIVE, [ACCESS_AS_USER], 'ben@contoso.example', 'ben-password');
  assert.equal(claimsOf(assertion).aud, TODO_API, 'a v2 token names the API by its app_id');
  const api = new msal.ConfidentialClientApplication(config({ clientId: TODO_API, clientSecret: TODO_SECRET }));
  const before = tokenRequests().length;
  const result = await api.acquireTokenOnBehalfOf({ oboAssertion: assertion, scopes: [GRAPH_USER_READ] });
  assert.equal(result.fromCache, false);
  assert.equal(tokenRequests().length, before + 1);
  const sent = tokenRequests().at(-1);
  assert.equal(sent.url.pathname, `/${TENANT}/oauth2/v2.0/token`);
  assert.ok(result.scopes.includes(GRAPH_USER_READ), String(result.scopes));
  const claims = claimsOf(result.accessToken);
  assert.equal(claims.aud, 'https://graph.contoso.example/');
  assert.equal(claims.upn, 'ben@contoso.example');
  assert.equal(claims.oid, claimsOf(assertion).oid, 'the same user');
  assert.equal(claims.scp, 'User.Read');
  assert.equal(claims.azp, TODO_API);
  assert.deepEqual(claims.amr, ['pwd'], "the assertion's amr");

  // msal-node files it under the assertion: the same request again is
  // answered from its cache, without a token request.
  const again = await api.acquireTokenOnBehalfOf({ oboAssertion: assertion, scopes: [GRAPH_USER_READ] });
  assert.equal(again.fromCache, true);
  assert.equal(again.accessToken, result.accessToken);
  assert.equal(tokenRequests().length, before + 1);
});

test('acquireTokenOnBehalfOf: each refusal with its exact code', async () => {
  const assertion = await userToken(TODO_NATIVE, [ACCESS_AS_USER], 'ben@contoso.example', 'ben-password');
  const filesToken = await userToken(CLI, [FILES_READ], 'frank@contoso.example', 'frank-password');
  const robot = new msal.ConfidentialClientApplication(config({
    clientId: '5c6b0b7e-2a4f-4d7e-8f38-4c1f0e9a7b21', clientSecret: 'robot-secret-0123456789-abcdefghijklmn',
  }));
  const appOnly = (await robot.acquireTokenByClientCredential({ scopes: ['api://todo.contoso.example/.default'] })).accessToken;
  const [head, body] = assertion.split('.');
  const forged = `${head}.${body}.${Buffer.from('forged').toString('base64url')}`;
  const cases = [
    // [what, assertion, scopes, error, number, suberror, whether msal-node
    // asks for interaction: only the suberror consent_required makes it]
    ['no consent to Mail.Read', assertion, ['https://graph.contoso.example/Mail.Read'], 'invalid_grant', 65001, 'consent_required', true],
    ['a forged signature', forged, [GRAPH_USER_READ], 'invalid_grant', 50013, undefined, false],
    ['another audience', filesToken, [GRAPH_USER_READ], 'invalid_grant', 500131, undefined, false],
    ['an app-only token', appOnly, [GRAPH_USER_READ], 'unauthorized_client', 7000114, undefined, false],
    ['not a JWT', 'not-a-jwt', [GRAPH_USER_READ], 'invalid_request', 50027, undefined, false],
    ['no permission on the API', assertion, ['https://reports.contoso.example/Reports.Read'], 'invalid_client', 650057, undefined, false],
  ];
  for (const [what, oboAssertion, scopes, error, number, subError, interaction] of cases) {
    // A new app each time: nothing cached from an earlier case.
    const api = new msal.ConfidentialClientApplication(config({ clientId: TODO_API, clientSecret: TODO_SECRET }));
    await assert.rejects(api.acquireTokenOnBehalfOf({ oboAssertion, scopes }), (err) => {
      assert.equal(err.errorCode, error, `${what}: ${err}`);
      assert.ok(err.errorMessage.includes(`AADSTS${number}: `), `${what}: ${err.errorMessage}`);
      assert.equal(err instanceof msal.InteractionRequiredAuthError, interaction, `${what}: ${err.name}`);
      if (subError) assert.equal(err.subError, subError, what);
      return true;
    });
  }
});
