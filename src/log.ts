import { pino, type Logger } from "pino";

/** One structured logger per process; children carry the component name. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: "tidecast", ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
