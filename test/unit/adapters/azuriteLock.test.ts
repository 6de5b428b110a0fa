import fs from 'node:fs';
import path from 'node:path';
import { AZURITE_LOCK_FILE, AzuriteLockedError, acquireAzuriteLock, azuriteLockHolder } from '../../../lib/adapters/blob/azuriteLock';
import { makeTempDir } from '../../helpers/testApp';

// A pid far above any Linux pid_max: no such process.
const GONE = 2147483646;

describe('the embedded Azurite lock', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = makeTempDir()));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const lockFile = () => path.join(dataDir, AZURITE_LOCK_FILE);

  test('a free lock is taken for this process and released again', () => {
    const lock = acquireAzuriteLock(dataDir);
    expect(azuriteLockHolder(dataDir)).toBe(process.pid);

    lock.release();
    lock.release();

    expect(fs.existsSync(lockFile())).toBe(false);
    expect(azuriteLockHolder(dataDir)).toBeNull();
  });

  test('a lock held by a live process is refused, naming that process', () => {
    fs.writeFileSync(lockFile(), `${process.ppid}\n`);

    let refusal: unknown;
    try {
      acquireAzuriteLock(dataDir);
    } catch (error) {
      refusal = error;
    }

    expect(refusal).toBeInstanceOf(AzuriteLockedError);
    expect(refusal).toMatchObject({ code: 'azurite_locked', pid: process.ppid });
  });

  test('a lock left by a process that is gone is taken over', () => {
    fs.writeFileSync(lockFile(), `${GONE}\n`);
    expect(azuriteLockHolder(dataDir)).toBeNull();

    acquireAzuriteLock(dataDir);

    expect(azuriteLockHolder(dataDir)).toBe(process.pid);
  });

  test('releasing leaves alone a lock that another process has taken meanwhile', () => {
    const lock = acquireAzuriteLock(dataDir);
    fs.writeFileSync(lockFile(), `${process.ppid}\n`);

    lock.release();

    expect(azuriteLockHolder(dataDir)).toBe(process.ppid);
  });
});
