/**
 * The BlobStore contract: every adapter passes the same suite (Azurite always, Azure Blob when configured).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from '../../lib/ports';

const MiB = 1024 * 1024;

export function describeBlobStoreContract(name: string, make: () => BlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    const created: string[] = [];

    /** A fresh, private container per test, so tests never see each other's blobs. */
    async function newContainer(): Promise<string> {
      const container = `contract-${randomBytes(8).toString('hex')}`;
      await store.createContainer(container);
      created.push(container);
      return container;
    }

    beforeAll(() => {
      store = make();
    });

    afterAll(async () => {
      await Promise.all(created.map((container) => store.deleteContainer(container)));
    });

    it('streams ~10 MB up and down unchanged, reporting the size', async () => {
      const container = await newContainer();
      const size = 10 * MiB + 12_345;
      const { stream, sha256 } = randomStream(size);

      const result = await store.upload(container, 'big.bin', stream);

      expect(result.size).toBe(size);
      const downloaded = await store.download(container, 'big.bin');
      expect(downloaded).not.toBeNull();
      expect(await sha256Of(downloaded!)).toBe(sha256());
      expect((await store.getProperties(container, 'big.bin'))?.size).toBe(size);
    });

    it('uploads an empty stream as an empty blob', async () => {
      const container = await newContainer();
      expect(await store.upload(container, 'empty', Readable.from([]))).toEqual({ size: 0 });
      expect(await readAll((await store.download(container, 'empty'))!)).toEqual(Buffer.alloc(0));
    });

    it('reads a byte range from the middle and from an offset to the end', async () => {
      const container = await newContainer();
      const bytes = randomBytes(300_000);
      await store.upload(container, 'ranged', Readable.from([bytes]));

      const middle = await store.download(container, 'ranged', { offset: 100_000, count: 65_536 });
      expect(await readAll(middle!)).toEqual(bytes.subarray(100_000, 165_536));
      const tail = await store.download(container, 'ranged', { offset: 299_000 });
      expect(await readAll(tail!)).toEqual(bytes.subarray(299_000));
    });

    it('answers null for a missing blob and for a missing container', async () => {
      const container = await newContainer();
      expect(await store.download(container, 'missing')).toBeNull();
      expect(await store.getProperties(container, 'missing')).toBeNull();
      expect(await store.download('contract-never-created', 'missing')).toBeNull();
      expect(await store.getProperties('contract-never-created', 'missing')).toBeNull();
    });

    it('keeps metadata, size and creation time as properties', async () => {
      const container = await newContainer();
      const before = Date.now();
      await store.upload(container, 'with-metadata', Readable.from([Buffer.from('hello')]), {
        metadata: { content_type: 'text/plain', item_id: 'abc123' },
      });

      const properties = await store.getProperties(container, 'with-metadata');

      expect(properties?.size).toBe(5);
      expect(properties?.metadata).toEqual({ content_type: 'text/plain', item_id: 'abc123' });
      // Generous bound: server and test clocks may differ a little.
      expect(properties!.createdOn.getTime()).toBeGreaterThan(before - 5 * 60_000);
    });

    it('replaces a blob uploaded again under the same name', async () => {
      const container = await newContainer();
      await store.upload(container, 'same', Readable.from([Buffer.from('first')]));
      await store.upload(container, 'same', Readable.from([Buffer.from('second')]));
      expect((await readAll((await store.download(container, 'same'))!)).toString()).toBe('second');
    });

    it('deletes idempotently, even in a missing container', async () => {
      const container = await newContainer();
      await store.upload(container, 'doomed', Readable.from([Buffer.from('x')]));

      await store.delete(container, 'doomed');
      await store.delete(container, 'doomed');
      await store.delete('contract-never-created', 'doomed');

      expect(await store.getProperties(container, 'doomed')).toBeNull();
    });

    it('lists blobs flat, filtered by prefix, and lists nothing for a missing container', async () => {
      const container = await newContainer();
      for (const blobName of ['a/1', 'a/2', 'a/deep/3', 'b/1']) {
        await store.upload(container, blobName, Readable.from([Buffer.from(blobName)]));
      }

      const underA = await collect(store.list(container, 'a/'));
      expect(underA.map((blob) => blob.name).sort()).toEqual(['a/1', 'a/2', 'a/deep/3']);
      expect(underA.find((blob) => blob.name === 'a/deep/3')?.size).toBe(8);
      expect(underA.every((blob) => blob.createdOn instanceof Date)).toBe(true);
      expect((await collect(store.list(container))).length).toBe(4);
      expect(await collect(store.list('contract-never-created'))).toEqual([]);
    });

    it('creates and deletes containers idempotently', async () => {
      const container = await newContainer();
      await store.createContainer(container);
      await store.upload(container, 'still-here', Readable.from([Buffer.from('x')]));
      await store.createContainer(container);
      expect(await store.getProperties(container, 'still-here')).not.toBeNull();

      await store.deleteContainer(container);
      await store.deleteContainer(container);
      expect(await store.getProperties(container, 'still-here')).toBeNull();
    });

    it('when the source stream fails half-way, no blob is left under that name', async () => {
      const container = await newContainer();

      await expect(store.upload(container, 'broken', failingStream(6 * MiB))).rejects.toThrow('source failed');

      expect(await store.getProperties(container, 'broken')).toBeNull();
      expect(await collect(store.list(container))).toEqual([]);
    });

    it('when the source stream fails, an existing blob of that name is left as it was', async () => {
      const container = await newContainer();
      await store.upload(container, 'kept', Readable.from([Buffer.from('original')]));

      await expect(store.upload(container, 'kept', failingStream(5 * MiB))).rejects.toThrow('source failed');

      expect((await readAll((await store.download(container, 'kept'))!)).toString()).toBe('original');
    });

    it('refuses an upload into a missing container and releases the source stream', async () => {
      const source = Readable.from([Buffer.from('orphan')]);

      await expect(store.upload(`contract-missing-${randomBytes(4).toString('hex')}`, 'x', source)).rejects.toThrow();

      expect(source.destroyed).toBe(true);
    });

    it('keeps containers apart: the same blob name in two containers holds two blobs', async () => {
      const first = await newContainer();
      const second = await newContainer();
      await store.upload(first, 'shared-name', Readable.from([Buffer.from('one')]));
      await store.upload(second, 'shared-name', Readable.from([Buffer.from('two')]));

      await store.delete(first, 'shared-name');

      expect(await store.download(first, 'shared-name')).toBeNull();
      expect((await readAll((await store.download(second, 'shared-name'))!)).toString()).toBe('two');
    });

    it('refuses bad container and blob names as programmer errors', async () => {
      const container = await newContainer();
      for (const bad of ['ab', 'UPPER', 'double--dash', '-lead', 'trail-', 'a'.repeat(64), 'under_score']) {
        await expect(store.createContainer(bad)).rejects.toThrow(/container name/);
      }
      for (const bad of ['', '/leading', '../escape', 'a/../b', 'a/./b', 'trailing/', 'bell\u0007', 'back\\slash', 'x'.repeat(1025)]) {
        await expect(store.getProperties(container, bad)).rejects.toThrow(/blob name/);
      }
      await expect(store.download(container, 'x', { offset: -1 })).rejects.toBeInstanceOf(RangeError);
      await expect(
        store.upload(container, 'x', Readable.from([Buffer.from('x')]), { metadata: { 'Bad-Key': 'v' } }),
      ).rejects.toBeInstanceOf(TypeError);
    });
  });
}

/** Random bytes generated as they are read, so the test never holds the whole body either. */
function randomStream(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const stream = Readable.from(
    (async function* () {
      for (let left = size; left > 0; left -= 256 * 1024) {
        const chunk = randomBytes(Math.min(left, 256 * 1024));
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  return { stream, sha256: () => hash.digest('hex') };
}

function failingStream(bytesBeforeFailure: number): Readable {
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < bytesBeforeFailure; sent += 256 * 1024) yield randomBytes(256 * 1024);
      throw new Error('source failed');
    })(),
  );
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
