/**
 * `npx connectid purge`: the hourly purge (lib/domain/retention/purge.ts), run now. It needs blob storage: with
 * the embedded defaults it starts Azurite on DATA_DIR/azurite for the duration of the command — unless the dev
 * host already runs one there, because two Azurite processes on one directory would corrupt each other's data.
 */
import { createAzureBlobStore } from '../adapters/blob/azureBlobStore';
import { startAzurite } from '../adapters/blob/azurite';
import { acquireAzuriteLock, AzuriteLockedError } from '../adapters/blob/azuriteLock';
import { silentLogger } from '../app/logger';
import { createServices } from '../app/services';
import type { Config } from '../config';
import type { BlobStore } from '../ports';
import type { Command } from './commands';
import { CliError } from './errors';

export const purgeCommand: Command = {
  summary: 'Purge expired deliveries now (destroy data keys, delete blobs, write deletion receipts); sweep expired tokens, sessions, uploads',
  options: {},
  async run(config) {
    const { purgeExpired } = await import('../domain/retention/purge');
    const report = await withBlobStore(config, async (blobs) => {
      const services = await createServices(config, { log: silentLogger, ...(blobs ? { blobs } : {}) });
      try {
        await services.store.migrate();
        return await purgeExpired(services);
      } finally {
        await services.close();
      }
    });
    const text = [
      `Purged ${report.deliveriesPurged} expired deliveries and ${report.draftsAbandoned} abandoned drafts: ${report.itemsShredded} data keys destroyed, ${report.blobsDeleted} blobs deleted`,
      `Swept ${report.orphanBlobsDeleted} abandoned uploads, ${report.tokensSwept} one-time tokens, ${report.sessionsSwept} sessions, ` +
        `${report.challengesSwept} MFA challenges, ${report.idempotencySwept} idempotency records, ${report.throttleSwept} throttle counters`,
      report.complete ? 'Nothing expired is left.' : 'Stopped at the time limit with work left: run it again to continue.',
    ].join('\n');
    return { text, json: { ...report } };
  },
};

/** Runs `work` with the blob store to use: an override for embedded Azurite, or undefined for the configured one. */
async function withBlobStore<T>(config: Config, work: (blobs: BlobStore | undefined) => Promise<T>): Promise<T> {
  if (config.blob.kind !== 'azurite-embedded') return work(undefined);
  let lock;
  try {
    lock = acquireAzuriteLock(config.dataDir);
  } catch (error) {
    if (!(error instanceof AzuriteLockedError)) throw error;
    throw new CliError(
      `The dev host (process ${error.pid}) runs the embedded Azurite on ${config.dataDir}: ` +
        'stop npm start first, or set BLOB_CONNECTION_STRING to its Azurite (printed at start)',
    );
  }
  try {
    const azurite = await startAzurite({ location: config.blob.location });
    try {
      return await work(createAzureBlobStore({ connectionString: azurite.connectionString }));
    } finally {
      await azurite.stop();
    }
  } finally {
    lock.release();
  }
}
