/**
 * A small WebAuthn authenticator in software (node:crypto, ES256 on P-256) for tests: it answers registration
 * options with an attestation of format `none`, and authentication options with a signed assertion, exactly as a
 * browser would hand them to the server (the JSON forms of PublicKeyCredential). Knobs make it misbehave on
 * purpose: no user verification, a replayed signature counter, another origin.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

interface Credential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly x: Buffer;
  readonly y: Buffer;
  readonly userHandle: string;
  counter: number;
}

export interface AuthenticatorOverrides {
  /** false: the UV flag is off, as when the person skipped the PIN or biometric check. */
  readonly userVerified?: boolean;
  /** Use this signature counter instead of the next one (replay / cloned authenticator). */
  readonly counter?: number;
  readonly origin?: string;
}

const FLAG_USER_PRESENT = 0x01;
const FLAG_USER_VERIFIED = 0x04;
const FLAG_ATTESTED_CREDENTIAL = 0x40;

export class SoftwareAuthenticator {
  private readonly credentials = new Map<string, Credential>();

  constructor(private readonly relyingParty: { rpId: string; origin: string }) {}

  /** Answers PublicKeyCredentialCreationOptionsJSON with a RegistrationResponseJSON. */
  register(options: any, overrides: AuthenticatorOverrides = {}): any {
    if (options.rp?.id !== undefined && options.rp.id !== this.relyingParty.rpId) throw new Error('options name another relying party');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const credential: Credential = {
      id: randomBytes(32),
      privateKey,
      x: Buffer.from(jwk.x!, 'base64url'),
      y: Buffer.from(jwk.y!, 'base64url'),
      userHandle: options.user?.id ?? '',
      counter: 0,
    };
    this.credentials.set(credential.id.toString('base64url'), credential);

    const clientDataJSON = this.clientData('webauthn.create', options.challenge, overrides.origin);
    const coseKey = cbor(new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, credential.x], [-3, credential.y]]));
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const authData = Buffer.concat([
      this.rpIdHash(),
      Buffer.of(this.flags(overrides) | FLAG_ATTESTED_CREDENTIAL),
      uint32(credential.counter),
      Buffer.alloc(16), // AAGUID: all zero for attestation `none`
      idLength,
      credential.id,
      coseKey,
    ]);
    const attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    const id = credential.id.toString('base64url');
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: { clientDataJSON: clientDataJSON.toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['internal'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** Answers PublicKeyCredentialRequestOptionsJSON with an AuthenticationResponseJSON. */
  authenticate(options: any, overrides: AuthenticatorOverrides = {}): any {
    const allowed: string[] = (options.allowCredentials ?? []).map((c: { id: string }) => c.id);
    const credential = [...this.credentials.values()].find((c) => allowed.length === 0 || allowed.includes(c.id.toString('base64url')));
    if (!credential) throw new Error('no credential for these options');
    if (overrides.counter === undefined) credential.counter += 1;
    const counter = overrides.counter ?? credential.counter;
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides.origin);
    const authenticatorData = Buffer.concat([this.rpIdHash(), Buffer.of(this.flags(overrides)), uint32(counter)]);
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey);
    const id = credential.id.toString('base64url');
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private clientData(type: string, challenge: string, origin = this.relyingParty.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  private rpIdHash(): Buffer {
    return sha256(Buffer.from(this.relyingParty.rpId, 'utf8'));
  }

  private flags(overrides: AuthenticatorOverrides): number {
    return FLAG_USER_PRESENT | (overrides.userVerified === false ? 0 : FLAG_USER_VERIFIED);
  }
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

/** The CBOR (RFC 8949) this needs: integers, byte and text strings, maps. */
function cbor(value: unknown): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new TypeError(`cbor: unsupported ${typeof value}`);
}

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.of((major << 5) | length);
  if (length < 256) return Buffer.of((major << 5) | 24, length);
  if (length < 65536) return Buffer.of((major << 5) | 25, length >> 8, length & 0xff);
  throw new RangeError('cbor: too long');
}
