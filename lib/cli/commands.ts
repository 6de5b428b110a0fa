import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config';
import { createServices, type Services } from '../app/services';
import { CliError } from './errors';

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
    summary: 'Create a new token signing key; the previous one keeps verifying until its tokens expire',
    options: {},
    async run(config) {
      return withServices(config, async (services) => {
        const { kid, previousKid } = await services.signingKeys.rotate();
        return {
          text: [
            `New signing key: ${kid}`,
            previousKid
              ? `Previous signing key: ${previousKid} (published until its tokens expire; running instances switch within 30 s)`
              : 'Previous signing key: none',
          ].join('\n'),
          json: { kid, previousKid },
        };
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
};
