/**
 * Consent receipts: a signed record of what a person consented to, which they can keep and check without us.
 * The fields follow the Kantara Initiative Consent Receipt Specification v1.1 (the basis of ISO/IEC 27560's
 * consent record), plus what a receipt needs to show the consent's life: status, validUntil and withdrawnAt.
 *
 * Signed as a compact JWS (ES256, typ JWT) by the service's signing keys; anyone can verify it with the keys at
 * /.well-known/jwks.json. A retired signing key stays published for 400 days (lib/domain/tokens/signingKeys.ts),
 * so a receipt keeps verifying for longer than any consent lasts.
 *
 * The receipt carries the purpose text, so it is stored column-encrypted like the purpose itself, and names the
 * person only by their opaque account id: a receipt passed on does not give away an email address.
 */
import type { Services } from '../../app/services';
import { signJws } from '../tokens/accessTokens';
import { sensitiveCategories, type CategoryCode } from './categories';

export const CONSENT_RECEIPT_VERSION = 'KI-CR-v1.1.0';
/** GDPR: the service and its organizations operate under EU data-protection law. */
export const CONSENT_JURISDICTION = 'EU (GDPR)';
export const CONSENT_COLLECTION_METHOD = 'Signed-in data subject opened a request through the Connectid API (POST /v1/requests)';
export const CONSENT_SERVICE_NAME = 'Personal data delivery through Connectid';
export const CONSENT_PURPOSE_CATEGORY = 'Delivery of personal data to the data subject';
/** How long a released delivery stays downloadable (DESIGN §2). */
export const DELIVERY_RETENTION_IN_DAYS = 32;

export type ConsentReceiptStatus = 'active' | 'withdrawn' | 'declined';

export interface ConsentReceiptPayload {
  readonly version: typeof CONSENT_RECEIPT_VERSION;
  /** Who signed it: the service's public base URL (its JWKS is at /.well-known/jwks.json). */
  readonly iss: string;
  /** When this receipt was signed, epoch seconds. */
  readonly iat: number;
  readonly jurisdiction: string;
  /** When consent was given, epoch seconds (Kantara: consentTimestamp). */
  readonly consentTimestamp: number;
  readonly collectionMethod: string;
  /** Unique per receipt: a withdrawal is a new receipt with a new id for the same request. */
  readonly consentReceiptID: string;
  readonly requestId: string;
  readonly language: 'en';
  /** The requester's opaque account id, never their email. */
  readonly piiPrincipalId: string;
  readonly piiControllers: readonly { readonly piiController: string; readonly organizationId: string }[];
  readonly services: readonly {
    readonly service: string;
    readonly purposes: readonly {
      readonly purpose: string;
      readonly purposeCategory: readonly string[];
      readonly consentType: 'EXPLICIT';
      readonly piiCategory: readonly CategoryCode[];
      readonly primaryPurpose: true;
      readonly termination: string;
      readonly thirdPartyDisclosure: false;
    }[];
  }[];
  readonly sensitive: boolean;
  /** The special categories (GDPR art. 9) among piiCategory. */
  readonly spiCat: readonly CategoryCode[];
  readonly status: ConsentReceiptStatus;
  /** RFC 3339. */
  readonly validUntil: string;
  /** RFC 3339; only on a withdrawn receipt. */
  readonly withdrawnAt?: string;
  /** RFC 3339; only on a declined receipt. */
  readonly declinedAt?: string;
}

export interface ConsentFacts {
  readonly requestId: string;
  readonly requesterId: string;
  readonly organization: { readonly id: string; readonly name: string };
  readonly purpose: string;
  readonly categories: readonly CategoryCode[];
  readonly givenAt: Date;
  readonly validUntil: Date;
  readonly status: ConsentReceiptStatus;
  readonly withdrawnAt?: Date | null;
  readonly declinedAt?: Date | null;
}

export function buildConsentReceipt(services: Pick<Services, 'config' | 'clock' | 'random'>, facts: ConsentFacts): ConsentReceiptPayload {
  const validUntil = facts.validUntil.toISOString();
  const spiCat = sensitiveCategories(facts.categories);
  return {
    version: CONSENT_RECEIPT_VERSION,
    iss: services.config.publicBaseUrl,
    iat: epochSeconds(services.clock.now()),
    jurisdiction: CONSENT_JURISDICTION,
    consentTimestamp: epochSeconds(facts.givenAt),
    collectionMethod: CONSENT_COLLECTION_METHOD,
    consentReceiptID: services.random.id(),
    requestId: facts.requestId,
    language: 'en',
    piiPrincipalId: facts.requesterId,
    piiControllers: [{ piiController: facts.organization.name, organizationId: facts.organization.id }],
    services: [
      {
        service: CONSENT_SERVICE_NAME,
        purposes: [
          {
            purpose: facts.purpose,
            purposeCategory: [CONSENT_PURPOSE_CATEGORY],
            consentType: 'EXPLICIT',
            piiCategory: [...facts.categories],
            primaryPurpose: true,
            termination: `valid until ${validUntil} or withdrawal; delivered data is destroyed ${DELIVERY_RETENTION_IN_DAYS} days after release`,
            thirdPartyDisclosure: false,
          },
        ],
      },
    ],
    sensitive: spiCat.length > 0,
    spiCat,
    status: facts.status,
    validUntil,
    ...(facts.withdrawnAt ? { withdrawnAt: facts.withdrawnAt.toISOString() } : {}),
    ...(facts.declinedAt ? { declinedAt: facts.declinedAt.toISOString() } : {}),
  };
}

/** Builds and signs a receipt: the compact JWS to store and hand out. */
export async function signConsentReceipt(
  services: Pick<Services, 'config' | 'clock' | 'random' | 'signingKeys'>,
  facts: ConsentFacts,
): Promise<{ receipt: string; payload: ConsentReceiptPayload }> {
  const payload = buildConsentReceipt(services, facts);
  return { receipt: await signJws(services.signingKeys, payload), payload };
}

/**
 * The payload of a receipt we signed and stored, without checking the signature: what the holder gets next to
 * the JWS, for display. Whoever relies on it verifies the JWS against the JWKS.
 */
export function readConsentReceipt(receipt: string): ConsentReceiptPayload {
  const payload = receipt.split('.')[1];
  if (payload === undefined) throw new Error('A stored consent receipt is not a compact JWS');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ConsentReceiptPayload;
}

export function jwksUri(services: Pick<Services, 'config'>): string {
  return `${services.config.publicBaseUrl}/.well-known/jwks.json`;
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
