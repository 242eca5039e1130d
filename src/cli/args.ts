import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Parses a script's command-line flags with node:util; an unknown flag prints the usage and exits
 * with status 2 instead of throwing a stack trace at the user.
 */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(usage: string, options: T, argv = process.argv.slice(2)) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
}
