/**
 * Requests and their consent (DESIGN §1, §2). A requester opens a request to an organization, which records
 * their consent and signs a receipt; an org admin assigns it to a member or a service principal, or declines it;
 * the requester may withdraw consent at any time, after which no delivery is accepted.
 *
 * Privacy by default: who sees a request is one rule (`visibility`), applied in SQL to every read.
 *   requester   the requests they opened
 *   org_admin   the requests to their organization
 *   org_member  the requests assigned to them, nothing else (a new member sees nothing)
 *   service     the requests assigned to its service principal
 *   operator    none: running the platform needs no view of who asks whom for what
 * A request the caller may not see answers 404, exactly like one that does not exist.
 *
 * Every change is written with its audit entries (organization chain, then requester chain) in one transaction.
 * Free text and the receipt are column-encrypted; audit details carry ids and codes only.
 *
 * A request shows its requester's verified identity (name, birth date, national identifier, from a third-party eID —
 * lib/domain/eid) to everyone who may see the request: the organization's side, to know whom it delivers to, and the
 * requester, to see what they show.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import type { ColumnCipher } from '../../crypto/columnCipher';
import { errors } from '../../errors';
import type { Principal, Role } from '../../http/route';
import type { SqlExecutor, SqlParam } from '../../ports';
import { isServicePrincipalActive } from '../apiKeys/apiKeys';
import { appendAudit, orgChain, requesterChain, type AuditAction } from '../audit/audit';
import { getOrganization } from '../organizations/organizations';
import { limitClause, toPage, type Page } from '../paging';
import type { CategoryCode } from './categories';
import { recordIdentityViews } from './identityViews';
import { jwksUri, readConsentReceipt, signConsentReceipt, type ConsentFacts, type ConsentReceiptPayload } from './consentReceipt';
import { verifiedIdentityView, type VerifiedIdentityView } from '../eid/identities';

export const REQUEST_STATUSES = ['open', 'declined', 'withdrawn'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type AssigneeType = 'member' | 'service';

export const PURPOSE_MAX_LENGTH = 2000;
export const MESSAGE_MAX_LENGTH = 4000;
export const DECLINE_REASON_MAX_LENGTH = 2000;
export const DEFAULT_CONSENT_VALIDITY_IN_DAYS = 90;
export const MAX_CONSENT_VALIDITY_IN_DAYS = 365;

export const PURPOSE_CONTEXT = 'requests.purpose';
export const MESSAGE_CONTEXT = 'requests.message';
export const DECLINE_REASON_CONTEXT = 'requests.decline_reason';
export const CONSENT_RECEIPT_CONTEXT = 'requests.consent_receipt';

const DAY_IN_MS = 86_400_000;

export interface OpenRequestInput {
  readonly organizationId: string;
  readonly purpose: string;
  readonly categories: readonly CategoryCode[];
  readonly message?: string;
  /** RFC 3339; default now + 90 days. */
  readonly validUntil?: string;
}

export interface OpenedRequest {
  readonly id: string;
  readonly status: 'open';
  readonly consent: { readonly givenAt: string; readonly validUntil: string; readonly withdrawnAt: null; readonly receipt: string };
}

export interface RequestView {
  readonly id: string;
  readonly organizationId: string;
  readonly organizationName: string;
  readonly status: RequestStatus;
  readonly purpose: string;
  readonly categories: CategoryCode[];
  readonly message: string | null;
  readonly assignee: { readonly type: AssigneeType; readonly id: string } | null;
  readonly consent: { readonly givenAt: string; readonly validUntil: string; readonly withdrawnAt: string | null };
  readonly decline: { readonly declinedAt: string; readonly reason: string | null } | null;
  readonly createdAt: string;
  /** Who asks: their identity as a third-party eID verified it, or null when they never verified one. */
  readonly requester: { readonly verifiedIdentity: VerifiedIdentityView | null };
}

export interface ConsentReceiptView {
  readonly receipt: string;
  readonly jwksUri: string;
  readonly payload: ConsentReceiptPayload;
}

