/**
 * An org admin's API key operations: each change and its audit entry commit together.
 */
import type { Services } from '../../app/services';
import type { Principal } from '../../http/route';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey, type CreatedApiKey } from '../apiKeys/apiKeys';
import { appendAudit, orgChain } from '../audit/audit';

function publicKey(created: CreatedApiKey) {
  // servicePrincipalId is what an admin assigns requests to for a backend using this key (ApiKeySecret documents it).
  return { id: created.id, prefix: created.prefix, key: created.key, name: created.name, createdAt: created.createdAt, servicePrincipalId: created.servicePrincipalId };
}

export async function createOrganizationApiKey(services: Services, admin: Principal, organizationId: string, input: { name: string }) {
  const created = await services.store.transaction(async (tx) => {
    const key = await createApiKey(tx, services, { organizationId, name: input.name, createdBy: admin.subject });
    await appendAudit(tx, services, {
      chain: orgChain(organizationId),
      action: 'api_key.created',
      actor: { type: 'user', id: admin.subject },
      target: { type: 'api_key', id: key.id },
      details: { prefix: key.prefix },
    });
    return key;
  });
  return publicKey(created);
}

export async function rotateOrganizationApiKey(services: Services, admin: Principal, organizationId: string, keyId: string, input: { graceSeconds?: number }) {
  const created = await services.store.transaction(async (tx) => {
    const key = await rotateApiKey(tx, services, { organizationId, keyId, graceSeconds: input.graceSeconds ?? 0, rotatedBy: admin.subject });
    await appendAudit(tx, services, {
      chain: orgChain(organizationId),
      action: 'api_key.rotated',
      actor: { type: 'user', id: admin.subject },
      target: { type: 'api_key', id: keyId },
      details: { newKeyId: key.id, graceSeconds: input.graceSeconds ?? 0 },
    });
    return key;
  });
  return publicKey(created);
}

export async function revokeOrganizationApiKey(services: Services, admin: Principal, organizationId: string, keyId: string): Promise<void> {
  await services.store.transaction(async (tx) => {
    await revokeApiKey(tx, services, { organizationId, keyId });
    await appendAudit(tx, services, {
      chain: orgChain(organizationId),
      action: 'api_key.revoked',
      actor: { type: 'user', id: admin.subject },
      target: { type: 'api_key', id: keyId },
    });
  });
}

export function listOrganizationApiKeys(services: Services, organizationId: string, query: URLSearchParams) {
  const limit = query.get('limit');
  return listApiKeys(services.store, services, organizationId, { limit: limit === null ? undefined : Number(limit), cursor: query.get('cursor') });
}
