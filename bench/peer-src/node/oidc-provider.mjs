// A peer for bench/run: node-oidc-provider configured for the same work as
// Latchkey's bench. One confidential client (client_secret_post) doing
// client_credentials; through resource indicators (RFC 8707) its access
// tokens for the resource are JWTs signed RS256 with the key in BENCH_KEY.
//
// WORKERS (default 2, one per core) processes of node's cluster share the
// port: node is single-threaded, so this is how one deploys it on 2 cores.
//
//   PORT=… BENCH_CLIENT_ID=… BENCH_CLIENT_SECRET=… BENCH_RESOURCE=… \
//   BENCH_KEY=key.pem node oidc-provider.mjs
import cluster from 'node:cluster';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const env = process.env;
const WORKERS = Number(env.WORKERS ?? 2);
const PORT = Number(env.PORT);

if (cluster.isPrimary && WORKERS > 1) {
  for (let i = 0; i < WORKERS; i += 1) cluster.fork();
  let ready = 0;
  cluster.on('message', (_, msg) => {
    if (msg === 'listening' && (ready += 1) === WORKERS) console.log(`ready ${PORT}`);
  });
  cluster.on('exit', (worker, code) => {
    console.error(`worker ${worker.process.pid} exited (${code})`);
    process.exit(1);
  });
  const stop = () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const jwk = createPrivateKey(readFileSync(env.BENCH_KEY)).export({ format: 'jwk' });
  const RESOURCE = env.BENCH_RESOURCE;
  const provider = new Provider(env.ISSUER ?? `http://127.0.0.1:${PORT}`, {
    clients: [{
      client_id: env.BENCH_CLIENT_ID,
      client_secret: env.BENCH_CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    ttl: { ClientCredentials: 3600 },
    jwks: { keys: [{ ...jwk, kid: 'bench', use: 'sig', alg: 'RS256' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: 'Files.ReadAll',
            audience: RESOURCE,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  // Errors are answered, not logged to the console (Latchkey logs them to a
  // buffered file; console.error per request would cost node more).
  provider.on('server_error', (ctx, err) => console.error(err));
  provider.listen(PORT, '127.0.0.1', () => {
    if (cluster.isWorker) process.send('listening');
    else console.log(`ready ${PORT}`);
  });
}
