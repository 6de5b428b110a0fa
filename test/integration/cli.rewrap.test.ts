import fs from 'node:fs';
import { cli } from '../helpers/cli';
import { makeTempDir } from '../helpers/testApp';

describe('npx connectid rotate-master-key and rewrap-keys', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = makeTempDir()));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('after a local rotation, rewrap-keys moves every wrapped key to the new version, and a second run has nothing to do', async () => {
    const env = { DATA_DIR: dataDir };
    expect((await cli(['init'], env)).code).toBe(0);
    expect((await cli(['create-operator', '--email', 'op@example.com'], env)).code).toBe(0);
    expect((await cli(['rotate-signing-key'], env)).code).toBe(0);

    const rotated = await cli(['rotate-master-key', '--json'], env);
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toEqual({ masterKeyId: 'local-master-v2' });

    const dryRun = await cli(['rewrap-keys', '--dry-run', '--json'], env);
    expect(dryRun.code).toBe(0);
    expect(JSON.parse(dryRun.stdout)).toMatchObject({
      dryRun: true,
      remaining: 2,
      remainingMasterKeyIds: ['local-master-v1'],
    });

    const rewrapped = await cli(['rewrap-keys', '--json'], env);
    expect(rewrapped.code).toBe(0);
    expect(JSON.parse(rewrapped.stdout)).toMatchObject({
      currentMasterKeyId: 'local-master-v2',
      wrappedKeys: { rewrapped: 1, failed: 0 }, // the column key (no organization yet)
      signingKeys: { rewrapped: 1, failed: 0 },
      remaining: 0,
      failures: [],
    });

    const again = await cli(['rewrap-keys'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Signing keys: 0 re-wrapped, 1 already current/);
    expect(again.stdout).toMatch(/older versions may be disabled/);
  });

  test('rotate-master-key refuses a Key Vault master key and says how to rotate it there', async () => {
    const result = await cli(['rotate-master-key'], {
      DATA_DIR: dataDir,
      KEY_VAULT_URL: 'https://example-vault.vault.azure.net',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/az keyvault key rotate/);
  });
});
