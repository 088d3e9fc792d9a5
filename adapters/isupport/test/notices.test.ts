/** The notification texts of seed chapter 8, rendered and parsed. */
import { exportNoticeText, importNoticeText, javaDateString, parseExportNotice, parseImportNotice, parseJavaDate, parseNotice } from '../src/notices';
import { parseMail } from '../src/mime';

/** Seed 8.1, as printed (the markdown line break after "completed on" is a line break in the mail). */
const SEED_EXPORT = `Dear All,

Your export request ( REQ-12142015222710-56471 ) has been successfully completed on
Mon Dec 14 22:30:19 CST 2015

FTP File Location : /iSupport/Api/Export/REQ-12142015222710-56471

Please reach out to isupport-batch-admin@protechsolutions.com if you have any issues.

Thank you.

Regards,
ISupport Batch Admin
`;

/** Seed 8.2 */
const SEED_IMPORT = `Dear All,

Your import request ( REQ-99992015535623-55799 ) has been successfully completed on Wed Jun 29 14:04:01 CDT 2016

ISupport Application ID : US(CA)-FR-2016-100_1264-US(CA)/MOD-01

Please reach out to isupport-admin@protechsolutions.com if you have any issues.

Thank you.

Regards,
ISupport Batch Admin
`;

describe('notices', () => {
  test('the templates reproduce the seed texts exactly', () => {
    expect(
      exportNoticeText({
        requestId: 'REQ-12142015222710-56471',
        completedOn: 'Mon Dec 14 22:30:19 CST 2015',
        location: '/iSupport/Api/Export/REQ-12142015222710-56471',
        supportEmail: 'isupport-batch-admin@protechsolutions.com',
      }),
    ).toBe(SEED_EXPORT);
    expect(
      importNoticeText({
        requestId: 'REQ-99992015535623-55799',
        completedOn: 'Wed Jun 29 14:04:01 CDT 2016',
        applicationId: 'US(CA)-FR-2016-100_1264-US(CA)/MOD-01',
        supportEmail: 'isupport-admin@protechsolutions.com',
      }),
    ).toBe(SEED_IMPORT);
  });

  test('the seed texts parse into request id, completion time, location and application id', () => {
    expect(parseExportNotice(SEED_EXPORT)).toEqual({
      requestId: 'REQ-12142015222710-56471',
      completedOn: 'Mon Dec 14 22:30:19 CST 2015',
      completedAt: '2015-12-15T04:30:19.000Z',
      location: '/iSupport/Api/Export/REQ-12142015222710-56471',
      supportEmail: 'isupport-batch-admin@protechsolutions.com',
    });
    expect(parseImportNotice(SEED_IMPORT)).toEqual({
      requestId: 'REQ-99992015535623-55799',
      completedOn: 'Wed Jun 29 14:04:01 CDT 2016',
      completedAt: '2016-06-29T19:04:01.000Z',
      applicationId: 'US(CA)-FR-2016-100_1264-US(CA)/MOD-01',
      supportEmail: 'isupport-admin@protechsolutions.com',
    });
    expect(parseNotice(SEED_IMPORT)?.kind).toBe('import');
    expect(parseNotice(SEED_EXPORT)?.kind).toBe('export');
    expect(parseNotice('Dear All,\n\nSomething else entirely.')).toBeUndefined();
    // CRLF line ends, trailing spaces and the seed's markdown line break ("on  ") parse too.
    expect(parseExportNotice(SEED_EXPORT.replace('completed on\n', 'completed on  \n').replace(/\n/g, '\r\n'))?.requestId).toBe('REQ-12142015222710-56471');
  });

  test('dates print and parse like Java Date.toString()', () => {
    expect(javaDateString(new Date('2015-12-15T04:30:19Z'), 'America/Chicago')).toBe('Mon Dec 14 22:30:19 CST 2015');
    expect(javaDateString(new Date('2016-06-29T19:04:01Z'), 'America/Chicago')).toBe('Wed Jun 29 14:04:01 CDT 2016');
    expect(javaDateString(new Date('2016-06-29T00:04:01Z'), 'UTC')).toBe('Wed Jun 29 00:04:01 UTC 2016');
    expect(parseJavaDate('Wed Jun 29 00:04:01 UTC 2016')).toBe('2016-06-29T00:04:01.000Z');
    expect(parseJavaDate('Wed Jun 29 00:04:01 XYZ 2016')).toBeUndefined();
  });

  test('a raw quoted-printable mail is decoded before parsing', () => {
    const raw = [
      'From: no-reply@protechsolutions.com',
      'To: helpdesk@protechsoft.com',
      'Subject: Request Status',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      SEED_IMPORT.replace(/\n/g, '\r\n').replace('successfully', 'succe=\r\nssfully').replace('Thank you.', 'Thank you=2E'),
    ].join('\r\n');
    const mail = parseMail(raw);
    expect(mail.headers.subject).toBe('Request Status');
    expect(mail.text).toBe(SEED_IMPORT);
  });
});
