/**
 * The sandbox iSupport's notification mails, written from the seed's chapter 8 (iSupport Import-Export API 1.5) and
 * not from the adapter (so the adapter's notice parser is checked against the document, not against itself).
 *
 * - The settings of `ApplicationResource.properties` (§8), with the seed's values as defaults.
 * - The two texts "cannot be changed" (§8.1, §8.2). The seed is Markdown: a line ending in two spaces is a line
 *   break ("completed on  " / "Regards,  "), and "[addr](mailto:addr)" is the plain address in the mail.
 * - The completion time is printed like the example "Mon Dec 14 22:30:19 CST 2015" (Java's Date.toString(),
 *   EEE MMM dd HH:mm:ss zzz yyyy) in the server's zone; the seed's examples are CST/CDT, so America/Chicago.
 */
import nodemailer from 'nodemailer';

/** `# iSupportApi Export/Import Mail notification settings` (seed §8), as connection settings name them. */
export interface NoticeMailSettings {
  host: string; // SCHEDULAR_SMTP_HOST
  port?: number;
  subject: string; // EXPORT_BATCH_REQUEST_MAIL_SUBJECT
  from: string; // EXPORT_BATCH_REQUEST_MAIL_FROM
  to: string; // EXPORT_BATCH_REQUEST_MAIL_TO
  supportEmail: string; // SUPPORT_EMAIL: the address the import text names (§8.2)
  exportSupportEmail: string; // the address the export text names (§8.1): not SUPPORT_EMAIL in the seed
  timeZone: string;
}

export const SEED_PROPERTIES: Omit<NoticeMailSettings, 'port'> = {
  host: 'promail.protechsoft.com',
  subject: 'Request Status',
  from: 'no-reply@protechsolutions.com',
  to: 'helpdesk@protechsoft.com',
  supportEmail: 'isupport-admin@protechsolutions.com',
  exportSupportEmail: 'isupport-batch-admin@protechsolutions.com',
  timeZone: 'America/Chicago',
};

/** "Mon Dec 14 22:30:19 CST 2015" for `at` in `timeZone`. */
export function javaDateString(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      month: 'short',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      year: 'numeric',
      timeZoneName: 'short',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.weekday} ${parts.month} ${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName} ${parts.year}`;
}

const CLOSING = ['', 'Thank you.', '', 'Regards,', 'ISupport Batch Admin', ''];

/** §8.1, filled in. */
export function exportNotice(requestId: string, completedOn: string, location: string, supportEmail: string): string {
  return [
    'Dear All,',
    '',
    `Your export request ( ${requestId} ) has been successfully completed on`,
    completedOn,
    '',
    `FTP File Location : ${location}`,
    '',
    `Please reach out to ${supportEmail} if you have any issues.`,
    ...CLOSING,
  ].join('\n');
}

/** §8.2, filled in. */
export function importNotice(requestId: string, completedOn: string, applicationId: string, supportEmail: string): string {
  return [
    'Dear All,',
    '',
    `Your import request ( ${requestId} ) has been successfully completed on ${completedOn}`,
    '',
    `ISupport Application ID : ${applicationId}`,
    '',
    `Please reach out to ${supportEmail} if you have any issues.`,
    ...CLOSING,
  ].join('\n');
}

/** Sends one notice as iSupport would: from/to/subject from the properties, plain text. */
export async function mailNotice(settings: NoticeMailSettings, text: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: settings.host, port: settings.port ?? 25, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ from: settings.from, to: settings.to, subject: settings.subject, text });
  } finally {
    transport.close();
  }
}
