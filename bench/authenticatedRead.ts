/**
 * DESIGN §8: an authenticated read (JWT verify + session and key checks + row fetch, here GET /v1/me) should
 * reach ≥ 0.5 × the requests/s of GET /health on the same host, with p99 under 25 ms at 50 connections.
 * Both are measured in one run against the dev host on the embedded stack, and printed as a ratio.
 *
 *   npm run bench:auth            (DURATION_SECONDS, CONNECTIONS to change the load)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
import { TOTP, Secret } from 'otpauth';
import { inviteOperator, acceptInvite } from '../lib/domain/accounts/invitations';
import type { Clock } from '../lib/ports';

const DURATION_SECONDS = Number(process.env.DURATION_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);

/** Real time, plus an offset the bench moves forward so each TOTP code falls in a fresh 30-second step. */
class SteppingClock implements Clock {
  private offsetInMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetInMs);
  }
  nextTotpStep(): void {
    this.offsetInMs += 30_000;
  }
}

/** Signs in over HTTP the way a client does: password, TOTP enrollment on first sign-in, then the MFA grant. */
async function signIn(baseUrl: string, clock: SteppingClock, email: string, password: string): Promise<string> {
  const token = async (parameters: Record<string, string>) => {
    const response = await fetch(`${baseUrl}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(parameters).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };
  const code = (secret: string) => {
    clock.nextTotpStep();
    return new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: clock.now().getTime() });
  };
  const enrollment = await token({ grant_type: 'password', username: email, password });
  if (enrollment.body.error !== 'mfa_enrollment_required') throw new Error(`expected enrollment: ${JSON.stringify(enrollment.body)}`);
  const headers = { Authorization: `Bearer ${enrollment.body.enrollment_token}`, 'Content-Type': 'application/json' };
  const factor = (await (await fetch(`${baseUrl}/v1/me/factors`, { method: 'POST', headers, body: JSON.stringify({ type: 'totp', label: 'bench' }) })).json()) as { id: string; otpauthUri: string };
  const secret = new URL(factor.otpauthUri).searchParams.get('secret')!;
  await fetch(`${baseUrl}/v1/me/factors/${factor.id}/verify`, { method: 'POST', headers, body: JSON.stringify({ code: code(secret) }) });
  const challenge = await token({ grant_type: 'password', username: email, password });
  const tokens = await token({ grant_type: 'urn:connectid:params:oauth:grant-type:mfa', mfa_token: String(challenge.body.mfa_token), factor_id: factor.id, code: code(secret) });
  if (tokens.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(tokens.body)}`);
  return tokens.body.access_token as string;
}

/**
 * autocannon runs in its own process, so the load generator and the host under test each get a core instead of
 * sharing one event loop (which would measure autocannon as much as the host).
 */
async function measure(url: string, headers: Record<string, string>, options = { connections: CONNECTIONS, durationInSeconds: DURATION_SECONDS }) {
  const args = [require.resolve('autocannon/autocannon.js'), '--json', '-c', String(options.connections), '-d', String(options.durationInSeconds)];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  const { stdout } = await promisify(execFile)(process.execPath, [...args, url], { maxBuffer: 16 * 1024 * 1024 });
  const result = JSON.parse(stdout) as { non2xx: number; errors: number; requests: { average: number }; latency: { p99: number } };
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { requestsPerSecond: result.requests.average, p99InMs: result.latency.p99 };
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-bench-'));
  const azurite = await startAzurite({ extentMemoryLimitInMiB: 256 });
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', BLOB_CONNECTION_STRING: azurite.connectionString });
  const clock = new SteppingClock();
  const services = await createServices(config, { clock, log: silentLogger, blobs: createAzureBlobStore({ connectionString: azurite.connectionString }) });
  await services.store.migrate();
  await services.keyHierarchy.columnCipher();
  const host = await startDevHost({ services, routes, port: 0 });
  try {
    const { token } = await inviteOperator(services, { email: 'bench@connectid.example' });
    await acceptInvite(services, { token, password: 'a long benchmark passphrase' });
    const accessToken = await signIn(host.url, clock, 'bench@connectid.example', 'a long benchmark passphrase');

    // Warm both paths (JIT, statement cache, key caches) before measuring.
    await measure(`${host.url}/health`, {}, { connections: 10, durationInSeconds: 2 });
    await measure(`${host.url}/v1/me`, { authorization: `Bearer ${accessToken}` }, { connections: 10, durationInSeconds: 2 });

    const health = await measure(`${host.url}/health`, {});
    const read = await measure(`${host.url}/v1/me`, { authorization: `Bearer ${accessToken}` });
    const ratio = read.requestsPerSecond / health.requestsPerSecond;
    console.log(`Authenticated read benchmark — ${CONNECTIONS} connections, ${DURATION_SECONDS} s each, ${os.cpus().length} cores, load generator in its own process`);
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
