// A peer for bench/run: GET /api/read behind Node `jose`, next to
// `latchkey demo-api` and jwt-authorizer. RS256 only, with iss, aud, exp and
// nbf checked (60 s leeway) against the authority's JWKS, and the same rule
// as the others: scope Files.Read in `scp`, or role Files.ReadAll in `roles`.
// No cache of validated tokens: jose verifies every request.
//
// WORKERS (default 2) processes of node's cluster share the port.
//
//   PORT=… JWKS_URL=… ISSUER=… AUDIENCE=… node jose-api.mjs
import cluster from 'node:cluster';
import { createServer } from 'node:http';

import { createRemoteJWKSet, jwtVerify } from 'jose';

const env = process.env;
const WORKERS = Number(env.WORKERS ?? 2);
const PORT = Number(env.PORT);

function mayRead(claims) {
  const scope = typeof claims.scp === 'string' && claims.scp.split(' ').includes('Files.Read');
  const role = Array.isArray(claims.roles) && claims.roles.includes('Files.ReadAll');
  return scope || role;
}

function answer(res, status, body, challenge) {
  const headers = { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) };
  if (challenge) headers['www-authenticate'] = challenge;
  res.writeHead(status, headers);
  res.end(body);
}

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
  const jwks = createRemoteJWKSet(new URL(env.JWKS_URL));
  const options = {
    issuer: env.ISSUER,
    audience: env.AUDIENCE,
    algorithms: ['RS256'],
    clockTolerance: 60,
  };
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/api/read') return answer(res, 404, 'not found');
    const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? '');
    if (!m) return answer(res, 401, 'unauthorized', 'Bearer error="invalid_token"');
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(m[1], jwks, options));
    } catch {
      return answer(res, 401, 'unauthorized', 'Bearer error="invalid_token"');
    }
    if (!mayRead(claims)) return answer(res, 403, 'forbidden', 'Bearer error="insufficient_scope"');
    return answer(res, 200, 'read');
  });
  server.keepAliveTimeout = 65_000;
  server.listen(PORT, '127.0.0.1', () => {
    if (cluster.isWorker) process.send('listening');
    else console.log(`ready ${PORT}`);
  });
}
