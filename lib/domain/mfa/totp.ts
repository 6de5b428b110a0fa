/**
 * TOTP (RFC 6238) with otpauth: SHA-1, 6 digits, 30-second steps — what every authenticator app understands.
 * A code is accepted for the step before, the current one and the one after (clock drift of ±30 s), and only for
 * a step later than the last one accepted for the factor, so each code works once (RFC 6238 §5.2).
 */
import type { Random } from '../../ports';

export const TOTP_ISSUER = 'Connectid';
export const TOTP_PERIOD_IN_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_ALGORITHM = 'SHA1';
/** Steps accepted on either side of the current one. */
export const TOTP_WINDOW = 1;
/** RFC 4226 §4 asks for at least 128 bits and recommends 160: one SHA-1 block's worth. */
const SECRET_BYTES = 20;

// Loaded on first use: otpauth is only needed once someone enrolls or answers a TOTP factor.
function otpauth(): typeof import('otpauth') {
  return require('otpauth') as typeof import('otpauth');
}

/** A new shared secret, base32 (RFC 4648) as authenticator apps expect it. */
export function newTotpSecret(random: Pick<Random, 'bytes'>): string {
  const bytes = random.bytes(SECRET_BYTES);
  const { Secret } = otpauth();
  return new Secret({ buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer }).base32;
}

function totpFor(secretBase32: string, accountName: string) {
  const { Secret, TOTP } = otpauth();
  return new TOTP({
    issuer: TOTP_ISSUER,
    label: accountName,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_IN_SECONDS,
  });
}

/** The otpauth:// URI (Key Uri Format) an authenticator app imports, usually as a QR code. */
export function totpUri(secretBase32: string, accountName: string): string {
  return totpFor(secretBase32, accountName).toString();
}

/** The QR code of the URI as a data: URL (PNG), for the enrollment screen. */
export async function qrCodeDataUrl(text: string): Promise<string> {
  const qrcode = require('qrcode') as typeof import('qrcode');
  return qrcode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 256 });
}

/**
 * The time step the code belongs to, or null when it matches no step in the window, or only a step at or
 * before `lastAcceptedStep` (a replay).
 */
export function matchTotp(secretBase32: string, code: string, nowInMs: number, lastAcceptedStep: number | null): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const { TOTP } = otpauth();
  const delta = totpFor(secretBase32, 'x').validate({ token: code, timestamp: nowInMs, window: TOTP_WINDOW });
  if (delta === null) return null;
  const step = TOTP.counter({ period: TOTP_PERIOD_IN_SECONDS, timestamp: nowInMs }) + delta;
  if (lastAcceptedStep !== null && step <= lastAcceptedStep) return null;
  return step;
}
