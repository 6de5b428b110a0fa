/**
 * HTTP shapes of the eID routes and of a verified identity (shown on requests), written once: the OpenAPI document
 * and the published JSON Schemas.
 */
import { z } from 'zod';
import { named } from '../../http/schemas';

export const VerifiedIdentitySchema = named(
  'VerifiedIdentity',
  z
    .strictObject({
      name: z.string().nullable().describe('As the provider verified it (or its given and family names)'),
      birthDate: z.string().nullable().describe('As the provider gives it, usually YYYY-MM-DD'),
      nationalId: z.string().nullable().describe('The national identifier, when the provider gives one (e.g. a Belgian national number)'),
      provider: z.string().describe('The eID provider id'),
      assuranceLevel: z.string().nullable().describe("The provider's assurance level (its settings' label, or the acr it returned)"),
      verifiedAt: z.iso.datetime().describe('RFC 3339, UTC: the latest successful eID login of the person'),
    })
    .meta({
      description: 'Who the person is, as a third-party eID verified it (OpenID Connect); claims are stored column-encrypted',
      example: { name: 'Ada Peeters', birthDate: '1990-05-04', nationalId: '90050412345', provider: 'itsme', assuranceLevel: 'substantial', verifiedAt: '2026-11-21T10:00:00.000Z' },
    }),
);

export const EidProviderListSchema = named(
  'EidProviderList',
  z
    .strictObject({
      items: z.array(z.strictObject({ id: z.string(), label: z.string(), assuranceLevel: z.string().nullable() })),
      nextCursor: z.null(),
    })
    .meta({
      description: 'The eID providers this installation offers (empty: eID is off)',
      example: { items: [{ id: 'itsme', label: 'itsme', assuranceLevel: 'substantial' }], nextCursor: null },
    }),
);
