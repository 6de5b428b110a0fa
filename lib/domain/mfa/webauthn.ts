/**
 * WebAuthn / passkeys with @simplewebauthn/server. Secure defaults, stated once: user verification is required
 * (a PIN or biometric on the authenticator, so the passkey is itself two factors), attestation is not asked for
 * (`none`: we trust the public key, not the make), the relying party ID and the expected origin come from config,
 * and a signature counter that does not grow is refused as a sign of a cloned authenticator (WebAuthn §6.1.1).
 */
import type { WebAuthnConfig } from '../../config';
import type { Random } from '../../ports';

type SimpleWebAuthn = typeof import('@simplewebauthn/server');
type RegistrationResponseJSON = Parameters<SimpleWebAuthn['verifyRegistrationResponse']>[0]['response'];
type AuthenticationResponseJSON = Parameters<SimpleWebAuthn['verifyAuthenticationResponse']>[0]['response'];
type Transport = NonNullable<NonNullable<Parameters<SimpleWebAuthn['generateAuthenticationOptions']>[0]['allowCredentials']>[number]['transports']>[number];

/** How long the browser may take for the ceremony; the challenge itself lives as long as its mfa_token. */
const CEREMONY_TIMEOUT_IN_MS = 120_000;
const CHALLENGE_BYTES = 32;
// ES256 (P-256) and RS256 cover platform authenticators, security keys and password managers; EdDSA for newer keys.
const SUPPORTED_ALGORITHMS = [-7, -8, -257];

// Loaded on first use: only WebAuthn ceremonies need the library (and its CBOR/ASN.1 dependencies).
function simpleWebAuthn(): SimpleWebAuthn {
  return require('@simplewebauthn/server') as SimpleWebAuthn;
}

/** What mfa_factors.secret holds (encrypted) for a WebAuthn factor. */
export interface StoredCredential {
  /** base64url credential id. */
  readonly id: string;
  /** base64url COSE public key. */
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
}

export class WebAuthnAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebAuthnAnswerError';
  }
}

export function newWebAuthnChallenge(random: Pick<Random, 'bytes'>): Uint8Array {
  return new Uint8Array(random.bytes(CHALLENGE_BYTES));
}

export async function registrationOptions(
  config: WebAuthnConfig,
  input: { userId: string; userName: string; challenge: Uint8Array; exclude: readonly StoredCredential[] },
): Promise<{ options: Record<string, unknown>; challenge: string }> {
  const options = await simpleWebAuthn().generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userName: input.userName,
    userID: new Uint8Array(Buffer.from(input.userId, 'utf8')),
    challenge: input.challenge as Uint8Array<ArrayBuffer>,
    timeout: CEREMONY_TIMEOUT_IN_MS,
    attestationType: 'none',
    // The same authenticator twice would be one factor counted twice.
    excludeCredentials: input.exclude.map((credential) => ({ id: credential.id, transports: credential.transports as Transport[] })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
  return { options: options as unknown as Record<string, unknown>, challenge: options.challenge };
}

/** The new credential, or WebAuthnAnswerError. */
export async function verifyRegistration(config: WebAuthnConfig, credentialJson: string, expectedChallenge: string): Promise<StoredCredential> {
  const response = parseCredential<RegistrationResponseJSON>(credentialJson);
  let verified: Awaited<ReturnType<SimpleWebAuthn['verifyRegistrationResponse']>>;
  try {
    verified = await simpleWebAuthn().verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.origin,
      expectedRPID: config.rpId,
      requireUserVerification: true,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
  } catch {
    // The library's messages describe the attacker's input; the client gets one stable answer.
    throw new WebAuthnAnswerError('The passkey registration did not verify');
  }
  if (!verified.verified) throw new WebAuthnAnswerError('The passkey registration did not verify');
  const { credential } = verified.registrationInfo;
  return {
    id: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: credential.transports ?? response.response.transports ?? [],
  };
}

export async function authenticationOptions(
  config: WebAuthnConfig,
  input: { challenge: Uint8Array; allow: readonly StoredCredential[] },
): Promise<{ options: Record<string, unknown>; challenge: string }> {
  const options = await simpleWebAuthn().generateAuthenticationOptions({
    rpID: config.rpId,
    allowCredentials: input.allow.map((credential) => ({ id: credential.id, transports: credential.transports as Transport[] })),
    challenge: input.challenge as Uint8Array<ArrayBuffer>,
    timeout: CEREMONY_TIMEOUT_IN_MS,
    userVerification: 'required',
  });
  return { options: options as unknown as Record<string, unknown>, challenge: options.challenge };
}

/** The credential's new signature counter, or WebAuthnAnswerError (wrong key, no user verification, counter replay, …). */
export async function verifyAuthentication(
  config: WebAuthnConfig,
  credentialJson: string,
  expectedChallenge: string,
  stored: StoredCredential,
): Promise<number> {
  const response = parseCredential<AuthenticationResponseJSON>(credentialJson);
  if (response.id !== stored.id || response.rawId !== stored.id) throw new WebAuthnAnswerError('This passkey is not the enrolled one');
  let verified: Awaited<ReturnType<SimpleWebAuthn['verifyAuthenticationResponse']>>;
  try {
    verified = await simpleWebAuthn().verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.origin,
      expectedRPID: config.rpId,
      credential: {
        id: stored.id,
        publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'base64url')),
        counter: stored.counter,
        transports: stored.transports as Transport[],
      },
      requireUserVerification: true,
    });
  } catch {
    throw new WebAuthnAnswerError('The passkey answer did not verify');
  }
  if (!verified.verified || !verified.authenticationInfo.userVerified) throw new WebAuthnAnswerError('The passkey answer did not verify');
  const { newCounter } = verified.authenticationInfo;
  // The library refuses a counter that does not grow once either side is non-zero; a counter that stays 0 means
  // the authenticator keeps none (WebAuthn §6.1.1), which passkeys synced between devices commonly do.
  if ((newCounter > 0 || stored.counter > 0) && newCounter <= stored.counter) throw new WebAuthnAnswerError('The passkey counter went backwards');
  return newCounter;
}

function parseCredential<T>(json: string): T {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new WebAuthnAnswerError('The credential is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WebAuthnAnswerError('The credential is not a JSON object');
  const candidate = value as { id?: unknown; rawId?: unknown; type?: unknown; response?: unknown };
  if (typeof candidate.id !== 'string' || typeof candidate.rawId !== 'string' || candidate.type !== 'public-key' || typeof candidate.response !== 'object' || candidate.response === null) {
    throw new WebAuthnAnswerError('The credential is not a PublicKeyCredential in JSON form');
  }
  return value as T;
}
