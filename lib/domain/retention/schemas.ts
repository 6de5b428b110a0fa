/**
 * HTTP shapes of retention: the signed deletion receipt of a purged delivery. Written once: the OpenAPI document
 * and the published JSON Schemas come from here.
 */
import { z } from 'zod';
import { named } from '../../http/schemas';
import { DELETION_METHOD } from './purge';

// Example values are shaped like real ones (26-character base32 ids) but are not real.
const exampleDeliveryId = 'q3x7b2mzkd4hc5wfnvplrt6ay';
const exampleRequestId = 'm2ovz6xq3h7kjd4bwsaeylnrtc';
const exampleOrganizationId = 'a7kd2nq4zmx6hvb3wrlyceofpt';
const exampleRequesterId = 'x2c5v8b4n7m3q6w9e2r5t8y4ua';

const timestamp = z.iso.datetime().describe('RFC 3339, UTC');

export const DeletionReceiptPayloadSchema = named(
  'DeletionReceiptPayload',
  z
    .strictObject({
      receiptType: z.literal('deletion'),
      deliveryId: z.string(),
      requestId: z.string(),
      organizationId: z.string(),
      requesterId: z.string().describe("The requester's opaque account id"),
      items: z.number().int().min(0).describe('How many items the delivery held, all destroyed'),
      releasedAt: timestamp.nullable(),
      expiresAt: timestamp,
      destroyedAt: timestamp.describe('When the last data key of the items was destroyed: from then on no copy of their ciphertext can be decrypted'),
      purgedAt: timestamp,
      method: z.string().describe('How the data was destroyed'),
    })
    .meta({ description: 'What was deleted, when and how: ids only, no content and no personal data' }),
);

export const DeletionReceiptSchema = named(
  'DeletionReceipt',
  z
    .strictObject({
      receipt: z.string().describe('Compact JWS (ES256, typ JWT); the signed original of `payload`'),
      jwksUri: z.string().describe('Where the keys that verify it are published'),
      // Decoded for display; whoever relies on it verifies the JWS.
      payload: DeletionReceiptPayloadSchema,
    })
    .meta({
      description: 'The signed deletion receipt of a purged delivery, issued by the retention purge once the delivery expired',
      example: {
        receipt: 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyIuLi4iOiIuLi4ifQ.c2lnbmF0dXJl',
        jwksUri: 'https://connectid.example/.well-known/jwks.json',
        payload: {
          receiptType: 'deletion',
          deliveryId: exampleDeliveryId,
          requestId: exampleRequestId,
          organizationId: exampleOrganizationId,
          requesterId: exampleRequesterId,
          items: 2,
          releasedAt: '2026-11-21T10:00:00.000Z',
          expiresAt: '2026-12-23T10:00:00.000Z',
          destroyedAt: '2026-12-23T11:00:00.000Z',
          purgedAt: '2026-12-23T11:00:00.000Z',
          method: DELETION_METHOD,
        },
      },
    }),
);
