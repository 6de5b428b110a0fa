/**
 * HTTP shapes of requests and consent (DESIGN §5, §5.1). Written once: request validation, the OpenAPI document
 * and the published JSON Schemas all come from here. Unknown fields are rejected.
 */
import { z } from 'zod';
import { named } from '../../http/schemas';
import { VerifiedIdentitySchema } from '../eid/schemas';
import { CATEGORY_CODES } from './categories';
import { CONSENT_RECEIPT_VERSION } from './consentReceipt';
import {
  DECLINE_REASON_MAX_LENGTH,
  DEFAULT_CONSENT_VALIDITY_IN_DAYS,
  MAX_CONSENT_VALIDITY_IN_DAYS,
  MESSAGE_MAX_LENGTH,
  PURPOSE_MAX_LENGTH,
  REQUEST_STATUSES,
} from './requests';

// Example values are shaped like real ones (26-character base32 ids) but are not real.
const exampleRequestId = 'k7q2m4xw9ze3vb6np5ht8rcyua';
const exampleOrganizationId = 'b3vj6qk2w8xr5tm9pz4nhc7dya';
const exampleRequesterId = 'x2c5v8b4n7m3q6w9e2r5t8y4ua';
const exampleMemberId = '6tmdr3nj7ymd3n3gl2quyecftp';
const examplePurpose = 'I am switching insurers and want a copy of my claims history and the contact details you hold.';

const timestamp = z.iso.datetime().describe('RFC 3339, UTC');
const id = z.string().min(1).max(200);

const CategoryCode = z.enum(CATEGORY_CODES).describe('A data category code; GET /schemas/Category<Name>.json describes its items');

export const RequestStatusSchema = z.enum(REQUEST_STATUSES);

export const OpenRequestRequestSchema = named(
  'OpenRequestRequest',
  z
    .strictObject({
      organizationId: id.describe('From GET /v1/organizations'),
      purpose: z.string().trim().min(1).max(PURPOSE_MAX_LENGTH).describe('Why you want the data; goes into the consent receipt'),
      categories: z
        .array(CategoryCode)
        .min(1)
        .max(CATEGORY_CODES.length)
        .refine((codes) => new Set(codes).size === codes.length, 'Each category may be named once'),
      message: z.string().trim().max(MESSAGE_MAX_LENGTH).optional().describe('A note for the organization; not in the receipt'),
      validUntil: z.iso
        .datetime({ offset: true })
        .optional()
        .describe(
          `When the consent ends (RFC 3339): in the future, at most ${MAX_CONSENT_VALIDITY_IN_DAYS} days ahead. Default: ${DEFAULT_CONSENT_VALIDITY_IN_DAYS} days from now`,
        ),
    })
    .meta({
      description: 'Ask an organization for your data, consenting to its delivery',
      example: {
        organizationId: exampleOrganizationId,
        purpose: examplePurpose,
        categories: ['contact', 'financial'],
        message: 'Policy number AC-2291-0045, if that helps.',
        validUntil: '2027-02-19T10:00:00Z',
      },
    }),
);

const Consent = z.strictObject({
  givenAt: timestamp,
  validUntil: timestamp,
  withdrawnAt: timestamp.nullable(),
});

const exampleConsent = { givenAt: '2026-11-21T10:00:00.000Z', validUntil: '2027-02-19T10:00:00.000Z', withdrawnAt: null };