/** What a delivery needs to know about the request it goes to. */
export interface DeliverableRequest {
  readonly id: string;
  readonly organizationId: string;
  readonly requesterId: string;
  /** The data categories the requester consented to: a delivery carries nothing else. */
  readonly categories: readonly CategoryCode[];
}

// ---------------------------------------------------------------------------------------------
// Use cases

export async function openRequest(services: Services, requester: Principal, input: OpenRequestInput): Promise<OpenedRequest> {
  requireRole(requester, 'requester');
  const now = services.clock.now();
  const validUntil = consentEnd(now, input.validUntil);
  const organization = await getOrganization(services, input.organizationId);
  const id = services.random.id();
  const categories = [...input.categories];
  const { receipt } = await signConsentReceipt(services, {
    requestId: id,
    requesterId: requester.subject,
    organization,
    purpose: input.purpose,
    categories,
    givenAt: now,
    validUntil,
    status: 'active',
  });

  const cipher = await services.keyHierarchy.columnCipher();
  await services.store.transaction(async (tx) => {
    await tx.execute(
      sql(
        `INSERT INTO requests (id, organization_id, requester_id, status, purpose, categories, message, assignee_type, assignee_id,
           consent_given_at, consent_expires_at, consent_withdrawn_at, declined_at, decline_reason, consent_receipt, created_at, updated_at)
         VALUES (@id, @organizationId, @requesterId, 'open', @purpose, @categories, @message, NULL, NULL,
           @now, @validUntil, NULL, NULL, NULL, @receipt, @now, @now)`,
        {
          id: p.text(id),
          organizationId: p.text(organization.id),
          requesterId: p.text(requester.subject),
          purpose: p.blob(cipher.encrypt(input.purpose, PURPOSE_CONTEXT)),
          categories: p.text(JSON.stringify(categories)),
          message: p.blob(cipher.encryptNullable(input.message || null, MESSAGE_CONTEXT)),
          now: p.bigint(now.getTime()),
          validUntil: p.bigint(validUntil.getTime()),
          receipt: p.blob(cipher.encrypt(receipt, CONSENT_RECEIPT_CONTEXT)),
        },
      ),
    );
    await auditRequest(tx, services, { id, organizationId: organization.id, requesterId: requester.subject }, 'request.opened', requester, {
      categories,
      validUntil: validUntil.toISOString(),
    });
  });
  return {
    id,
    status: 'open',
    consent: { givenAt: now.toISOString(), validUntil: validUntil.toISOString(), withdrawnAt: null, receipt },
  };
}

/** The requests the principal may see, newest first. */
export async function listRequests(
  services: Services,
  principal: Principal,
  options: { readonly status?: RequestStatus; readonly page: Page },
): Promise<{ items: RequestView[]; nextCursor: string | null }> {
  const visible = visibility(principal);
  if (!visible) return { items: [], nextCursor: null };
  const { page } = options;
  const conditions = [visible.condition];
  const params: Record<string, SqlParam> = { ...visible.params, limit: p.int(page.limit + 1) };
  if (options.status) {
    conditions.push('r.status = @status');
    params.status = p.text(options.status);
  }
  if (page.after) {
    const after = parseCursorKey(page.after);
    conditions.push('(r.created_at < @afterCreatedAt OR (r.created_at = @afterCreatedAt AND r.id < @afterId))');
    params.afterCreatedAt = p.bigint(after.createdAt);
    params.afterId = p.text(after.id);
  }
  const rows = await services.store.query<RequestRow>(
    sql(`${SELECT_REQUEST} WHERE ${conditions.join(' AND ')} ORDER BY r.created_at DESC, r.id DESC${limitClause(services.store.dialect)}`, params),
  );
  const cipher = await services.keyHierarchy.columnCipher();
  await recordIdentityViews(services, principal, rows.slice(0, page.limit));
  return toPage(
    rows.map((row) => toView(cipher, row)),
    page.limit,
    (view) => `${Date.parse(view.createdAt)}:${view.id}`,
  );
}

