/** The ETD sandbox's fault injection: forced replies (failNext) and an oversized reply streamed without holding it. */
import type express from 'express';

export interface ForcedReply {
  /** Answer with this status (and body) instead of processing; absent: process normally (after any delay). */
  status?: number;
  body?: unknown;
  /**
   * Wait this long. With a status: before answering it. Without: the application is read, validated, then
   * stored and answered only after the wait (longer than the client's timeout = a peer that files it late).
   */
  delayMs?: number;
  /** How many requests this applies to (default 1). */
  times?: number;
  /**
   * Answer (with status, default 200) a JSON reply padded to this many bytes, streamed in 64 KB chunks as the client
   * reads them: an oversized reply that costs the sandbox no memory.
   */
  streamBytes?: number;
}

/** Writes {"appRefNumber":"1","padding":"xxx…"} of about `bytes` bytes, honouring backpressure; stops if the client leaves. */
export async function streamPadded(res: express.Response, status: number, bytes: number): Promise<void> {
  const head = '{"appRefNumber":"1","padding":"';
  const tail = '"}';
  res.status(status).set('Content-Type', 'application/json; charset=utf-8').set('Content-Length', String(Math.max(bytes, head.length + tail.length)));
  res.write(head);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = Math.max(bytes - head.length - tail.length, 0);
  while (left > 0 && !res.destroyed) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= part.length;
    if (!res.write(part)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}
