/**
 * DESIGN §8, measured in one run on the embedded stack (the dev host in this process, Azurite with disk
 * persistence in a child process):
 *
 *   - encrypted upload and download through the dev host ≥ 0.8 × the throughput of the same bytes stored
 *     unencrypted through the same host and Azurite;
 *   - peak RSS grows < 64 MiB while a 1 GiB item is uploaded and downloaded encrypted;
 *   - the purge handles 100,000 expired items in under 60 s.
 *
 * Encrypted = the product's own endpoints: PUT /v1/deliveries/{id}/items/{name} by an assigned member, submit,
 * GET /v1/deliveries/{id}/items/{itemId} by the requester (signed in with a recent MFA, as step-up requires).
 * Plain = two bench-only routes on the same host, PUT/GET /bench/plain/{name}, streaming the body straight into a
 * blob and back: the same bytes through the same host and Azurite, without encryption.
 *
 * The purge is timed twice: against Azurite, every item's blob delete sent, and with no blob store behind it (what
 * the purge itself costs: SQL, key destruction, signed receipts, audit). Azurite keeps blob metadata in LokiJS, where
 * each upload and delete scans every blob of the account (measured: ~500 deletes/s with 2,000 blobs stored, ~90/s
 * with 10,000), so 100,000 real blobs would take hours to store and to delete; only PURGE_REAL_BLOBS items get a
 * real blob, and the deletes for the others are still sent (Azurite answers 404, which the purge counts as done).
 *
 *   npm run bench:exchange
 *
 * Tunable: ROUNDS (10), ITEM_MIB (64), BIG_ITEM_MIB (1024), PURGE_ITEMS (100000), PURGE_ITEMS_PER_DELIVERY (1),
 * PURGE_REAL_BLOBS (2000), PURGE_BATCH_SIZE (200), PURGE_BLOB_CONCURRENCY (32), PARTS (throughput,memory,purge).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createAzureBlobStore } from '../lib/adapters/blob/azureBlobStore';
import { startAzurite } from '../lib/adapters/blob/azurite';
import { p, sql } from '../lib/adapters/sql/params';
import { startDevHost } from '../lib/app/devHost/server';
import { routes } from '../lib/app/routeTable';
import { createServices, type Services } from '../lib/app/services';
import { loadConfig, type Config } from '../lib/config';
import { createEncryptStream } from '../lib/crypto/streamFormat';
import { EMAIL_CONTEXT, emailIndex } from '../lib/domain/accounts/users';
import { tokensFor } from '../lib/domain/auth/login';
import { startSession } from '../lib/domain/auth/sessions';
import { containerOf } from '../lib/domain/organizations/organizations';
import { purgeExpired, type PurgeReport } from '../lib/domain/retention/purge';
import { defineRoute, type RouteDefinition } from '../lib/http/route';
import type { BlobStore, Logger } from '../lib/ports';

const MiB = 1024 * 1024;
const DAY_IN_MS = 86_400_000;

/** Quiet, except for what would make a number meaningless. */
const log: Logger = {
  info: () => undefined,
  warn: (message, fields) => console.warn('warn:', message, fields ?? {}),
  error: (message, fields) => console.error('error:', message, fields ?? {}),
};

const ROUNDS = positive('ROUNDS', 10);
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
// The unencrypted baseline: bench-only routes, served by the same dev host as the API.

