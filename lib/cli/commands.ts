import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config';
import { createServices, type Services } from '../app/services';

export interface CommandResult {
  readonly text: string;
  readonly json: Record<string, unknown>;
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
};
