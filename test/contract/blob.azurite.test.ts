import { createAzureBlobStore } from '../../lib/adapters/blob/azureBlobStore';
import { describeBlobStoreContract } from './blobStoreContract';

const connectionString = process.env.TEST_AZURITE_CONNECTION_STRING;
if (!connectionString) throw new Error('TEST_AZURITE_CONNECTION_STRING is set by test/helpers/globalSetup.ts');

describeBlobStoreContract('Azure Blob adapter on Azurite', () => createAzureBlobStore({ connectionString }));