function plainRoutes(organizationId: string): RouteDefinition[] {
  const container = containerOf(organizationId);
  const blobName = (name: string) => `bench-plain/${name}`;
  // What delivery_items keeps for an item, kept here: the download answers with a Content-Length, as the API does.
  const sizes = new Map<string, number>();
  return [
    defineRoute({
      name: 'benchPlainPut',
      methods: ['PUT'],
      route: 'bench/plain/{name}',
      auth: 'public',
      openapi: false,
      handler: async (request, { services, params }) => {
        const body = request.body ? Readable.fromWeb(request.body as unknown as WebReadableStream<Uint8Array>) : Readable.from([]);
        const { size } = await services.blobs.upload(container, blobName(params.name!), body);
        sizes.set(params.name!, size);
        return { status: 201, jsonBody: { id: params.name, size } };
      },
    }),
    defineRoute({
      name: 'benchPlainGet',
      methods: ['GET'],
      route: 'bench/plain/{name}',
      auth: 'public',
      openapi: false,
      handler: async (_request, { services, params }) => {
        const body = await services.blobs.download(container, blobName(params.name!));
        if (!body) return { status: 404 };
        return { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(sizes.get(params.name!)) }, body };
      },
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// The cast of the encrypted exchange: an organization, a member assigned a request, the requester. Made with SQL
// and signed in directly with a recent MFA (the sign-in flows have their own tests; here they would only cost time).

interface Cast {
  readonly organizationId: string;
  readonly requestId: string;
  readonly memberToken: string;
  readonly requesterToken: string;
}

async function createCast(services: Services): Promise<Cast> {
  const { store, random, clock, keyHierarchy } = services;
  const cipher = await keyHierarchy.columnCipher();
  const now = clock.now().getTime();
  const organizationId = random.id();
  await store.execute(sql("INSERT INTO organizations (id, name, created_at) VALUES (@id, 'Bench Org', @now)", { id: p.text(organizationId), now: p.bigint(now) }));
  await keyHierarchy.createOrganizationKek(organizationId);
  await services.blobs.createContainer(containerOf(organizationId));

  const user = async (email: string, isRequester: boolean): Promise<string> => {
    const id = random.id();
    await store.execute(
      sql(
        `INSERT INTO users (id, email, email_index, name, password_hash, is_requester, is_operator, email_verified_at, disabled_at, created_at)
         VALUES (@id, @email, @emailIndex, NULL, NULL, @isRequester, @no, @now, NULL, @now)`,
        { id: p.text(id), email: p.blob(cipher.encrypt(email, EMAIL_CONTEXT)), emailIndex: p.text(emailIndex(cipher, email)), isRequester: p.bool(isRequester), no: p.bool(false), now: p.bigint(now) },
      ),
    );
    return id;
  };
  const memberId = await user('member@bench.example', false);
  await store.execute(
    sql("INSERT INTO memberships (organization_id, user_id, role, created_at, disabled_at) VALUES (@org, @user, 'org_member', @now, NULL)", {
      org: p.text(organizationId),
      user: p.text(memberId),
      now: p.bigint(now),
    }),
  );
  const requesterId = await user('requester@bench.example', true);
  const requestId = random.id();
  await store.execute(
    sql(
      `INSERT INTO requests (id, organization_id, requester_id, status, purpose, categories, message, assignee_type, assignee_id,
         consent_given_at, consent_expires_at, consent_withdrawn_at, declined_at, decline_reason, consent_receipt, created_at, updated_at)
       VALUES (@id, @org, @requester, 'open', @purpose, '["other"]', NULL, 'member', @member, @now, @consentEndsAt, NULL, NULL, NULL, @receipt, @now, @now)`,
      {
        id: p.text(requestId),
        org: p.text(organizationId),
        requester: p.text(requesterId),
        member: p.text(memberId),
        purpose: p.blob(cipher.encrypt('Benchmark', 'requests.purpose')),
        receipt: p.blob(cipher.encrypt('not a real receipt', 'requests.consent_receipt')),
        now: p.bigint(now),
        consentEndsAt: p.bigint(now + 365 * DAY_IN_MS),
      },
    ),
  );

  const signIn = async (userId: string, role: 'org_member' | 'requester', scope: string): Promise<string> => {
    const { session, refreshToken } = await store.transaction((tx) =>
      startSession(tx, services, { userId, role, organizationId: role === 'requester' ? null : organizationId, apiKeyId: null, amr: ['pwd', 'otp'], mfaAt: now }),
    );
    return (await tokensFor(services, session, refreshToken, scope)).access_token;
  };
  return {
    organizationId,
    requestId,
    memberToken: await signIn(memberId, 'org_member', `org:${organizationId}`),
    requesterToken: await signIn(requesterId, 'requester', 'requester'),
  };
}

/** One way of storing and fetching items: its upload and download answer with the time they took. */
interface Exchange {
  upload(name: string, size: number): Promise<number>;
  /** Called once all uploads are in: makes them downloadable. */
  release(): Promise<void>;
  download(name: string, size: number): Promise<number>;
}

function plainExchange(url: string): Exchange {
  return {
    upload: async (name, size) => (await upload(`${url}/bench/plain/${name}`, size, {})).ms,
    release: async () => undefined,
    download: (name, size) => download(`${url}/bench/plain/${name}`, size, {}),
  };
}

/** A draft delivery of the cast's request: items are PUT into it, released by submit, downloaded by the requester. */
async function deliveryExchange(url: string, cast: Cast): Promise<Exchange> {
  const created = await json(url, 'POST', `/v1/requests/${cast.requestId}/deliveries`, cast.memberToken, { title: 'Benchmark' });
  const deliveryId = String(created.id);
  const itemIds = new Map<string, string>();
  return {
    async upload(name, size) {
      const { ms, body } = await upload(`${url}/v1/deliveries/${deliveryId}/items/${name}`, size, { Authorization: `Bearer ${cast.memberToken}` });
      itemIds.set(name, String(body.id));
      return ms;
    },
    async release() {
      await json(url, 'POST', `/v1/deliveries/${deliveryId}/submit`, cast.memberToken);
    },
    download: (name, size) => download(`${url}/v1/deliveries/${deliveryId}/items/${itemIds.get(name)}`, size, { Authorization: `Bearer ${cast.requesterToken}` }),
  };
}

async function json(url: string, method: string, path: string, token: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
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
    // Byte mode: the stream buffers 16 KiB ahead, not 16 whole chunks.
    { objectMode: false },
  );
}

async function upload(url: string, size: number, headers: Record<string, string>): Promise<{ ms: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const request = http.request(url, { method: 'PUT', agent, headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) } });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  await pipeline(generatedBody(size), request);
  const response = await answered;
  let text = '';
  for await (const chunk of response) text += String(chunk);
  if (response.statusCode !== 201) throw new Error(`PUT ${url}: ${response.statusCode} ${text}`);
  return { ms: performance.now() - started, body: JSON.parse(text) as Record<string, unknown> };
}

