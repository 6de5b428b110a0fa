/**
 * DESIGN §8: an authenticated read (JWT verify + session and key checks + row fetch, here GET /v1/me) should
 * reach ≥ 0.5 × the requests/s of GET /health on the same host, with p99 under 25 ms at 50 connections.
 * Both are measured in one run against the dev host on the embedded stack, and printed as a ratio.
 *
 *   npm run bench:auth            (DURATION_SECONDS, CONNECTIONS to change the load)
 */
import autocannon from 'autocannon';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAzureBlobStore } from '../lib/adapters/blob/azureBlobStore';
import { startAzurite } from '../lib/adapters/blob/azurite';
import { startDevHost } from '../lib/app/devHost/server';
import { silentLogger } from '../lib/app/logger';
import { routes } from '../lib/app/routeTable';
import { createServices } from '../lib/app/services';
import { loadConfig } from '../lib/config';
import { inviteOperator, acceptInvite } from '../lib/domain/accounts/invitations';
import { passwordGrant } from '../lib/domain/auth/login';

const DURATION_SECONDS = Number(process.env.DURATION_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);

async function measure(url: string, headers: Record<string, string>) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_SECONDS, headers });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { requestsPerSecond: result.requests.average, p99InMs: result.latency.p99 };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-bench-'));
  const azurite = await startAzurite({ extentMemoryLimitInMiB: 256 });
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', BLOB_CONNECTION_STRING: azurite.connectionString });
  const services = await createServices(config, { log: silentLogger, blobs: createAzureBlobStore({ connectionString: azurite.connectionString }) });
  await services.store.migrate();
  await services.keyHierarchy.columnCipher();
  const host = await startDevHost({ services, routes, port: 0 });
  try {
    const { token } = await inviteOperator(services, { email: 'bench@connectid.example' });
    await acceptInvite(services, { token, password: 'a long benchmark passphrase' });
    const tokens = await passwordGrant(services, { username: 'bench@connectid.example', password: 'a long benchmark passphrase', scope: null, client: null, ip: '127.0.0.1' });

    // Warm both paths (JIT, statement cache, key caches) before measuring.
    await autocannon({ url: `${host.url}/health`, connections: 10, duration: 2 });
    await autocannon({ url: `${host.url}/v1/me`, connections: 10, duration: 2, headers: { authorization: `Bearer ${tokens.access_token}` } });

    const health = await measure(`${host.url}/health`, {});
    const read = await measure(`${host.url}/v1/me`, { authorization: `Bearer ${tokens.access_token}` });
    const ratio = read.requestsPerSecond / health.requestsPerSecond;
    console.log(`Authenticated read benchmark — ${CONNECTIONS} connections, ${DURATION_SECONDS} s each, ${os.cpus().length} cores`);
    console.log(`  GET /health  ${health.requestsPerSecond.toFixed(0).padStart(7)} req/s   p99 ${health.p99InMs} ms`);
    console.log(`  GET /v1/me   ${read.requestsPerSecond.toFixed(0).padStart(7)} req/s   p99 ${read.p99InMs} ms`);
    console.log(`  ratio ${ratio.toFixed(2)} (budget ≥ 0.50): ${ratio >= 0.5 ? 'within' : 'OVER'} budget; p99 ${read.p99InMs} ms (budget < 25 ms): ${read.p99InMs < 25 ? 'within' : 'OVER'} budget`);
  } finally {
    await host.close();
    await services.close();
    await azurite.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
