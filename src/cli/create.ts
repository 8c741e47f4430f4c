// `swarm create`: a new cluster token from the token service
// (--discovery-opt token.url=... or $SWARM_TOKEN_URL), printed on stdout.
import type { CommandModule } from 'yargs';
import { ConfigError } from './config.js';
import { createClusterToken, tokenServicePrefix, TOKEN_OPTS } from '../discovery/token.js';

export const createCommand: CommandModule = {
  command: 'create',
  aliases: ['c'],
  describe: 'Create a cluster',
  builder: (y) => y
    .option('discovery-opt', { type: 'string', describe: 'token.url=http://<host>:<port>: the token service ($SWARM_TOKEN_URL)' }),
  handler: async (argv) => {
    const opts = new Map<string, string>();
    for (const opt of ([] as unknown[]).concat(argv['discovery-opt'] ?? []).map(String)) {
      const i = opt.indexOf('=');
      if (i < 0) throw new ConfigError('--discovery-opt must contain key=value strings');
      const k = opt.slice(0, i);
      if (!(TOKEN_OPTS as readonly string[]).includes(k)) throw new ConfigError(`unsupported discovery option "${k}" for swarm create`);
      opts.set(k, opt.slice(i + 1));
    }
    let prefix: string;
    try { prefix = tokenServicePrefix(opts); } catch (e) { throw new ConfigError((e as Error).message); }
    const token = await createClusterToken(prefix);
    process.stdout.write(`${token}\n`);
  },
};
