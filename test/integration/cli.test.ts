import fs from 'node:fs';
import path from 'node:path';
import { cli } from '../helpers/cli';
import { makeTempDir } from '../helpers/testApp';


describe('npx connectid', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = makeTempDir()));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  test('init migrates and creates the master key once; --json prints one JSON object', async () => {
    const first = await cli(['init', '--json'], { DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result.appliedMigrations).toEqual(expect.arrayContaining([1]));
    expect(result.masterKeyId).toBe('local-master-v1');
    expect(fs.existsSync(path.join(dataDir, 'connectid.sqlite'))).toBe(true);
    expect(fs.statSync(path.join(dataDir, 'keys')).mode & 0o777).toBe(0o700);

    const second = await cli(['init', '--json'], { DATA_DIR: dataDir });
    expect(JSON.parse(second.stdout)).toMatchObject({ appliedMigrations: [], masterKeyId: 'local-master-v1' });
  });

  test('an unknown command or option exits 2 with usage on stderr', async () => {
    const unknown = await cli(['frobnicate'], { DATA_DIR: dataDir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Usage: npx connectid/);
    const badOption = await cli(['init', '--force-everything'], { DATA_DIR: dataDir });
    expect(badOption.code).toBe(2);
  });

  test('a bad setting exits 1 and, with --json, lists every problem', async () => {
    const result = await cli(['init', '--json'], { DATA_DIR: dataDir, KEK_CACHE_TTL_SECONDS: '999', PORT: 'x' });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).problems).toHaveLength(2);
  });
});
