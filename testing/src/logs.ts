export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly context: Record<string, unknown>;
}

/** A logger (pino's call shape) that keeps what it is given, for assertions on log output. */
export function captureLogger(): {
  logger: {
    debug(c: object, m: string): void;
    info(c: object, m: string): void;
    warn(c: object, m: string): void;
    error(c: object, m: string): void;
  };
  lines: LogLine[];
  find(message: string | RegExp): LogLine[];
} {
  const lines: LogLine[] = [];
  const push = (level: LogLine['level']) => (context: object, message: string) =>
    lines.push({ level, message, context: context as Record<string, unknown> });
  return {
    logger: { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') },
    lines,
    find: (message) =>
      lines.filter((l) => (typeof message === 'string' ? l.message === message : message.test(l.message))),
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  everyMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
