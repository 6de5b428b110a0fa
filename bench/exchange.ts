/**
 * DESIGN §8, measured in one run on the embedded stack (the dev host in this process, Azurite with disk
 * persistence in a child process):
 *
 *   - encrypted upload and download through the dev host ≥ 0.8 × the throughput of the same bytes stored
 *     unencrypted through the same host and Azurite;
 *   - peak RSS grows < 64 MiB while a 1 GiB item is uploaded and downloaded encrypted;
 *   - the purge handles 100,000 expired items in under 60 s.
 *
 * The plain baseline is two bench-only routes (PUT/GET /bench/plain/{name}) that stream the body straight into a
 * blob and back. The encrypted routes (PUT/GET /bench/encrypted/{name}) do what the item endpoints do with the
 * bytes — count and SHA-256 the plaintext, a fresh data key wrapped by the organization key, the segmented
 * AES-256-GCM stream into the blob; on the way back the wrapped key opened and the stream decrypted — without the
 * sign-in, MFA and SQL around them, which cost the same per request whatever the size.
 *
 *   npm run bench:exchange
 *
 * Tunable: ROUNDS (5), ITEM_MIB (64), BIG_ITEM_MIB (1024), PURGE_ITEMS (100000), PURGE_ITEMS_PER_DELIVERY (1),
 * PURGE_REAL_BLOBS (2000), PURGE_BATCH_SIZE (200), PURGE_BLOB_CONCURRENCY (32), PARTS (throughput,memory,purge).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { HttpRequest } from '@azure/functions';
import { createAzureBlobStore } from '../lib/adapters/blob/azureBlobStore';
import { startAzurite } from '../lib/adapters/blob/azurite';
import { p, sql } from '../lib/adapters/sql/params';
import { startDevHost } from '../lib/app/devHost/server';
import { routes } from '../lib/app/routeTable';
import { createServices, type Services } from '../lib/app/services';
import { loadConfig, type Config } from '../lib/config';
import { createDecryptStream, createEncryptStream } from '../lib/crypto/streamFormat';
import { containerOf } from '../lib/domain/organizations/organizations';
import { purgeExpired, type PurgeReport } from '../lib/domain/retention/purge';
import { defineRoute, type RouteDefinition } from '../lib/http/route';
import type { BlobStore, Logger } from '../lib/ports';

const MiB = 1024 * 1024;

/** Quiet, except for what would make a number meaningless. */
const log: Logger = {
  info: () => undefined,
  warn: (message, fields) => console.warn('warn:', message, fields ?? {}),
  error: (message, fields) => console.error('error:', message, fields ?? {}),
};
const DAY_IN_MS = 86_400_000;

const ROUNDS = positive('ROUNDS', 5);
const ITEM_BYTES = positive('ITEM_MIB', 64) * MiB;
const BIG_ITEM_BYTES = positive('BIG_ITEM_MIB', 1024) * MiB;
const PURGE_ITEMS = positive('PURGE_ITEMS', 100_000);
const PURGE_ITEMS_PER_DELIVERY = positive('PURGE_ITEMS_PER_DELIVERY', 1);
const PURGE_REAL_BLOBS = Math.min(positive('PURGE_REAL_BLOBS', 2_000), PURGE_ITEMS);
const PURGE_BATCH_SIZE = positive('PURGE_BATCH_SIZE', 200);
const PURGE_BLOB_CONCURRENCY = positive('PURGE_BLOB_CONCURRENCY', 32);
/** Which parts to run, comma-separated: throughput, memory, purge. */
const PARTS = new Set((process.env.PARTS ?? 'throughput,memory,purge').split(',').map((part) => part.trim()));

const RATIO_BUDGET = 0.8;
const RSS_BUDGET_BYTES = 64 * MiB;
const PURGE_BUDGET_MS = 60_000;

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The bench-only routes, served by the same dev host as the API.

