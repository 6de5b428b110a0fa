/**
 * HTTP shapes of the API key routes (DESIGN §5, §5.1). Written once: request validation, the OpenAPI document
 * and the published JSON Schemas all come from here.
 */
import { z } from 'zod';
import { named } from '../../http/schemas';
import { API_KEY_NAME_MAX_LENGTH, MAX_ROTATION_GRACE_IN_SECONDS } from './apiKeys';

// Example values are shaped like real ones (26-character base32 ids, a 47-character key) but are not real.
const exampleKeyId = '4usvghslfmuydiarhzl4wnjo7l';
const exampleKey = 'cid_is0W0oQlFx5EtYOXltLm5UYapa1kGgLrCg9CyUif5GY';
const exampleServicePrincipalId = 'svc_ahnnvpfhzohevynbp5dggcxrtu';
const exampleUserId = '6tmdr3nj7ymd3n3gl2quyecftp';

const timestamp = z.iso.datetime().describe('RFC 3339, UTC');

export const CreateApiKeyRequestSchema = named(
  'CreateApiKeyRequest',
  z
    .strictObject({
      name: z.string().trim().min(1).max(API_KEY_NAME_MAX_LENGTH).describe('What the key is for, shown in lists'),
    })
    .meta({ description: 'Create an API key', example: { name: 'Payroll export' } }),
);

export const RotateApiKeyRequestSchema = named(
  'RotateApiKeyRequest',
  z
    .strictObject({
      graceSeconds: z
        .number()
        .int()
        .min(0)
        .max(MAX_ROTATION_GRACE_IN_SECONDS)
        .optional()
        .describe('How long the old key keeps working, for zero-downtime deploys. Default 0: revoked at once'),
    })
    .meta({ description: 'Rotate an API key', example: { graceSeconds: 600 } }),
);

export const ApiKeySecretSchema = named(
  'ApiKeySecret',
  z
    .strictObject({
      id: z.string().describe('Use as client_id'),
      prefix: z.string().describe('The first 12 characters of the key, to recognise it in lists'),
      key: z.string().describe('The whole secret: use as client_secret. Shown only in this response; it cannot be retrieved again'),
      name: z.string(),
      createdAt: timestamp,
      servicePrincipalId: z.string().describe('Assign requests to this id to let a backend using the key work them'),
    })
    .meta({
      description: 'A new API key with its secret, shown once',
      example: {
        id: exampleKeyId,
        prefix: exampleKey.slice(0, 12),
        key: exampleKey,
        name: 'Payroll export',
        createdAt: '2026-11-21T10:00:00.000Z',
        servicePrincipalId: exampleServicePrincipalId,
      },
    }),
);

export const ApiKeySchema = named(
  'ApiKey',
  z
    .strictObject({
      id: z.string(),
      name: z.string(),
      prefix: z.string(),
      servicePrincipalId: z.string(),
      createdBy: z.string().describe('The user who created (or rotated in) this key'),
      createdAt: timestamp,
      lastUsedAt: timestamp.nullable().describe('Updated at most once a minute'),
      expiresAt: timestamp.nullable().describe('Set when the key was rotated with a grace period'),
      revokedAt: timestamp.nullable(),
      status: z.enum(['active', 'expiring', 'revoked', 'expired']),
    })
    .meta({
      description: 'An API key as lists show it; never its secret',
      example: {
        id: exampleKeyId,
        name: 'Payroll export',
        prefix: exampleKey.slice(0, 12),
        servicePrincipalId: exampleServicePrincipalId,
        createdBy: exampleUserId,
        createdAt: '2026-11-21T10:00:00.000Z',
        lastUsedAt: '2026-11-21T14:32:00.000Z',
        expiresAt: null,
        revokedAt: null,
        status: 'active',
      },
    }),
);

export const ApiKeyListSchema = named(
  'ApiKeyList',
  z
    .strictObject({
      items: z.array(ApiKeySchema),
      nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next page; null on the last page'),
    })
    .meta({
      description: 'API keys of the organization, newest first',
      example: {
        items: [
          {
            id: exampleKeyId,
            name: 'Payroll export',
            prefix: exampleKey.slice(0, 12),
            servicePrincipalId: exampleServicePrincipalId,
            createdBy: exampleUserId,
            createdAt: '2026-11-21T10:00:00.000Z',
            lastUsedAt: '2026-11-21T10:06:00.000Z',
            expiresAt: null,
            revokedAt: null,
            status: 'active',
          },
          {
            id: 'mops67ljsxcenn524naazp7opn',
            name: 'Payroll export',
            prefix: 'cid_OHYi5Tja',
            servicePrincipalId: exampleServicePrincipalId,
            createdBy: exampleUserId,
            createdAt: '2026-05-02T08:15:00.000Z',
            lastUsedAt: '2026-11-21T10:04:00.000Z',
            expiresAt: '2026-11-21T10:10:00.000Z',
            revokedAt: null,
            status: 'expiring',
          },
        ],
        nextCursor: null,
      },
    }),
);

export type CreateApiKeyRequest = z.output<typeof CreateApiKeyRequestSchema>;
export type RotateApiKeyRequest = z.output<typeof RotateApiKeyRequestSchema>;
export type ApiKeySecret = z.output<typeof ApiKeySecretSchema>;
export type ApiKey = z.output<typeof ApiKeySchema>;
export type ApiKeyList = z.output<typeof ApiKeyListSchema>;
