import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { CasewayError, safeErrorDetail, safeMessage, type SafeErrorDetail } from './errors';

export type { Logger };

/**
 * Keys whose values are personal data wherever they appear in a log object. pino replaces them with
 * "[redacted]". Code must still never put personal data in messages; this is the safety net.
 */
export const PERSONAL_DATA_KEYS = [
  'title', 'forenames', 'surname', 'fullName', 'firstName', 'FirstName', 'lastName', 'LastName', 'Surname', 'name',
  'otherNames', 'birthDate', 'dateOfBirth', 'DateOfBirth', 'dob', 'birthCity', 'birthCountry', 'birthPlace',
  'email', 'Email', 'phone', 'Phone', 'phoneNumber', 'mobile', 'Mobile', 'contactPhone', 'homePhone', 'whatsappPhoneNumber',
  'address', 'Address', 'addresses', 'numberAndStreet', 'postcode', 'Postcode', 'town', 'street', 'lines',
  'docNumber', 'passportNumber', 'number', 'identityDocuments', 'person', 'parties', 'case', 'payload', 'body', 'data',
  'password', 'secret', 'token', 'access_token', 'access_token_general', 'Signature', 'authorization', 'cookie',
  'x-api-key',
];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of PERSONAL_DATA_KEYS) {
    paths.push(key, `*.${key}`, `*.*.${key}`);
  }
  paths.push('req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]');
  return paths;
}

/**
 * Correlation ids of the work in progress (an HTTP request's requestId; a delivery's hubId, deliveryId and route; a
 * poll's source). Every line a Caseway logger writes inside `withLogContext` carries them, adapters' lines included.
 */
const logContext = new AsyncLocalStorage<Record<string, string>>();

export function withLogContext<T>(ids: Record<string, string>, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...ids }, fn);
}

export interface LoggerSetup {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to capture and grep them. */
  destination?: pino.DestinationStream;
  base?: Record<string, unknown>;
  /** Human-readable lines (pino-pretty) instead of JSON; default: when stdout is a terminal and no destination is given. */
  pretty?: boolean;
}

/** The safe view of an error (codes, field paths, whether the peer said more) plus its type, stack frames and cause. */
export type SerializedError = Partial<SafeErrorDetail> & {
  type: string;
  message: string;
  stack?: string;
  cause?: SerializedError;
};

/**
 * pino's `err` serializer, made safe: the message is the error's safe message and the stack keeps only its frames
 * (a stack's first line repeats the raw message, which may hold what a peer echoed back). Causes are followed.
 */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: safeMessage(err) };
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const out: SerializedError = err instanceof CasewayError ? { ...safeErrorDetail(err), type: err.name, message: safeMessage(err) } : { type: err.name || 'Error', message: safeMessage(err) };
  // A cause from a library (an HTTP client, say) may quote a peer's answer in its message: only its type is kept.
  if (depth > 0 && !(err instanceof CasewayError)) out.message = out.type;
  if (frames.length) out.stack = [`${out.type}: ${out.message}`, ...frames].join('\n');
  if (err.cause !== undefined && depth < 3) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

export function createLogger(setup: LoggerSetup = {}): Logger {
  const options: LoggerOptions = {
    level: setup.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'caseway', pid: process.pid, hostname: hostname(), ...setup.base },
    // An error logged as { err } gets its safe view (codes, field paths; no hash of the peer's words, which needs the
    // hub's key: the engine logs its own keyed view) and its stack frames, never the peer's free text; other keys
    // holding errors get the safe view through CasewayError.toJSON.
    serializers: { err: serializeError },
    redact: { paths: redactPaths(), censor: '[redacted]' },
    mixin: () => logContext.getStore() ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (setup.destination) return pino(options, setup.destination);
  if (setup.pretty ?? process.stdout.isTTY === true) {
    return pino(options, pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' } }));
  }
  return pino(options);
}

/** A logger that writes nothing, for code paths run outside the hub (scripts, some tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
