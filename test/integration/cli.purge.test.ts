import fs from 'node:fs';
import path from 'node:path';
import { createAzureBlobStore } from '../../lib/adapters/blob/azureBlobStore';
import { AZURITE_LOCK_FILE } from '../../lib/adapters/blob/azuriteLock';
import { createLocalKeyProvider } from '../../lib/adapters/keys/localKeyProvider';
import { silentLogger } from '../../lib/app/logger';
import { createServices, type Services } from '../../lib/app/services';
import { loadConfig } from '../../lib/config';
import { containerOf } from '../../lib/domain/organizations/organizations';
import { cli } from '../helpers/cli';
import { DAY_IN_MS, RETENTION_IN_MS, deliveryState, seedOrganization, seedReleasedDelivery } from '../helpers/retention';
import { azuriteConnectionString, makeTempDir } from '../helpers/testApp';

describe('npx connectid purge', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = makeTempDir();
    // A 2048-bit master key made up front keeps the test fast; the CLI adopts it.
    await createLocalKeyProvider({ directory: path.join(dataDir, 'keys'), modulusLength: 2048 }).currentKeyId();
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
    const config = loadConfig({ DATA_DIR: dataDir, BLOB_CONNECTION_STRING: azuriteConnectionString() });
    const services = await createServices(config, { log: silentLogger, blobs: createAzureBlobStore({ connectionString: azuriteConnectionString() }) });
    try {
      await services.store.migrate();
      return await work(services);
    } finally {
      await services.close();
    }
  }

  test('purges what expired, keeps the rest, and --json prints the counts', async () => {
    const { expired, live, organizationId } = await withServices(async (services) => {
      const organizationId = await seedOrganization(services);
      const now = Date.now();
      return {
        organizationId,
        expired: await seedReleasedDelivery(services, { organizationId, releasedAt: now - RETENTION_IN_MS - DAY_IN_MS, items: ['a', 'b'] }),
        live: await seedReleasedDelivery(services, { organizationId, releasedAt: now - DAY_IN_MS }),
      };
    });

    const result = await cli(['purge', '--json'], { DATA_DIR: dataDir, BLOB_CONNECTION_STRING: azuriteConnectionString() });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      deliveriesPurged: 1,
      draftsAbandoned: 0,
      itemsShredded: 2,
      blobsDeleted: 2,
      orphanBlobsDeleted: 0,
      tokensSwept: 0,
      sessionsSwept: 0,
      challengesSwept: 0,
      throttleSwept: 0,
      idempotencySwept: 0,
      complete: true,
    });
    await withServices(async (services) => {
      expect((await deliveryState(services, expired)).status).toBe('purged');
      expect((await deliveryState(services, live)).items).toEqual([{ hasKey: true, destroyedAt: null, hasBlob: true }]);
      await services.blobs.deleteContainer(containerOf(organizationId));
    });
  });

  test('refuses, saying what to do, while the dev host runs the embedded Azurite on the same DATA_DIR', async () => {
    // The jest parent process stands in for a running `npm start`: what matters is that the pid is alive.
    fs.writeFileSync(path.join(dataDir, AZURITE_LOCK_FILE), `${process.ppid}\n`);

    const result = await cli(['purge', '--json'], { DATA_DIR: dataDir });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('stop npm start first, or set BLOB_CONNECTION_STRING');
    expect(fs.readFileSync(path.join(dataDir, AZURITE_LOCK_FILE), 'utf8')).toBe(`${process.ppid}\n`);
  });

  test('with embedded Azurite and a lock left by a process that is gone, it starts its own Azurite on DATA_DIR', async () => {
    fs.writeFileSync(path.join(dataDir, AZURITE_LOCK_FILE), '2147483646\n');

    const result = await cli(['purge', '--json'], { DATA_DIR: dataDir });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ deliveriesPurged: 0, complete: true });
    expect(fs.existsSync(path.join(dataDir, 'azurite'))).toBe(true);
    // Released on the way out.
    expect(fs.existsSync(path.join(dataDir, AZURITE_LOCK_FILE))).toBe(false);
  });
});
