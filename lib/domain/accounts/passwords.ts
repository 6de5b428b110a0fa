/**
 * Passwords: argon2id with the OWASP minimum (19 MiB, t=2, p=1) — DESIGN §4. Unknown accounts are checked
 * against a fixed dummy hash so a login for a missing email costs the same time as a wrong password.
 */
import { z } from 'zod';

const ARGON2_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Long enough to resist guessing, short enough that hashing cannot be used to burn our CPU. */
export const PasswordSchema = z.string().min(12, 'At least 12 characters').max(256, 'At most 256 characters');

let argon2: typeof import('@node-rs/argon2') | undefined;
function lib(): typeof import('@node-rs/argon2') {
  // Loaded on first use: the native module is not needed to serve /health or to start cold.
  argon2 ??= require('@node-rs/argon2') as typeof import('@node-rs/argon2');
  return argon2;
}

let dummyHash: Promise<string> | undefined;

export function hashPassword(password: string): Promise<string> {
  return lib().hash(password, { ...ARGON2_OPTIONS, algorithm: 2 /* Argon2id */ });
}

/** false for a wrong password or a missing hash (account without a password yet) — in comparable time. */
export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (hash === null) {
    dummyHash ??= hashPassword('connectid-dummy-password-for-timing');
    await lib().verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return lib().verify(hash, password).catch(() => false);
}
