import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createAzureBlobStore } from '../../../lib/adapters/blob/azureBlobStore';
import { p, sql } from '../../../lib/adapters/sql/params';
import { listAudit, requesterChain, verifyAudit } from '../../../lib/domain/audit/audit';
import { containerOf } from '../../../lib/domain/organizations/organizations';
import { getDelivery, listInbox } from '../../../lib/domain/deliveries/deliveries';
import type { Principal } from '../../../lib/http/route';
import { DELETION_METHOD, purgeExpired, readDeletionReceipt, type PurgeReport } from '../../../lib/domain/retention/purge';
import { recordFailure } from '../../../lib/domain/throttle/throttle';
import { verifyJws } from '../../../lib/domain/tokens/accessTokens';
import type { BlobStore } from '../../../lib/ports';
import {
  DAY_IN_MS,
  HOUR_IN_MS,
  deliveryState,
  purged,
  seedOrganization,
  seedReleasedDelivery,
  untouched,
  type SeededDelivery,
} from '../../helpers/retention';
import { azuriteConnectionString, startTestApp, type TestApp } from '../../helpers/testApp';

const NOTHING_DONE: PurgeReport = {
  deliveriesPurged: 0,
  draftsAbandoned: 0,
  itemsShredded: 0,
  blobsDeleted: 0,
  orphanBlobsDeleted: 0,
  tokensSwept: 0,
  sessionsSwept: 0,
  challengesSwept: 0,
  throttleSwept: 0,
  idempotencySwept: 0,
  complete: true,
};

/** The real blob store, whose deletes can be made to fail after a number of them: the process "dies" there. */
function interruptibleBlobStore() {
  const real = createAzureBlobStore({ connectionString: azuriteConnectionString() });
  let deletesBeforeFailure = Infinity;
  const store: BlobStore = {
    ...real,
    async delete(container, name) {
      if (deletesBeforeFailure <= 0) throw new Error('blob storage went away');
      deletesBeforeFailure--;
      await real.delete(container, name);
    },
  };
  return {
    store,
    failAfter: (deletes: number) => void (deletesBeforeFailure = deletes),
    heal: () => void (deletesBeforeFailure = Infinity),
  };
}

let app: TestApp;
let blobs: ReturnType<typeof interruptibleBlobStore>;
let organizationId: string;
beforeEach(async () => {
  blobs = interruptibleBlobStore();
  app = await startTestApp({ overrides: { blobs: blobs.store } });
  organizationId = await seedOrganization(app.services);
});
afterEach(async () => {
  await app.services.blobs.deleteContainer(containerOf(organizationId));
  await app.close();
});

const purge = (options?: Parameters<typeof purgeExpired>[1]) => purgeExpired(app.services, options);
const now = () => app.clock.now().getTime();
const seed = (input: { requesterId?: string; items?: string[] } = {}) => seedReleasedDelivery(app.services, { organizationId, ...input });
const stateOf = (delivery: SeededDelivery) => deliveryState(app.services, delivery);

async function blobNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of app.services.blobs.list(containerOf(organizationId))) names.push(blob.name);
  return names.sort();
}

async function purgeEvents(requesterId: string) {
  const page = await listAudit(app.services.store, app.services, requesterChain(requesterId), { action: 'delivery.purged' });
  return page.items;
}

