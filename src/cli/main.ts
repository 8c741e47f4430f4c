// `swarm` entry point: global flags, commands, and classic Swarm's flag spellings.
import yargs, { type CommandModule } from 'yargs';
import { manageCommand } from './manage.js';
import { listCommand } from './list.js';
import { joinCommand } from './join.js';
import { createCommand } from './create.js';
import { tokenServerCommand } from './tokenserver.js';
import { ConfigError } from './config.js';
import { configureLogging, log, type LogFormat } from '../log.js';
import { VERSION } from '../version.js';

// These two load their modules only when they are the command: they pull in
// the certificate, access-policy and archive libraries (~0.15 s), which a
// manager does not need before it listens.
const certsCommand: CommandModule = {
  command: 'certs',
  describe: 'Make a CA and the TLS certificates for the manager, engines and clients; revoke client certificates',
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  builder: (y) => (require('./certs.js') as typeof import('./certs.js')).certsSubcommands(y),
  handler: () => undefined,
};
const devClusterCommand: CommandModule = {
  command: 'dev-cluster',
  describe: 'run a local cluster of real dockerd engines (root; for development and tests)',
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  builder: (y) => (require('../devcluster/index.js') as typeof import('../devcluster/index.js')).devClusterSubcommands(y),
  handler: () => undefined,
};

/**
 * Classic Swarm (Go's flag package via codegangsta/cli) accepts long flags
 * with one dash: `-experimental`, `-strategy=binpack`. Rewrite them to `--`
 * so scripts written for it run unchanged. Single letters (`-H`, `-l`, `-f`)
 * stay short flags.
 */
export function normalizeArgs(args: string[]): string[] {
  const out = args.map((a) => (/^-[a-zA-Z][a-zA-Z0-9-]+(=.*)?$/.test(a) ? '-' + a : a));
  // Go's flag package takes the argument after a value flag as its value even
  // when it starts with a dash (`--delay -30s`, then refused as negative);
  // yargs would read `-30s` as short flags. Glue such a value to its flag.
  for (let i = out.length - 1; i > 0; i--) {
    if (/^-\d/.test(out[i]) && /^--[a-zA-Z][a-zA-Z0-9-]*$/.test(out[i - 1])) out.splice(i - 1, 2, `${out[i - 1]}=${out[i]}`);
  }
  return out;
}

export async function main(args: string[]): Promise<void> {
  const parser = yargs(normalizeArgs(args))
    .scriptName('swarm')
    .usage('swarm - a Docker-native clustering system\n\nUsage: swarm [OPTIONS] COMMAND [arg...]')
    .version(`swarm version ${VERSION}`)
    .alias('version', 'v')
    .option('debug', { type: 'boolean', default: !!process.env.DEBUG, describe: 'debug mode ($DEBUG)' })
    .option('log-level', { alias: 'l', type: 'string', default: 'info', choices: ['debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic'], describe: 'log level' })
    .option('log-format', { type: 'string', default: 'text', choices: ['text', 'json'], describe: 'log format' })
    .option('experimental', { type: 'boolean', default: false, describe: 'enable experimental features' })
    .middleware((argv) => {
      let level = String(argv['log-level']);
      if (level === 'warning') level = 'warn';
      if (level === 'fatal' || level === 'panic') level = 'error';
      configureLogging(argv.debug ? 'debug' : level, argv['log-format'] as LogFormat);
    })
    // Classic's commands in classic's order (cli/commands.go: create, list,
    // manage, join); --help lists them in the order registered here.
    .command(createCommand)
    .command(listCommand)
    .command(manageCommand)
    .command(joinCommand)
    .command(tokenServerCommand)
    .command(certsCommand)
    .command(devClusterCommand)
    .demandCommand(1, 'a command is required: swarm --help')
    .strict()
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) {
        // Stacks only at debug level: a bad flag or a busy port is not a crash.
        if (err instanceof ConfigError || !log.isDebugEnabled()) log.error(err.message);
        else log.error(err.message, { stack: err.stack });
      } else {
        process.stderr.write(`${msg}\n\nRun 'swarm --help' for usage.\n`);
      }
      process.exit(1);
    });
  await parser.parseAsync();
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => { log.error(err.message); process.exit(1); });
}