async function download(url: string, expectedSize: number, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(url, { agent, headers }, resolve).once('error', reject));
  let received = 0;
  for await (const chunk of response) received += (chunk as Buffer).length;
  if (response.statusCode !== 200 || received !== expectedSize) {
    throw new Error(`GET ${url}: ${response.statusCode}, ${received} of ${expectedSize} bytes`);
  }
  return performance.now() - started;
}

/** Samples RSS every 50 ms while `work` runs; answers the highest value seen. */
async function peakRss(work: () => Promise<unknown>): Promise<number> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage.rss());
}

// ---------------------------------------------------------------------------------------------
// Throughput and memory

interface Throughput {
  readonly plainUpload: number;
  readonly encryptedUpload: number;
  readonly plainDownload: number;
  readonly encryptedDownload: number;
}

async function measureThroughput(plain: Exchange, encrypted: Exchange, warmUp: Exchange): Promise<Throughput> {
  const modes = [['plain', plain], ['encrypted', encrypted]] as const;
  // Warm both paths (JIT, key caches, connections) before timing anything. A released delivery takes no more
  // items, so the encrypted warm-up has a delivery of its own.
  for (const exchange of [plain, warmUp]) {
    await exchange.upload('warm-up', 8 * MiB);
    await exchange.release();
    await exchange.download('warm-up', 8 * MiB);
  }

  const time = { plainUpload: 0, encryptedUpload: 0, plainDownload: 0, encryptedDownload: 0 };
  // Alternating which mode goes first cancels drift (Azurite's files growing, the page cache filling).
  const order = (round: number) => (round % 2 === 0 ? modes : [...modes].reverse());
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mode, exchange] of order(round)) time[`${mode}Upload`] += await exchange.upload(`item-${round}`, ITEM_BYTES);
  }
  await encrypted.release();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mode, exchange] of order(round)) time[`${mode}Download`] += await exchange.download(`item-${round}`, ITEM_BYTES);
  }
  const rate = (ms: number) => (ROUNDS * ITEM_BYTES) / MiB / (ms / 1000);
  return {
    plainUpload: rate(time.plainUpload),
    encryptedUpload: rate(time.encryptedUpload),
    plainDownload: rate(time.plainDownload),
    encryptedDownload: rate(time.encryptedDownload),
  };
}