export async function getRequest(services: Services, principal: Principal, id: string): Promise<RequestView> {
  const row = await requireVisible(services.store, principal, id);
  const view = toView(await services.keyHierarchy.columnCipher(), row);
  await recordIdentityViews(services, principal, [row]);
  return view;
}

/**
 * Assigns an open request to an active member of the admin's organization (by user id) or to a service principal
 * with a usable API key (by servicePrincipalId). Reassigning moves the request: the previous assignee no longer
 * sees it.
 */
export async function assignRequest(
  services: Services,
  admin: Principal,
  id: string,
  input: { readonly assigneeId: string },
): Promise<{ id: string; assigneeId: string; assigneeType: AssigneeType }> {
  requireRole(admin, 'org_admin');
  await services.keyHierarchy.columnCipher();
  return services.store.transaction(async (tx) => {
    const row = await requireVisible(tx, admin, id);
    requireOpen(row);
    const assignee = await resolveAssignee(tx, services, row.organization_id, input.assigneeId);
    const updated = await tx.execute(
      sql(
        `UPDATE requests SET assignee_type = @type, assignee_id = @assigneeId, updated_at = @now WHERE id = @id AND status = 'open'`,
        { type: p.text(assignee.type), assigneeId: p.text(assignee.id), now: p.bigint(services.clock.now().getTime()), id: p.text(id) },
      ),
    );
    if (updated.rowsAffected !== 1) throw notOpen();
    await auditRequest(tx, services, refOf(row), 'request.assigned', admin, {
      assigneeType: assignee.type,
      assigneeId: assignee.id,
      previousAssigneeId: row.assignee_id,
    });
    return { id, assigneeId: assignee.id, assigneeType: assignee.type };
  });
}

/** The organization declines an open request; the receipt is re-issued with status `declined`. */
export async function declineRequest(
  services: Services,
  admin: Principal,
  id: string,
  input: { readonly reason?: string },
): Promise<RequestView> {
  requireRole(admin, 'org_admin');
  const cipher = await services.keyHierarchy.columnCipher();
  const row = await requireVisible(services.store, admin, id);
  requireOpen(row);
  const now = services.clock.now();
  // Signing reads the signing keys through the store, so it happens before the transaction.
  const { receipt } = await signConsentReceipt(services, { ...consentFacts(cipher, row), status: 'declined', declinedAt: now });
  await services.store.transaction(async (tx) => {
    const updated = await tx.execute(
      sql(
        `UPDATE requests SET status = 'declined', declined_at = @now, decline_reason = @reason, consent_receipt = @receipt, updated_at = @now
         WHERE id = @id AND status = 'open'`,
        {
          now: p.bigint(now.getTime()),
          reason: p.blob(cipher.encryptNullable(input.reason || null, DECLINE_REASON_CONTEXT)),
          receipt: p.blob(cipher.encrypt(receipt, CONSENT_RECEIPT_CONTEXT)),
          id: p.text(id),
        },
      ),
    );
    // Withdrawn or declined since we read it: the receipt we signed is simply not stored.
    if (updated.rowsAffected !== 1) throw notOpen();
    await auditRequest(tx, services, refOf(row), 'request.declined', admin, { hasReason: Boolean(input.reason) });
  });
  return getRequest(services, admin, id);
}

/**
 * The requester withdraws consent (GDPR art. 7(3): at any time, whatever the request's state). No delivery is
 * accepted from then on, and a new receipt with status `withdrawn` replaces the stored one. Idempotent: a second
 * withdrawal answers the same state and changes nothing.
 */
