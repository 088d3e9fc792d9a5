/**
 * The load of the bench's steady line and of `COST_RATE`: applications spread over each second, as a steady source
 * sends them, never ahead of their time. autocannon's own rate limit is shown not to do that (why the pacer exists):
 * each connection sends its share of a second at once, so a second's load arrives as one burst at its start.
 * Timing is bounded from one side only (never early), so a busy machine can delay arrivals without failing the test.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { application, paceApplications } from '../../bench/lib/harness';

const RUN = 4242;
const RATE = 20;
const TOTAL = 40;

let server: http.Server;
let url: string;
/** token → arrival time (ms since the epoch); every POST's token is the application's surname. */
const arrivals = new Map<string, number>();
let answer = 200;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const at = Date.now();
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const surname = (JSON.parse(body) as { etdApp: { appDetails: { surname: string } } }).etdApp.appDetails.surname;
      arrivals.set(surname, at);
      res.writeHead(answer, { 'content-type': 'application/json' }).end('{"appRefNumber":"x"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  arrivals.clear();
  answer = 200;
});

/** Applications that arrived before their time at RATE per second from `t0`, by index. */
function early(t0: number, tokens: string[]): number[] {
  return tokens.map((t, n) => ((arrivals.get(t) ?? Infinity) - t0 < (n * 1000) / RATE ? n : -1)).filter((n) => n >= 0);
}

test('paced: every application arrives, none before its time, each answer timed', async () => {
  const t0 = Date.now();
  const load = await paceApplications(url, RUN, TOTAL, RATE);
  const tokens = Array.from({ length: TOTAL }, (_, n) => application(RUN, n).token);
  expect(arrivals.size).toBe(TOTAL);
  expect(early(t0, tokens)).toEqual([]);
  // The last one is due after (TOTAL - 1) / RATE s, so the load cannot have taken less.
  expect(load.seconds).toBeGreaterThanOrEqual((TOTAL - 1) / RATE - 0.01);
  expect(load).toMatchObject({ acked: TOTAL, errors: 0 });
  expect(load.latencies).toHaveLength(TOTAL);
  expect([...load.sentAt.keys()].sort()).toEqual([...tokens].sort());
});

test('paced: an answer other than 200 is an error, not an acknowledgement', async () => {
  answer = 503;
  const load = await paceApplications(url, RUN, 4, RATE);
  expect(load).toMatchObject({ acked: 0, errors: 4 });
});

test("autocannon's overallRate is a burst at the start of each second: a quarter or more of the applications arrive early", async () => {
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    let n = 0;
    autocannon(
      {
        url: `${url}/etd/application`,
        connections: 10,
        amount: TOTAL,
        overallRate: RATE,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        requests: [{ setupRequest: (req) => ({ ...req, body: application(RUN, n++).body }) }],
      },
      (err) => (err ? reject(err) : resolve()),
    );
  });
  const tokens = Array.from({ length: TOTAL }, (_, n) => application(RUN, n).token);
  expect(arrivals.size).toBe(TOTAL);
  // Paced, none would be early. As a burst, most of each second's share arrives at its start, early; a busy
  // machine can slow the burst down, so the bound is well below that.
  expect(early(t0, tokens).length).toBeGreaterThanOrEqual(TOTAL / 4);
});