describe('purging expired deliveries', () => {
  test('a delivery 1 ms before its expiresAt is left exactly as it was', async () => {
    const delivery = await seed({ items: ['a', 'b'] });
    app.clock.set(new Date(delivery.expiresAt - 1));

    expect(await purge()).toEqual(NOTHING_DONE);

    expect(await stateOf(delivery)).toEqual(untouched(2));
  });

  test('at its expiresAt the data keys are destroyed, the blobs deleted and the delivery marked purged', async () => {
    const delivery = await seed({ items: ['a', 'b'] });
    app.clock.set(new Date(delivery.expiresAt));

    expect(await purge()).toEqual({ ...NOTHING_DONE, deliveriesPurged: 1, itemsShredded: 2, blobsDeleted: 2 });

    expect(await stateOf(delivery)).toEqual(purged(2, delivery.expiresAt));
    expect(await blobNames()).toEqual([]);
  });

  test('the signed deletion receipt is kept with the delivery and written into the requester audit trail', async () => {
    const delivery = await seed({ items: ['a', 'b', 'c'] });
    app.clock.set(new Date(delivery.expiresAt + HOUR_IN_MS));

    await purge();

    const receipt = await readDeletionReceipt(app.services, delivery.id);
    const { payload } = await verifyJws(app.services.signingKeys, receipt!);
    const purgedAt = new Date(delivery.expiresAt + HOUR_IN_MS).toISOString();
    expect(payload).toEqual({
      receiptType: 'deletion',
      deliveryId: delivery.id,
      requestId: delivery.requestId,
      organizationId,
      requesterId: delivery.requesterId,
      items: 3,
      releasedAt: new Date(delivery.releasedAt).toISOString(),
      expiresAt: new Date(delivery.expiresAt).toISOString(),
      destroyedAt: purgedAt,
      purgedAt,
      method: DELETION_METHOD,
    });
    const events = await purgeEvents(delivery.requesterId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: { type: 'system', id: null }, target: { type: 'delivery', id: delivery.id } });
    expect(events[0]!.details).toEqual({ requestId: delivery.requestId, organizationId, items: 3, receipt });
    expect((await verifyAudit(app.services.store, app.services)).problems).toEqual([]);
  });

  test('a second run finds nothing left to do', async () => {
    const delivery = await seed();
    app.clock.set(new Date(delivery.expiresAt));
    await purge();

    app.clock.advance(HOUR_IN_MS);

    expect(await purge()).toEqual(NOTHING_DONE);
    expect(await purgeEvents(delivery.requesterId)).toHaveLength(1);
  });

  test('the blobs of a delivery not yet expired stay in the same container', async () => {
    const expired = await seed({ items: ['old 1', 'old 2'] });
    app.clock.advance(DAY_IN_MS);
    const live = await seed({ items: ['new 1', 'new 2'] });
    app.clock.set(new Date(expired.expiresAt));

    expect(await purge()).toMatchObject({ deliveriesPurged: 1, itemsShredded: 2, blobsDeleted: 2 });

    expect(await blobNames()).toEqual(live.items.map((item) => item.blobName).sort());
    expect(await stateOf(live)).toEqual(untouched(2));
  });

  test('deliveries expire one by one: each run purges exactly those whose expiresAt has come', async () => {
    const first = await seed();
    app.clock.advance(HOUR_IN_MS);
    const second = await seed();

    app.clock.set(new Date(first.expiresAt));
    expect(await purge()).toMatchObject({ deliveriesPurged: 1 });
    expect(await stateOf(second)).toEqual(untouched(1));

    app.clock.set(new Date(second.expiresAt));
    expect(await purge()).toMatchObject({ deliveriesPurged: 1 });
    expect(await stateOf(second)).toEqual(purged(1, second.expiresAt));
  });
});