function benchRoutes(organizationId: string): RouteDefinition[] {
  const container = containerOf(organizationId);
  const plainBlob = (name: string) => `plain/${name}`;
  const encryptedBlob = (name: string) => `encrypted/${name}`;
  // What delivery_items keeps per item, kept here instead: the bench measures the bytes path, not SQL.
  const plainSizes = new Map<string, number>();
  const sealed = new Map<string, { wrapped: Buffer; size: number }>();
  const octets = { 'Content-Type': 'application/octet-stream' };

  return [
    defineRoute({
      name: 'benchPlainPut',
      methods: ['PUT'],
      route: 'bench/plain/{name}',
      auth: 'public',
      openapi: false,
      handler: async (request, { services, params }) => {
        const { size } = await services.blobs.upload(container, plainBlob(params.name!), bodyOf(request));
        plainSizes.set(params.name!, size);
        return { status: 201, jsonBody: { size } };
      },
    }),
    defineRoute({
      name: 'benchPlainGet',
      methods: ['GET'],
      route: 'bench/plain/{name}',
      auth: 'public',
      openapi: false,
      handler: async (_request, { services, params }) => {
        const body = await services.blobs.download(container, plainBlob(params.name!));
        if (!body) return { status: 404 };
        return { status: 200, headers: { ...octets, 'Content-Length': String(plainSizes.get(params.name!)) }, body };
      },
    }),
    defineRoute({
      name: 'benchEncryptedPut',
      methods: ['PUT'],
      route: 'bench/encrypted/{name}',
      auth: 'public',
      openapi: false,
      handler: async (request, { services, params }) => {
        const { key, wrapped } = await services.keyHierarchy.newItemKey(organizationId);
        const meter = new Meter();
        const encrypt = createEncryptStream(key, services.random);
        const source = bodyOf(request);
        source.on('error', (error) => meter.destroy(error));
        meter.on('error', (error) => encrypt.destroy(error));
        try {
          await services.blobs.upload(container, encryptedBlob(params.name!), source.pipe(meter).pipe(encrypt));
        } finally {
          key.fill(0);
        }
        sealed.set(params.name!, { wrapped, size: meter.bytes });
        return { status: 201, jsonBody: { size: meter.bytes, sha256: meter.hash.digest('hex') } };
      },
    }),
    defineRoute({
      name: 'benchEncryptedGet',
      methods: ['GET'],
      route: 'bench/encrypted/{name}',
      auth: 'public',
      openapi: false,
      handler: async (_request, { services, params }) => {
        const item = sealed.get(params.name!);
        if (!item) return { status: 404 };
        const key = await services.keyHierarchy.openItemKey(organizationId, item.wrapped);
        const blob = await services.blobs.download(container, encryptedBlob(params.name!));
        if (!blob) return { status: 404 };
        const decrypt = createDecryptStream(key);
        blob.on('error', (error) => decrypt.destroy(error));
        return { status: 200, headers: { ...octets, 'Content-Length': String(item.size) }, body: blob.pipe(decrypt) };
      },
    }),
  ];
}

function bodyOf(request: HttpRequest): Readable {
  return request.body ? Readable.fromWeb(request.body as unknown as WebReadableStream<Uint8Array>) : Readable.from([]);
}

/** Counts and hashes the plaintext on its way through, as the item upload does. */
class Meter extends Transform {
  bytes = 0;
  readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

// ---------------------------------------------------------------------------------------------
// The client: node's http, bodies generated and consumed as streams (never a whole item in memory).

const agent = new http.Agent({ keepAlive: true });
const PATTERN = randomBytes(MiB);

function generatedBody(size: number): Readable {
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < size; sent += PATTERN.length) yield PATTERN.subarray(0, Math.min(PATTERN.length, size - sent));
    })(),
    { objectMode: false },
  );
}

async function upload(url: string, size: number): Promise<number> {
  const started = performance.now();
  const request = http.request(url, { method: 'PUT', agent, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) } });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  await pipeline(generatedBody(size), request);
  const response = await answered;
  let text = '';
  for await (const chunk of response) text += String(chunk);
  if (response.statusCode !== 201) throw new Error(`PUT ${url}: ${response.statusCode} ${text}`);
  return performance.now() - started;
}

async function download(url: string, expectedSize: number): Promise<number> {
  const started = performance.now();
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, { agent }, resolve).once('error', reject));
  let received = 0;
  for await (const chunk of response) received += (chunk as Buffer).length;
  if (response.statusCode !== 200 || received !== expectedSize) {
    throw new Error(`GET ${url}: ${response.statusCode}, ${received} of ${expectedSize} bytes`);
  }
  return performance.now() - started;
}

