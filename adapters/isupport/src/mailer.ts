/**
 * Mail through nodemailer with iSupport's notification settings (see settings.ts for the property names): the
 * completion notices (used by the sandbox, which plays iSupport) and the adapter's dead-letter mail. The dead-letter
 * mail holds route, hub id, action, delivery id and the error's code and message only (messages never carry
 * personal data).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { DeadLetterInfo } from 'caseway/core';
import { exportNoticeText, importNoticeText, javaDateString } from './notices';
import { resolveSmtp, type ResolvedSmtp, type SmtpSettings } from './settings';

export interface SentMail {
  messageId: string;
  text: string;
}

function transport(smtp: ResolvedSmtp): Transporter {
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.username ? { user: smtp.username, pass: smtp.password ?? '' } : undefined,
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 20000,
  });
}

export async function sendText(settings: SmtpSettings, mail: { to: string; subject: string; text: string }): Promise<SentMail> {
  const smtp = resolveSmtp(settings);
  const t = transport(smtp);
  try {
    const info = await t.sendMail({ from: smtp.from, to: mail.to, subject: mail.subject, text: mail.text });
    return { messageId: String(info.messageId), text: mail.text };
  } finally {
    t.close();
  }
}

export async function sendExportNotice(
  settings: SmtpSettings,
  n: { requestId: string; location: string; completedAt?: Date },
): Promise<SentMail> {
  const smtp = resolveSmtp(settings);
  const text = exportNoticeText({
    requestId: n.requestId,
    completedOn: javaDateString(n.completedAt ?? new Date(), smtp.timeZone),
    location: n.location,
    supportEmail: smtp.exportSupportEmail,
  });
  return sendText(settings, { to: smtp.to, subject: smtp.subject, text });
}

export async function sendImportNotice(
  settings: SmtpSettings,
  n: { requestId: string; applicationId: string; completedAt?: Date },
): Promise<SentMail> {
  const smtp = resolveSmtp(settings);
  const text = importNoticeText({
    requestId: n.requestId,
    completedOn: javaDateString(n.completedAt ?? new Date(), smtp.timeZone),
    applicationId: n.applicationId,
    supportEmail: smtp.supportEmail,
  });
  return sendText(settings, { to: smtp.to, subject: smtp.subject, text });
}

export function deadLetterText(info: DeadLetterInfo, connection: string): string {
  return [
    'A delivery to iSupport has failed and was moved to the dead letters.',
    '',
    `Connection : ${connection}`,
    `Route : ${info.route}`,
    `Hub ID : ${info.hubId}`,
    `Action : ${info.action}`,
    `Delivery ID : ${info.deliveryId}`,
    `Error code : ${info.error.code}${info.error.retryable ? ' (retryable)' : ''}`,
    `Error : ${info.error.message}`,
    '',
    'Replay it from the Caseway dead letters once the cause is fixed.',
    '',
  ].join('\n');
}

export async function sendDeadLetterMail(settings: SmtpSettings, info: DeadLetterInfo, connection: string): Promise<SentMail> {
  const smtp = resolveSmtp(settings);
  return sendText(settings, {
    to: smtp.deadLetterTo,
    subject: `${smtp.subject} - Caseway dead letter (${info.action})`,
    text: deadLetterText(info, connection),
  });
}
