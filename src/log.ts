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

export function configureLogging(level: string, format: LogFormat): void {
  log.level = level;
  log.format = format === 'json'
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(winston.format.timestamp(), text);
}
