// `swarm token-server`: run the token service token:// discovery talks to
// (classic Swarm's hosted service, discovery.hub.docker.com, is gone).
import type { CommandModule } from 'yargs';
import { ConfigError } from './config.js';
import { startTokenServer, parseListenAddr, DEFAULT_TOKEN_ADDR, DEFAULT_TOKEN_DATA_DIR } from '../tokenserver/index.js';
import { log } from '../log.js';

export const tokenServerCommand: CommandModule = {
  command: 'token-server',
  describe: 'Serve token:// discovery (create tokens, register and list nodes)',
  builder: (y) => y
    .option('addr', {
      type: 'string', default: DEFAULT_TOKEN_ADDR,
      describe: 'ip:port to listen on (loopback by default: 0.0.0.0:4243 serves other machines; there is no authentication)',
    })
    .option('data-dir', { type: 'string', default: DEFAULT_TOKEN_DATA_DIR, describe: 'directory keeping the tokens and their registrations' }),
  handler: async (argv) => {
    const addr = String(argv.addr);
    try { parseListenAddr(addr); } catch (e) { throw new ConfigError((e as Error).message); }
    const server = await startTokenServer({ addr, dataDir: String(argv['data-dir']) });
    let stopping = false;
    const shutdown = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log.info('shutting down', { signal: sig });
      server.close().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 6000).unref();
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    await new Promise(() => undefined); // run until signalled
  },
};
