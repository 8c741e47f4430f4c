// One winston logger for the process. Text by default (time level message
// key=value ...), JSON with --log-format json.
import winston from 'winston';

export type LogFormat = 'text' | 'json';

const text = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${timestamp} ${String(level).toUpperCase()} ${message}${fields ? ' ' + fields : ''}`;
});

export const log = winston.createLogger({
  level: 'info',
  format: winston.format.combine(winston.format.timestamp(), text),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
});

// winston compares a line's level with the transports' only after its whole
// stream pipeline: a debug line that is not written cost ~0.15 ms all the same
// (6 % of a create's CPU at 1,000 engines, docs/performance.md). Calls below
// the level end here.
// Called on `this`, so a child logger (which inherits these) keeps its own metadata.
for (const level of Object.keys(log.levels)) {
  const write = (log as unknown as Record<string, (...args: unknown[]) => winston.Logger>)[level];
  Object.defineProperty(log, level, {
    // `this ?? log`: as winston's own methods, a call without a receiver logs on the root logger.
    value: function (this: winston.Logger | undefined, ...args: unknown[]) { const self = this ?? log; return self.isLevelEnabled(level) ? write.apply(self, args) : self; },
    writable: true,
  });
}

export function configureLogging(level: string, format: LogFormat): void {
  log.level = level;
  log.format = format === 'json'
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(winston.format.timestamp(), text);
}