export async function withdrawConsent(services: Services, requester: Principal, id: string): Promise<RequestView> {
  requireRole(requester, 'requester');
  const cipher = await services.keyHierarchy.columnCipher();
  const row = await requireVisible(services.store, requester, id);
  if (row.consent_withdrawn_at !== null) return toView(cipher, row);
  const now = services.clock.now();
  const { receipt } = await signConsentReceipt(services, { ...consentFacts(cipher, row), status: 'withdrawn', withdrawnAt: now });
  await services.store.transaction(async (tx) => {
    const updated = await tx.execute(
      sql(
        `UPDATE requests SET status = 'withdrawn', consent_withdrawn_at = @now, consent_receipt = @receipt, updated_at = @now
         WHERE id = @id AND requester_id = @requesterId AND consent_withdrawn_at IS NULL`,
        {
          now: p.bigint(now.getTime()),
          receipt: p.blob(cipher.encrypt(receipt, CONSENT_RECEIPT_CONTEXT)),
          id: p.text(id),
          requesterId: p.text(requester.subject),
        },
      ),
    );
    // A concurrent withdrawal won: its receipt stands, and it wrote the audit entries.
    if (updated.rowsAffected !== 1) return;
    await auditRequest(tx, services, refOf(row), 'consent.withdrawn', requester);
  });
  return getRequest(services, requester, id);
}

/** The signed consent receipt as it stands now, for whoever may see the request. */
export async function getConsentReceipt(services: Services, principal: Principal, id: string): Promise<ConsentReceiptView> {
  const row = await requireVisible(services.store, principal, id);
  const receipt = (await services.keyHierarchy.columnCipher()).decrypt(row.consent_receipt, CONSENT_RECEIPT_CONTEXT);
  return { receipt, jwksUri: jwksUri(services), payload: readConsentReceipt(receipt) };
}

/**
 * For the deliveries use cases: the request a principal is about to deliver to, if it may. Call it with the `tx`
 * of the transaction that writes the delivery, so the check and the write see the same row.
 *
 * - 404 not_found: the principal may not see the request (or it does not exist).
 * - 409 conflict: it may see it but may not deliver: it is not the assignee (an admin who did not assign it to
 *   themselves, a requester), the request was declined, consent was withdrawn, or consent has ended.
 */
export async function loadDeliverableRequest(db: SqlExecutor, principal: Principal, requestId: string, now: Date): Promise<DeliverableRequest> {
  const row = await requireVisible(db, principal, requestId);
  if (row.assignee_type !== assigneeTypeOf(principal.role) || row.assignee_id !== principal.subject) {
    throw errors.conflict('Only the assignee of this request may deliver to it');
  }
  if (row.status !== 'open' || row.consent_withdrawn_at !== null) {
    throw errors.conflict(`This request is ${row.status === 'open' ? 'withdrawn' : row.status}: it accepts no delivery`);
  }
  if (now.getTime() >= consentEndOf(row)) throw errors.conflict('The consent for this request has ended: it accepts no delivery');
  return { id: row.id, organizationId: row.organization_id, requesterId: row.requester_id, categories: categoriesOf(row) };
}

// ---------------------------------------------------------------------------------------------
// Who sees what

interface Visibility {
  readonly condition: string;
  readonly params: Record<string, SqlParam>;
}

/** The one rule of who sees a request, as a SQL condition on `requests r`; null = sees none. */
function visibility(principal: Principal): Visibility | null {
  const viewer = p.text(principal.subject);
  if (principal.role === 'requester') return { condition: 'r.requester_id = @viewer', params: { viewer } };
  if (principal.organizationId === null) return null;
  const viewerOrganization = p.text(principal.organizationId);
  switch (principal.role) {
    case 'org_admin':
      return { condition: 'r.organization_id = @viewerOrganization', params: { viewerOrganization } };
    case 'org_member':
    case 'service':
      return {
        condition: 'r.organization_id = @viewerOrganization AND r.assignee_type = @viewerType AND r.assignee_id = @viewer',
        params: { viewerOrganization, viewerType: p.text(assigneeTypeOf(principal.role)), viewer },
      };
    default:
      return null;
  }
}

/** Whether `principal` is the assignee recorded on a request (members and admins as 'member', backends as 'service'). */
export function isAssignee(principal: Principal, assigneeType: string | null, assigneeId: string | null): boolean {
  const expected = assigneeTypeOf(principal.role);
  return expected !== null && assigneeType === expected && assigneeId === principal.subject;
}

