/**
 * The cast of the delivery tests, built through the real HTTP API (organizations, members, requesters, API keys),
 * except requests, which are inserted with SQL so these tests do not depend on the requests feature's routes.
 */
import http from 'node:http';
import { definition as createDelivery } from '../../functions/createDelivery';
import { definition as downloadDeliveryItem } from '../../functions/downloadDeliveryItem';
import { definition as getDelivery } from '../../functions/getDelivery';
import { definition as listDeliveries } from '../../functions/listDeliveries';
import { definition as putDeliveryItem } from '../../functions/putDeliveryItem';
import { definition as submitDelivery } from '../../functions/submitDelivery';
import { p, sql } from '../../lib/adapters/sql/params';
import type { RouteDefinition } from '../../lib/http/route';
import { api, basic, bootstrapOperator, createApiKey, createOrganizationWithAdmin, inviteAndJoin, login, mailedToken, PASSWORD, tokenRequest, type Tokens } from './identity';
import type { TestApp } from './testApp';

export const deliveryRoutes: readonly RouteDefinition[] = [createDelivery, putDeliveryItem, submitDelivery, listDeliveries, getDelivery, downloadDeliveryItem];

export const DAY_IN_MS = 86_400_000;

export interface Caller {
  readonly id: string;
  readonly email: string;
  token: string;
  /** Signs in again (after the fake clock moved past the token's life). */
  refresh(): Promise<void>;
}

export interface World {
  readonly acme: { readonly organizationId: string; readonly admin: Caller };
  readonly globex: { readonly organizationId: string; readonly admin: Caller };
  /** Acme members: `mia` works the requests, `otto` is assigned nothing. */
  readonly mia: Caller;
  readonly otto: Caller;
  readonly gina: Caller;
  readonly ada: Caller;
  readonly bob: Caller;
  /** Acme's backend (client_credentials). */
  readonly service: Caller;
}

function subjectOf(accessToken: string): string {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')).sub as string;
}

async function caller(email: string, signIn: () => Promise<Tokens>): Promise<Caller> {
  const tokens = await signIn();
  const who: Caller = {
    id: subjectOf(tokens.access_token),
    email,
    token: tokens.access_token,
    async refresh() {
      who.token = (await signIn()).access_token;
    },
  };
  return who;
}

