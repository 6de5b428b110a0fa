import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config';
import { createServices, type Services } from '../app/services';
import { CliError } from './errors';
import type { ResignReport } from '../domain/tokens/resignReceipts';
import { purgeCommand } from './purge';

export interface CommandResult {
  readonly text: string;
  readonly json: Record<string, unknown>;
  /** Non-zero for a command that ran but found something wrong (its report is still printed). Default 0. */
  readonly exitCode?: number;
}

export interface Command {
  readonly summary: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(config: Config, options: Record<string, string | boolean | undefined>): Promise<CommandResult>;
}

/** Builds services for one command and always closes them. */
export async function withServices<T>(config: Config, work: (services: Services) => Promise<T>): Promise<T> {
  const { silentLogger } = await import('../app/logger');
  const services = await createServices(config, { log: silentLogger });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

export const commands: Record<string, Command> = {
  init: {
    summary: 'Apply database migrations and create the master key and column key if missing',
    options: {},
    async run(config) {
      return withServices(config, async (services) => {
        const applied = await services.store.migrate();
        await services.keyHierarchy.columnCipher();
        const masterKeyId = await services.keys.currentKeyId();
        return {
          text: [
            applied.length > 0 ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date',
            `Master key: ${masterKeyId}`,
            'Column encryption key: ready',
          ].join('\n'),
          json: { appliedMigrations: applied, masterKeyId, database: config.sql.kind },
        };
      });
    },
  },
  'rotate-signing-key': {
    summary:
      'Create a new token signing key; the previous one stays published for 400 days so receipts keep verifying. ' +
      '--compromised unpublishes every older key at once (their tokens stop verifying) and re-signs the stored receipts ' +
      'with the new key; exits 3 if a receipt could not be re-signed',
    options: { compromised: { type: 'boolean' } },
    async run(config, options) {
      const compromised = options.compromised === true;
      return withServices(config, async (services) => {
        const { kid, previousKid } = await services.signingKeys.rotate({ compromised });
        if (!compromised) {
          const previous = previousKid
            ? `Previous signing key: ${previousKid} (published for 400 days so its receipts keep verifying)`
            : 'Previous signing key: none';
          return {
            text: [`New signing key: ${kid}`, previous, 'Running instances switch within 30 s.'].join('\n'),
            json: { kid, previousKid, compromised },
          };
        }
        const { resignReceipts } = await import('../domain/tokens/resignReceipts');
        let report: ResignReport;
        try {
          report = await resignReceipts(services);
        } catch (error) {
          throw new CliError(
            `New signing key ${kid} is in place and every older key is unpublished, but re-signing the stored receipts failed: ` +
              `${error instanceof Error ? error.message : String(error)}. Finish it with: npx connectid resign-receipts`,
          );
        }
        return {
          text: [
            `New signing key: ${kid}`,
            previousKid
              ? `Previous signing key: ${previousKid} (unpublished with every older key: their tokens no longer verify)`
              : 'Previous signing key: none',
            ...resignedLines(report),
            'Running instances switch within 30 s; receipts they sign meanwhile still use an old key: ' +
              'run npx connectid resign-receipts again after that.',
          ].join('\n'),
          json: { kid, previousKid, compromised, resigned: { ...report } },
          exitCode: report.failures.length === 0 ? 0 : 3,
        };
      });
    },
  },
  'rotate-eid-keys': {
    summary:
      'Create new eID encryption keys (EC and RSA, for encrypted UserInfo); the previous ones stay published at ' +
      '/.well-known/eid-jwks.json and keep decrypting for 7 days, while providers refresh their cached copy. ' +
      '--compromised unpublishes and stops using every older key at once',
    options: { compromised: { type: 'boolean' } },
    async run(config, options) {
      const compromised = options.compromised === true;
      return withServices(config, async (services) => {
        const { EidEncryptionKeys } = await import('../domain/eid/encryptionKeys');
        const { kids, previousKids, previousUsableUntil } = await new EidEncryptionKeys(services).rotate({ compromised });
        const until = previousUsableUntil?.toISOString() ?? null;
        const previous =
          previousKids.length === 0
            ? 'Previous eID encryption keys: none'
            : compromised
              ? `Previous eID encryption keys: ${previousKids.join(', ')} (unpublished with every older key; answers encrypted to them fail)`
              : `Previous eID encryption keys: ${previousKids.join(', ')} (published and decrypting until ${until})`;
        return {
          text: [`New eID encryption keys: ${kids.join(', ')}`, previous, 'Running instances switch within 30 s.'].join('\n'),
          json: { kids, previousKids, previousUsableUntil: until, compromised },
        };
      });
    },
  },
  'resign-receipts': {
    summary:
      'Re-sign, with the current signing key, every stored consent and deletion receipt signed by a key no longer ' +
      'published (after rotate-signing-key --compromised; resumable); exits 3 if a receipt could not be re-signed',
    options: {},
    async run(config) {
      return withServices(config, async (services) => {
        const { resignReceipts } = await import('../domain/tokens/resignReceipts');
        const report = await resignReceipts(services);
        return { text: resignedLines(report).join('\n'), json: { ...report }, exitCode: report.failures.length === 0 ? 0 : 3 };
      });
    },
  },
  'verify-audit': {
    summary: 'Check every audit chain (or --chain <chain>) for edited, deleted or moved entries; exits 3 if any',
    options: { chain: { type: 'string' } },
    async run(config, options) {
      const { verifyAudit } = await import('../domain/audit/audit');
      const chain = typeof options.chain === 'string' ? options.chain : undefined;
      return withServices(config, async (services) => {
        const { chainsChecked, eventsChecked, problems } = await verifyAudit(services.store, services, chain);
        const checked = `${chainsChecked} chain(s), ${eventsChecked} event(s) checked`;
        const text =
          problems.length === 0
            ? `Audit log intact: ${checked}`
            : [
                `Audit log TAMPERED: ${problems.length} problem(s) in ${checked}`,
                ...problems.map((problem) => `  ${problem.chain} seq ${problem.seq}: ${problem.problem}`),
              ].join('\n');
        return { text, json: { chainsChecked, eventsChecked, problems }, exitCode: problems.length === 0 ? 0 : 3 };
      });
    },
  },
  'create-operator': {
    summary: 'Invite an operator: prints a one-time invitation token (24 h) to accept with POST /v1/auth/accept-invite',
    options: { email: { type: 'string' } },
    async run(config, options) {
      const email = typeof options.email === 'string' ? options.email.trim() : '';
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new CliError('create-operator needs --email <address>', 2);
      return withServices(config, async (services) => {
        await services.store.migrate();
        const { inviteOperator } = await import('../domain/accounts/invitations');
        const invitation = await inviteOperator(services, { email });
        return {
          text: [
            `Invitation for ${email} (valid until ${invitation.expiresAt.toISOString()}):`,
            '',
            `  ${invitation.token}`,
            '',
            'Accept it with: POST /v1/auth/accept-invite {"token": "<the token>", "password": "<a new password>"}',
          ].join('\n'),
          json: { userId: invitation.userId, invitationToken: invitation.token, expiresAt: invitation.expiresAt.toISOString() },
        };
      });
    },
  },
  'rewrap-keys': {
    summary:
      'After a new master key version exists, re-wrap every organization key, the column key and the signing keys with it ' +
      '(online, resumable; --dry-run only counts); exits 3 if a key could not be re-wrapped',
    options: { 'dry-run': { type: 'boolean' } },
    async run(config, options) {
      const dryRun = options['dry-run'] === true;
      return withServices(config, async (services) => {
        const { rewrapMasterKeyWraps } = await import('../crypto/rewrap');
        const report = await rewrapMasterKeyWraps(services, { dryRun });
        const line = (label: string, counts: typeof report.wrappedKeys) =>
          `${label}: ${counts.rewrapped} ${dryRun ? 'to re-wrap' : 're-wrapped'}, ${counts.alreadyCurrent} already current, ` +
          `${counts.skippedDestroyed} destroyed (skipped), ${counts.skippedChanged} changed meanwhile (skipped), ${counts.failed} failed`;
        const text = [
          `Current master key: ${report.currentMasterKeyId}`,
          line('Wrapped keys (organization KEKs, column key)', report.wrappedKeys),
          line('Signing keys', report.signingKeys),
          ...report.failures.map((failure) => `  FAILED ${failure.table} ${failure.id}: ${failure.reason}`),
          report.remaining === 0
            ? 'No live key needs an older master key version: older versions may be disabled.'
            : `${report.remaining} live key(s) still need ${report.remainingMasterKeyIds.join(', ')}: keep those versions enabled` +
              `${dryRun ? '' : ' and run rewrap-keys again'}.`,
        ].join('\n');
        return { text, json: { ...report }, exitCode: report.failures.length === 0 ? 0 : 3 };
      });
    },
  },
  'rotate-master-key': {
    summary:
      'Local key files only: create a new master key version and make it current (then run rewrap-keys). ' +
      'In Key Vault the key rotates by its rotation policy or `az keyvault key rotate`',
    options: {},
    async run(config) {
      if (config.keys.kind !== 'local') {
        throw new CliError(
          `The master key is in Key Vault (${config.keys.vaultUrl}): rotate it there (az keyvault key rotate --vault-name <vault> ` +
            `--name ${config.keys.masterKeyName}, or let its rotation policy do it), then run: npx connectid rewrap-keys`,
          2,
        );
      }
      const { rotateLocalMasterKey } = await import('../adapters/keys/localKeyProvider');
      const masterKeyId = await rotateLocalMasterKey(config.keys.directory);
      return {
        text: [
          `New master key version: ${masterKeyId} (new keys are wrapped with it from now on; older versions still unwrap)`,
          'Next: npx connectid rewrap-keys',
        ].join('\n'),
        json: { masterKeyId },
      };
    },
  },
  purge: purgeCommand,
};

/** What a re-signing run did, for the operator. */
function resignedLines(report: ResignReport): string[] {
  return [
    `Receipts re-signed with the current signing key: ${report.consentReceipts} consent, ${report.deletionReceipts} deletion`,
    ...(report.changedMeanwhile > 0
      ? [`${report.changedMeanwhile} receipt(s) were rewritten meanwhile and kept as written: run resign-receipts again to check them.`]
      : []),
    ...report.failures.map((failure) => `  FAILED ${failure.receipt} receipt ${failure.id}: ${failure.reason}`),
    report.failures.length > 0
      ? `${report.failures.length} receipt(s) left as they were: they do not verify with the published keys.`
      : 'Stored receipts are signed by published keys (the copies in the audit log keep their original signature).',
  ];
}
