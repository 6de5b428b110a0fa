/**
 * The deletion receipt of one delivery (DESIGN §2: "receipt + audit written"), for whoever may see the delivery:
 * the requester it was released to, and its organization side (its creator and the request's assignee). The purge
 * (purge.ts) signs it when it destroys the delivery; this reads it back, with its claims decoded for display.
 *
 * - 404 not_found: the caller may not see the delivery (or it does not exist), exactly as GET /v1/deliveries/{id}.
 * - 409 conflict: the caller sees the delivery, but it has no receipt: it has not been deleted yet (a draft, or
 *   released and not yet purged, even past its expiresAt until the purge has run), or it was an abandoned draft,
 *   whose items are destroyed without a receipt (it was never released to anyone).
 */
import type { Services } from '../../app/services';
import { errors } from '../../errors';
import type { Principal } from '../../http/route';
import { getDelivery, type DeliveryView } from '../deliveries/deliveries';
import { jwksUri } from '../requests/consentReceipt';
import { readDeletionReceipt } from './purge';

/** The claims the purge signs (see `deletionReceipt` in purge.ts). Ids only: the requester is an opaque id. */
export interface DeletionReceiptPayload {
  readonly receiptType: 'deletion';
  readonly deliveryId: string;
  readonly requestId: string;
  readonly organizationId: string;
  readonly requesterId: string;
  /** How many items were destroyed. */
  readonly items: number;
  readonly releasedAt: string | null;
  readonly expiresAt: string;
  /** When the last data key was destroyed (crypto-shredding). */
  readonly destroyedAt: string;
  readonly purgedAt: string;
  readonly method: string;
}

export interface DeletionReceiptView {
  /** Compact JWS (ES256, typ JWT): the signed original of `payload`. */
  readonly receipt: string;
  readonly jwksUri: string;
  readonly payload: DeletionReceiptPayload;
}

export async function getDeletionReceipt(services: Services, principal: Principal, deliveryId: string): Promise<DeletionReceiptView> {
  // Whoever may see the delivery may see its receipt, and anyone else gets the same 404 as for the delivery.
  const delivery = await getDelivery(services, principal, deliveryId);
  if (delivery.status !== 'purged') throw errors.conflict(whyNoReceipt(delivery, services.clock.now().getTime()));
  const receipt = await readDeletionReceipt(services, delivery.id);
  // The purge marks a delivery purged and stores its receipt in one statement: one without the other is corruption.
  if (receipt === null) throw new Error(`Purged delivery ${delivery.id} has no deletion receipt`);
  return { receipt, jwksUri: jwksUri(services), payload: decodeDeletionReceipt(receipt) };
}

/**
 * The claims of a receipt we signed and stored, without checking the signature: what the holder gets next to the
 * JWS, for display. Whoever relies on it verifies the JWS against the JWKS.
 */
export function decodeDeletionReceipt(receipt: string): DeletionReceiptPayload {
  const payload = receipt.split('.')[1];
  if (payload === undefined) throw new Error('A stored deletion receipt is not a compact JWS');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as DeletionReceiptPayload;
}

function whyNoReceipt(delivery: DeliveryView, nowMs: number): string {
  switch (delivery.status) {
    case 'draft':
      return 'This delivery has not been deleted yet: it is a draft';
    case 'abandoned':
      return 'This delivery was a draft nobody submitted: its items were destroyed without a deletion receipt, as it was never released';
    default:
      if (delivery.expiresAt !== null && nowMs >= Date.parse(delivery.expiresAt)) {
        return `This delivery has not been deleted yet: it expired at ${delivery.expiresAt}, and the next purge run deletes it and signs its receipt`;
      }
      return `This delivery has not been deleted yet: it stays readable until ${delivery.expiresAt}, and is deleted (with a signed receipt) after that`;
  }
}
