// A tiny structured logger interface; the entry point picks the implementation.

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;

/** JSON lines to `write` (stdout by default in the entry point), at or above `level`. */
export function jsonLogger(level: keyof typeof LEVELS, write: (line: string) => void): Logger {
  const min = LEVELS[level];
  const emit =
    (lvl: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
      if (LEVELS[lvl] < min) return;
      write(JSON.stringify({ level: lvl, time: new Date().toISOString(), msg: message, ...fields }));
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
