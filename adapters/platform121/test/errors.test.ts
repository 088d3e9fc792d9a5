/** Each of 121's error body shapes, answered by the sandbox over HTTP, mapped to a typed error without values. */
import { PeerError } from '../../../src/core/errors';
import { ImportRejectedError, Platform121Error, parseErrorBody, redact } from '../src/errors';
import { runtimeFor } from '../src/runtime';
import { startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => env.sb.reset());

async function failure(p: Promise<unknown>): Promise<Platform121Error> {
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Platform121Error);
  return err as Platform121Error;
}

describe('error body shapes', () => {
  it('1. {"statusCode","message"} (404 unknown referenceId on PATCH) -> permanent, shape nest-message', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const err = await failure(client.updateRegistration('nobody-here-123', { motto: 'x' }, 'test'));
    expect(err.status).toBe(404);
    expect(err.shape).toBe('nest-message');
    expect(err.code).toBe('PEER_NOT_FOUND');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('update registration answered HTTP 404');
  });

  it('1b. 400 "col: The value ... given" on PATCH -> field errors by column, value redacted', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const err = await failure(client.updateRegistration('westeros123456789', { dragon: 'Drogon the Dread', house: 'targaryen' }, 'test'));
    expect(err.status).toBe(400);
    expect(err.shape).toBe('nest-message');
    const fields = (err.context.fieldErrors ?? []).map((f) => f.field).sort();
    expect(fields).toEqual(['dragon', 'house']);
    const json = JSON.stringify(err.toJSON()) + err.message;
    expect(json).not.toContain('Drogon the Dread');
    expect(json).not.toContain('targaryen');
    // The peer's explanation is its own free text: kept for operators (encrypted by the core), not in the safe view.
    expect(json).not.toContain("type 'numeric'");
    expect(JSON.stringify(err.sensitiveDetail())).toContain("type 'numeric'");
  });

  it('2. {"errors":"..."} (404 note on an unknown referenceId) -> permanent, shape errors', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const err = await failure(client.postNote('unknown-ref-1', 'text'));
    expect(err.status).toBe(404);
    expect(err.shape).toBe('errors');
    expect(err.retryable).toBe(false);
    expect(err.detail).toContain('is not known in this program');
  });

  it('2b. 404 {"errors":"There is currently no data to export"} is an empty list, not an error', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const future = new Date(Date.now() + 3600_000).toISOString();
    await expect(client.getRegistrationEvents({ fromDate: future })).resolves.toEqual([]);
    await expect(client.exportRegistrations({ filters: { status: '$eq:paused' } })).resolves.toEqual([]);
    await expect(client.getTransactions({})).resolves.toEqual([]);
    expect(env.sb.apiRequests({ path: '/registration-events' })[0].status).toBe(404);
  });

  it('2c. 403 {"errors"} for a status the user may not set', async () => {
    const client = runtimeFor(env.harness(undefined, { username: 'viewer@example.org', password: 'password' }).ctx).client;
    const err = await failure(client.changeStatus(['westeros123456789'], { status: 'included' }));
    expect(err.status).toBe(403);
    expect(err.shape).toBe('errors');
    expect(err.code).toBe('PEER_FORBIDDEN');
    expect(err.retryable).toBe(false);
  });

  it('1c. 403 {"statusCode":403,"message":"Forbidden"} without the permission', async () => {
    const client = runtimeFor(env.harness(undefined, { username: 'viewer@example.org', password: 'password' }).ctx).client;
    const err = await failure(client.importRegistrations([{ referenceId: 'viewer-row-1', programFspConfigurationName: 'ironBank' }]));
    expect(err.status).toBe(403);
    expect(err.shape).toBe('nest-message');
    expect(err.detail).toBe('Forbidden');
  });

  it('3. bare array of row errors (400 import) -> ImportRejectedError with column/error/lineNumber, no values', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const rows = [
      { referenceId: 'shape3-ok-1', programFspConfigurationName: 'ironBank', fullName: 'Bran Stark', phoneNumber: '14155230001', house: 'stark' },
      { referenceId: 'shape3-bad-2', programFspConfigurationName: 'ironBank', fullName: 'Hodor Hodorsson', phoneNumber: '14155230002', house: 'targaryen' },
    ];
    const err = await failure(client.importRegistrations(rows));
    expect(err).toBeInstanceOf(ImportRejectedError);
    const rejected = err as ImportRejectedError;
    expect(rejected.shape).toBe('import-rows');
    expect(rejected.rowErrors).toEqual([
      expect.objectContaining({ lineNumber: 2, column: 'house', referenceId: 'shape3-bad-2' }),
    ]);
    expect(rejected.rowErrors[0].error).toContain('is not in the allowed options');
    expect(rejected.context.fieldErrors).toEqual([{ column: 'house', error: rejected.rowErrors[0].error, lineNumber: '2' }]);
    const json = JSON.stringify(rejected.toJSON()) + rejected.message;
    expect(json).not.toContain('targaryen');
    expect(json).not.toContain('Hodor');
    // All-or-nothing: the good row was not imported either.
    expect(env.sb.registration('shape3-ok-1')).toBeUndefined();
  });

  it('4. class-validator objects (global ValidationPipe) -> shape validation, field errors without value or target', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const err = await failure(
      client.request({
        method: 'PATCH',
        path: '/programs/2/registrations/status',
        query: { 'filter.referenceId': '$in:westeros123456789' },
        body: { status: 'declined', reason: '', message: 'Call John Snow on 14155235554' },
        operation: 'change status',
        idempotent: true,
      }),
    );
    expect(err.status).toBe(400);
    expect(err.shape).toBe('validation');
    expect(err.context.fieldErrors).toEqual([expect.objectContaining({ field: 'reason', constraint: 'isNotEmpty' })]);
    const json = JSON.stringify(err.toJSON()) + err.message;
    expect(json).not.toContain('John Snow');
    expect(json).not.toContain('14155235554');
  });

  it('4b. ParseArrayPipe strings ("[0] programFspConfigurationName must be a string") -> line-numbered field errors', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const err = await failure(client.importRegistrations([{ referenceId: 'pipe-row-1', fullName: 'Rickon Stark' }]));
    expect(err.status).toBe(400);
    expect(err.shape).toBe('validation');
    expect(err.context.fieldErrors).toEqual([{ field: 'programFspConfigurationName', lineNumber: '1', error: 'programFspConfigurationName must be a string' }]);
  });

  it('{"errors"} 400 for a status that cannot be set via the API', async () => {
    const client = runtimeFor(env.harness().ctx).client;
    const err = await failure(
      client.request({
        method: 'PATCH',
        path: '/programs/2/registrations/status',
        query: { 'filter.referenceId': '$in:westeros123456789' },
        body: { status: 'completed' },
        operation: 'change status',
        idempotent: true,
      }),
    );
    expect(err.status).toBe(400);
    expect(err.shape).toBe('errors');
    expect(err.detail).toBe('The status completed is unknown or cannot be changed to via API');
  });

  it('5xx is retryable', async () => {
    const client = runtimeFor(env.harness(undefined, { maxRetries: 0 }).ctx).client;
    env.sb.injectFault({ path: '/registrations', status: 500 });
    const err = await failure(client.getRegistrations({}));
    expect(err.retryable).toBe(true);
    expect(err).toBeInstanceOf(PeerError);
  });
});

