/**
 * The whole app on real local parts for a test: SQLite in a temp directory, the shared in-memory Azurite
 * (started by globalSetup), local key files, and an outbox. Time can be frozen and moved with the FakeClock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAzureBlobStore } from '../../lib/adapters/blob/azureBlobStore';
import { createLocalKeyProvider } from '../../lib/adapters/keys/localKeyProvider';
import { startDevHost, type DevHost } from '../../lib/app/devHost/server';
import { silentLogger } from '../../lib/app/logger';
import { routes as appRoutes } from '../../lib/app/routeTable';
import { createServices, type ServiceOverrides, type Services } from '../../lib/app/services';
import { loadConfig, type Env } from '../../lib/config';
import type { RouteDefinition } from '../../lib/http/route';
import type { Clock } from '../../lib/ports';

export class FakeClock implements Clock {
  constructor(private current = new Date('2026-11-21T10:00:00Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(milliseconds: number): void {
    this.current = new Date(this.current.getTime() + milliseconds);
  }
  set(date: Date): void {
    this.current = new Date(date);
  }
}

export function azuriteConnectionString(): string {
  const connectionString = process.env.TEST_AZURITE_CONNECTION_STRING;
  if (!connectionString) throw new Error('globalSetup did not start Azurite');
  return connectionString;
}

export function makeTempDir(prefix = 'connectid-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestApp {
  readonly services: Services;
  readonly dataDir: string;
  readonly clock: FakeClock;
  readonly host: DevHost;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `routes` replaces the route table; `extraRoutes` adds definitions not yet in it (by name), so a feature's tests
 * can run before its routes are registered, and keep running after. `port` fixes the dev host's port (default: any
 * free one), for tests that must name the app's URL before it starts (e.g. a redirect URI registered at a provider).
 */
export async function startTestApp(
  options: { env?: Env; routes?: readonly RouteDefinition[]; extraRoutes?: readonly RouteDefinition[]; overrides?: ServiceOverrides; port?: number } = {},
): Promise<TestApp> {
  const dataDir = makeTempDir();
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', BLOB_CONNECTION_STRING: azuriteConnectionString(), ...options.env });
  const clock = new FakeClock();
  const services = await createServices(config, {
    clock,
    log: silentLogger,
    blobs: createAzureBlobStore({ connectionString: azuriteConnectionString() }),
    // 2048-bit keys keep test start-up fast; the key provider's own tests create a real 4096-bit key.
    keys: createLocalKeyProvider({ directory: path.join(dataDir, 'keys'), modulusLength: 2048 }),
    ...options.overrides,
  });
  await services.store.migrate();
  await services.keyHierarchy.columnCipher();
  const base = options.routes ?? appRoutes;
  const extra = (options.extraRoutes ?? []).filter((route) => !base.some((known) => known.name === route.name));
  // No timers: tests run the purge themselves, with the fake clock, instead of at the top of a real hour.
  const host = await startDevHost({ services, routes: [...base, ...extra], port: options.port ?? 0 });
  return {
    services,
    dataDir,
    clock,
    host,
    url: host.url,
    close: async () => {
      await host.close();
      await services.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
