// A spec-strict client, unchanged: oauth4webapi (the core of openid-client)
// against `latchkey serve --tls-self-signed` through its v2.0 endpoints,
// whose issuer is the discovery URL's own (RFC 8414 §3.3). Discovery,
// client credentials, authorization code + PKCE with a person in headless
// Chromium, token errors as ResponseBodyError, and the protected API's
// challenge through oauth4webapi's WWW-Authenticate parser.
//
// oauth4webapi verifies TLS against the local CA (a fetch over node:https
// with that CA); Chromium, which only plays the person, skips the check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { chromium } from 'playwright-core';
import { DIRECTORY, launch } from './support.mjs';

// The Contoso test directory, shared with the other test suites; the names
// below are its own. CLIENT is its confidential web app (Contoso Web).
const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const CLIENT = '2d4d11a2-f814-46a7-890a-274a72a7309e';
const SECRET = 'web-secret-0123456789-abcdefghijklmnop';
const FILES = 'https://files.contoso.example/';

const children = [];
let ca;
let as;
let api;
let browser;
let callback;
let redirectUri;
const arrivals = [];

const client = { client_id: CLIENT };
const auth = oauth.ClientSecretPost(SECRET);

/** fetch over node:https trusting the local CA, as oauth4webapi's customFetch. */
function fetchWithCa(url, init = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method: init.method ?? 'GET', headers: Object.fromEntries(new Headers(init.headers)), ca, signal: init.signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of [value].flat()) headers.append(name, v);
        }
        const body = [204, 304].includes(res.statusCode) ? null : Buffer.concat(chunks);
        const response = new Response(body, { status: res.statusCode, headers });
        Object.defineProperty(response, 'url', { value: String(url) });
        resolve(response);
      });
    });
    req.on('error', reject);
    if (init.body) req.write(typeof init.body === 'string' ? init.body : init.body.toString());
    req.end();
  });
}
const options = { [oauth.customFetch]: fetchWithCa };
// `latchkey demo-api` serves plain http on loopback; only its calls allow it.
const apiOptions = { ...options, [oauth.allowInsecureRequests]: true };

