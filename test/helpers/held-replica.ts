/**
 * A Redis replica whose acknowledgements the test controls. It speaks the replication protocol to a real primary
 * (PSYNC, the RDB, then the command stream as RESP arrays) and answers REPLCONF GETACK, and once a second, with
 * REPLCONF ACK <offset>, as a real replica does; but the offset it acknowledges stops before the first command that
 * `holds` while holding is on. A primary's WAIT then counts it for writes before that command and not for writes from
 * it on: the way to show which writes an acknowledgement really waited for, which a real replica (fast, and copying
 * everything in order) never shows deterministically.
 */
import { connect, type Socket } from 'node:net';

export interface HeldReplica {
  /** Stream offset acknowledged to the primary. */
  readonly acked: number;
  /** Offset of every byte of the stream read so far. */
  readonly received: number;
  /** Commands (their arguments, as text) that were read and are not acknowledged. */
  readonly held: string[][];
  /** From now on, stop acknowledging at the first command for which `holds` is true (until release()). */
  hold(holds: (args: string[]) => boolean): void;
  /** Acknowledges everything read, and keeps doing so. */
  release(): void;
  close(): void;
}

type Phase = 'handshake' | 'rdb-header' | 'rdb' | 'stream';

/** One RESP array of bulk strings at the start of `buf`, with its length in bytes; undefined when not all there yet. */
function readCommand(buf: Buffer): { args: string[]; length: number } | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] !== 0x2a) {
    // An inline newline (the primary's keep-alive before the RDB) or anything else: one line.
    const nl = buf.indexOf('\n');
    return nl < 0 ? undefined : { args: [buf.subarray(0, nl).toString('latin1').trim()], length: nl + 1 };
  }
  let pos = buf.indexOf('\r\n');
  if (pos < 0) return undefined;
  const count = Number(buf.subarray(1, pos).toString('latin1'));
  pos += 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const end = buf.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    const len = Number(buf.subarray(pos + 1, end).toString('latin1'));
    const start = end + 2;
    if (buf.length < start + len + 2) return undefined;
    args.push(buf.subarray(start, start + len).toString('utf8'));
    pos = start + len + 2;
  }
  return { args, length: pos };
}

export async function startHeldReplica(primaryPort: number): Promise<HeldReplica> {
  const socket: Socket = connect(primaryPort, '127.0.0.1');
  let phase: Phase = 'handshake';
  let buf: Buffer = Buffer.alloc(0);
  let offset = 0;
  let acked = 0;
  let rdbLeft = 0;
  let holds: ((args: string[]) => boolean) | undefined;
  let holding = false;
  const held: string[][] = [];
  let synced: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    synced = resolve;
    failed = reject;
  });

  const send = (...args: string[]) => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  const ack = () => {
    if (!socket.destroyed && phase === 'stream') send('REPLCONF', 'ACK', String(acked));
  };

  const consume = () => {
    for (;;) {
      if (phase === 'handshake') {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('latin1');
        buf = buf.subarray(nl + 2);
        if (line.startsWith('-')) return failed(new Error(`the primary refused the replica: ${line}`));
        const full = /^\+FULLRESYNC \S+ (\d+)$/.exec(line);
        if (full) {
          offset = acked = Number(full[1]);
          phase = 'rdb-header';
        } else {
          // One handshake command at a time: PSYNC with a reply still unsent is refused ("pending output").
          const next = handshake.shift();
          if (next) send(...next);
        }
      } else if (phase === 'rdb-header') {
        // Newlines keep the link alive while the primary writes its RDB; then $<length>\r\n.
        while (buf.length && buf[0] === 0x0a) buf = buf.subarray(1);
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        rdbLeft = Number(buf.subarray(1, nl).toString('latin1'));
        buf = buf.subarray(nl + 2);
        phase = 'rdb';
      } else if (phase === 'rdb') {
        const take = Math.min(rdbLeft, buf.length);
        rdbLeft -= take;
        buf = buf.subarray(take);
        if (rdbLeft > 0) return;
        phase = 'stream';
        ack();
        synced();
      } else {
        const command = readCommand(buf);
        if (!command) return;
        buf = buf.subarray(command.length);
        offset += command.length;
        if (!holding && holds?.(command.args)) holding = true;
        if (holding) held.push(command.args);
        else acked = offset;
        if (command.args[0]?.toUpperCase() === 'REPLCONF' && command.args[1]?.toUpperCase() === 'GETACK') ack();
      }
    }
  };

  socket.on('data', (data: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    consume();
  });
  socket.on('error', (err) => failed(err));
  // Not announcing "capa eof": the primary then sends its RDB with a length, never the diskless EOF-marked form.
  const handshake = [
    ['REPLCONF', 'listening-port', '0'],
    ['REPLCONF', 'capa', 'psync2'],
    ['PSYNC', '?', '-1'],
  ];
  socket.once('connect', () => send('PING'));
  const beat = setInterval(ack, 1000);
  beat.unref();
  try {
    await ready;
  } catch (err) {
    clearInterval(beat);
    socket.destroy();
    throw err;
  }
  return {
    get acked() {
      return acked;
    },
    get received() {
      return offset;
    },
    held,
    hold(fn) {
      holds = fn;
    },
    release() {
      holds = undefined;
      holding = false;
      held.length = 0;
      acked = offset;
      ack();
    },
    close() {
      clearInterval(beat);
      socket.destroy();
    },
  };
}
