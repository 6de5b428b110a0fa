/**
 * Organizations. An operator creates one with its first admin's address: the organization, its key-encryption
 * key and the admin's invitation are written in one transaction; the blob container and the mail follow.
 */
import { p, sql } from '../../adapters/sql/params';
import type { Services } from '../../app/services';
import { errors } from '../../errors';
import type { Principal } from '../../http/route';
import { appendAudit, orgChain } from '../audit/audit';
import { inviteToOrganization } from '../accounts/invitations';
import { limitClause, toPage, type Page } from '../paging';

export interface Organization {
  readonly id: string;
  readonly name: string;
}

export function containerOf(organizationId: string): string {
  return `org-${organizationId}`;
}

export async function createOrganization(services: Services, actor: Principal, input: { name: string; adminEmail: string }): Promise<Organization> {
  const { store, clock, random, keyHierarchy } = services;
  const id = random.id();
  const name = input.name.trim();
  const invitation = await store.transaction(async (tx) => {
    await tx.execute(
      sql('INSERT INTO organizations (id, name, created_at) VALUES (@id, @name, @now)', {
        id: p.text(id),
        name: p.text(name),
        now: p.bigint(clock.now().getTime()),
      }),
    );
    await keyHierarchy.createOrganizationKek(id, tx);
    await appendAudit(tx, services, {
      chain: orgChain(id),
      action: 'organization.created',
      actor: { type: 'user', id: actor.subject },
      target: { type: 'organization', id },
    });
    return inviteToOrganization(tx, services, actor, { organizationId: id, email: input.adminEmail, role: 'org_admin' });
  });
  await services.blobs.createContainer(containerOf(id));
  await invitation.send();
  return { id, name };
}

export async function getOrganization(services: Services, id: string): Promise<Organization> {
  const [row] = await services.store.query<{ id: string; name: string }>(sql('SELECT id, name FROM organizations WHERE id = @id', { id: p.text(id) }));
  if (!row) throw errors.notFound('No such organization');
  return { id: row.id, name: row.name };
}

/** The directory a requester picks from: names are public business names, not personal data. */
export async function listOrganizations(services: Services, page: Page): Promise<{ items: Organization[]; nextCursor: string | null }> {
  const rows = await services.store.query<{ id: string; name: string }>(
    sql(`SELECT id, name FROM organizations WHERE id > @after ORDER BY id${limitClause(services.store.dialect)}`, {
      after: p.text(page.after ?? ''),
      limit: p.int(page.limit + 1),
    }),
  );
  return toPage(
    rows.map((row) => ({ id: row.id, name: row.name })),
    page.limit,
    (organization) => organization.id,
  );
}
