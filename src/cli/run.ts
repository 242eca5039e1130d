import 'dotenv/config';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { ModelMismatchError, UserInputError } from '../core/knowledge-base.js';
import { createLogger, type Logger } from '../logger.js';

/**
 * Runs a command-line entry point: loads settings (a bad value stops here with a message per
 * setting), creates the logger, and turns the errors a user can act on into one clear line
 * and exit status 1 instead of a stack trace.
 */
export async function runCli(main: (config: Config, logger: Logger) => Promise<void>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.log);
  try {
    await main(config, logger);
  } catch (error) {
    if (error instanceof UserInputError || error instanceof ModelMismatchError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      logger.error({ err: error }, (error as Error).message);
    }
    process.exitCode = 1;
  }
}
