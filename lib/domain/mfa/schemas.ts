/**
 * HTTP shapes of the MFA routes (DESIGN §5.1), written once: request validation, the OpenAPI document and the
 * published JSON Schemas.
 */
import { z } from 'zod';
import { named } from '../../http/schemas';
import { E164 } from '../../adapters/sms/smsMessage';
import { FACTOR_TYPES, LABEL_MAX_LENGTH } from './factors';

const exampleFactorId = 'q3k7d2m5x8b4n6p1r9t0v2w4y6';
const timestamp = z.iso.datetime().describe('RFC 3339, UTC');
const FactorType = z.enum(FACTOR_TYPES);
const FactorStatus = z.enum(['pending', 'active']);

export const CreateFactorRequest = named(
  'CreateFactorRequest',
  z
    .strictObject({
      type: FactorType,
      label: z.string().trim().min(1).max(LABEL_MAX_LENGTH).describe('Your name for it, shown when you sign in ("Phone", "YubiKey")'),
      phone: z.string().regex(E164, 'An E.164 number: + then country code and number, digits only').optional().describe('For type sms only'),
      provider: z.string().min(1).max(40).optional().describe('For type eid only: the id of an eID provider (GET /v1/auth/eid/providers)'),
    })
    .meta({ description: 'Enroll a second factor', example: { type: 'totp', label: 'Authenticator app' } }),
);

export const Factor = named(
  'Factor',
  z
    .strictObject({
      id: z.string(),
      type: FactorType,
      label: z.string(),
      status: FactorStatus,
      createdAt: timestamp,
      activatedAt: timestamp.nullable(),
      lastUsedAt: timestamp.nullable(),
      phoneHint: z.string().optional().describe('SMS only: the last two digits'),
      provider: z.string().optional().describe('eID only: the provider id'),
    })
    .meta({
      example: { id: exampleFactorId, type: 'totp', label: 'Authenticator app', status: 'active', createdAt: '2026-11-21T10:00:00.000Z', activatedAt: '2026-11-21T10:00:30.000Z', lastUsedAt: '2026-11-22T08:15:00.000Z' },
    }),
);

export const FactorList = named(
  'FactorList',
  z
    .strictObject({ items: z.array(Factor), nextCursor: z.null(), recoveryCodesRemaining: z.number().int().min(0) })
    .meta({ example: { items: [], nextCursor: null, recoveryCodesRemaining: 10 } }),
);

export const CreatedFactor = named(
  'CreatedFactor',
  z
    .strictObject({
      id: z.string(),
      type: FactorType,
      label: z.string(),
      status: z.literal('pending'),
      createdAt: timestamp,
      activatedAt: z.null(),
      lastUsedAt: z.null(),
      phoneHint: z.string().optional(),
      provider: z.string().optional().describe('eID only: the provider id'),
      otpauthUri: z.string().optional().describe('TOTP: the Key URI to import into an authenticator app'),
      qrCode: z.string().optional().describe('TOTP: the same URI as a QR code, a data: URL of a PNG'),
      sent: z.boolean().optional().describe('Email and SMS: a 6-digit code was sent; verify with it within 10 minutes'),
      options: z.record(z.string(), z.unknown()).optional().describe('WebAuthn: PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create'),
      authorizationUrl: z
        .string()
        .optional()
        .describe("eID: send the person's user agent here; the provider's redirect to /v1/auth/eid/callback activates the factor (within 10 minutes)"),
    })
    .meta({
      example: {
        id: exampleFactorId,
        type: 'totp',
        label: 'Authenticator app',
        status: 'pending',
        createdAt: '2026-11-21T10:00:00.000Z',
        activatedAt: null,
        lastUsedAt: null,
        otpauthUri: 'otpauth://totp/Connectid:ada%40example.org?issuer=Connectid&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
        qrCode: 'data:image/png;base64,iVBORw0KGgo…',
      },
    }),
);

