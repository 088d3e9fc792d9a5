import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { safeErrorDetail } from './errors';

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
}

export function createLogger(setup: LoggerSetup = {}): Logger {
  const options: LoggerOptions = {
    level: setup.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'caseway', ...setup.base },
    redact: { paths: redactPaths(), censor: '[redacted]' },
    // An error logged as { err } gets its safe view (codes, field paths, a hash of the peer's words), never the
    // peer's free text; other keys holding errors get it through CasewayError.toJSON.
    serializers: { err: safeErrorDetail },
    mixin: () => logContext.getStore() ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return setup.destination ? pino(options, setup.destination) : pino(options);
}

/** A logger that writes nothing, for code paths run outside the hub (scripts, some tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