describe('parseErrorBody and redact', () => {
  it('recognises the four shapes', () => {
    expect(parseErrorBody(404, { statusCode: 404, message: 'Not here' }).shape).toBe('nest-message');
    expect(parseErrorBody(404, { errors: 'There is currently no data to export' }).shape).toBe('errors');
    expect(parseErrorBody(400, [{ column: 'house', error: 'x', lineNumber: 1, value: null }]).shape).toBe('import-rows');
    expect(parseErrorBody(400, { statusCode: 400, error: 'Bad Request', message: [{ property: 'status', constraints: { isEnum: 'bad' } }] }).shape).toBe('validation');
    expect(parseErrorBody(429, { statusCode: 429, message: 'ThrottlerException: Too Many Requests' }).shape).toBe('throttled');
  });

  it('redacts echoed values, e-mails and long digit runs', () => {
    const out = redact("Value 'Jane Doe' for jane@example.org at +31 6 1234 5678 in 'house'", ['Jane Doe']);
    expect(out).not.toContain('Jane');
    expect(out).not.toContain('jane@example.org');
    expect(out).not.toContain('1234');
    expect(out).toContain("'house'");
  });

  it('keeps nested class-validator children as dotted fields', () => {
    const parsed = parseErrorBody(400, {
      statusCode: 400,
      message: [{ property: 'data', value: { a: 1 }, children: [{ property: 'phoneNumber', value: '0612345678', constraints: { isString: 'phoneNumber must be a string' } }] }],
    });
    expect(parsed.fieldErrors).toEqual([{ field: 'data.phoneNumber', constraint: 'isString', error: 'phoneNumber must be a string' }]);
  });
});