/** The highest RSS seen every 50 ms while `work` runs, above the RSS just before it started. */
async function peakRssGrowth(work: () => Promise<unknown>): Promise<number> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage.rss()) - baseline;
}

// ---------------------------------------------------------------------------------------------
// Throughput and memory

interface Throughput {
  readonly plainUpload: number;
  readonly encryptedUpload: number;
  readonly plainDownload: number;
  readonly encryptedDownload: number;
}

async function measureThroughput(url: string): Promise<Throughput> {
  const modes = ['plain', 'encrypted'] as const;
  // Warm both paths (JIT, KEK cache, connections) before timing anything.
  for (const mode of modes) {
    await upload(`${url}/bench/${mode}/warm-up`, 8 * MiB);
    await download(`${url}/bench/${mode}/warm-up`, 8 * MiB);
  }
  const time = { plainUpload: 0, encryptedUpload: 0, plainDownload: 0, encryptedDownload: 0 };
  // Alternating which mode goes first cancels drift (Azurite's files growing, the page cache filling).
  const order = (round: number) => (round % 2 === 0 ? modes : [...modes].reverse());
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of order(round)) time[`${mode}Upload`] += await upload(`${url}/bench/${mode}/item-${round}`, ITEM_BYTES);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of order(round)) time[`${mode}Download`] += await download(`${url}/bench/${mode}/item-${round}`, ITEM_BYTES);
  }
  const rate = (ms: number) => (ROUNDS * ITEM_BYTES) / MiB / (ms / 1000);
  return {
    plainUpload: rate(time.plainUpload),
    encryptedUpload: rate(time.encryptedUpload),
    plainDownload: rate(time.plainDownload),
    encryptedDownload: rate(time.encryptedDownload),
  };
}

