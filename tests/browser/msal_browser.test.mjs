// A single-page app on @azure/msal-browser (pinned in package.json),
// unchanged and configured as its documentation says for a custom
// authority (`knownAuthorities`; no `authorityMetadata` workaround),
// served from http://localhost:PORT by a static server of this test's own
// to real headless Chromium, against `latchkey serve --tls-self-signed`:
// loginRedirect, silent calls served from MSAL's cache, a forced refresh,
// two tabs refreshing at once, ssoSilent in a fresh page (a hidden iframe:
// the session cookie is SameSite=None over https), logoutRedirect,
// loginPopup; and a web app's code redeemed from the SPA's origin refused
// with its AADSTS number, readable through CORS.
//
// The browser runs a persistent profile: Playwright's default (incognito)
// contexts block third-party cookies, which a normal profile allows, and
// silent SSO is a third-party cookie in a cross-site iframe.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { launch } from './support.mjs';

const MSAL = new URL('./node_modules/@azure/msal-browser/lib/', import.meta.url).pathname;
const TENANT = '5a3f8e2d-1c4b-4a7e-9f60-2b8d7c6e5a41';
const SPA = 'c0ffee00-5a1e-4b0b-9c1d-5ba000000001';
const WEB = 'c0ffee00-5a1e-4b0b-9c1d-5ba000000002';
const API = 'https://files.contoso.example/';
const SCOPES = [`${API}Files.Read`];
const USER = 'frank@contoso.example';

let server;
let statics;
let origin; // the SPA's: http://localhost:PORT
let authority; // https://127.0.0.1:PORT/TENANT
let context;
const webArrivals = [];
const tokenRequests = [];
const logoutRequests = [];

/** The directory: an SPA, a web app on the same origin, a consented user. */
function directory(port) {
  return `
[[tenants]]
id = "${TENANT}"
name = "Contoso SPA test"
domains = ["contoso.example"]

  [[tenants.apis]]
  name = "Contoso Files"
  app_id_uri = "${API}"
  scopes = ["Files.Read"]

  [[tenants.apps]]
  client_id = "${SPA}"
  name = "Contoso SPA"
  spa_redirect_uris = ["http://localhost:${port}/", "http://localhost:${port}/redirect.html"]
  grant_types = ["authorization_code", "refresh_token"]
    [[tenants.apps.permissions]]
    api = "${API}"
    scopes = ["Files.Read"]

  [[tenants.apps]]
  client_id = "${WEB}"
  name = "Contoso Web"
  secret = "web-secret-0123456789-abcdefghijklmnop"
  redirect_uris = ["http://localhost:${port}/web"]
  grant_types = ["authorization_code", "refresh_token"]
    [[tenants.apps.permissions]]
    api = "${API}"
    scopes = ["Files.Read"]

  [[tenants.users]]
  upn = "${USER}"
  password = "frank-password"
    [[tenants.users.consents]]
    client_id = "${SPA}"
    scopes = ["Files.Read"]
    [[tenants.users.consents]]
    client_id = "${WEB}"
    scopes = ["Files.Read"]
`;
}

/** The SPA's pages: the app (which handles the redirect) and the bridge page popups and iframes land on. */
function appPage() {
  const config = {
    auth: {
      clientId: SPA,
      authority,
      knownAuthorities: [new URL(authority).host],
      redirectUri: `${origin}/`,
    },
    cache: { cacheLocation: 'localStorage' },
  };
  return `<!doctype html><title>SPA</title>
<script src="/msal-browser.js"></script>
<script>
  window.pca = new msal.PublicClientApplication(${JSON.stringify(config)});
  window.ready = (async () => {
    await pca.initialize();
    const result = await pca.handleRedirectPromise();
    if (result) pca.setActiveAccount(result.account);
    window.redirectResult = result;
    return true;
  })();
  // What a call returned, in a form Playwright can carry back.
  window.summary = (r) => ({ fromCache: r.fromCache, accessToken: r.accessToken, scopes: r.scopes,
    username: r.account && r.account.username, homeAccountId: r.account && r.account.homeAccountId });
  window.failure = (e) => ({ error: e.errorCode, subError: e.subError, message: e.message, correlationId: e.correlationId });
</script>
<h1 id="app">SPA</h1>`;
}

const BRIDGE_PAGE = `<!doctype html><title>bridge</title>
<script src="/msal-redirect-bridge.js"></script>
<script>msalRedirectBridge.broadcastResponseToMainFrame();</script>`;