export const OpenedRequestSchema = named(
  'OpenedRequest',
  z
    .strictObject({
      id: z.string(),
      status: z.literal('open'),
      consent: Consent.extend({ receipt: z.string().describe('The signed consent receipt (compact JWS); verify it with /.well-known/jwks.json') }),
    })
    .meta({
      description: 'The new request and its consent',
      example: { id: exampleRequestId, status: 'open', consent: { ...exampleConsent, receipt: 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyIuLi4iOiIuLi4ifQ.c2lnbmF0dXJl' } },
    }),
);

const exampleRequest = {
  id: exampleRequestId,
  organizationId: exampleOrganizationId,
  organizationName: 'Acme Insurance',
  status: 'open',
  purpose: examplePurpose,
  categories: ['contact', 'financial'],
  message: 'Policy number AC-2291-0045, if that helps.',
  assignee: { type: 'member', id: exampleMemberId },
  consent: exampleConsent,
  decline: null,
  createdAt: '2026-11-21T10:00:00.000Z',
  requester: {
    verifiedIdentity: { name: 'Ada Peeters', birthDate: '1990-05-04', nationalId: '90050412345', provider: 'itsme', assuranceLevel: 'substantial', verifiedAt: '2026-11-20T09:12:00.000Z' },
  },
};

export const RequestSchema = named(
  'Request',
  z
    .strictObject({
      id: z.string(),
      organizationId: z.string(),
      organizationName: z.string(),
      status: RequestStatusSchema.describe('open: may receive deliveries; declined by the organization; withdrawn by the requester'),
      purpose: z.string(),
      categories: z.array(CategoryCode),
      message: z.string().nullable(),
      assignee: z
        .strictObject({ type: z.enum(['member', 'service']), id: z.string() })
        .nullable()
        .describe('Who works the request: a member (user id) or a service principal (servicePrincipalId of an API key)'),
      consent: Consent,
      decline: z.strictObject({ declinedAt: timestamp, reason: z.string().nullable() }).nullable(),
      createdAt: timestamp,
      requester: z
        .strictObject({ verifiedIdentity: VerifiedIdentitySchema.nullable() })
        .describe("The requester's identity as a third-party eID verified it; null when they never verified one"),
    })
    .meta({ description: 'A request for personal data and its consent', example: exampleRequest }),
);

export const RequestListSchema = named(
  'RequestList',
  z
    .strictObject({
      items: z.array(RequestSchema),
      nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
    })
    .meta({ description: 'The requests you may see, newest first', example: { items: [exampleRequest], nextCursor: null } }),
);

export const AssignRequestRequestSchema = named(
  'AssignRequestRequest',
  z
    .strictObject({
      assigneeId: id.describe('A user id of an active member of your organization, or the servicePrincipalId of one of its active API keys'),
    })
    .meta({ description: 'Assign (or reassign) an open request', example: { assigneeId: exampleMemberId } }),
);

export const AssignedRequestSchema = named(
  'AssignedRequest',
  z
    .strictObject({ id: z.string(), assigneeId: z.string(), assigneeType: z.enum(['member', 'service']) })
    .meta({ example: { id: exampleRequestId, assigneeId: exampleMemberId, assigneeType: 'member' } }),
);

export const DeclineRequestRequestSchema = named(
  'DeclineRequestRequest',
  z
    .strictObject({
      reason: z.string().trim().min(1).max(DECLINE_REASON_MAX_LENGTH).optional().describe('Shown to the requester; not in the receipt or the audit log'),
    })
    .meta({ description: 'Decline an open request; the body may be empty', example: { reason: 'We hold no data about you beyond your contact details.' } }),
);

export const ConsentReceiptPayloadSchema = named(
  'ConsentReceiptPayload',
  z
    .strictObject({
      version: z.literal(CONSENT_RECEIPT_VERSION),
      iss: z.string(),
      iat: z.number().int().describe('When this receipt was signed, epoch seconds'),
      jurisdiction: z.string(),
      consentTimestamp: z.number().int().describe('When consent was given, epoch seconds'),
      collectionMethod: z.string(),
      consentReceiptID: z.string(),
      requestId: z.string(),
      language: z.literal('en'),
      piiPrincipalId: z.string().describe("The requester's opaque account id"),
      piiControllers: z.array(z.strictObject({ piiController: z.string(), organizationId: z.string() })),
      services: z.array(
        z.strictObject({
          service: z.string(),
          purposes: z.array(
            z.strictObject({
              purpose: z.string(),
              purposeCategory: z.array(z.string()),
              consentType: z.literal('EXPLICIT'),
              piiCategory: z.array(CategoryCode),
              primaryPurpose: z.literal(true),
              termination: z.string(),
              thirdPartyDisclosure: z.literal(false),
            }),
          ),
        }),
      ),
      sensitive: z.boolean(),
      spiCat: z.array(CategoryCode).describe('Special categories (GDPR art. 9) among piiCategory'),
      status: z.enum(['active', 'withdrawn', 'declined']),
      validUntil: timestamp,
      withdrawnAt: timestamp.optional(),
      declinedAt: timestamp.optional(),
    })
    .meta({ description: 'Kantara Consent Receipt v1.1 fields (ISO/IEC 27560), plus the consent status' }),
);

export const ConsentReceiptSchema = named(
  'ConsentReceipt',
  z
    .strictObject({
      receipt: z.string().describe('Compact JWS (ES256, typ JWT); the signed original of `payload`'),
      jwksUri: z.string().describe('Where the keys that verify it are published'),
      // Decoded for display; whoever relies on it verifies the JWS.
      payload: ConsentReceiptPayloadSchema,
    })
    .meta({
      description: 'The signed consent receipt of a request, as it stands now (a withdrawal or decline re-issues it)',
      example: {
        receipt: 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyIuLi4iOiIuLi4ifQ.c2lnbmF0dXJl',
        jwksUri: 'https://connectid.example/.well-known/jwks.json',
        payload: {
          version: CONSENT_RECEIPT_VERSION,
          iss: 'https://connectid.example',
          iat: 1795255200,
          jurisdiction: 'EU (GDPR)',
          consentTimestamp: 1795255200,
          collectionMethod: 'Signed-in data subject opened a request through the Connectid API (POST /v1/requests)',
          consentReceiptID: 'p4n8c2x6v9b3m7q5w2e8r4t6ya',
          requestId: exampleRequestId,
          language: 'en',
          piiPrincipalId: exampleRequesterId,
          piiControllers: [{ piiController: 'Acme Insurance', organizationId: exampleOrganizationId }],
          services: [
            {
              service: 'Personal data delivery through Connectid',
              purposes: [
                {
                  purpose: examplePurpose,
                  purposeCategory: ['Delivery of personal data to the data subject'],
                  consentType: 'EXPLICIT',
                  piiCategory: ['contact', 'financial'],
                  primaryPurpose: true,
                  termination: 'valid until 2027-02-19T10:00:00.000Z or withdrawal; delivered data is destroyed 32 days after release',
                  thirdPartyDisclosure: false,
                },
              ],
            },
          ],
          sensitive: false,
          spiCat: [],
          status: 'active',
          validUntil: '2027-02-19T10:00:00.000Z',
        },
      },
    }),
);

export type OpenRequestInput = z.output<typeof OpenRequestRequestSchema>;
export type AssignRequestInput = z.output<typeof AssignRequestRequestSchema>;
export type DeclineRequestInput = z.output<typeof DeclineRequestRequestSchema>;
