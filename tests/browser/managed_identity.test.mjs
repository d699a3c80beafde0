// @azure/identity, unchanged, against `latchkey serve
// --managed-identity-listen`: ManagedIdentityCredential through the App
// Service protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER) and through IMDS
// (AZURE_POD_IDENTITY_AUTHORITY_HOST), system- and user-assigned, and an
// unknown user-assigned identity's error with the server's message.
//
// The SDK reads the environment when a credential is made, and msal-node
// keeps the managed identity source it found for the life of the process,
// so each case runs in a child `node` with exactly the environment an app
// would have.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECTORY, launch } from './support.mjs';

const TENANT = '7fe81447-da57-4385-becb-6de57f21477e';
const FILES = 'https://files.contoso.example/';
// The test directory's managed identities (tests/fixtures/directory.toml).
const WEB_HOST = 'c0ffee00-1a2b-4c3d-8e4f-5a6b7c8d9e0f';
const BATCH = 'b47c11e0-3d2a-4f5e-9a8b-7c6d5e4f3a2b';
const BATCH_PRINCIPAL = 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6';
const UNKNOWN = '0f0f0f0f-0000-4000-8000-000000000000';

let server;
/** What `serve` printed: IDENTITY_ENDPOINT, IDENTITY_HEADER, AZURE_POD_IDENTITY_AUTHORITY_HOST. */
const printed = {};

before(async () => {
  const data = mkdtempSync(join(tmpdir(), 'latchkey-mi-'));
  // The listening line, the endpoints' line, IDENTITY_ENDPOINT,
  // IDENTITY_HEADER, "or, for the IMDS protocol:", AZURE_POD_IDENTITY_AUTHORITY_HOST.
  server = await launch([
    'serve', '--directory', DIRECTORY, '--listen', '127.0.0.1:0', '--data', data,
    '--managed-identity-listen', '127.0.0.1:0', '--managed-identity-tenant', 'contoso.example',
  ], 6);
  for (const line of server.lines) {
    const match = /^\s+([A-Z_]+)=(\S+)$/.exec(line);
    if (match) printed[match[1]] = match[2];
  }
  assert.ok(printed.IDENTITY_ENDPOINT && printed.IDENTITY_HEADER && printed.AZURE_POD_IDENTITY_AUTHORITY_HOST, server.lines.join('\n'));
});

after(() => server?.child.kill());

// The child: a ManagedIdentityCredential (user-assigned when given a
// client id) and one token, or the error's name and message, as JSON.
const CHILD = `
import { ManagedIdentityCredential } from '@azure/identity';
const [clientId, scope] = process.argv.slice(1);
try {
  const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  const token = await credential.getToken(scope);
  console.log(JSON.stringify({ token: token.token }));
} catch (error) {
  console.log(JSON.stringify({ error: error.name, message: error.message }));
}
`;

/** Runs CHILD with only `env` of Azure's variables. */
function inChild(env, clientId = '') {
  const clean = Object.fromEntries(Object.entries(process.env)
    .filter(([name]) => !/^(AZURE_|IDENTITY_|MSI_|IMDS_)/.test(name)));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD, clientId, `${FILES}.default`], {
      cwd: new URL('.', import.meta.url).pathname,
      env: { ...clean, ...env },
      timeout: 60_000,
    }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

const appService = () => ({ IDENTITY_ENDPOINT: printed.IDENTITY_ENDPOINT, IDENTITY_HEADER: printed.IDENTITY_HEADER });
const imds = () => ({ AZURE_POD_IDENTITY_AUTHORITY_HOST: printed.AZURE_POD_IDENTITY_AUTHORITY_HOST });

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

function assertIdentityToken(result, clientId, principal) {
  assert.ok(result.token, JSON.stringify(result));
  const token = claims(result.token);
  assert.equal(token.appid, clientId);
  assert.equal(token.idtyp, 'app');
  assert.equal(token.appidacr, '2');
  assert.equal(token.tid, TENANT);
  assert.equal(token.aud, FILES);
  if (principal) {
    assert.equal(token.oid, principal);
    assert.equal(token.sub, principal);
  }
  return token;
}

test('App Service protocol, system-assigned', async () => {
  const token = assertIdentityToken(await inChild(appService()), WEB_HOST);
  assert.deepEqual(token.roles, ['Files.ReadAll']);
});

test('App Service protocol, user-assigned by client id', async () => {
  const token = assertIdentityToken(await inChild(appService(), BATCH), BATCH, BATCH_PRINCIPAL);
  assert.equal(token.roles, undefined);
});

test('IMDS protocol, system-assigned', async () => {
  assertIdentityToken(await inChild(imds()), WEB_HOST);
});

test('IMDS protocol, user-assigned by client id', async () => {
  assertIdentityToken(await inChild(imds(), BATCH), BATCH, BATCH_PRINCIPAL);
});

test('an unknown user-assigned identity is an error with the server\'s message', async () => {
  const result = await inChild(appService(), UNKNOWN);
  assert.equal(result.token, undefined, JSON.stringify(result));
  assert.match(result.message, /Unable to load the proper Managed Identity\./);
});
