import fs from 'node:fs';
import path from 'node:path';
import { createLocalKeyProvider } from '../../lib/adapters/keys/localKeyProvider';
import { createSqliteStore } from '../../lib/adapters/sqlite/sqliteStore';
import { p, sql } from '../../lib/adapters/sql/params';
import { silentLogger } from '../../lib/app/logger';
import { createServices } from '../../lib/app/services';
import { loadConfig } from '../../lib/config';
import { appendAudit, orgChain, requesterChain } from '../../lib/domain/audit/audit';
import { cli } from '../helpers/cli';
import { makeTempDir } from '../helpers/testApp';


const ORG = orgChain('org-1');
const REQUESTER = requesterChain('user-1');

describe('npx connectid verify-audit', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    dataDir = makeTempDir();
    env = { DATA_DIR: dataDir };
    // A 2048-bit master key made up front keeps the test fast; init then adopts it instead of making a 4096-bit one.
    await createLocalKeyProvider({ directory: path.join(dataDir, 'keys'), modulusLength: 2048 }).currentKeyId();
    expect((await cli(['init', '--json'], env)).code).toBe(0);

    const services = await createServices(loadConfig(env), { log: silentLogger });
    try {
      await services.keyHierarchy.columnCipher();
      for (const chain of [ORG, ORG, ORG, REQUESTER]) {
        await services.store.transaction((tx) =>
          appendAudit(tx, services, { chain, action: 'auth.login.succeeded', actor: { type: 'user', id: 'user-1' }, details: { ip: '192.0.2.1' } }),
        );
      }
    } finally {
      await services.close();
    }
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  async function tamper(text: string): Promise<void> {
    const store = createSqliteStore({ file: path.join(dataDir, 'connectid.sqlite') });
    try {
      await store.execute(sql(text, { chain: p.text(ORG) }));
    } finally {
      await store.close();
    }
  }

  test('an intact log exits 0 and --json prints what was checked', async () => {
    const result = await cli(['verify-audit', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ chainsChecked: 2, eventsChecked: 4, problems: [] });

    const one = await cli(['verify-audit', '--chain', REQUESTER, '--json'], env);
    expect(JSON.parse(one.stdout)).toEqual({ chainsChecked: 1, eventsChecked: 1, problems: [] });
  });

  test('an edited entry exits 3 and still prints the report, as JSON or as text', async () => {
    await tamper("UPDATE audit_events SET action = 'auth.login.failed' WHERE chain = @chain AND seq = 2");

    const json = await cli(['verify-audit', '--json'], env);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ chainsChecked: 2, eventsChecked: 4, problems: [{ chain: ORG, seq: 2, problem: 'mac_mismatch' }] });

    const text = await cli(['verify-audit'], env);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain(`${ORG} seq 2: mac_mismatch`);

    // The damage is in the organization's chain only.
    expect((await cli(['verify-audit', '--chain', REQUESTER], env)).code).toBe(0);
  });

  test('a deleted entry exits 3', async () => {
    await tamper('DELETE FROM audit_events WHERE chain = @chain AND seq = 3');
    const result = await cli(['verify-audit', '--json'], env);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout).problems).toEqual([{ chain: ORG, seq: 3, problem: 'missing_event' }]);
  });
});