async function measureBigItem(url: string): Promise<{ uploadGrowth: number; downloadGrowth: number; uploadRate: number; downloadRate: number }> {
  let uploadMs = 0;
  let downloadMs = 0;
  const uploadGrowth = await peakRssGrowth(async () => (uploadMs = await upload(`${url}/bench/encrypted/big`, BIG_ITEM_BYTES)));
  const downloadGrowth = await peakRssGrowth(async () => (downloadMs = await download(`${url}/bench/encrypted/big`, BIG_ITEM_BYTES)));
  return {
    uploadGrowth,
    downloadGrowth,
    uploadRate: BIG_ITEM_BYTES / MiB / (uploadMs / 1000),
    downloadRate: BIG_ITEM_BYTES / MiB / (downloadMs / 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// Purge

/** Fast inserts: the bench's own SQL, many rows per transaction, like test/helpers/retention.ts but in bulk. */
async function seedExpiredItems(services: Services, options: { items: number; realBlobs: number }): Promise<{ deliveries: number; seedMs: number }> {
  const started = performance.now();
  const { store, random, keyHierarchy, blobs } = services;
  const cipher = await keyHierarchy.columnCipher();
  const organizations = Array.from({ length: 10 }, () => random.id());
  for (const id of organizations) {
    await store.execute(sql('INSERT INTO organizations (id, name, created_at) VALUES (@id, @id, 0)', { id: p.text(id) }));
    await keyHierarchy.createOrganizationKek(id);
    await blobs.createContainer(containerOf(id));
  }
  const requesters = Array.from({ length: 1000 }, () => random.id());
  const now = Date.now();
  const deliveries = Math.ceil(options.items / PURGE_ITEMS_PER_DELIVERY);
  const deliveriesPerTransaction = 1000;
  let itemIndex = 0;
  for (let first = 0; first < deliveries; first += deliveriesPerTransaction) {
    const rows: { delivery: Record<string, string | number>; items: { id: string; blobName: string; wrapped: Buffer; organizationId: string }[] }[] = [];
    const uploads: (() => Promise<unknown>)[] = [];
    for (let d = first; d < Math.min(first + deliveriesPerTransaction, deliveries); d++) {
      const organizationId = organizations[d % organizations.length]!;
      // All expired, a second apart, the oldest first: the purge meets them in the order it reads them.
      const expiresAt = now - DAY_IN_MS - (deliveries - d) * 1000;
      const delivery = { id: random.id(), organizationId, requesterId: requesters[d % requesters.length]!, expiresAt, releasedAt: expiresAt - 32 * DAY_IN_MS };
      const items = [];
      for (let i = 0; i < PURGE_ITEMS_PER_DELIVERY && itemIndex < options.items; i++, itemIndex++) {
        const { key, wrapped } = await keyHierarchy.newItemKey(organizationId);
        const item = { id: random.id(), blobName: random.id(), wrapped, organizationId };
        if (itemIndex < options.realBlobs) {
          uploads.push(() => blobs.upload(containerOf(organizationId), item.blobName, Readable.from([randomBytes(1024)]).pipe(createEncryptStream(key, random))));
        }
        items.push(item);
      }
      rows.push({ delivery, items });
    }
    await runConcurrently(uploads, 16);
    await store.transaction(async (tx) => {
      for (const { delivery, items } of rows) {
        await tx.execute(
          sql(
            `INSERT INTO deliveries (id, request_id, organization_id, requester_id, status, title, created_by, created_at, released_at, expires_at, purged_at, deletion_receipt)
             VALUES (@id, @requestId, @organizationId, @requesterId, 'released', @title, @createdBy, @releasedAt, @releasedAt, @expiresAt, NULL, NULL)`,
            {
              id: p.text(String(delivery.id)),
              requestId: p.text(random.id()),
              organizationId: p.text(String(delivery.organizationId)),
              requesterId: p.text(String(delivery.requesterId)),
              title: p.blob(cipher.encrypt('Your data', 'deliveries.title')),
              createdBy: p.text('bench'),
              releasedAt: p.bigint(Number(delivery.releasedAt)),
              expiresAt: p.bigint(Number(delivery.expiresAt)),
            },
          ),
        );
        for (const item of items) {
          await tx.execute(
            sql(
              `INSERT INTO delivery_items (id, delivery_id, organization_id, name, name_index, content_type, size, sha256, blob_name, wrapped_dek, created_at, destroyed_at)
               VALUES (@id, @deliveryId, @organizationId, @name, @nameIndex, 'application/octet-stream', 1024, @sha256, @blobName, @wrapped, @createdAt, NULL)`,
              {
                id: p.text(item.id),
                deliveryId: p.text(String(delivery.id)),
                organizationId: p.text(item.organizationId),
                name: p.blob(cipher.encrypt(`${item.id}.bin`, 'delivery_items.name')),
                nameIndex: p.text(item.id),
                sha256: p.text('0'.repeat(64)),
                blobName: p.text(item.blobName),
                wrapped: p.blob(item.wrapped),
                createdAt: p.bigint(Number(delivery.releasedAt)),
              },
            ),
          );
        }
      }
    });
  }
  return { deliveries, seedMs: performance.now() - started };
}

async function runConcurrently(tasks: readonly (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER budget');
const rate = (mibPerSecond: number) => `${mibPerSecond.toFixed(1).padStart(7)} MiB/s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;

async function reportThroughput(url: string): Promise<void> {
  const throughput = await measureThroughput(url);
  const uploadRatio = throughput.encryptedUpload / throughput.plainUpload;
  const downloadRatio = throughput.encryptedDownload / throughput.plainDownload;
  const size = `${ROUNDS} × ${ITEM_BYTES / MiB} MiB`;
  console.log(`                                  plain           encrypted       ratio   (budget ≥ ${RATIO_BUDGET.toFixed(2)})`);
  console.log(`  upload   (${size})     ${rate(throughput.plainUpload)}   ${rate(throughput.encryptedUpload)}   ${uploadRatio.toFixed(2)}    ${verdict(uploadRatio >= RATIO_BUDGET)}`);
  console.log(`  download (${size})     ${rate(throughput.plainDownload)}   ${rate(throughput.encryptedDownload)}   ${downloadRatio.toFixed(2)}    ${verdict(downloadRatio >= RATIO_BUDGET)}`);
}

async function reportMemory(url: string): Promise<void> {
  const big = await measureBigItem(url);
  console.log(
    `  ${BIG_ITEM_BYTES / MiB} MiB item, encrypted: peak RSS growth upload +${mib(big.uploadGrowth)} (${rate(big.uploadRate).trim()}), ` +
      `download +${mib(big.downloadGrowth)} (${rate(big.downloadRate).trim()})   (budget < ${mib(RSS_BUDGET_BYTES)}): ` +
      verdict(Math.max(big.uploadGrowth, big.downloadGrowth) < RSS_BUDGET_BYTES),
  );
}

async function reportPurge(services: Services, pipelineOnlyConfig: Config): Promise<void> {
  // Against Azurite: every item's blob delete is sent. Azurite keeps blob metadata in LokiJS, where every delete
  // scans all blobs of the account, so only PURGE_REAL_BLOBS blobs are really uploaded; the other items' deletes
  // find nothing (404), which the purge treats as done, as it must when a run is repeated.
  const seeded = await seedExpiredItems(services, { items: PURGE_ITEMS, realBlobs: PURGE_REAL_BLOBS });
  const full = await timePurge(services);

  // The same purge with no blob deletes sent, in a fresh database: what the purge itself costs (SQL, key
  // destruction, signed receipts, audit chains) — what is left where deletes scale (Azure Blob Storage).
  const noBlobs: BlobStore = { ...services.blobs, createContainer: async () => undefined, delete: async () => undefined };
  const pipelineOnly = await createServices(pipelineOnlyConfig, { log, keys: services.keys, blobs: noBlobs });
  let alone: { report: PurgeReport; ms: number };
  try {
    await pipelineOnly.store.migrate();
    await seedExpiredItems(pipelineOnly, { items: PURGE_ITEMS, realBlobs: 0 });
    alone = await timePurge(pipelineOnly);
  } finally {
    await pipelineOnly.close();
  }

  console.log(
    `  purge of ${PURGE_ITEMS.toLocaleString('en')} expired items in ${seeded.deliveries.toLocaleString('en')} deliveries ` +
      `(${PURGE_REAL_BLOBS.toLocaleString('en')} real blobs; rows seeded in ${seconds(seeded.seedMs).trim()}):`,
  );
  console.log(`    to completion, every blob delete sent to Azurite   ${seconds(full.ms)}   (budget < ${PURGE_BUDGET_MS / 1000} s): ${verdict(full.ms < PURGE_BUDGET_MS)}`);
  console.log(`    the same without blob deletes (SQL, shredding, receipts, audit)   ${seconds(alone.ms)}`);
}

async function timePurge(services: Services): Promise<{ report: PurgeReport; ms: number }> {
  const started = performance.now();
  const report = await purgeExpired(services, { batchSize: PURGE_BATCH_SIZE, blobConcurrency: PURGE_BLOB_CONCURRENCY });
  const ms = performance.now() - started;
  if (!report.complete || report.itemsShredded !== PURGE_ITEMS) throw new Error(`The purge did not finish: ${JSON.stringify(report)}`);
  return { report, ms };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-bench-exchange-'));
  // On disk, like `npm start`: a 1 GiB item must not sit in Azurite's memory.
  const azurite = await startAzurite({ location: path.join(dataDir, 'azurite') });
  const env = { DATA_DIR: dataDir, PORT: '0', BLOB_CONNECTION_STRING: azurite.connectionString, MAX_ITEM_BYTES: String(5 * 1024 * MiB) };
  const services = await createServices(loadConfig(env), { log, blobs: createAzureBlobStore({ connectionString: azurite.connectionString }) });
  await services.store.migrate();
  await services.keyHierarchy.columnCipher();
  const organizationId = services.random.id();
  await services.keyHierarchy.createOrganizationKek(organizationId);
  await services.blobs.createContainer(containerOf(organizationId));
  const host = await startDevHost({ services, routes: [...routes, ...benchRoutes(organizationId)], port: 0 });
  let purgeDataDir: string | undefined;
  try {
    console.log(`Exchange benchmark — dev host + Azurite on disk, ${os.cpus().length} cores, Node ${process.version}`);
    if (PARTS.has('throughput')) await reportThroughput(host.url);
    if (PARTS.has('memory')) await reportMemory(host.url);
    if (PARTS.has('purge')) {
      purgeDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-bench-purge-'));
      await reportPurge(services, loadConfig({ ...env, DATA_DIR: purgeDataDir }));
    }
  } finally {
    await host.close();
    agent.destroy();
    await services.close();
    await azurite.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (purgeDataDir) fs.rmSync(purgeDataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
