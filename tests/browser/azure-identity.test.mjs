// @azure/identity, unchanged, against `latchkey serve --tls-self-signed`
// (`authorityHost` and `disableInstanceDiscovery`, as its documentation
// says for a sovereign or private cloud): the correlation id it sends in
// `x-ms-client-request-id` is the one its error reports. A wrong secret
// is the real error.
//
// The credential reaches the server through `httpClient` (a documented
// option of every credential) over node:https trusting the local CA; it
// also records the headers the SDK sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationRequiredError, ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { DIRECTORY, launch } from './support.mjs';

// The Contoso test directory's tenant and its confidential web app.
const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const WEB = '2d4d11a2-f814-46a7-890a-274a72a7309e';
const WEB_SECRET = 'web-secret-0123456789-abcdefghijklmnop';
const FILES = 'https://files.contoso.example/';
// Contoso Daemon: no secret, a certificate (its key in the fixture PEM).
const DAEMON = 'c3e7d1a2-8b4f-4c6d-9e0a-1f2b3c4d5e6f';
const DAEMON_PEM = new URL('../fixtures/contoso-daemon.pem', import.meta.url).pathname;

let server;
let ca;
let base;
/** Every request the SDK sent: method, URL and headers. */
const sent = [];

/** A minimal `HttpHeaders` (core-rest-pipeline's interface). */
function headers(entries) {
  const map = new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), [v].flat().join(', ')]));
  return {
    get: (name) => map.get(name.toLowerCase()),
    has: (name) => map.has(name.toLowerCase()),
    set: (name, value) => map.set(name.toLowerCase(), String(value)),
    delete: (name) => map.delete(name.toLowerCase()),
    toJSON: () => Object.fromEntries(map),
    [Symbol.iterator]: () => map.entries(),
  };
}

/** core-rest-pipeline's `HttpClient` over node:https with the local CA. */
const httpClient = {
  sendRequest(request) {
    const requestHeaders = request.headers.toJSON();
    sent.push({ method: request.method, url: new URL(request.url), headers: requestHeaders, body: typeof request.body === 'string' ? request.body : '' });
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(request.url), { method: request.method, headers: requestHeaders, ca }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({
          request, status: res.statusCode, headers: headers(res.headers), bodyAsText: Buffer.concat(chunks).toString('utf8'),
        }));
      });
      req.on('error', reject);
      if (request.body) req.write(typeof request.body === 'string' ? request.body : String(request.body));
      req.end();
    });
  },
};

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-identity-'));
  const started = await launch(['serve', '--directory', DIRECTORY, '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--tls-self-signed'], 2);
  server = started.child;
  const [listening, trust] = started.lines;
  base = listening.match(/listening on (https:\/\/\S+)/)[1];
  ca = readFileSync(trust.match(/local CA at (\S+)/)[1]);
});

after(() => server?.kill());

const options = () => ({ authorityHost: base, disableInstanceDiscovery: true, httpClient, retryOptions: { maxRetries: 0 } });

test('ClientSecretCredential gets a token', async () => {
  const credential = new ClientSecretCredential(TENANT, WEB, WEB_SECRET, options());
  const token = await credential.getToken(`${FILES}.default`);
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url'));
  assert.equal(claims.aud, FILES);
  assert.equal(claims.azp, WEB);
});

test('a wrong secret: the error carries the x-ms-client-request-id the SDK sent', async () => {
  const credential = new ClientSecretCredential(TENANT, WEB, 'not-the-secret-0123456789-abcdefghijklm', options());
  const error = await credential.getToken(`${FILES}.default`).then(
    () => assert.fail('a wrong secret must fail'),
    (err) => err,
  );
  const token = sent.filter((r) => r.method === 'POST' && r.url.pathname.endsWith('/oauth2/v2.0/token')).at(-1);
  const correlationId = token.headers['x-ms-client-request-id'];
  assert.match(correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  // The SDK's MSAL put its own id in the query; the header comes first.
  assert.notEqual(token.url.searchParams.get('client-request-id'), correlationId);
  // @azure/identity 4.13 raises the MSAL ServerError it got as an
  // AuthenticationRequiredError carrying MSAL's message (and nothing else
  // of it): the ids are in the message.
  assert.ok(error instanceof AuthenticationRequiredError, `${error?.name}: ${error?.message}`);
  assert.ok(error.message.startsWith('invalid_client: Error(s): 7000215 - '), error.message);
  assert.ok(error.message.includes('Description: AADSTS7000215: Invalid client secret provided.'), error.message);
  assert.ok(error.message.includes(`Correlation ID: ${correlationId}`), error.message);
  assert.ok(!error.message.includes(token.url.searchParams.get('client-request-id')), 'not the query id');
});

test('ClientCertificateCredential gets a token with a PS256 assertion naming x5t#S256', async () => {
  const credential = new ClientCertificateCredential(TENANT, DAEMON, { certificatePath: DAEMON_PEM }, options());
  const token = await credential.getToken(`${FILES}.default`);
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url'));
  assert.equal(claims.azp, DAEMON);
  assert.equal(claims.azpacr, '2', 'a certificate authenticated the app');
  const request = sent.filter((r) => r.method === 'POST' && r.url.pathname.endsWith('/oauth2/v2.0/token')).at(-1);
  const assertion = new URLSearchParams(request.body).get('client_assertion');
  const header = JSON.parse(Buffer.from(assertion.split('.')[0], 'base64url'));
  assert.equal(header.alg, 'PS256');
  assert.match(header['x5t#S256'], /^[A-Za-z0-9_-]{43}$/, 'unpadded base64url SHA-256');
});

test('ClientCertificateCredential with another certificate: AADSTS700027 names its thumbprint', async () => {
  const { generateKeyPairSync, X509Certificate } = await import('node:crypto');
  // A PEM with the daemon's certificate but a key that is not its: the
  // signature cannot verify.
  const pem = readFileSync(DAEMON_PEM, 'utf8');
  const certificate = pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = privateKey.export({ type: 'pkcs8', format: 'pem' }) + certificate;
  const credential = new ClientCertificateCredential(TENANT, DAEMON, { certificate: forged }, options());
  const error = await credential.getToken(`${FILES}.default`).then(
    () => assert.fail('a key that is not the certificate\'s must fail'),
    (err) => err,
  );
  const thumbprint = new X509Certificate(certificate).fingerprint.replaceAll(':', '');
  assert.ok(error.message.includes(`AADSTS700027: Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${thumbprint}']`), error.message);
});
