/** The sandbox's answers for the other seed-002 endpoints, checked with plain HTTP against the reference's texts. */
import axios, { type AxiosInstance } from 'axios';
import { Sandbox121 } from '../sandbox';

let sb: Sandbox121;
let http: AxiosInstance;
let admin = '';

async function login(username = 'admin@example.org', password = 'password'): Promise<string> {
  const res = await http.post('/api/users/login', { username, password });
  expect(res.status).toBe(201);
  return `access_token_general=${res.data.access_token_general}`;
}

function csvUpload(fileName: string, text: string, field = 'file'): FormData {
  const form = new FormData();
  form.append(field, new Blob([text], { type: 'text/csv' }), fileName);
  return form;
}

beforeAll(async () => {
  sb = await Sandbox121.start({ statusApplyDelayMs: 20 });
  http = axios.create({ baseURL: sb.url, validateStatus: () => true });
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(async () => {
  await sb.settle();
  sb.reset();
  admin = await login();
});

describe('sandbox: excel reconciliation', () => {
  it('answers the documented errors in the documented shapes', async () => {
    sb.addTransaction({ referenceId: 'westeros123456789', amount: 10, status: 'waiting', paymentId: 1 });
    const post = (form: FormData) => http.post('/api/programs/2/payments/1/excel-reconciliation', form, { headers: { Cookie: admin } });
    expect((await post(csvUpload('r.xlsx', 'phoneNumber,status\n1,success'))).data).toEqual(['Wrong file extension. It should be .csv']);
    expect((await post(csvUpload('r.csv', 'phoneNumber,status\n'))).data).toEqual({ statusCode: 400, message: 'Could not parse CSV file, please check it' });
    expect((await post(csvUpload('r.csv', 'phoneNumber,state\n1,success'))).data.message).toBe("The status column is missing. Please make sure the column is named 'status'");
    expect((await post(csvUpload('r.csv', 'phoneNumber,status,errorMessage\n1,success,oops'))).data.message).toBe('Error message not allowed when status is success');
    expect((await post(csvUpload('r.csv', 'phone,status\n1,success'))).data).toEqual({
      errors: 'No match column found in the import file. Please use one of the following match columns: phoneNumber.',
    });
    expect((await post(csvUpload('r.csv', 'phoneNumber,status\n1,success\n1,error'))).data).toEqual({ errors: "The match column 'phoneNumber' contains duplicate values." });
    const rows = Array.from({ length: 10001 }, (_, i) => `${i},success`).join('\n');
    expect((await post(csvUpload('r.csv', `phoneNumber,status\n${rows}`))).data).toEqual(['Too many records. Maximum number of records is 10000. You have 10001 records.']);
    expect((await post(csvUpload('r.csv', 'phoneNumber,status\n1,success', 'upload'))).status).toBe(400);
    const big = await post(csvUpload('r.csv', `phoneNumber,status\n${'1'.repeat(10_400_000)},success`));
    expect([big.status, big.data.message]).toEqual([413, 'File too large']);
    // ";" separated files are read too.
    const ok = await post(csvUpload('r.csv', 'phoneNumber;status\n14155235554;success'));
    expect([ok.status, ok.data.aggregateImportResult]).toEqual([201, { countPaymentSuccess: 1, countPaymentFailed: 0, countNotFound: 0 }]);
    expect(sb.transactions()[0].status).toBe('success');
  });
});

describe('sandbox: message templates and messages', () => {
  it('POST 201 empty, 400 when it exists (not 409), PATCH must carry message, 404 unknown', async () => {
    const path = '/api/notifications/2/message-templates';
    const body = { type: 'included', language: 'en', message: 'Hi {{fullName}}', isSendMessageTemplate: false };
    const created = await http.post(path, body, { headers: { Cookie: admin } });
    expect([created.status, created.data]).toEqual([201, '']);
    expect((await http.post(path, body, { headers: { Cookie: admin } })).data).toEqual({ errors: "Message template with type 'included' and language 'en' already exists in program 2" });
    expect((await http.patch(`${path}/included/en`, { isSendMessageTemplate: true }, { headers: { Cookie: admin } })).data).toEqual({ errors: "Message is required for message type 'included'" });
    expect((await http.patch(`${path}/paused/en`, { message: 'x' }, { headers: { Cookie: admin } })).data).toEqual({ errors: "No message template found with type 'paused' and language 'en' in program 2" });
    const patched = await http.patch(`${path}/included/en`, { message: 'Hello {{fullName}}' }, { headers: { Cookie: admin } });
    expect([patched.status, patched.data.message]).toEqual([200, 'Hello {{fullName}}']);
    expect((await http.post(path, { ...body, type: 'whatsappPayment' }, { headers: { Cookie: admin } })).data.errors).toMatch(/^Content SID is required/);
  });

  it('registrations/message: 202 then sent later, dryRun 200, 404 unknown template, both/neither 400, no filter = whole program', async () => {
    const url = '/api/programs/2/registrations/message';
    const one = await http.post(`${url}?filter.referenceId=$in:westeros123456789`, { message: 'hi' }, { headers: { Cookie: admin } });
    expect([one.status, one.data]).toEqual([202, { totalFilterCount: 1, applicableCount: 1, nonApplicableCount: 0 }]);
    expect(sb.messages()).toEqual([]);
    await sb.settle();
    expect(sb.messages()).toHaveLength(1);
    expect((await http.post(`${url}?dryRun=true`, { message: 'hi' }, { headers: { Cookie: admin } })).status).toBe(200);
    expect((await http.post(url, { messageTemplateKey: 'nope' }, { headers: { Cookie: admin } })).data).toEqual({ statusCode: 404, message: 'Message template with key nope not found' });
    expect((await http.post(url, { message: 'a', messageTemplateKey: 'b' }, { headers: { Cookie: admin } })).status).toBe(400);
    expect((await http.post(url, {}, { headers: { Cookie: admin } })).status).toBe(400);
    const all = await http.post(url, { message: 'to everyone' }, { headers: { Cookie: admin } });
    expect(all.data.totalFilterCount).toBe(3);
    expect(sb.unfilteredBulkActions).toBe(2);
  });
});

describe('sandbox: programs, export types, users', () => {
  it('GET program: any logged-in user, 404 unknown; export-list: 400 bad type, 403 extra permission; users: 403 for a non-admin', async () => {
    const viewer = await login('viewer@example.org');
    expect((await http.get('/api/programs/3', { headers: { Cookie: viewer } })).status).toBe(200);
    expect((await http.get('/api/programs/42', { headers: { Cookie: viewer } })).data).toEqual({ errors: 'No program found with id 42' });
    expect((await http.get('/api/programs/2/metrics/export-list/vouchers', { headers: { Cookie: admin } })).data).toEqual({
      statusCode: 400,
      message: 'Invalid export type: vouchers. Valid types are: registrations, unused-vouchers, vouchers-with-balance, intersolve-visa-card-details',
    });
    expect((await http.get('/api/programs/2/metrics/export-list/intersolve-visa-card-details', { headers: { Cookie: admin } })).data).toEqual({
      statusCode: 403,
      message: "Forbidden! User doesn't have enough permission to export requested data.",
    });
    expect((await http.get('/api/users', { headers: { Cookie: viewer } })).status).toBe(403);
    expect((await http.get('/api/users')).status).toBe(401);
    const program = await http.post('/api/programs', { titlePortal: { en: 'T' }, currency: 'EUR', programRegistrationAttributes: [{ name: 'status', type: 'text' }] }, { headers: { Cookie: admin } });
    expect(program.data.errors).toMatch(/^Unable to create program registration attribute with name status/);
    const bad = await http.post('/api/programs', { titlePortal: { en: 'T' } }, { headers: { Cookie: admin } });
    expect([bad.status, Array.isArray(bad.data)]).toEqual([400, true]);
    const made = await http.post('/api/programs', { titlePortal: { en: 'T' }, currency: 'EUR' }, { headers: { Cookie: admin } });
    expect([made.status, made.data.programRegistrationAttributes.map((a: { name: string }) => a.name)]).toEqual([201, ['fullName']]);
  });
});