before(async () => {
  statics = createServer((req, res) => {
    const url = new URL(req.url, origin);
    const send = (type, body) => {
      res.setHeader('content-type', type);
      res.end(body);
    };
    switch (url.pathname) {
      case '/': return send('text/html', appPage());
      case '/redirect.html': return send('text/html', BRIDGE_PAGE);
      case '/msal-browser.js': return send('text/javascript', readFileSync(join(MSAL, 'msal-browser.js')));
      case '/msal-redirect-bridge.js':
        return send('text/javascript', readFileSync(join(MSAL, 'redirect-bridge/msal-redirect-bridge.js')));
      case '/web':
        webArrivals.push(url);
        return send('text/html', '<!doctype html><h1 id="web">web app</h1>');
      default:
        res.statusCode = 404;
        return res.end();
    }
  });
  await new Promise((resolve) => statics.listen(0, '127.0.0.1', resolve));
  const port = statics.address().port;
  origin = `http://localhost:${port}`;

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-msal-browser-'));
  const file = join(dir, 'directory.toml');
  writeFileSync(file, directory(port));
  const started = await launch(['serve', '--directory', file, '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--tls-self-signed']);
  server = started.child;
  const [first] = started.lines;
  const base = first.match(/listening on (https:\/\/\S+)/)[1];
  authority = `${base}/${TENANT}`;

  // A profile whose cookie setting is Chromium's "Allow third-party
  // cookies", as a person can choose in its settings.
  const profile = mkdtempSync(join(tmpdir(), 'latchkey-profile-'));
  mkdirSync(join(profile, 'Default'));
  writeFileSync(join(profile, 'Default', 'Preferences'), JSON.stringify({
    profile: { cookie_controls_mode: 0, block_third_party_cookies: false },
  }));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // The self-signed CA is not in the browser's store; the test trusts it.
    ignoreHTTPSErrors: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('request', (request) => {
    if (request.method() === 'POST' && request.url().startsWith(`${authority}/oauth2/v2.0/token`)) tokenRequests.push(request.url());
    if (request.url().startsWith(`${authority}/oauth2/v2.0/logout`)) logoutRequests.push(request.url());
  });
});

after(async () => {
  await context?.close();
  server?.kill();
  statics?.close();
});

async function openApp() {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.evaluate(() => window.ready);
  return page;
}

