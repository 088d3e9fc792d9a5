/**
 * Just enough MIME to read a plain-text notification mail: headers (unfolded, RFC 2047 words left as they are) and a
 * single-part body decoded from quoted-printable or base64. Multipart mails yield their first text/plain part.
 */

export interface SimpleMail {
  headers: Record<string, string>;
  text: string;
}

function decodeBody(body: string, encoding: string | undefined, charset: string): string {
  const enc = (encoding ?? '7bit').toLowerCase();
  let bytes: Buffer;
  if (enc === 'base64') {
    bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } else if (enc === 'quoted-printable') {
    const soft = body.replace(/=\r?\n/g, '');
    const out: number[] = [];
    for (let i = 0; i < soft.length; i++) {
      const ch = soft[i];
      if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
        out.push(parseInt(soft.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        for (const b of Buffer.from(ch, 'utf8')) out.push(b);
      }
    }
    bytes = Buffer.from(out);
  } else {
    return body;
  }
  return bytes.toString(/utf-?8/i.test(charset) || !charset ? 'utf8' : 'latin1');
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

/** True when the text starts with RFC 822 header lines. */
export function looksLikeMime(text: string): boolean {
  return /^(?:[A-Za-z][A-Za-z0-9-]*:[^\n]*\r?\n)+/.test(text) && /^(?:[\s\S]*?\n)?(?:content-type|subject|from|to|mime-version|received|date):/im.test(text.split(/\r?\n\r?\n/)[0]);
}

export function parseMail(raw: string): SimpleMail {
  const split = raw.search(/\r?\n\r?\n/);
  const headerBlock = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = parseHeaders(headerBlock);
  const type = headers['content-type'] ?? 'text/plain';
  const charset = /charset="?([^";]+)"?/i.exec(type)?.[1] ?? 'utf-8';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    for (const part of body.split(`--${boundary}`)) {
      const p = part.replace(/^\r?\n/, '');
      if (!p.trim() || p.startsWith('--')) continue;
      const inner = parseMail(p);
      if (/^text\/plain/i.test(inner.headers['content-type'] ?? 'text/plain')) return { headers, text: inner.text };
    }
    return { headers, text: '' };
  }
  const text = decodeBody(body, headers['content-transfer-encoding'], charset).replace(/\r\n/g, '\n');
  return { headers, text };
}