export async function signUpRequester(app: TestApp, email: string, name: string): Promise<Caller> {
  const signUp = await api(app, 'POST', '/v1/requesters', { body: { email, password: PASSWORD, name } });
  if (signUp.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(signUp.body)}`);
  const token = await mailedToken(app, email, 'verify-email');
  await api(app, 'POST', '/v1/auth/verify-email', { body: { token } });
  return caller(email, () => login(app, email, { scope: 'requester' }));
}

export async function buildWorld(app: TestApp): Promise<World> {
  const operator = await bootstrapOperator(app);
  const acmeOrg = await createOrganizationWithAdmin(app, operator, 'Acme Insurance', 'admin@acme.example');
  const globexOrg = await createOrganizationWithAdmin(app, operator, 'Globex Bank', 'admin@globex.example');
  const member = async (organizationId: string, admin: Tokens, email: string) => {
    await inviteAndJoin(app, admin, organizationId, email);
    return caller(email, () => login(app, email, { scope: `org:${organizationId}` }));
  };
  const key = await createApiKey(app, acmeOrg.admin, acmeOrg.organizationId, 'backend');
  const service = await caller('service', async () => {
    const response = await tokenRequest(app, { grant_type: 'client_credentials' }, basic(key.id, key.key));
    if (response.status !== 200) throw new Error(`client_credentials failed: ${JSON.stringify(response.body)}`);
    return response.body as Tokens;
  });
  return {
    acme: {
      organizationId: acmeOrg.organizationId,
      admin: await caller('admin@acme.example', () => login(app, 'admin@acme.example', { scope: `org:${acmeOrg.organizationId}` })),
    },
    globex: {
      organizationId: globexOrg.organizationId,
      admin: await caller('admin@globex.example', () => login(app, 'admin@globex.example', { scope: `org:${globexOrg.organizationId}` })),
    },
    mia: await member(acmeOrg.organizationId, acmeOrg.admin, 'mia@acme.example'),
    otto: await member(acmeOrg.organizationId, acmeOrg.admin, 'otto@acme.example'),
    gina: await member(globexOrg.organizationId, globexOrg.admin, 'gina@globex.example'),
    ada: await signUpRequester(app, 'ada@example.org', 'Ada Lovelace'),
    bob: await signUpRequester(app, 'bob@example.org', 'Bob Builder'),
    service,
  };
}

export const PURPOSE_MARKER = 'PURPOSE-MARKER-insurance-claim-7781';

/** An open, consented request, assigned as given; inserted directly (the requests feature has its own tests). */
export async function insertRequest(
  app: TestApp,
  input: { organizationId: string; requesterId: string; assignee: { type: 'member' | 'service'; id: string } | null; categories?: string[] },
): Promise<string> {
  const { store, random, clock, keyHierarchy } = app.services;
  const cipher = await keyHierarchy.columnCipher();
  const id = random.id();
  const now = clock.now().getTime();
  await store.execute(
    sql(
      `INSERT INTO requests (id, organization_id, requester_id, status, purpose, categories, message, assignee_type, assignee_id,
         consent_given_at, consent_expires_at, consent_withdrawn_at, declined_at, decline_reason, consent_receipt, created_at, updated_at)
       VALUES (@id, @organizationId, @requesterId, 'open', @purpose, @categories, NULL, @assigneeType, @assigneeId,
         @now, @consentExpiresAt, NULL, NULL, NULL, @receipt, @now, @now)`,
      {
        id: p.text(id),
        organizationId: p.text(input.organizationId),
        requesterId: p.text(input.requesterId),
        purpose: p.blob(cipher.encrypt(PURPOSE_MARKER, 'requests.purpose')),
        categories: p.text(JSON.stringify(input.categories ?? ['contact', 'financial', 'other'])),
        assigneeType: p.text(input.assignee?.type ?? null),
        assigneeId: p.text(input.assignee?.id ?? null),
        now: p.bigint(now),
        consentExpiresAt: p.bigint(now + 365 * DAY_IN_MS),
        receipt: p.blob(cipher.encrypt('not a real receipt', 'requests.consent_receipt')),
      },
    ),
  );
  return id;
}

export async function withdrawConsent(app: TestApp, requestId: string): Promise<void> {
  const now = app.clock.now().getTime();
  await app.services.store.execute(
    sql(`UPDATE requests SET status = 'withdrawn', consent_withdrawn_at = @now, updated_at = @now WHERE id = @id`, { id: p.text(requestId), now: p.bigint(now) }),
  );
}

export function itemPath(deliveryId: string, name: string): string {
  return `/v1/deliveries/${deliveryId}/items/${encodeURIComponent(name)}`;
}

/** PUT an item with fetch (which sends Content-Length for a Buffer). */
export async function putItem(
  app: TestApp,
  who: Caller,
  deliveryId: string,
  name: string,
  bytes: Buffer,
  options: { contentType?: string; idempotencyKey?: string; category?: string } = {},
) {
  const headers: Record<string, string> = { Authorization: `Bearer ${who.token}`, 'Content-Type': options.contentType ?? 'application/octet-stream' };
  if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey;
  const query = options.category === undefined ? '' : `?category=${encodeURIComponent(options.category)}`;
  const response = await fetch(`${app.url}${itemPath(deliveryId, name)}${query}`, { method: 'PUT', headers, body: bytes as unknown as BodyInit });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

export async function download(app: TestApp, who: Caller, deliveryId: string, itemId: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.url}/v1/deliveries/${deliveryId}/items/${itemId}`, { headers: { Authorization: `Bearer ${who.token}`, ...headers } });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, json: () => JSON.parse(bytes.toString('utf8')) };
}

/**
 * A request over a raw socket, for what fetch will not send: a missing or lying Content-Length, a chunked body, a
 * client that stops half-way. `write` gets the request to write (and end or destroy) itself.
 */
export function rawRequest(
  app: TestApp,
  options: { method: string; path: string; headers: Record<string, string | number> },
  write: (request: http.ClientRequest) => void | Promise<void>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any } | { error: Error }> {
  return new Promise((resolve) => {
    const request = http.request(`${app.url}${options.path}`, { method: options.method, headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
      response.on('error', (error) => resolve({ error }));
    });
    request.on('error', (error) => resolve({ error }));
    void write(request);
  });
}

/** Polls `condition` until it holds (for cleanup that runs after the client has gone); fails after `timeoutMs`. */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition did not hold in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
