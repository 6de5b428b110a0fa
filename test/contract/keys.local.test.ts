import { createPrivateKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalKeyProvider, rotateLocalMasterKey } from '../../lib/adapters/keys/localKeyProvider';
import { describeKeyProviderContract } from './keyProviderContract';

/** 2048 bits keeps the suite fast; one test below creates a real 4096-bit key. */
const FAST_MODULUS = 2048;

const directories: string[] = [];
function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'connectid-keys-'));
  directories.push(directory);
  return path.join(directory, 'keys');
}
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

const contractDirectory = temporaryDirectory();
describeKeyProviderContract('local key files', () =>
  createLocalKeyProvider({ directory: contractDirectory, modulusLength: FAST_MODULUS }),
);

describe('local key provider', () => {
  it('creates an RSA-4096 key on first use by default', async () => {
    const directory = temporaryDirectory();

    const keyId = await createLocalKeyProvider({ directory }).currentKeyId();

    const pem = fs.readFileSync(path.join(directory, `${keyId}.private.pem`));
    expect(keyId).toBe('local-master-v1');
    expect(createPrivateKey(pem).asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  const posixOnly = process.platform === 'win32' ? it.skip : it;
  posixOnly('keeps the private key readable by its owner only (file 0600, directory 0700)', async () => {
    const directory = temporaryDirectory();

    const keyId = await createLocalKeyProvider({ directory, modulusLength: FAST_MODULUS }).currentKeyId();

    expect(fs.statSync(path.join(directory, `${keyId}.private.pem`)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(directory).mode & 0o777).toBe(0o700);
  });

  it('records the current key and its file in keys.json', async () => {
    const directory = temporaryDirectory();

    await createLocalKeyProvider({ directory, modulusLength: FAST_MODULUS }).currentKeyId();

    expect(JSON.parse(fs.readFileSync(path.join(directory, 'keys.json'), 'utf8'))).toEqual({
      current: 'local-master-v1',
      keys: [{ id: 'local-master-v1', privateKeyFile: 'local-master-v1.private.pem' }],
    });
  });

  it('when first used concurrently, by one instance or by two, creates one key', async () => {
    const directory = temporaryDirectory();
    const first = createLocalKeyProvider({ directory, modulusLength: FAST_MODULUS });
    const second = createLocalKeyProvider({ directory, modulusLength: FAST_MODULUS });
    const plainKey = randomBytes(32);

    const wraps = await Promise.all([
      first.wrapKey(plainKey),
      first.wrapKey(plainKey),
      second.wrapKey(plainKey),
      second.currentKeyId(),
    ]);

    expect(new Set(wraps.map((wrap) => (typeof wrap === 'string' ? wrap : wrap.masterKeyId)))).toEqual(
      new Set(['local-master-v1']),
    );
    expect(fs.readdirSync(directory).sort()).toEqual(['keys.json', 'local-master-v1.private.pem']);
    for (const wrap of wraps) if (typeof wrap !== 'string') expect(await second.unwrapKey(wrap)).toEqual(plainKey);
  });

  it('after rotation, new wraps use the new key and old wraps still unwrap, in running and new instances', async () => {
    const directory = temporaryDirectory();
    const provider = createLocalKeyProvider({ directory, modulusLength: FAST_MODULUS });
    const oldKey = randomBytes(32);
    const oldWrap = await provider.wrapKey(oldKey);

    const newKeyId = await rotateLocalMasterKey(directory, { modulusLength: FAST_MODULUS });

    expect(newKeyId).toBe('local-master-v2');
    const newKey = randomBytes(32);
    const newWrap = await provider.wrapKey(newKey);
    expect(oldWrap.masterKeyId).toBe('local-master-v1');
    expect(newWrap.masterKeyId).toBe('local-master-v2');
    const restarted = createLocalKeyProvider({ directory });
    expect(await restarted.currentKeyId()).toBe('local-master-v2');
    expect(await restarted.unwrapKey(oldWrap)).toEqual(oldKey);
    expect(await provider.unwrapKey(oldWrap)).toEqual(oldKey);
    expect(await restarted.unwrapKey(newWrap)).toEqual(newKey);
    expect(JSON.parse(fs.readFileSync(path.join(directory, 'keys.json'), 'utf8')).keys).toHaveLength(2);
  });

  it('when rotated concurrently, every rotation gets its own version and no key is overwritten', async () => {
    const directory = temporaryDirectory();
    await createLocalKeyProvider({ directory, modulusLength: FAST_MODULUS }).currentKeyId();

    const rotated = await Promise.all([
      rotateLocalMasterKey(directory, { modulusLength: FAST_MODULUS }),
      rotateLocalMasterKey(directory, { modulusLength: FAST_MODULUS }),
    ]);

    expect(rotated.sort()).toEqual(['local-master-v2', 'local-master-v3']);
    expect(fs.readdirSync(directory).filter((file) => file.endsWith('.pem'))).toHaveLength(3);
  });

  it('refuses a key id that could name a file outside its directory', async () => {
    const provider = createLocalKeyProvider({ directory: temporaryDirectory(), modulusLength: FAST_MODULUS });
    const wrapped = await provider.wrapKey(randomBytes(32));

    await expect(provider.unwrapKey({ masterKeyId: '../local-master-v1', wrapped: wrapped.wrapped })).rejects.toThrow(
      /Unknown local master key/,
    );
  });

  it('refuses a wrap by a key that is missing from the directory', async () => {
    const provider = createLocalKeyProvider({ directory: temporaryDirectory(), modulusLength: FAST_MODULUS });
    const wrapped = await provider.wrapKey(randomBytes(32));

    await expect(provider.unwrapKey({ masterKeyId: 'local-master-v7', wrapped: wrapped.wrapped })).rejects.toThrow(/missing/);
  });
});
