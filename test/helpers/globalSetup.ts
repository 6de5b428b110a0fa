/**
 * One in-memory Azurite for the whole test run; workers inherit its connection string through the
 * environment. Tests isolate themselves by container name.
 */
import { startAzurite } from '../../lib/adapters/blob/azurite';

export default async function globalSetup(): Promise<void> {
  const azurite = await startAzurite({ extentMemoryLimitInMiB: 1024 });
  process.env.TEST_AZURITE_CONNECTION_STRING = azurite.connectionString;
  (globalThis as { __azurite?: typeof azurite }).__azurite = azurite;
}
