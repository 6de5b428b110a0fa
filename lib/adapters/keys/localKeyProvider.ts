/**
 * KeyProvider on local RSA key files (development only; Key Vault in Azure). Layout of the directory:
 *
 *   keys.json                      { "current": "local-master-v2", "keys": [{ "id", "privateKeyFile" }, …] }
 *   local-master-v1.private.pem    PKCS#8, mode 0600 (the public key is derived from it)
 *   local-master-v2.private.pem
 *
 * A key file is never overwritten: each is claimed with link(2), which fails if the name exists, so concurrent
 * first use (in this process or another) and concurrent rotations cannot replace a key that already wrapped data.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KeyProvider, WrappedKey } from '../../ports';

export interface LocalKeyProviderOptions {
  readonly directory: string;
  /** RSA modulus size of a key created on first use. Only tests lower it (to run fast). */
  readonly modulusLength?: number;
}

interface KeyIndex {
  readonly current: string;
  readonly keys: readonly { readonly id: string; readonly privateKeyFile: string }[];
}

const INDEX_FILE = 'keys.json';
const KEY_ID = /^local-master-v[1-9][0-9]{0,8}$/;
const KEY_FILE = /^local-master-v([1-9][0-9]{0,8})\.private\.pem$/;
const DEFAULT_MODULUS_LENGTH = 4096;
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

const generateKeyPairAsync = promisify(generateKeyPair);

export function createLocalKeyProvider(options: LocalKeyProviderOptions): KeyProvider {
  const directory = path.resolve(options.directory);
  const modulusLength = options.modulusLength ?? DEFAULT_MODULUS_LENGTH;
  const privateKeys = new Map<string, Promise<KeyObject>>();
  const publicKeys = new Map<string, KeyObject>();
  let creatingFirstKey: Promise<string> | undefined;

  const privateKey = (keyId: string): Promise<KeyObject> => {
    let key = privateKeys.get(keyId);
    if (!key) {
      key = readPrivateKey(directory, keyId);
      // A failed read (e.g. a file restored later) must not stick.
      key.catch(() => privateKeys.delete(keyId));
      privateKeys.set(keyId, key);
    }
    return key;
  };

  const currentKeyId = async (): Promise<string> => {
    // The index is re-read on every call (a tiny local file) so a rotation by the CLI takes effect at once.
    const index = await readIndex(directory);
    if (index) return index.current;
    // One generation per instance even under concurrent first calls; other instances are kept out by link(2).
    creatingFirstKey ??= createFirstKey(directory, modulusLength).finally(() => (creatingFirstKey = undefined));
    return creatingFirstKey;
  };

  return {
    currentKeyId,

    async wrapKey(plainKey: Buffer): Promise<WrappedKey> {
      const masterKeyId = await currentKeyId();
      let publicKey = publicKeys.get(masterKeyId);
      if (!publicKey) {
        publicKey = createPublicKey(await privateKey(masterKeyId));
        publicKeys.set(masterKeyId, publicKey);
      }
      return { masterKeyId, wrapped: publicEncrypt({ key: publicKey, ...OAEP }, plainKey) };
    },

    async unwrapKey({ masterKeyId, wrapped }: WrappedKey): Promise<Buffer> {
      return privateDecrypt({ key: await privateKey(masterKeyId), ...OAEP }, wrapped);
    },
  };
}

/** Creates local-master-v(n+1), makes it current and returns its id. Older keys stay, so old wraps still unwrap. */
export async function rotateLocalMasterKey(
  directory: string,
  options: { readonly modulusLength?: number } = {},
): Promise<string> {
  const resolved = path.resolve(directory);
  const pem = await generatePrivateKeyPem(resolved, options.modulusLength ?? DEFAULT_MODULUS_LENGTH);
  for (;;) {
    const keyId = keyIdOf(((await keyVersionsOnDisk(resolved)).at(-1) ?? 0) + 1);
    // Lost the race for this version to a concurrent rotation: take the next one.
    if (!(await claimKeyFile(resolved, keyId, pem))) continue;
    await writeIndex(resolved, keyId, 'replace');
    return keyId;
  }
}

async function createFirstKey(directory: string, modulusLength: number): Promise<string> {
  // Key files without an index (a crash between the two writes): adopt the newest instead of generating.
  const newest = (await keyVersionsOnDisk(directory)).at(-1);
  const keyId = keyIdOf(newest ?? 1);
  if (newest === undefined) {
    // Losing this claim to a concurrent first use is fine: the winner's v1 is the key.
    await claimKeyFile(directory, keyId, await generatePrivateKeyPem(directory, modulusLength));
  }
  // 'create-only': if another instance wrote the index meanwhile (maybe after a rotation), it wins.
  await writeIndex(directory, keyId, 'create-only');
  const index = await readIndex(directory);
  if (!index) throw new Error(`${INDEX_FILE} vanished from ${directory}`);
  return index.current;
}

async function generatePrivateKeyPem(directory: string, modulusLength: number): Promise<string> {
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  await fs.chmod(directory, 0o700);
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength, publicExponent: 0x10001 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Writes the key under its final name only if that name is free; false when it was taken. */
async function claimKeyFile(directory: string, keyId: string, pem: string): Promise<boolean> {
  const temporary = path.join(directory, `.tmp-${randomBytes(8).toString('hex')}.pem`);
  await fs.writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temporary, path.join(directory, privateKeyFile(keyId)));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(temporary, { force: true });
  }
}

async function keyVersionsOnDisk(directory: string): Promise<number[]> {
  let files: string[];
  try {
    files = await fs.readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const versions: number[] = [];
  for (const file of files) {
    const match = KEY_FILE.exec(file);
    if (match) versions.push(Number(match[1]));
  }
  return versions.sort((a, b) => a - b);
}

async function writeIndex(directory: string, current: string, mode: 'create-only' | 'replace'): Promise<void> {
  const keys = (await keyVersionsOnDisk(directory)).map(keyIdOf).map((id) => ({ id, privateKeyFile: privateKeyFile(id) }));
  const index: KeyIndex = { current, keys };
  const target = path.join(directory, INDEX_FILE);
  const temporary = path.join(directory, `.tmp-${randomBytes(8).toString('hex')}.json`);
  await fs.writeFile(temporary, `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // Readers never see half an index: it appears whole, by link (create-only) or rename (replace).
    if (mode === 'replace') await fs.rename(temporary, target);
    else {
      await fs.link(temporary, target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
    }
  } finally {
    await fs.rm(temporary, { force: true });
  }
}

async function readIndex(directory: string): Promise<KeyIndex | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(directory, INDEX_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const index = JSON.parse(text) as Partial<KeyIndex>;
  if (typeof index.current !== 'string' || !KEY_ID.test(index.current)) {
    throw new Error(`${path.join(directory, INDEX_FILE)} names no valid current key`);
  }
  return index as KeyIndex;
}

async function readPrivateKey(directory: string, keyId: string): Promise<KeyObject> {
  // The id comes from stored data: it must never become a path outside the directory.
  if (!KEY_ID.test(keyId)) throw new Error(`Unknown local master key id "${keyId}"`);
  try {
    return createPrivateKey(await fs.readFile(path.join(directory, privateKeyFile(keyId))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Local master key ${keyId} is missing from ${directory}`);
    }
    throw error;
  }
}

function privateKeyFile(keyId: string): string {
  return `${keyId}.private.pem`;
}

function keyIdOf(version: number): string {
  return `local-master-v${version}`;
}