async function measureBigItem(encrypted: Exchange): Promise<{ uploadGrowth: number; downloadGrowth: number; uploadRate: number; downloadRate: number }> {
  let uploadMs = 0;
  let downloadMs = 0;
  // Both against the RSS before the upload: memory the upload kept counts against the download too.
  const baseline = process.memoryUsage.rss();
  const uploadPeak = await peakRss(async () => (uploadMs = await encrypted.upload('big', BIG_ITEM_BYTES)));
  await encrypted.release();
  const downloadPeak = await peakRss(async () => (downloadMs = await encrypted.download('big', BIG_ITEM_BYTES)));
  return {
    uploadGrowth: uploadPeak - baseline,
    downloadGrowth: downloadPeak - baseline,
    uploadRate: BIG_ITEM_BYTES / MiB / (uploadMs / 1000),
    downloadRate: BIG_ITEM_BYTES / MiB / (downloadMs / 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// Purge

interface SeedDelivery {
  readonly id: string;
  readonly organizationId: string;
  readonly requesterId: string;
  readonly releasedAt: number;
  readonly expiresAt: number;
}

interface SeedItem {
  readonly id: string;
  readonly blobName: string;
  /** A real data key, wrapped by its organization's KEK. */
  readonly wrapped: Buffer;
}

/**
 * Released, expired deliveries with SQL, a thousand per transaction (test/helpers/retention.ts in bulk). The first
 * `realBlobs` items get a real encrypted blob; the others name a blob that was never uploaded.
 */
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
    const batch: { delivery: SeedDelivery; items: SeedItem[] }[] = [];
    const uploads: (() => Promise<unknown>)[] = [];
    for (let d = first; d < Math.min(first + deliveriesPerTransaction, deliveries); d++) {
      const organizationId = organizations[d % organizations.length]!;
      // All expired, a second apart, the oldest first: the purge meets them in the order it reads them.
      const expiresAt = now - DAY_IN_MS - (deliveries - d) * 1000;
      const delivery = { id: random.id(), organizationId, requesterId: requesters[d % requesters.length]!, expiresAt, releasedAt: expiresAt - 32 * DAY_IN_MS };
      const items: SeedItem[] = [];
      for (let i = 0; i < PURGE_ITEMS_PER_DELIVERY && itemIndex < options.items; i++, itemIndex++) {
        const { key, wrapped } = await keyHierarchy.newItemKey(organizationId);
        const item = { id: random.id(), blobName: random.id(), wrapped };
        if (itemIndex < options.realBlobs) {
          uploads.push(() => blobs.upload(containerOf(organizationId), item.blobName, Readable.from([randomBytes(1024)]).pipe(createEncryptStream(key, random))));
        }
        items.push(item);
      }
      batch.push({ delivery, items });
    }
    await runConcurrently(uploads, 16);
    await store.transaction(async (tx) => {
      for (const { delivery, items } of batch) {
        await tx.execute(
          sql(
            `INSERT INTO deliveries (id, request_id, organization_id, requester_id, status, title, created_by, created_at, released_at, expires_at, purged_at, deletion_receipt)
             VALUES (@id, @requestId, @organizationId, @requesterId, 'released', @title, 'bench', @releasedAt, @releasedAt, @expiresAt, NULL, NULL)`,
            {
              id: p.text(delivery.id),
              requestId: p.text(random.id()),
              organizationId: p.text(delivery.organizationId),
              requesterId: p.text(delivery.requesterId),
              title: p.blob(cipher.encrypt('Your data', 'deliveries.title')),
              releasedAt: p.bigint(delivery.releasedAt),
              expiresAt: p.bigint(delivery.expiresAt),
            },
          ),
        );
        for (const item of items) {
          await tx.execute(
            sql(
              `INSERT INTO delivery_items (id, delivery_id, organization_id, name, name_index, content_type, size, sha256, blob_name, wrapped_dek, created_at, destroyed_at)
               VALUES (@id, @deliveryId, @organizationId, @name, @id, 'application/octet-stream', 1024, @sha256, @blobName, @wrapped, @createdAt, NULL)`,
              {
                id: p.text(item.id),
                deliveryId: p.text(delivery.id),
                organizationId: p.text(delivery.organizationId),
                name: p.blob(cipher.encrypt(`${item.id}.bin`, 'delivery_items.name')),
                sha256: p.text('0'.repeat(64)),
                blobName: p.text(item.blobName),
                wrapped: p.blob(item.wrapped),
                createdAt: p.bigint(delivery.releasedAt),
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
const growth = (bytes: number) => `${bytes < 0 ? '-' : '+'}${mib(Math.abs(bytes))}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;

async function reportThroughput(url: string, cast: Cast): Promise<void> {
  const throughput = await measureThroughput(plainExchange(url), await deliveryExchange(url, cast), await deliveryExchange(url, cast));
  const uploadRatio = throughput.encryptedUpload / throughput.plainUpload;
  const downloadRatio = throughput.encryptedDownload / throughput.plainDownload;
  const size = `${ROUNDS} × ${ITEM_BYTES / MiB} MiB`;
  console.log(`                                  plain           encrypted       ratio   (budget ≥ ${RATIO_BUDGET.toFixed(2)})`);
  console.log(`  upload   (${size})     ${rate(throughput.plainUpload)}   ${rate(throughput.encryptedUpload)}   ${uploadRatio.toFixed(2)}    ${verdict(uploadRatio >= RATIO_BUDGET)}`);
  console.log(`  download (${size})     ${rate(throughput.plainDownload)}   ${rate(throughput.encryptedDownload)}   ${downloadRatio.toFixed(2)}    ${verdict(downloadRatio >= RATIO_BUDGET)}`);
}

async function reportMemory(url: string, cast: Cast): Promise<void> {
  const big = await measureBigItem(await deliveryExchange(url, cast));
  console.log(
    `  ${BIG_ITEM_BYTES / MiB} MiB item, encrypted: peak RSS over the pre-upload baseline: upload ${growth(big.uploadGrowth)} (${rate(big.uploadRate).trim()}), ` +
      `download ${growth(big.downloadGrowth)} (${rate(big.downloadRate).trim()})   (budget < ${mib(RSS_BUDGET_BYTES)}): ` +
      verdict(Math.max(big.uploadGrowth, big.downloadGrowth) < RSS_BUDGET_BYTES),
  );
}

async function reportPurge(services: Services, pipelineOnlyConfig: Config): Promise<void> {
  // Against Azurite: every item's blob delete is sent (see the top of this file for why most find no blob).
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
  console.log(`    so the ${PURGE_ITEMS.toLocaleString('en')} deletes in Azurite took about   ${seconds(full.ms - alone.ms)}`);
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
  const cast = await createCast(services);
  const host = await startDevHost({ services, routes: [...routes, ...plainRoutes(cast.organizationId)], port: 0 });
  let purgeDataDir: string | undefined;
  try {
    // Other work on the machine moves every number here: the load average says how quiet it was.
    const load = () => os.loadavg()[0]!.toFixed(2);
    console.log(`Exchange benchmark — dev host + Azurite on disk, ${os.cpus().length} cores, Node ${process.version}, load average ${load()}`);
    if (PARTS.has('throughput')) await reportThroughput(host.url, cast);
    if (PARTS.has('memory')) await reportMemory(host.url, cast);
    if (PARTS.has('purge')) {
      purgeDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-bench-purge-'));
      await reportPurge(services, loadConfig({ ...env, DATA_DIR: purgeDataDir }));
    }
    console.log(`  (load average ${load()} at the end)`);
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
