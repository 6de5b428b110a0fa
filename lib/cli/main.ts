/**
 * `npx connectid <command> [options]`: operator commands. Every command takes `--json` and then prints exactly
 * one JSON object on stdout; errors go to stderr with a non-zero exit code.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { commands, type Command } from './commands';
import { CliError } from './errors';

export { CliError };

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command: Command | undefined = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) return fail(json, `Unknown command "${name}".\n\n${usage()}`, 2);
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: { json: { type: 'boolean' }, ...command.options },
      strict: true,
      allowPositionals: false,
    });
    const config = loadConfig(env);
    const result = await command.run(config, values as Record<string, string | boolean | undefined>);
    if (json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
    else process.stdout.write(`${result.text}\n`);
    return result.exitCode ?? 0;
  } catch (error) {
    if (error instanceof ConfigError) return fail(json, error.message, 1, { problems: error.problems });
    if (error instanceof CliError) return fail(json, error.message, error.exitCode);
    // parseArgs reports unknown or malformed options with a code; say which, not a stack.
    if (isParseArgsError(error)) {
      return fail(json, `${error.message}\n\n${usage()}`, 2);
    }
    return fail(json, `connectid ${name} failed: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
}

function isParseArgsError(error: unknown): error is Error {
  return typeof error === 'object' && error !== null && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
}

function fail(json: boolean, message: string, code: number, details: Record<string, unknown> = {}): number {
  if (json) process.stdout.write(`${JSON.stringify({ error: message.split('\n')[0], ...details })}\n`);
  process.stderr.write(`${message}\n`);
  return code;
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(22)} ${command.summary}`);
  return `Usage: npx connectid <command> [options] [--json]\n\nCommands:\n${lines.join('\n')}\n\nSettings come from the environment (see README.md); none = embedded defaults under DATA_DIR (.data).\n`;
}