function assigneeTypeOf(role: Role): AssigneeType | null {
  if (role === 'org_admin' || role === 'org_member') return 'member';
  if (role === 'service') return 'service';
  return null;
}

async function requireVisible(db: SqlExecutor, principal: Principal, id: string): Promise<RequestRow> {
  const visible = visibility(principal);
  const [row] = visible
    ? await db.query<RequestRow>(sql(`${SELECT_REQUEST} WHERE r.id = @id AND ${visible.condition}`, { ...visible.params, id: p.text(id) }))
    : [];
  if (!row) throw errors.notFound('No such request');
  return row;
}

function requireRole(principal: Principal, role: Role): void {
  // The route policy already refused other roles; this keeps a miswired route from acting in someone's name.
  if (principal.role !== role) throw errors.forbidden('Your role may not call this operation');
}

function requireOpen(row: RequestRow): void {
  if (row.status !== 'open') throw notOpen();
}

function notOpen() {
  return errors.conflict('This request is no longer open');
}

/** Either an active member of the organization or a service principal of it with a usable key; nothing else. */
async function resolveAssignee(
  db: SqlExecutor,
  services: Pick<Services, 'clock'>,
  organizationId: string,
  assigneeId: string,
): Promise<{ type: AssigneeType; id: string }> {
  const members = await db.query(
    sql(
      `SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.organization_id = @organizationId AND m.user_id = @assigneeId AND m.disabled_at IS NULL AND u.disabled_at IS NULL`,
      { organizationId: p.text(organizationId), assigneeId: p.text(assigneeId) },
    ),
  );
  if (members.length === 1) return { type: 'member', id: assigneeId };
  if (await isServicePrincipalActive(db, services.clock, organizationId, assigneeId)) return { type: 'service', id: assigneeId };
  // One answer for unknown, disabled, revoked and foreign ids: nothing about other organizations leaks.
  throw errors.invalidRequest('The assignee is not an active member or service principal of this organization', [
    { path: 'assigneeId', message: 'Not an active member or service principal of this organization' },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Plumbing

type RequestRow = {
  id: string;
  organization_id: string;
  organization_name: string;
  requester_id: string;
  status: string;
  purpose: Uint8Array;
  categories: string;
  message: Uint8Array | null;
  assignee_type: string | null;
  assignee_id: string | null;
  // SQL Server returns BIGINT as a string.
  consent_given_at: number | string;
  consent_expires_at: number | string | null;
  consent_withdrawn_at: number | string | null;
  declined_at: number | string | null;
  decline_reason: Uint8Array | null;
  consent_receipt: Uint8Array;
  created_at: number | string;
  identity_provider: string | null;
  identity_claims: Uint8Array | null;
  identity_assurance_level: string | null;
  identity_verified_at: number | string | null;
};

const SELECT_REQUEST = `SELECT r.id, r.organization_id, o.name AS organization_name, r.requester_id, r.status, r.purpose, r.categories,
  r.message, r.assignee_type, r.assignee_id, r.consent_given_at, r.consent_expires_at, r.consent_withdrawn_at, r.declined_at,
  r.decline_reason, r.consent_receipt, r.created_at, v.provider_id AS identity_provider, v.claims AS identity_claims,
  v.assurance_level AS identity_assurance_level, v.verified_at AS identity_verified_at
  FROM requests r JOIN organizations o ON o.id = r.organization_id LEFT JOIN verified_identities v ON v.user_id = r.requester_id`;

function toView(cipher: ColumnCipher, row: RequestRow): RequestView {
  const declinedAt = optionalNumber(row.declined_at);
  return {
    id: row.id,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    status: row.status as RequestStatus,
    purpose: cipher.decrypt(row.purpose, PURPOSE_CONTEXT),
    categories: categoriesOf(row),
    message: cipher.decryptNullable(row.message, MESSAGE_CONTEXT),
    assignee: row.assignee_type !== null && row.assignee_id !== null ? { type: row.assignee_type as AssigneeType, id: row.assignee_id } : null,
    consent: {
      givenAt: isoOf(row.consent_given_at),
      validUntil: isoOf(consentEndOf(row)),
      withdrawnAt: row.consent_withdrawn_at === null ? null : isoOf(row.consent_withdrawn_at),
    },
    decline: declinedAt === null ? null : { declinedAt: isoOf(declinedAt), reason: cipher.decryptNullable(row.decline_reason, DECLINE_REASON_CONTEXT) },
    createdAt: isoOf(row.created_at),
    requester: {
      verifiedIdentity: verifiedIdentityView(cipher, {
        providerId: row.identity_provider,
        claims: row.identity_claims,
        assuranceLevel: row.identity_assurance_level,
        verifiedAt: row.identity_verified_at,
      }),
    },
  };
}

/** The facts a re-issued receipt repeats; it gets its own status and time. */
function consentFacts(cipher: ColumnCipher, row: RequestRow): Omit<ConsentFacts, 'status'> {
  const declinedAt = optionalNumber(row.declined_at);
  return {
    requestId: row.id,
    requesterId: row.requester_id,
    organization: { id: row.organization_id, name: row.organization_name },
    purpose: cipher.decrypt(row.purpose, PURPOSE_CONTEXT),
    categories: categoriesOf(row),
    givenAt: new Date(Number(row.consent_given_at)),
    validUntil: new Date(consentEndOf(row)),
    declinedAt: declinedAt === null ? null : new Date(declinedAt),
  };
}

function categoriesOf(row: RequestRow): CategoryCode[] {
  return JSON.parse(row.categories) as CategoryCode[];
}

function refOf(row: RequestRow): { id: string; organizationId: string; requesterId: string } {
  return { id: row.id, organizationId: row.organization_id, requesterId: row.requester_id };
}

/** One event, in the organization's chain and then the requester's (appendAudit's lock order). */
async function auditRequest(
  tx: SqlExecutor,
  services: Services,
  request: { id: string; organizationId: string; requesterId: string },
  action: AuditAction,
  actor: Principal,
  details?: Record<string, unknown>,
): Promise<void> {
  for (const chain of [orgChain(request.organizationId), requesterChain(request.requesterId)]) {
    await appendAudit(tx, services, {
      chain,
      action,
      actor: { type: actor.role === 'service' ? 'service' : 'user', id: actor.subject },
      target: { type: 'request', id: request.id },
      ...(details === undefined ? {} : { details }),
    });
  }
}

function consentEnd(now: Date, requested: string | undefined): Date {
  if (requested === undefined) return new Date(now.getTime() + DEFAULT_CONSENT_VALIDITY_IN_DAYS * DAY_IN_MS);
  const end = new Date(requested);
  if (Number.isNaN(end.getTime())) throw invalidValidUntil('Not an RFC 3339 time');
  if (end.getTime() <= now.getTime()) throw invalidValidUntil('Must be in the future');
  if (end.getTime() - now.getTime() > MAX_CONSENT_VALIDITY_IN_DAYS * DAY_IN_MS) {
    throw invalidValidUntil(`At most ${MAX_CONSENT_VALIDITY_IN_DAYS} days from now`);
  }
  return end;
}

function invalidValidUntil(message: string) {
  return errors.invalidRequest('validUntil is out of range', [{ path: 'validUntil', message }]);
}

// openRequest always sets consent_expires_at; were it ever missing, the consent counts as ended (fail closed).
function consentEndOf(row: RequestRow): number {
  return optionalNumber(row.consent_expires_at) ?? 0;
}

function parseCursorKey(key: string): { createdAt: number; id: string } {
  const match = /^(\d{1,16}):([A-Za-z0-9_-]{1,180})$/.exec(key);
  const createdAt = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(createdAt)) {
    throw errors.invalidRequest('The cursor is not valid', [{ path: 'cursor', message: 'Not a cursor from this API' }]);
  }
  return { createdAt, id: match[2]! };
}

function isoOf(epochMs: number | string): string {
  return new Date(Number(epochMs)).toISOString();
}

function optionalNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
