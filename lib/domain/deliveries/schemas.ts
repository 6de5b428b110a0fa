/**
 * HTTP shapes of the delivery routes (DESIGN §5.1). Written once: request validation, the OpenAPI document and
 * the published JSON Schemas all come from here.
 */
import { z } from 'zod';
import { named } from '../../http/schemas';

export const DELIVERY_TITLE_MAX_LENGTH = 200;

const exampleDeliveryId = 'q3x7b2mzkd4hc5wfnvplrt6ay';
const exampleRequestId = 'm2ovz6xq3h7kjd4bwsaeylnrtc';
const exampleItemId = 'hx4n7kqz2mbdw5lrcfyvo3tpag';
const exampleOrgId = 'a7kd2nq4zmx6hvb3wrlyceofpt';
const timestamp = z.iso.datetime().describe('RFC 3339, UTC');
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of the item bytes, lowercase hex');

export const CreateDeliveryRequestSchema = named(
  'CreateDeliveryRequest',
  z
    .strictObject({
      title: z.string().trim().min(1).max(DELIVERY_TITLE_MAX_LENGTH).describe('Shown to the requester in their inbox'),
    })
    .meta({ description: 'Start a draft delivery for a request', example: { title: 'Your customer data, as of November 2026' } }),
);

export const DeliveryDraftSchema = named(
  'DeliveryDraft',
  z
    .strictObject({ id: z.string(), requestId: z.string(), status: z.literal('draft') })
    .meta({ description: 'A new draft: put items into it, then submit it', example: { id: exampleDeliveryId, requestId: exampleRequestId, status: 'draft' } }),
);

export const DeliveryItemSchema = named(
  'DeliveryItem',
  z
    .strictObject({
      id: z.string(),
      name: z.string().describe('The item name as given (NFC)'),
      size: z.number().int().min(0).describe('Bytes'),
      contentType: z.string(),
      sha256: sha256Hex,
    })
    .meta({
      description: 'An item of a delivery',
      example: { id: exampleItemId, name: 'statement-2026.pdf', size: 48213, contentType: 'application/pdf', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    }),
);

export const DeliveryReleasedSchema = named(
  'DeliveryReleased',
  z
    .strictObject({ id: z.string(), status: z.literal('released'), releasedAt: timestamp, expiresAt: timestamp })
    .meta({
      description: 'The delivery is released to the requester until expiresAt (releasedAt + 32 days)',
      example: { id: exampleDeliveryId, status: 'released', releasedAt: '2026-11-21T10:00:00.000Z', expiresAt: '2026-12-23T10:00:00.000Z' },
    }),
);

const status = z.enum(['draft', 'released', 'purged', 'abandoned']).describe('purged: the data is destroyed; abandoned: a draft never submitted within a week, destroyed');
const expired = z.boolean().describe('true from expiresAt on: items can no longer be read (410), whether or not the purge ran');

export const DeliverySchema = named(
  'Delivery',
  z
    .strictObject({
      id: z.string(),
      requestId: z.string(),
      organizationId: z.string(),
      title: z.string(),
      status,
      createdAt: timestamp,
      releasedAt: timestamp.nullable(),
      expiresAt: timestamp.nullable(),
      expired,
      daysLeft: z.number().int().min(0).nullable().describe('Whole days until expiresAt, rounded up; null for a draft'),
      items: z.array(DeliveryItemSchema).describe('Empty once expired or purged'),
      downloaded: z.boolean().optional().describe("Organization side only: whether the requester has downloaded anything. Nothing more is disclosed"),
    })
    .meta({
      description: 'A delivery and its items',
      example: {
        id: exampleDeliveryId,
        requestId: exampleRequestId,
        organizationId: exampleOrgId,
        title: 'Your customer data, as of November 2026',
        status: 'released',
        createdAt: '2026-11-21T09:40:00.000Z',
        releasedAt: '2026-11-21T10:00:00.000Z',
        expiresAt: '2026-12-23T10:00:00.000Z',
        expired: false,
        daysLeft: 32,
        items: [],
      },
    }),
);

export const DeliveryInboxSchema = named(
  'DeliveryInbox',
  z
    .strictObject({
      items: z.array(
        z.strictObject({
          id: z.string(),
          requestId: z.string(),
          organizationId: z.string(),
          organizationName: z.string(),
          title: z.string(),
          status: status.exclude(['draft']),
          releasedAt: timestamp,
          expiresAt: timestamp,
          expired,
          daysLeft: z.number().int().min(0),
        }),
      ),
      nextCursor: z.string().nullable(),
    })
    .meta({ description: "The requester's deliveries, newest first", example: { items: [], nextCursor: null } }),
);
