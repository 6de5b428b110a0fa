/**
 * After an emergency signing-key rotation the stored consent and deletion receipts are signed by an unpublished
 * key: re-signing them (lib/domain/tokens/resignReceipts.ts, `rotate-signing-key --compromised` and
 * `resign-receipts`) makes them verify again against the JWKS served over HTTP, with the same claims.
 *
 * The CLI runs in-process on the app's DATA_DIR, with the real clock; the app runs on its FakeClock, set to the real
 * time at start. Where the CLI unpublishes keys (at real time), the app's clock is moved past it, as a running
 * instance would see it within its 30 s refresh.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { commands } from '../../lib/cli/commands';
import { loadConfig } from '../../lib/config';
import { purgeExpired } from '../../lib/domain/retention/purge';
import { resignReceipts } from '../../lib/domain/tokens/resignReceipts';
import type { SigningKeys } from '../../lib/domain/tokens/signingKeys';
import { cli } from '../helpers/cli';
import { buildWorld, insertRequest, type World } from '../helpers/deliveries';
import { api } from '../helpers/identity';
import { DAY_IN_MS, RETENTION_IN_MS, seedReleasedDelivery } from '../helpers/retention';
import { azuriteConnectionString, startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
let world: World;

function cliEnv(): NodeJS.ProcessEnv {
  return { DATA_DIR: app.dataDir, BLOB_CONNECTION_STRING: azuriteConnectionString() };
}

/** Verifies as a holder would: against /.well-known/jwks.json fetched over HTTP (a fresh key set, no cache). */
async function verifyOverHttp(receipt: string): Promise<Record<string, unknown>> {
  const jwks = createRemoteJWKSet(new URL(`${app.url}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(receipt, jwks, { algorithms: ['ES256'], typ: 'JWT', currentDate: app.clock.now() });
  return payload as Record<string, unknown>;
}

async function publishedKids(): Promise<string[]> {
  return (await api(app, 'GET', '/.well-known/jwks.json')).body.keys.map((key: { kid: string }) => key.kid);
}

function kidOf(receipt: string): string | undefined {
  return decodeProtectedHeader(receipt).kid;
}

/** The base64url payload segment: equal segments are byte-for-byte equal claims. */
function payloadSegment(receipt: string): string {
  return receipt.split('.')[1]!;
}

async function consentReceipt(requestId: string): Promise<string> {
  const response = await api(app, 'GET', `/v1/requests/${requestId}/consent`, { token: world.ada.token });
  expect(response.status).toBe(200);
  return response.body.receipt;
}

async function deletionReceipt(deliveryId: string): Promise<string> {
  const response = await api(app, 'GET', `/v1/deliveries/${deliveryId}/deletion-receipt`, { token: world.ada.token });
  expect(response.status).toBe(200);
  return response.body.receipt;
}

async function openRequest(): Promise<string> {
  const opened = await api(app, 'POST', '/v1/requests', {
    token: world.ada.token,
    body: { organizationId: world.acme.organizationId, purpose: 'Moving my claims history', categories: ['contact', 'financial'] },
  });
  expect(opened.status).toBe(201);
  return opened.body.id;
}

/** Ada's access token was signed by a key that may just have been unpublished: she signs in again. */
async function afterRotation(): Promise<void> {
  await world.ada.refresh();
}

beforeAll(async () => {
  app = await startTestApp();
  // The CLI unpublishes keys at the real time; the app's clock starts there, so both agree on what is published.
  app.clock.set(new Date());
  world = await buildWorld(app);
});
afterAll(async () => app.close());

describe('re-signing the stored receipts', () => {
  let requestId: string;
  let deliveryId: string;
  /** The receipts as their holders got them before any emergency. */
  let original: { consent: string; deletion: string };
  let firstEmergencyKid: string;
  /** A second request, whose consent is withdrawn while a re-signing runs. */
  let withdrawnId: string;

  beforeAll(async () => {
    requestId = await openRequest();
    const now = app.clock.now().getTime();
    const delivery = await seedReleasedDelivery(app.services, {
      organizationId: world.acme.organizationId,
      requesterId: world.ada.id,
      releasedAt: now - RETENTION_IN_MS - DAY_IN_MS,
    });
    deliveryId = delivery.id;
    expect(await purgeExpired(app.services)).toMatchObject({ deliveriesPurged: 1 });
    original = { consent: await consentReceipt(requestId), deletion: await deletionReceipt(deliveryId) };
  });

  test('before any rotation, both receipts verify with the published keys', async () => {
    expect(await verifyOverHttp(original.consent)).toMatchObject({ requestId, status: 'active' });
    expect(await verifyOverHttp(original.deletion)).toMatchObject({ receiptType: 'deletion', deliveryId });
  });

  test('after rotate --compromised the stored receipts no longer verify; resign-receipts makes them verify with the new key, claims unchanged', async () => {
    const oldKid = kidOf(original.consent);
    const { kid } = await app.services.signingKeys.rotate({ compromised: true });
    firstEmergencyKid = kid;
    await afterRotation();
    expect(await publishedKids()).toEqual([kid]);
    const stale = { consent: await consentReceipt(requestId), deletion: await deletionReceipt(deliveryId) };
    expect(stale).toEqual(original);
    expect(kidOf(stale.consent)).toBe(oldKid);
    await expect(verifyOverHttp(stale.consent)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(verifyOverHttp(stale.deletion)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });

    const run = await cli(['resign-receipts', '--json'], cliEnv());

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ consentReceipts: 1, deletionReceipts: 1, changedMeanwhile: 0, failures: [] });
    const resigned = { consent: await consentReceipt(requestId), deletion: await deletionReceipt(deliveryId) };
    expect(kidOf(resigned.consent)).toBe(kid);
    expect(kidOf(resigned.deletion)).toBe(kid);
    expect(await verifyOverHttp(resigned.consent)).toEqual(decoded(original.consent));
    expect(await verifyOverHttp(resigned.deletion)).toEqual(decoded(original.deletion));
    expect(payloadSegment(resigned.consent)).toBe(payloadSegment(original.consent));
    expect(payloadSegment(resigned.deletion)).toBe(payloadSegment(original.deletion));
  });

  test('a second run has nothing to do, and says so', async () => {
    const again = await cli(['resign-receipts'], cliEnv());

    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Receipts re-signed with the current signing key: 0 consent, 0 deletion/);
    expect(again.stdout).toMatch(/Stored receipts are signed by published keys/);
    expect(again.stdout).not.toMatch(/FAILED/);
  });

  test('the audit log keeps the receipt the purge wrote (its hash chain is not rewritten)', async () => {
    const audit = await api(app, 'GET', '/v1/me/audit', { token: world.ada.token });
    const purged = audit.body.items.find((event: any) => event.action === 'delivery.purged' && event.target.id === deliveryId);
    expect(purged.details.receipt).toBe(original.deletion);
  });

  test('a consent withdrawn between the read and the write keeps its withdrawal receipt', async () => {
    withdrawnId = await openRequest();
    const { kid } = await app.services.signingKeys.rotate({ compromised: true });
    await afterRotation();
    // A test double of the signing keys: the withdrawal lands after the re-signing read the rows, before it writes.
    const real = app.services.signingKeys;
    let withdrawn = false;
    const signingKeys = Object.assign(Object.create(real) as SigningKeys, {
      current: async () => {
        if (!withdrawn) {
          withdrawn = true;
          const response = await api(app, 'POST', `/v1/requests/${withdrawnId}/withdraw`, { token: world.ada.token });
          expect(response.status).toBe(200);
        }
        return real.current();
      },
    });

    const report = await resignReceipts({ ...app.services, signingKeys });

    expect(withdrawn).toBe(true);
    // The first request and the deletion receipt (signed by the key just unpublished) are re-signed; the withdrawn one is left.
    expect(report).toEqual({ consentReceipts: 1, deletionReceipts: 1, changedMeanwhile: 1, failures: [] });
    const stored = await consentReceipt(withdrawnId);
    expect(kidOf(stored)).toBe(kid);
    expect(await verifyOverHttp(stored)).toMatchObject({ requestId: withdrawnId, status: 'withdrawn' });
    expect(await resignReceipts(app.services)).toEqual({ consentReceipts: 0, deletionReceipts: 0, changedMeanwhile: 0, failures: [] });
    expect(kidOf(await consentReceipt(requestId))).toBe(kid);
    expect(kid).not.toBe(firstEmergencyKid);
  });

  test('a normal rotation re-signs nothing: the previous key stays published', async () => {
    const before = { consent: await consentReceipt(requestId), deletion: await deletionReceipt(deliveryId) };

    const rotated = await cli(['rotate-signing-key', '--json'], cliEnv());
    expect(rotated.code).toBe(0);
    const json = JSON.parse(rotated.stdout);
    expect(json).toEqual({ kid: expect.any(String), previousKid: kidOf(before.consent), compromised: false });
    const run = await cli(['resign-receipts', '--json'], cliEnv());

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ consentReceipts: 0, deletionReceipts: 0, changedMeanwhile: 0, failures: [] });
    expect(await consentReceipt(requestId)).toBe(before.consent);
    expect(await deletionReceipt(deliveryId)).toBe(before.deletion);
    expect(await publishedKids()).toEqual(expect.arrayContaining([json.kid, kidOf(before.consent)]));
    expect(await verifyOverHttp(before.consent)).toMatchObject({ requestId });
    expect(await verifyOverHttp(before.deletion)).toMatchObject({ deliveryId });
  });

  test('rotate-signing-key --compromised re-signs every stored receipt right after rotating, and reports the counts', async () => {
    const before = { consent: await consentReceipt(requestId), deletion: await deletionReceipt(deliveryId) };
    const command = commands['rotate-signing-key']!;

    const result = await command.run(loadConfig(cliEnv()), { compromised: true });
    // The CLI unpublished the older keys at the real time; the app sees it (and its 30 s view refreshes) once past it.
    app.clock.set(new Date(Date.now() + 31_000));
    await afterRotation();

    const kid = String(result.json.kid);
    expect(result.exitCode ?? 0).toBe(0);
    expect(result.json).toEqual({
      kid: expect.any(String),
      previousKid: expect.any(String),
      compromised: true,
      // Both requests (the withdrawn one included) and the deletion receipt.
      resigned: { consentReceipts: 2, deletionReceipts: 1, changedMeanwhile: 0, failures: [] },
    });
    expect(result.text).toContain(`New signing key: ${kid}`);
    expect(result.text).toContain('Receipts re-signed with the current signing key: 2 consent, 1 deletion');
    expect(result.text).toContain('run npx connectid resign-receipts again');
    expect(await publishedKids()).toEqual([kid]);
    await expect(verifyOverHttp(before.consent)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    const after = { consent: await consentReceipt(requestId), deletion: await deletionReceipt(deliveryId) };
    expect(kidOf(after.consent)).toBe(kid);
    expect(kidOf(after.deletion)).toBe(kid);
    expect(payloadSegment(after.consent)).toBe(payloadSegment(original.consent));
    expect(payloadSegment(after.deletion)).toBe(payloadSegment(original.deletion));
    expect(await verifyOverHttp(after.consent)).toEqual(decoded(original.consent));
    expect(await verifyOverHttp(after.deletion)).toEqual(decoded(original.deletion));
  });

  test('a run interrupted half-way leaves each receipt old or new, and the next run finishes', async () => {
    const { kid } = await app.services.signingKeys.rotate({ compromised: true });
    await afterRotation();
    const real = app.services.signingKeys;
    let signatures = 0;
    const failingSecondTime = Object.assign(Object.create(real) as SigningKeys, {
      current: async () => {
        if (++signatures === 2) throw new Error('Key Vault throttled');
        return real.current();
      },
    });

    // One receipt per transaction: the first is written, the second fails to sign.
    await expect(resignReceipts({ ...app.services, signingKeys: failingSecondTime }, { batchSize: 1 })).rejects.toThrow('Key Vault throttled');

    const kids = [kidOf(await consentReceipt(requestId)), kidOf(await consentReceipt(withdrawnId)), kidOf(await deletionReceipt(deliveryId))];
    expect(kids.filter((each) => each === kid)).toHaveLength(1);
    expect(await resignReceipts(app.services, { batchSize: 1 })).toEqual({ consentReceipts: 1, deletionReceipts: 1, changedMeanwhile: 0, failures: [] });
    for (const receipt of [await consentReceipt(requestId), await consentReceipt(withdrawnId), await deletionReceipt(deliveryId)]) {
      expect(kidOf(receipt)).toBe(kid);
      await verifyOverHttp(receipt);
    }
    expect(payloadSegment(await consentReceipt(requestId))).toBe(payloadSegment(original.consent));
  });

  test('a receipt that cannot be re-signed is reported and left as it is, with exit code 3', async () => {
    // Not a JWS at all (the delivery tests' stand-in receipt); it must be reported, not signed.
    const broken = await insertRequest(app, { organizationId: world.acme.organizationId, requesterId: world.ada.id, assignee: null });

    const run = await cli(['resign-receipts'], cliEnv());

    expect(run.code).toBe(3);
    expect(run.stdout).toContain('Receipts re-signed with the current signing key: 0 consent, 0 deletion');
    expect(run.stdout).toContain(`FAILED consent receipt ${broken}:`);
    expect(run.stdout).toContain('1 receipt(s) left as they were');
  });
});

/** The claims of a receipt, decoded without checking its signature. */
function decoded(receipt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(payloadSegment(receipt), 'base64url').toString('utf8'));
}
