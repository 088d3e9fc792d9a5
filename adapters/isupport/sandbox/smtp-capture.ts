/**
 * An SMTP capture (smtp-server) on loopback: accepts every message without TLS or auth and keeps it, decoded by
 * postal-mime (MIME parts, quoted-printable, base64, encoded words), for inspection. It stands in for
 * SCHEDULAR_SMTP_HOST.
 */
import type { AddressInfo } from 'node:net';
import PostalMime from 'postal-mime';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface CapturedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  from: string;
  to: string;
  subject: string;
  /** Decoded plain-text body with LF line ends. */
  text: string;
  raw: string;
  receivedAt: string;
}

export interface SmtpCaptureHandle {
  port: number;
  mails(): CapturedMail[];
  /** Resolves with the first captured mail that matches, already held or arriving within the timeout. */
  waitFor(match: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  stop(): Promise<void>;
}

export async function startSmtpCapture(opts: { host: string; port?: number }): Promise<SmtpCaptureHandle> {
  const mails: CapturedMail[] = [];
  const waiters: Array<{ match: (m: CapturedMail) => boolean; resolve: (m: CapturedMail) => void }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => void keep(Buffer.concat(chunks), session, callback));
    },
  });
  async function keep(bytes: Buffer, session: SMTPServerSession, callback: (err?: Error | null) => void): Promise<void> {
    const raw = bytes.toString('utf8');
    let parsed: PostalMime.Email;
    try {
      parsed = await PostalMime.parse(bytes);
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const header = (name: string): string => parsed.headers.find((h) => h.key === name)?.value ?? '';
    const mail: CapturedMail = {
      envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      envelopeTo: session.envelope.rcptTo.map((r) => r.address),
      from: header('from'),
      to: header('to'),
      subject: parsed.subject ?? '',
      text: (parsed.text ?? '').replace(/\r\n/g, '\n'),
      raw,
      receivedAt: new Date().toISOString(),
    };
    mails.push(mail);
    for (const w of [...waiters]) {
      if (w.match(mail)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(mail);
      }
    }
    callback();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    mails: () => [...mails],
    waitFor(match, timeoutMs = 10000) {
      const held = mails.find(match);
      if (held) return Promise.resolve(held);
      return new Promise<CapturedMail>((resolve, reject) => {
        const w = { match, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no matching mail within ${timeoutMs} ms (${mails.length} captured)`));
          }
        }, timeoutMs).unref();
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