async function signInOnLatchkey(page) {
  await page.waitForSelector('#signin', { timeout: 15_000 });
  await page.getByLabel('Email or user name').fill(USER);
  await page.getByLabel('Password').fill('frank-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const silent = (page, extra = {}) => page.evaluate(
  ([scopes, extra]) => pca.acquireTokenSilent({ scopes, account: pca.getActiveAccount() || pca.getAllAccounts()[0], ...extra })
    .then(summary, (e) => ({ failed: failure(e) })),
  [SCOPES, extra],
);

test('loginRedirect, silent calls from the cache, a forced refresh, two tabs at once, ssoSilent, logoutRedirect', async () => {
  const page = await openApp();
  // loginRedirect: Latchkey's sign-in page, then back to the app, which redeems the code cross-origin.
  // The page navigates away while the call runs: its promise never settles.
  const leaving = page.waitForURL(`${authority}/**`);
  page.evaluate((scopes) => pca.loginRedirect({ scopes }), SCOPES).catch(() => {});
  await leaving;
  await signInOnLatchkey(page);
  await page.waitForURL(`${origin}/**`);
  await page.evaluate(() => window.ready);
  const login = await page.evaluate(() => window.redirectResult && summary(window.redirectResult));
  assert.ok(login, 'handleRedirectPromise returned the sign-in');
  assert.equal(login.username, USER);
  assert.equal(tokenRequests.length, 1, 'one code redemption');

  // Five silent calls: MSAL's cache answers every one (no token request).
  const calls = [];
  for (let i = 0; i < 5; i += 1) calls.push(await silent(page));
  for (const call of calls) {
    assert.equal(call.failed, undefined, JSON.stringify(call));
    assert.equal(call.fromCache, true, JSON.stringify(call));
    assert.equal(call.accessToken, calls[0].accessToken);
  }
  assert.equal(tokenRequests.length, 1, 'no token request for cached tokens');

  // A forced refresh goes to the network once, then the cache again.
  const forced = await silent(page, { forceRefresh: true });
  assert.equal(forced.failed, undefined, JSON.stringify(forced));
  assert.equal(forced.fromCache, false);
  assert.notEqual(forced.accessToken, calls[0].accessToken);
  assert.equal(tokenRequests.length, 2);
  const after = await silent(page);
  assert.equal(after.fromCache, true);
  assert.equal(after.accessToken, forced.accessToken);

  // Two tabs refreshing at once with the one refresh token: both stay signed in, and go on refreshing.
  const second = await openApp();
  const both = await Promise.all([silent(page, { forceRefresh: true }), silent(second, { forceRefresh: true })]);
  for (const result of both) assert.equal(result.failed, undefined, JSON.stringify(result));
  const again = await Promise.all([silent(page, { forceRefresh: true }), silent(second, { forceRefresh: true })]);
  for (const result of again) assert.equal(result.failed, undefined, JSON.stringify(result));
  await second.close();

  // ssoSilent in a fresh page with an empty cache: a hidden iframe with prompt=none finds the session.
  await page.evaluate(() => localStorage.clear());
  const fresh = await openApp();
  const sso = await fresh.evaluate(
    ([scopes, user, redirectUri]) => pca.ssoSilent({ scopes, loginHint: user, redirectUri }).then(summary, (e) => ({ failed: failure(e) })),
    [SCOPES, USER, `${origin}/redirect.html`],
  );
  assert.equal(sso.failed, undefined, JSON.stringify(sso));
  assert.equal(sso.username, USER);
  assert.equal(sso.fromCache, false);

  // A web app's code, redeemed from the SPA's origin: refused, and the browser can read why.
  await fresh.goto(`${authority}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: WEB, response_type: 'code', redirect_uri: `${origin}/web`, scope: `${API}Files.Read`,
  })}`);
  await fresh.waitForSelector('#web');
  const code = webArrivals.at(-1).searchParams.get('code');
  assert.ok(code, 'the web app got a code');
  await fresh.goto(`${origin}/`);
  const refused = await fresh.evaluate(async ([url, code, redirectUri, client]) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: client, code, redirect_uri: redirectUri }),
    });
    return { status: response.status, body: await response.json() };
  }, [`${authority}/oauth2/v2.0/token`, code, `${origin}/web`, WEB]);
  assert.equal(refused.status, 400, JSON.stringify(refused));
  assert.equal(refused.body.error, 'invalid_request');
  assert.deepEqual(refused.body.error_codes, [9002326]);
  assert.match(refused.body.error_description, /^AADSTS9002326: Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type\./);
  await fresh.close();

  // logoutRedirect: the session ends and the browser comes back to the app.
  await page.goto(`${origin}/`);
  await page.evaluate(() => window.ready);
  // Back at the app with the state MSAL sent (the redirect is too quick to wait for Latchkey's URL).
  const back = page.waitForURL((url) => url.origin === origin && url.searchParams.has('state'));
  page.evaluate((uri) => pca.logoutRedirect({ account: pca.getAllAccounts()[0], postLogoutRedirectUri: uri }), `${origin}/`).catch(() => {});
  await back;
  assert.equal(logoutRequests.length, 1, 'one sign-out request');
  await page.evaluate(() => window.ready);
  assert.equal(await page.evaluate(() => pca.getAllAccounts().length), 0, 'MSAL forgot the account');
  const afterLogout = await page.evaluate(
    ([scopes, user, redirectUri]) => pca.ssoSilent({ scopes, loginHint: user, redirectUri }).then(summary, (e) => ({ failed: failure(e) })),
    [SCOPES, USER, `${origin}/redirect.html`],
  );
  assert.equal(afterLogout.failed?.error, 'login_required', JSON.stringify(afterLogout));
  await page.close();
});

test('loginPopup signs in through a popup that lands on the redirect bridge', async () => {
  const page = await openApp();
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.evaluate(() => window.ready);
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    page.evaluate(
      ([scopes, redirectUri]) => {
        window.popupResult = pca.loginPopup({ scopes, redirectUri, prompt: 'login' }).then(summary, (e) => ({ failed: failure(e) }));
      },
      [SCOPES, `${origin}/redirect.html`],
    ),
  ]);
  await signInOnLatchkey(popup);
  const result = await page.evaluate(() => window.popupResult);
  assert.equal(result.failed, undefined, JSON.stringify(result));
  assert.equal(result.username, USER);
  const cached = await silent(page);
  assert.equal(cached.fromCache, true);
  await page.close();
});
