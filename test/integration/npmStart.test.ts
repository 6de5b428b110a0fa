/**
 * `npm start` as a user runs it: the compiled dev host starts its own Azurite under DATA_DIR, serves the API,
 * keeps its data across a restart, and stops Azurite when it stops. And the compiled Functions entry (what Azure
 * loads on a cold start) pulls in no heavy adapter until a request needs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../lib/adapters/blob/azurite';
import { AZURITE_LOCK_FILE } from '../../lib/adapters/blob/azuriteLock';
import { makeTempDir } from '../helpers/testApp';

const root = path.resolve(__dirname, '../..');
const main = path.join(root, 'dist/lib/app/devHost/main.js');

beforeAll(() => {
  // `npm start` builds first (prestart); do the same so this test runs the code under test, not a stale build.
  const build = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
}, 120_000);

async function start(dataDir: string, port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [main], { cwd: root, env: { ...process.env, DATA_DIR: dataDir, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('listening on')) {
    if (child.exitCode !== null) throw new Error(`dev host exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`dev host did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

test('npm start serves /health, /docs and /openapi.json on embedded defaults, keeps its data, and stops cleanly', async () => {
  const dataDir = makeTempDir();
  const port = await freePort();
  try {
    const first = await start(dataDir, port);
    const azuritePort = Number(/Azurite \(blob\) on port (\d+)/.exec(first.output())?.[1]);
    expect(azuritePort).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/docs`)).headers.get('content-type')).toContain('text/html');
    expect((await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()).openapi).toBe('3.1.0');
    expect((await fetch(`http://127.0.0.1:${port}/_dev/outbox`)).status).toBe(200);
    // Its Azurite is claimed, so `npx connectid purge` on this DATA_DIR does not start a second one on the same files.
    expect(fs.readFileSync(path.join(dataDir, AZURITE_LOCK_FILE), 'utf8').trim()).toBe(String(first.child.pid));
    expect(await stop(first.child)).toBe(0);
    // Azurite went down with it, and the claim with them.
    await expect(fetch(`http://127.0.0.1:${azuritePort}/`)).rejects.toThrow();
    expect(fs.existsSync(path.join(dataDir, AZURITE_LOCK_FILE))).toBe(false);

    const keysBefore = fs.readFileSync(path.join(dataDir, 'keys', 'keys.json'), 'utf8');
    const second = await start(dataDir, port);
    expect(second.output()).not.toContain('Applied migrations');
    expect(fs.readFileSync(path.join(dataDir, 'keys', 'keys.json'), 'utf8')).toBe(keysBefore);
    expect(fs.existsSync(path.join(dataDir, 'azurite'))).toBe(true);
    expect(await stop(second.child)).toBe(0);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

test('loading the Functions entry module loads only the light packages: every adapter waits for first use', () => {
  const probe = `
    require(${JSON.stringify(path.join(root, 'dist/lib/app/azureEntry.js'))});
    const packages = new Set();
    for (const file of Object.keys(require.cache)) {
      const inside = file.split('node_modules/')[1];
      if (!inside) continue;
      const parts = inside.split('/');
      packages.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
    }
    process.stdout.write('\\n' + JSON.stringify([...packages].sort()) + '\\n');`;
  const run = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  expect(run.status).toBe(0);
  const packages = JSON.parse(run.stdout.trim().split('\n').pop()!) as string[];
  // The Functions library, the schemas (route validation) and token verification; bench/coldStart.ts times it.
  expect(packages).toEqual(['@azure/functions', '@azure/functions-extensions-base', 'cookie', 'jose', 'zod']);
});
