/**
 * Connection-state locks across an unavailable Redis. Found by the fault suite (Redis restart mid-intake, 2 s down): in
 * about half the runs a case's iCasework create lock outlived the restart with no holder, and that case's redeliveries
 * waited out the lock's 60 s TTL ("another delivery is creating this case"): the queues drained in ~63 s instead of
 * ~2. Three ways a lock is left so: its release fails; its SET runs but the reply is lost and the call fails; or ioredis
 * sends the SET again after reconnecting and the second SET NX finds the first one's key. A failed release or take is
 * now sent again in the background until Redis takes it (deleting the key only while it holds that call's token), and
 * a SET NX that finds the call's own token is the lock taken. Real redis-servers on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { StoreUnavailableError } from '../../src/core/store/replies';
import { eventually } from '../helpers/hub';
import { quietRedis } from '../helpers/redis';

jest.setTimeout(120000);

const PREFIX = 'cwtest:lock-release:';
/** Far longer than any wait below: a lock that disappears did not expire. */
const TTL_MS = 300_000;

async function rejectionOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/**
 * A TCP proxy in front of Redis that can lose Redis's next reply (the command ran; the client sees its connection
 * closed, as when Redis stops right after a write), and then stop listening until told to listen again.
 */
async function replyLosingProxy(target: string): Promise<{ url: string; loseNextReply(thenRefuse?: boolean): void; listenAgain(): Promise<void>; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  let lose = false;
  let refuseAfterLoss = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (lose) {
        lose = false;
        // Refused at the TCP level (nothing listens), so the client's reconnects fail and its retries run out.
        if (refuseAfterLoss) server.close();
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (at: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const proxyPort = (server.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    loseNextReply: (thenRefuse = false) => {
      lose = true;
      refuseAfterLoss = thenRefuse;
    },
    listenAgain: () => listen(proxyPort),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

/** Waits for `work` (a condition, not a sleep), failing with `what` after `ms` instead of at the test's timeout. */
async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a connection-state lock when Redis is away or loses a reply', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-lock-release-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is sent again once Redis is back (restarted with its append-only file), long before the lock would expire', async () => {
    let server = await startPrivateRedis(path.join(dir, 'restart'));
    const port = Number(new URL(server.url).port);
    const redis = quietRedis(new Redis(server.url, { maxRetriesPerRequest: 1 }));
    const state = new RedisConnectionState(redis, PREFIX, 'c');
    try {
      const release = await state.lock('created:case-1', TTL_MS);
      expect(release).not.toBeNull();
      // Another holder's lock, never released: it must still be there at the end (the AOF kept the locks, and the
      // retry deletes only its own).
      expect(await state.lock('created:case-2', TTL_MS)).not.toBeNull();
      expect(await state.lock('created:case-1', TTL_MS)).toBeNull();

      await server.stop();
      const err = await rejectionOf(() => release!());
      expect(err).toBeInstanceOf(StoreUnavailableError);

      server = await startPrivateRedis(path.join(dir, 'restart'), [], port);
      const probe = quietRedis(new Redis(server.url, { maxRetriesPerRequest: 1 }));
      try {
        await eventually(async () => (await probe.exists(`${PREFIX}state:c:lock:created:case-1`)) === 0, 60000, 'the failed release to be sent again');
        expect(await probe.get(`${PREFIX}state:c:lock:created:case-2`)).not.toBeNull();
        // Free again for the next delivery, without waiting for the TTL.
        expect(await state.lock('created:case-1', TTL_MS)).not.toBeNull();
      } finally {
        probe.disconnect();
      }
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("leaves the lock alone once it holds another holder's token", async () => {
    const [replica, primary] = await Promise.all([startPrivateRedis(path.join(dir, 'replica')), startPrivateRedis(path.join(dir, 'primary'))]);
    const redis = quietRedis(new Redis(replica.url, { maxRetriesPerRequest: 1 }));
    const other = quietRedis(new Redis(primary.url, { maxRetriesPerRequest: 1 }));
    const watcher = quietRedis(new Redis(replica.url));
    const key = `${PREFIX}state:c:lock:created:case-3`;
    try {
      const state = new RedisConnectionState(redis, PREFIX, 'c');
      const release = await state.lock('created:case-3', TTL_MS);
      expect(release).not.toBeNull();
      const token = await redis.get(key);
      // The lock's Redis becomes a replica (as in a failover): it refuses the release's write with READONLY, an
      // unavailable Redis to a writer. Its primary holds the same lock, so the retries keep meeting this holder's token.
      await other.set(key, token!, 'PX', TTL_MS);
      await redis.replicaof('127.0.0.1', Number(new URL(primary.url).port));
      await eventually(async () => String((await redis.role())[3]) === 'connected', 30000, 'the replica to be in sync');
      const monitor = await watcher.monitor();
      try {
        const err = await rejectionOf(() => release!());
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(String((err as Error).message)).toMatch(/READONLY/);
        // Another holder takes the lock on the primary; the replica applies it. MONITOR lists commands in the order
        // the replica ran them: the first script call after that SET is a retry that found the other token.
        const retried = new Promise<void>((resolve) => {
          let taken = false;
          monitor.on('monitor', (_time: string, args: string[]) => {
            const command = (args[0] ?? '').toLowerCase();
            if (command === 'set' && args[1] === key && args[2] === 'another-holder') taken = true;
            else if (taken && /^eval(sha)?$/.test(command) && args.includes(key)) resolve();
          });
        });
        await other.set(key, 'another-holder', 'PX', TTL_MS);
        await within(60000, retried, 'a retried release after another holder took the lock');
        expect(await redis.get(key)).toBe('another-holder');
        await redis.replicaof('NO', 'ONE');
        expect(await redis.get(key)).toBe('another-holder');
        expect(await state.lock('created:case-3', TTL_MS)).toBeNull();
      } finally {
        monitor.disconnect();
      }
    } finally {
      watcher.disconnect();
      redis.disconnect();
      other.disconnect();
      await Promise.all([replica.stop(), primary.stop()]);
    }
  });

  it('is taken by the call whose SET ran but whose reply was lost (ioredis sends it again; the second SET NX finds it)', async () => {
    const server = await startPrivateRedis(path.join(dir, 'resend'));
    const proxy = await replyLosingProxy(server.url);
    const redis = quietRedis(new Redis(proxy.url, { maxRetriesPerRequest: 3 }));
    const direct = quietRedis(new Redis(server.url, { maxRetriesPerRequest: 1 }));
    const state = new RedisConnectionState(redis, PREFIX, 'c');
    try {
      await redis.ping();
      proxy.loseNextReply();
      const release = await state.lock('created:case-4', TTL_MS);
      // Redis ran the first SET (its reply lost) and answered the resent one with nil: still this caller's lock.
      expect(release).not.toBeNull();
      expect(await direct.exists(`${PREFIX}state:c:lock:created:case-4`)).toBe(1);
      expect(await state.lock('created:case-4', TTL_MS)).toBeNull();
      await release!();
      expect(await direct.exists(`${PREFIX}state:c:lock:created:case-4`)).toBe(0);
    } finally {
      redis.disconnect();
      direct.disconnect();
      await proxy.close();
      await server.stop();
    }
  });

  it('is released in the background when taking it failed after Redis ran the SET (the caller never held it)', async () => {
    const server = await startPrivateRedis(path.join(dir, 'lost'));
    const proxy = await replyLosingProxy(server.url);
    const redis = quietRedis(new Redis(proxy.url, { maxRetriesPerRequest: 1 }));
    const direct = quietRedis(new Redis(server.url, { maxRetriesPerRequest: 1 }));
    const state = new RedisConnectionState(redis, PREFIX, 'c');
    const key = `${PREFIX}state:c:lock:created:case-5`;
    try {
      await redis.ping();
      // The SET runs; its reply is lost and the way back stays closed: the call fails (retries used up).
      proxy.loseNextReply(true);
      expect(await within(60000, rejectionOf(() => state.lock('created:case-5', TTL_MS)), 'the lock call to fail')).toBeInstanceOf(StoreUnavailableError);
      expect(await direct.exists(key)).toBe(1);
      await proxy.listenAgain();
      await eventually(async () => (await direct.exists(key)) === 0, 60000, 'the orphaned lock to be released');
      expect(await state.lock('created:case-5', TTL_MS)).not.toBeNull();
    } finally {
      redis.disconnect();
      direct.disconnect();
      await proxy.close();
      await server.stop();
    }
  });
});
