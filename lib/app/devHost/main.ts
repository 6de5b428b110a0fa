/**
 * `npm start`: the whole API on embedded defaults (or on whatever Azure settings are present), in one command.
 */
import { createAzureBlobStore } from '../../adapters/blob/azureBlobStore';
import { startAzurite, type RunningAzurite } from '../../adapters/blob/azurite';
import { acquireAzuriteLock, AzuriteLockedError } from '../../adapters/blob/azuriteLock';
import { ConfigError, loadConfig } from '../../config';
import { routes, timers } from '../routeTable';
import { createServices, type ServiceOverrides } from '../services';
import { startDevHost } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  for (const warning of config.warnings) console.warn(`\u001b[33mWARNING: ${warning}\u001b[0m`);

  let azurite: RunningAzurite | undefined;
  const overrides: { -readonly [K in keyof ServiceOverrides]: ServiceOverrides[K] } = {};
  if (config.blob.kind === 'azurite-embedded') {
    // CLI commands that need blobs (npx connectid purge) check this lock instead of starting a second Azurite here.
    const azuriteLock = acquireAzuriteLock(config.dataDir);
    // Released on every exit (stop, failed start); a killed process leaves its dead pid, which the next taker replaces.
    process.on('exit', () => azuriteLock.release());
    azurite = await startAzurite({ location: config.blob.location, preferredPort: 10000 });
    overrides.blobs = createAzureBlobStore({ connectionString: azurite.connectionString });
    console.log(`Azurite (blob) on port ${azurite.port}, data in ${config.blob.location}`);
    console.log(`  CLI commands that need blobs while this runs: BLOB_CONNECTION_STRING='${azurite.connectionString}'`);
  }
  const services = await createServices(config, overrides);
  const applied = await services.store.migrate();
  if (applied.length > 0) console.log(`Applied migrations: ${applied.join(', ')}`);
  // First run creates the master key and the column key; later runs just load them.
  await services.keyHierarchy.columnCipher();

  const outbox = services.mailer as { list?: () => Promise<unknown> };
  const smsOutbox = services.sms as { list?: () => Promise<unknown> };
  const host = await startDevHost({
    services,
    routes,
    timers,
    port: config.port,
    devRoutes: {
      ...(outbox.list ? { '/_dev/outbox': () => outbox.list!() } : {}),
      ...(smsOutbox.list ? { '/_dev/sms-outbox': () => smsOutbox.list!() } : {}),
    },
  });
  console.log(`Connectid dev host listening on ${host.url}`);
  console.log(`  API docs:   ${host.url}/docs`);
  console.log(`  OpenAPI:    ${host.url}/openapi.json`);
  if (outbox.list) console.log(`  Mail outbox: ${host.url}/_dev/outbox (files in ${config.dataDir}/outbox)`);
  if (smsOutbox.list) console.log(`  SMS outbox:  ${host.url}/_dev/sms-outbox (files in ${config.dataDir}/sms-outbox)`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await host.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else if (error instanceof AzuriteLockedError) console.error(`${error.message} (npx connectid purge, or another npm start): stop it first, or use another DATA_DIR.`);
  else console.error('Connectid failed to start:', error instanceof Error ? error.stack : error);
  process.exit(1);
});