describe('abandoned drafts', () => {
  /** A released delivery turned back into a draft created at `createdAt`: the same rows and blobs a draft has. */
  async function seedDraft(createdAt: number, items = ['draft item']): Promise<SeededDelivery> {
    const delivery = await seed({ items });
    await app.services.store.execute(
      sql(`UPDATE deliveries SET status = 'draft', created_at = @createdAt, released_at = NULL, expires_at = NULL WHERE id = @id`, {
        createdAt: p.bigint(createdAt),
        id: p.text(delivery.id),
      }),
    );
    return delivery;
  }

  test('a draft nobody submitted for a week is abandoned: keys destroyed and blobs deleted; a younger draft stays', async () => {
    const old = await seedDraft(now() - 7 * DAY_IN_MS - 1, ['a', 'b']);
    const young = await seedDraft(now() - 6 * DAY_IN_MS);
    const report = await purge();
    expect(report).toMatchObject({ draftsAbandoned: 1, itemsShredded: 2, complete: true });
    const abandoned = await stateOf(old);
    expect(abandoned.status).toBe('abandoned');
    expect(abandoned.items).toEqual([
      { hasKey: false, destroyedAt: now(), hasBlob: false },
      { hasKey: false, destroyedAt: now(), hasBlob: false },
    ]);
    const kept = await stateOf(young);
    expect(kept.status).toBe('draft');
    expect(kept.items).toEqual([{ hasKey: true, destroyedAt: null, hasBlob: true }]);
    expect(await purge()).toMatchObject({ draftsAbandoned: 0, itemsShredded: 0 });
  });

  test('an abandoned draft never shows to its requester: not in the inbox, not by id', async () => {
    const draft = await seedDraft(now() - 7 * DAY_IN_MS - 1);
    const released = await seed({ requesterId: draft.requesterId });
    await purge();
    expect((await stateOf(draft)).status).toBe('abandoned');
    const requester: Principal = { subject: draft.requesterId, role: 'requester', organizationId: null, apiKeyId: null, sessionId: null, mfaAt: now() / 1000, amr: ['otp'] };
    const inbox = await listInbox(app.services, requester, { limit: 50, after: null });
    expect(inbox.items.map((item) => item.id)).toEqual([released.id]);
    await expect(getDelivery(app.services, requester, draft.id)).rejects.toMatchObject({ status: 404 });
    await expect(getDelivery(app.services, requester, released.id)).resolves.toMatchObject({ id: released.id, status: 'released' });
  });
});

describe('an interrupted purge', () => {
  test('a run that dies after destroying the keys loses nothing that should stay, and the next run finishes the job', async () => {
    const expired = [await seed({ items: ['a', 'b'] }), await seed({ items: ['c', 'd'] }), await seed({ items: ['e', 'f'] })];
    app.clock.advance(DAY_IN_MS);
    const live = await seed({ items: ['keep 1', 'keep 2'] });
    const diedAt = expired[2]!.expiresAt + HOUR_IN_MS;
    app.clock.set(new Date(diedAt));
    blobs.failAfter(3);

    await expect(purge()).rejects.toThrow('blob storage went away');

    // Every expired key is destroyed already; no delivery is marked purged without its blobs gone.
    for (const delivery of expired) {
      const state = await stateOf(delivery);
      expect(state).toMatchObject({ status: 'released', hasReceipt: false });
      expect(state.items.map((item) => item.hasKey)).toEqual([false, false]);
    }
    expect(await stateOf(live)).toEqual(untouched(2));

    blobs.heal();
    app.clock.advance(HOUR_IN_MS);
    const rerun = await purge();

    expect(rerun).toMatchObject({ deliveriesPurged: 3, itemsShredded: 0, blobsDeleted: 6, complete: true });
    expect(await blobNames()).toEqual(live.items.map((item) => item.blobName).sort());
    expect(await stateOf(live)).toEqual(untouched(2));
    for (const delivery of expired) {
      const state = await stateOf(delivery);
      // The keys died in the first run, and the receipt says so; the delivery was purged in the second.
      expect(state).toEqual({ ...purged(2, diedAt), purgedAt: diedAt + HOUR_IN_MS });
      const { payload } = await verifyJws(app.services.signingKeys, (await readDeletionReceipt(app.services, delivery.id))!);
      expect(payload).toMatchObject({ destroyedAt: new Date(diedAt).toISOString(), purgedAt: new Date(diedAt + HOUR_IN_MS).toISOString() });
      expect(await purgeEvents(delivery.requesterId)).toHaveLength(1);
    }
  });

  test('a run out of time stops between batches with complete: false, and the next run carries on', async () => {
    const deliveries = [await seed(), await seed(), await seed()];
    app.clock.set(new Date(deliveries[2]!.expiresAt));
    const stop = new AbortController();
    // The host asks the run to stop while its first batch is under way.
    const deleteBlob = blobs.store.delete;
    blobs.store.delete = async (container, name) => {
      stop.abort();
      await deleteBlob(container, name);
    };

    expect(await purge({ batchSize: 1, signal: stop.signal })).toMatchObject({ deliveriesPurged: 1, complete: false });
    expect(await purge({ batchSize: 1 })).toMatchObject({ deliveriesPurged: 2, complete: true });

    for (const delivery of deliveries) expect((await stateOf(delivery)).status).toBe('purged');
  });

  test('two runs at once write one receipt per delivery', async () => {
    const deliveries = [await seed({ requesterId: 'requester-1' }), await seed({ requesterId: 'requester-1' }), await seed({ requesterId: 'requester-2' })];
    app.clock.set(new Date(deliveries[2]!.expiresAt));

    const [one, two] = await Promise.all([purge(), purge()]);

    expect(one.deliveriesPurged + two.deliveriesPurged).toBe(3);
    expect(await purgeEvents('requester-1')).toHaveLength(2);
    expect(await purgeEvents('requester-2')).toHaveLength(1);
    expect((await verifyAudit(app.services.store, app.services)).problems).toEqual([]);
  });
});