/** Starts a latchkey command; resolves with the lines it printed first. */
async function start(args, count) {
  const { child, lines } = await launch(args, count);
  children.push(child);
  return lines;
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

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-oauth4webapi-'));
  // Strict rotation (no reuse interval), so that the spent refresh token
  // below is refused however fast the test runs.
  const strict = join(dir, 'directory.toml');
  writeFileSync(strict, readFileSync(DIRECTORY, 'utf8').replace(
    'domains = ["contoso.example"]\n', 'domains = ["contoso.example"]\nrefresh_token_reuse_seconds = 0\n'));
  const [listening, trust] = await start(
    ['serve', '--directory', strict, '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--tls-self-signed'], 2);
  const base = listening.match(/listening on (https:\/\/\S+)/)[1];
  const caPath = trust.match(/local CA at (\S+)/)[1];
  ca = readFileSync(caPath);

  const [apiLine] = await start(
    ['demo-api', '--authority', `${base}/${TENANT}`, '--resource-id', FILES, '--listen', '127.0.0.1:0', '--ca-file', caPath], 1);
  api = apiLine.match(/listening on (http:\/\/\S+)/)[1];

  // RFC 8414 / OIDC Discovery: the issuer must be the URL discovery was asked of.
  const issuer = new URL(`${base}/${TENANT}/v2.0`);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' }));

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

test('discovery names the v2.0 endpoints under the issuer', () => {
  assert.equal(as.issuer, `${new URL(as.issuer).origin}/${TENANT}/v2.0`);
  assert.equal(as.token_endpoint, `${new URL(as.issuer).origin}/${TENANT}/oauth2/v2.0/token`);
  assert.equal(as.authorization_endpoint, `${new URL(as.issuer).origin}/${TENANT}/oauth2/v2.0/authorize`);
  assert.ok(as.code_challenge_methods_supported.includes('S256'));
});

test('client credentials, and the token opens the protected API', async () => {
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: `${FILES}.default` }, options);
  const tokens = await oauth.processClientCredentialsResponse(as, client, response);
  assert.equal(tokens.token_type, 'bearer');
  assert.equal(typeof tokens.expires_in, 'number');
  const read = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${api}/api/read`), undefined, undefined, apiOptions);
  assert.equal(read.status, 200);
});

test('token errors are parsed with the seed fields in the body', async () => {
  const wrong = oauth.ClientSecretPost('not-the-secret');
  const response = await oauth.clientCredentialsGrantRequest(as, client, wrong, { scope: `${FILES}.default` }, options);
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, response), (error) => {
    assert.ok(error instanceof oauth.ResponseBodyError, String(error));
    assert.equal(error.status, 401);
    assert.equal(error.error, 'invalid_client');
    assert.match(error.error_description, /^AADSTS7000215: /);
    assert.deepEqual(error.cause.error_codes, [7000215]);
    for (const field of ['timestamp', 'trace_id', 'correlation_id']) assert.ok(error.cause[field], field);
    return true;
  });

  const unknown = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'https://graph.example/.default' }, options);
  await assert.rejects(oauth.processClientCredentialsResponse(as, client, unknown), (error) => {
    assert.equal(error.error, 'invalid_resource');
    assert.equal(error.status, 400);
    return true;
  });
});

test('authorization code + PKCE: a person signs in and consents; the code redeems with the ID token checked', async () => {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: CLIENT,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: `openid profile offline_access ${FILES}Files.Read`,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await page.goto(url.href);
  await page.waitForSelector('#signin');
  await page.getByLabel('Email or user name').fill('olga@contoso.example');
  await page.getByLabel('Password').fill('olga-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('#consent');
  const before = arrivals.length;
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.waitForSelector('#landed', { timeout: 15_000 });
  assert.equal(arrivals.length, before + 1);

  const params = oauth.validateAuthResponse(as, client, arrivals[before], state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, options);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  assert.equal(claims.iss, as.issuer);
  assert.equal(claims.aud, CLIENT);
  assert.equal(claims.preferred_username, 'olga@contoso.example');
  // The v2.0 `scope` names the API as Azure AD writes it (the redemption
  // sent no scope: the App ID URI qualifies it).
  assert.equal(tokens.scope, `${FILES}Files.Read`);

  const read = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(`${api}/api/read`), undefined, undefined, apiOptions);
  assert.equal(read.status, 200);

  const refreshed = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, options));
  assert.notEqual(refreshed.access_token, tokens.access_token);
  // The spent refresh token again: reuse, refused (strict rotation here;
  // the fixture's 5 s reuse interval would answer it).
  const reused = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, options);
  await assert.rejects(oauth.processRefreshTokenResponse(as, client, reused), (error) => {
    assert.equal(error.error, 'invalid_grant');
    return true;
  });
});

test("the API's challenge is parsed by oauth4webapi's WWW-Authenticate parser", async () => {
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: `${FILES}.default` }, options);
  const { access_token } = await oauth.processClientCredentialsResponse(as, client, response);
  const [header, payload] = access_token.split('.');
  const forged = `${header}.${payload}.${'A'.repeat(342)}`;
  await assert.rejects(
    oauth.protectedResourceRequest(forged, 'GET', new URL(`${api}/api/read`), undefined, undefined, apiOptions),
    (error) => {
      assert.ok(error instanceof oauth.WWWAuthenticateChallengeError, String(error));
      assert.equal(error.status, 401);
      const [challenge] = error.cause;
      assert.equal(challenge.scheme, 'bearer');
      assert.equal(challenge.parameters.error, 'invalid_token');
      assert.equal(challenge.parameters.resource_id, FILES);
      assert.equal(challenge.parameters.authorization_uri, `${new URL(as.issuer).origin}/${TENANT}/oauth2/authorize`);
      return true;
    },
  );
});