export const VerifyFactorRequest = named(
  'VerifyFactorRequest',
  z
    .strictObject({
      code: z.string().max(20).optional().describe('TOTP, email and SMS: the 6-digit code'),
      credential: z
        .union([z.string().max(16_384), z.record(z.string(), z.unknown())])
        .optional()
        .describe('WebAuthn: the PublicKeyCredential from navigator.credentials.create, as JSON (RegistrationResponseJSON)'),
    })
    // Each factor type says which answer it needs; an eID factor needs none (verifying it reports the provider's answer).
    .refine((value) => value.code === undefined || value.credential === undefined, 'Give code or credential, not both')
    .meta({ example: { code: '492039' } }),
);

export const VerifiedFactor = named(
  'VerifiedFactor',
  z.strictObject({ id: z.string(), status: z.literal('active') }).meta({ example: { id: exampleFactorId, status: 'active' } }),
);

export const RecoveryCodes = named(
  'RecoveryCodes',
  z
    .strictObject({ codes: z.array(z.string()).length(10).describe('Shown once: store them somewhere safe. Each works once.') })
    .meta({ example: { codes: ['7kq2-x9dm-4t', 'c3vn-8pwa-j6', '…'] } }),
);

const OfferedFactor = z.strictObject({ id: z.string(), type: z.enum([...FACTOR_TYPES, 'recovery']), label: z.string() });

export const MfaChallengeRequest = named(
  'MfaChallengeRequest',
  z
    .strictObject({
      mfa_token: z.string().max(200).optional().describe('From the 403 mfa_required answer of the token endpoint'),
      refresh_token: z.string().max(200).optional().describe('Step-up: the refresh token of the session to raise'),
      factor_id: z.string().max(200).optional().describe('The factor to start (required with mfa_token); "recovery" for a recovery code'),
    })
    .refine((value) => (value.mfa_token === undefined) !== (value.refresh_token === undefined), 'Give mfa_token or refresh_token')
    .meta({ example: { mfa_token: 'mfa_Yt3…', factor_id: exampleFactorId } }),
);

export const MfaChallengeResponse = named(
  'MfaChallengeResponse',
  z
    .strictObject({
      mfa_token: z.string().optional().describe('Step-up only: answer with the MFA grant within expires_in seconds'),
      expires_in: z.number().int().optional(),
      factors: z.array(OfferedFactor).optional().describe('Step-up only: the factors to choose from'),
      sent: z.boolean().optional().describe('Email and SMS: a code went out'),
      code_expires_in: z.number().int().optional(),
      options: z.record(z.string(), z.unknown()).optional().describe('WebAuthn: PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get'),
      authorization_url: z
        .string()
        .optional()
        .describe("eID: send the person's user agent here; when the provider has redirected back, finish with the MFA grant (mfa_token and factor_id, no code)"),
    })
    .meta({ example: { sent: true, code_expires_in: 600 } }),
);

export const MfaRequiredError = named(
  'MfaRequiredError',
  z
    .strictObject({
      error: z.literal('mfa_required'),
      error_description: z.string().optional(),
      mfa_token: z.string().describe('Single use, bound to this login attempt (user, role, organization, API key)'),
      expires_in: z.number().int(),
      factors: z.array(OfferedFactor),
    })
    .meta({
      description: 'The password was right; answer a second factor with the MFA grant',
      example: {
        error: 'mfa_required',
        error_description: 'A second factor is required: answer it with the MFA grant',
        mfa_token: 'mfa_Yt3…',
        expires_in: 300,
        factors: [
          { id: exampleFactorId, type: 'totp', label: 'Authenticator app' },
          { id: 'recovery', type: 'recovery', label: 'Recovery code' },
        ],
      },
    }),
);

export const MfaEnrollmentRequiredError = named(
  'MfaEnrollmentRequiredError',
  z
    .strictObject({
      error: z.literal('mfa_enrollment_required'),
      error_description: z.string().optional(),
      enrollment_token: z.string().describe('A Bearer token accepted only by /v1/me/factors; no refresh token'),
      token_type: z.literal('Bearer'),
      expires_in: z.number().int(),
    })
    .meta({
      description: 'The password was right but the account has no second factor: enroll one, then sign in again',
      example: { error: 'mfa_enrollment_required', enrollment_token: 'eyJhbGciOiJFUzI1NiIs…', token_type: 'Bearer', expires_in: 600 },
    }),
);