describe('the sweeps', () => {
  async function pendingUpload(startedAt: number, options: { becameItem?: boolean } = {}): Promise<string> {
    const blobName = app.services.random.id();
    await app.services.blobs.upload(containerOf(organizationId), blobName, Readable.from([Buffer.from('half an upload')]));
    await app.services.store.execute(
      sql('INSERT INTO pending_uploads (blob_name, organization_id, started_at) VALUES (@blobName, @organizationId, @startedAt)', {
        blobName: p.text(blobName),
        organizationId: p.text(organizationId),
        startedAt: p.bigint(startedAt),
      }),
    );
    if (options.becameItem) {
      await app.services.store.execute(
        sql(
          `INSERT INTO delivery_items (id, delivery_id, organization_id, name, name_index, content_type, size, sha256, blob_name, wrapped_dek, created_at, destroyed_at)
           VALUES (@id, 'draft-delivery', @organizationId, @name, @id, 'text/plain', 14, @sha256, @blobName, @wrapped, @startedAt, NULL)`,
          {
            id: p.text(app.services.random.id()),
            organizationId: p.text(organizationId),
            name: p.blob(Buffer.from('sealed name')),
            sha256: p.text('0'.repeat(64)),
            blobName: p.text(blobName),
            wrapped: p.blob(Buffer.alloc(40)),
            startedAt: p.bigint(startedAt),
          },
        ),
      );
    }
    return blobName;
  }

  async function count(table: string): Promise<number> {
    const [row] = await app.services.store.query<{ n: number }>(sql(`SELECT COUNT(*) AS n FROM ${table}`));
    return Number(row!.n);
  }

  test('an upload pending for 25 hours goes with its blob; one pending for 23 hours stays', async () => {
    await pendingUpload(now() - 25 * HOUR_IN_MS);
    const underway = await pendingUpload(now() - 23 * HOUR_IN_MS);

    expect(await purge()).toEqual({ ...NOTHING_DONE, orphanBlobsDeleted: 1 });

    expect(await blobNames()).toEqual([underway]);
    const rows = await app.services.store.query<{ blob_name: string }>(sql('SELECT blob_name FROM pending_uploads'));
    expect(rows.map((row) => row.blob_name)).toEqual([underway]);
  });

  test('a pending row left behind by an upload that became an item goes, and the item keeps its blob', async () => {
    const blobName = await pendingUpload(now() - 25 * HOUR_IN_MS, { becameItem: true });

    expect(await purge()).toEqual({ ...NOTHING_DONE, orphanBlobsDeleted: 0 });

    expect(await blobNames()).toEqual([blobName]);
    expect(await count('pending_uploads')).toBe(0);
  });

  test('one-time tokens go once expired, or a day after they were used', async () => {
    const token = async (name: string, expiresAt: number, usedAt: number | null) =>
      app.services.store.execute(
        sql(
          `INSERT INTO one_time_tokens (token_hash, purpose, user_id, organization_id, role, password_hash, created_at, expires_at, used_at)
           VALUES (@hash, 'invite', NULL, NULL, NULL, NULL, @createdAt, @expiresAt, @usedAt)`,
          {
            hash: p.text(createHash('sha256').update(name).digest('hex')),
            createdAt: p.bigint(now() - 2 * DAY_IN_MS),
            expiresAt: p.bigint(expiresAt),
            usedAt: p.bigint(usedAt),
          },
        ),
      );
    await token('expired', now(), null);
    await token('valid', now() + 1, null);
    await token('used 25 h ago', now() + DAY_IN_MS, now() - 25 * HOUR_IN_MS);
    await token('used 23 h ago', now() + DAY_IN_MS, now() - 23 * HOUR_IN_MS);

    expect(await purge()).toEqual({ ...NOTHING_DONE, tokensSwept: 2 });

    expect(await count('one_time_tokens')).toBe(2);
  });

  test('sessions past their idle or absolute expiry go with their refresh tokens; a fresh one stays', async () => {
    const session = async (id: string, idleExpiresAt: number, absoluteExpiresAt: number) => {
      await app.services.store.execute(
        sql(
          `INSERT INTO sessions (id, user_id, role, organization_id, api_key_id, amr, mfa_at, auth_time, created_at, idle_expires_at, absolute_expires_at, revoked_at, revoked_reason)
           VALUES (@id, 'user-1', 'requester', NULL, NULL, 'pwd', NULL, 0, 0, @idle, @absolute, NULL, NULL)`,
          { id: p.text(id), idle: p.bigint(idleExpiresAt), absolute: p.bigint(absoluteExpiresAt) },
        ),
      );
      await app.services.store.execute(
        sql("INSERT INTO refresh_tokens (token_hash, session_id, created_at, used_at) VALUES (@hash, @id, 0, NULL)", {
          hash: p.text(`hash-of-${id}`),
          id: p.text(id),
        }),
      );
    };
    await session('fresh', now() + DAY_IN_MS, now() + 30 * DAY_IN_MS);
    await session('idle', now(), now() + 30 * DAY_IN_MS);
    await session('too old', now() + DAY_IN_MS, now());

    expect(await purge()).toEqual({ ...NOTHING_DONE, sessionsSwept: 2 });

    expect(await app.services.store.query(sql('SELECT id FROM sessions'))).toEqual([{ id: 'fresh' }]);
    expect(await app.services.store.query(sql('SELECT session_id FROM refresh_tokens'))).toEqual([{ session_id: 'fresh' }]);
  });

  test('MFA challenges go once expired; a live one stays', async () => {
    for (const [id, expiresAt] of [['expired', now()], ['live', now() + 1]] as const) {
      await app.services.store.execute(
        sql(
          `INSERT INTO mfa_challenges (id, user_id, purpose, role, organization_id, api_key_id, scope, session_id, refresh_token_hash,
             factor_id, code_hash, code_expires_at, webauthn_challenge, sends, attempts, created_at, expires_at, used_at)
           VALUES (@id, 'user-1', 'login', 'requester', NULL, NULL, 'requester', NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, @createdAt, @expiresAt, NULL)`,
          { id: p.text(id), createdAt: p.bigint(now() - HOUR_IN_MS), expiresAt: p.bigint(expiresAt) },
        ),
      );
    }

    expect(await purge()).toEqual({ ...NOTHING_DONE, challengesSwept: 1 });

    expect(await app.services.store.query(sql('SELECT id FROM mfa_challenges'))).toEqual([{ id: 'live' }]);
  });

  test('idempotency records go after a day, throttle counters after a quiet day', async () => {
    await recordFailure(app.services.store, app.clock, ['ip:login:quiet-for-a-day']);
    app.clock.advance(DAY_IN_MS);
    await recordFailure(app.services.store, app.clock, ['ip:login:just-now']);
    for (const [key, age] of [['old', 25 * HOUR_IN_MS], ['recent', 23 * HOUR_IN_MS]] as const) {
      await app.services.store.execute(
        sql("INSERT INTO idempotency_keys (scope, idem_key, request_hash, response, created_at) VALUES ('scope', @key, 'hash', NULL, @createdAt)", {
          key: p.text(key),
          createdAt: p.bigint(now() - age),
        }),
      );
    }

    expect(await purge()).toEqual({ ...NOTHING_DONE, idempotencySwept: 1, throttleSwept: 1 });

    expect(await app.services.store.query(sql('SELECT idem_key FROM idempotency_keys'))).toEqual([{ idem_key: 'recent' }]);
    expect(await app.services.store.query(sql('SELECT subject FROM throttle_counters'))).toEqual([{ subject: 'ip:login:just-now' }]);
  });
});
