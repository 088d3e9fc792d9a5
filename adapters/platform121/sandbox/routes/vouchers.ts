/** GET /programs/{id}/fsps/intersolve-voucher/voucher/image-paper?referenceId=&paymentId=: raw PNG bytes. */
import { crc32, deflateSync } from 'node:zlib';
import type { Request, Response, Router } from 'express';
import { HttpReply, cvError, validationBody } from '../http';
import type { SandboxStore, SandboxVoucher } from '../store';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A small valid PNG (8x8 grey) carrying the voucher's facts in a tEXt chunk, standing in for 121's rendered voucher. */
export function voucherPng(v: SandboxVoucher): Buffer {
  const size = 8;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((size + 1) * size, 0x80);
  for (let y = 0; y < size; y++) raw[y * (size + 1)] = 0;
  const text = Buffer.from(`Comment\0voucher payment ${v.paymentId} amount ${v.amount} issued ${v.created}`, 'latin1');
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('tEXt', text),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function imagePaper(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'payment:voucher-paper.read');
  const q = req.query as Record<string, unknown>;
  const errors: Array<Record<string, unknown>> = [];
  const ref = q.referenceId;
  if (typeof ref !== 'string' || ref.length < 5 || ref.length > 200) {
    errors.push(cvError('referenceId', ref, { isLength: 'referenceId must be longer than or equal to 5 characters' }, q));
  }
  const paymentId = Number(q.paymentId);
  if (q.paymentId === undefined || !Number.isFinite(paymentId)) {
    errors.push(cvError('paymentId', q.paymentId, { isNumber: 'paymentId must be a number conforming to the specified constraints' }, q));
  }
  if (errors.length) throw new HttpReply(400, validationBody(errors));
  const reg = store.regs.find((r) => r.referenceId === ref && r.programId === program.id && !r.deleted);
  if (!reg) throw new HttpReply(404, { statusCode: 404, message: 'PA with this referenceId not found (within your scope)' });
  const voucher = store.vouchers.find((v) => v.registrationId === reg.id && v.paymentId === paymentId);
  if (!voucher) throw new HttpReply(404, { statusCode: 404, message: 'Voucher not found. Maybe this payment was not (yet) made to this PA.' });
  const png = voucherPng(voucher);
  res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(png.length) });
  res.end(png);
}

export function mountVouchers(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/fsps/intersolve-voucher/voucher/image-paper', (req, res) => imagePaper(store, req, res));
}
