/** bench/lib/profile-owners.ts: each CPU sample charged to the deepest project frame, else the deepest npm package. */
import { profileOwners, type CpuProfile } from '../../bench/lib/profile-owners';

const DIST = '/repo/dist';
const NM = '/repo/node_modules';

/**
 * root ─ (idle)
 *      ─ (garbage collector)
 *      ─ delivery.js ─ icasework client.js ─ axios ─ node:_http_client   (the client's call: the client's)
 *      ─ axios (an interceptor on a later tick) ─ node:buffer             (no project frame: axios's)
 *      ─ ioredis ─ echo-store.js ─ ioredis ─ native writev                (echo-store, deeper than ioredis)
 *      ─ node:net ─ native writev                                         (neither: the leaf's own)
 */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2, 3, 4, 8, 10, 13] },
    { id: 2, callFrame: { functionName: '(idle)', url: '' } },
    { id: 3, callFrame: { functionName: '(garbage collector)', url: '' } },
    { id: 4, callFrame: { functionName: 'process', url: `file://${DIST}/src/core/engine/delivery.js` }, children: [5] },
    { id: 5, callFrame: { functionName: 'call', url: `file://${DIST}/adapters/icasework/src/client.js` }, children: [6] },
    { id: 6, callFrame: { functionName: 'request', url: `file://${NM}/axios/dist/node/axios.cjs` }, children: [7] },
    { id: 7, callFrame: { functionName: 'ClientRequest', url: 'node:_http_client' } },
    { id: 8, callFrame: { functionName: 'interceptor', url: `file://${NM}/axios/dist/node/axios.cjs` }, children: [9] },
    { id: 9, callFrame: { functionName: 'concat', url: 'node:buffer' } },
    { id: 10, callFrame: { functionName: 'sendCommand', url: `file://${NM}/ioredis/built/Redis.js` }, children: [11] },
    { id: 11, callFrame: { functionName: 'expect', url: `file://${DIST}/src/core/store/echo-store.js` }, children: [12] },
    { id: 12, callFrame: { functionName: 'hset', url: `file://${NM}/ioredis/built/utils/Commander.js` }, children: [15] },
    { id: 13, callFrame: { functionName: 'onWrite', url: 'node:net' }, children: [14] },
    { id: 14, callFrame: { functionName: 'writev', url: '' } },
    { id: 15, callFrame: { functionName: 'writev', url: '' } },
  ],
  samples: [2, 2, 3, 7, 7, 7, 9, 15, 14],
  timeDeltas: [1000, 1000, 500, 1000, 1000, 1000, 250, 2000, 125],
};

test('a library called by project code is charged to that code; without a project frame, to the deepest package', () => {
  const p = profileOwners(profile);
  expect(p.totalMs).toBeCloseTo(7.875);
  expect(p.idleMs).toBeCloseTo(2);
  expect(Object.fromEntries(p.owners.map((o) => [o.owner, o.ms]))).toEqual({
    'adapters/icasework/src/client': 3,
    'src/core/store/echo-store': 2,
    '(garbage collector)': 0.5,
    'npm:axios': 0.25,
    'native writev': 0.125,
  });
  // The largest first, idle left out.
  expect(p.owners.map((o) => o.owner)).toEqual(['adapters/icasework/src/client', 'src/core/store/echo-store', '(garbage collector)', 'npm:axios', 'native writev']);
});

test("a package's own dist/src/ build is the package's, not project code", () => {
  const own: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2] },
      { id: 2, callFrame: { functionName: 'getJobCounts', url: `file://${NM}/@bull-board/api/dist/src/queueAdapters/bullMQ.js` } },
    ],
    samples: [2],
    timeDeltas: [100],
  };
  expect(profileOwners(own).owners).toEqual([{ owner: 'npm:@bull-board/api', ms: 0.1 }]);
});

test("a sample in Node's own modules alone is charged to the leaf's module, named without internal/", () => {
  const own: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2] },
      { id: 2, callFrame: { functionName: 'processTicksAndRejections', url: 'node:internal/process/task_queues' }, children: [3] },
      { id: 3, callFrame: { functionName: 'read', url: 'node:internal/streams/readable' } },
    ],
    samples: [3, 2],
    timeDeltas: [100, 50],
  };
  expect(profileOwners(own).owners).toEqual([
    { owner: 'node:streams/readable', ms: 0.1 },
    { owner: 'node:process/task_queues', ms: 0.05 },
  ]);
});
