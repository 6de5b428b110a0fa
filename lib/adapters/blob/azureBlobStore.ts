/**
 * BlobStore on Azure Blob Storage: a connection string for Azurite, an account URL with a managed identity
 * (DefaultAzureCredential) in Azure.
 */
import type { Readable } from 'node:stream';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { BlobListing, BlobProperties, BlobStore, ByteRange } from '../../ports';

export type AzureBlobStoreOptions =
  | { readonly connectionString: string }
  | { readonly accountUrl: string; readonly credential?: TokenCredential };

/** Block size of streamed uploads; with two blocks in flight an upload holds about 8 MiB, whatever its size. */
const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 2;

export function createAzureBlobStore(options: AzureBlobStoreOptions): BlobStore {
  const service =
    'connectionString' in options
      ? BlobServiceClient.fromConnectionString(options.connectionString)
      : new BlobServiceClient(options.accountUrl, options.credential ?? new DefaultAzureCredential());

  const containerClient = (container: string): ContainerClient => service.getContainerClient(checkContainerName(container));
  const blobClient = (container: string, name: string) => containerClient(container).getBlockBlobClient(checkBlobName(name));

  return {
    async createContainer(container) {
      // No `access` option: the container stays private (no anonymous reads).
      await containerClient(container).createIfNotExists();
    },

    async deleteContainer(container) {
      await containerClient(container).deleteIfExists();
    },

    async upload(container, name, body, uploadOptions = {}) {
      const metadata = uploadOptions.metadata ?? {};
      checkMetadata(metadata);
      const client = blobClient(container, name);
      let size = 0;
      try {
        // uploadStream stages blocks and commits the block list only after the stream ended, so a stream
        // that errors part-way commits nothing (staged blocks are garbage-collected by the service).
        await client.uploadStream(body, UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY, {
          metadata,
          onProgress: (progress) => (size = progress.loadedBytes),
        });
      } catch (error) {
        // The SDK only pauses the source on failure; release whatever feeds it (e.g. an HTTP request).
        if (!body.destroyed) body.destroy();
        throw error;
      }
      return { size };
    },

    async download(container, name, range?: ByteRange) {
      const client = blobClient(container, name);
      if (range) checkRange(range);
      try {
        const response = await client.download(range?.offset ?? 0, range?.count);
        const stream = response.readableStreamBody;
        if (!stream) throw new Error('Blob download returned no body (not running on Node?)');
        return stream as Readable;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async getProperties(container, name): Promise<BlobProperties | null> {
      const client = blobClient(container, name);
      try {
        const properties = await client.getProperties();
        return {
          size: properties.contentLength ?? 0,
          metadata: properties.metadata ?? {},
          createdOn: properties.createdOn ?? new Date(0),
        };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },

    async delete(container, name) {
      // A missing container is as good as a missing blob.
      try {
        await blobClient(container, name).deleteIfExists({ deleteSnapshots: 'include' });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },

    async *list(container, prefix): AsyncIterable<BlobListing> {
      const client = containerClient(container);
      try {
        for await (const blob of client.listBlobsFlat(prefix === undefined ? {} : { prefix })) {
          yield {
            name: blob.name,
            size: blob.properties.contentLength ?? 0,
            createdOn: blob.properties.createdOn ?? new Date(0),
          };
        }
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
  };
}

function isNotFound(error: unknown): boolean {
  const { statusCode, code } = (error ?? {}) as { statusCode?: number; code?: string };
  return statusCode === 404 || code === 'BlobNotFound' || code === 'ContainerNotFound';
}

// Names are validated here rather than left to the service: a bad name is a programmer error, and some
// (".." segments, leading "/") would otherwise be silently rewritten by URL normalisation.

const CONTAINER_NAME = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

export function checkContainerName(container: string): string {
  if (typeof container !== 'string' || container.length < 3 || container.length > 63) {
    throw new RangeError('A container name has 3 to 63 characters');
  }
  if (!CONTAINER_NAME.test(container)) {
    throw new TypeError('A container name holds lowercase letters, digits and single dashes, starting and ending with a letter or digit');
  }
  return container;
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f-\u009f\\]/;

export function checkBlobName(name: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024) {
    throw new RangeError('A blob name has 1 to 1024 characters');
  }
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) {
    throw new TypeError('A blob name may not start with "/" or end with "/" or "."');
  }
  if (name.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new TypeError('A blob name may not contain "." or ".." segments');
  }
  // Backslashes count too: URL parsers treat them as "/".
  if (CONTROL_OR_BACKSLASH.test(name)) throw new TypeError('A blob name may not contain control characters or "\\"');
  return name;
}

// Metadata travels as HTTP headers: the service wants C# identifiers as keys, and Node lowercases header
// names on the way back, so only lowercase keys and printable ASCII values round-trip unchanged.
const METADATA_KEY = /^[a-z_][a-z0-9_]*$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;

function checkMetadata(metadata: Record<string, string>): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(key)) throw new TypeError(`Metadata key "${key}" must be a lowercase identifier`);
    if (typeof value !== 'string' || !METADATA_VALUE.test(value)) {
      throw new TypeError(`Metadata "${key}" must be printable ASCII`);
    }
  }
}

function checkRange(range: ByteRange): void {
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) throw new RangeError('range.offset must be a whole number ≥ 0');
  // The SDK reads a count of 0 as "to the end", so it is refused rather than misread.
  if (range.count !== undefined && (!Number.isSafeInteger(range.count) || range.count < 1)) {
    throw new RangeError('range.count must be a whole number ≥ 1');
  }
}
