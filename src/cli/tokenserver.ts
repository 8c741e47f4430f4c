// `swarm token-server`: run the token service token:// discovery talks to
// (classic Swarm's hosted service, discovery.hub.docker.com, is gone).
import type { CommandModule } from 'yargs';
import { ConfigError } from './config.js';
import { startTokenServer, parseListenAddr, DEFAULT_TOKEN_ADDR, DEFAULT_TOKEN_DATA_DIR } from '../tokenserver/index.js';
import { exitOnSignal } from './signals.js';

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
    exitOnSignal(() => server.close(), 6000);
    await new Promise(() => undefined); // run until signalled
  },
};
