/*
 * Child process for reply-memory.test.ts: posts one application with the adapter's own client to the URL given,
 * while the peer streams a large reply, and prints the RSS before and the highest RSS seen during the call.
 * TypeScript sources are transpiled on require (the typescript package), so the child runs the real client code.
 * Usage: node --expose-gc reply-rss.cjs <baseUrl> <maxResponseBytes>
 */
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};
// The public core API, as tsconfig.json `paths` and Jest's moduleNameMapper resolve it.
const coreUrl = require('node:url').pathToFileURL(require('node:path').resolve(__dirname, '../../../../src/core/index.ts')).href;
require('node:module').registerHooks({
  resolve: (specifier, context, next) => (specifier === 'caseway/core' ? { url: coreUrl, shortCircuit: true } : next(specifier, context)),
});

const { postApplication } = require('../../src/client.ts');

async function main() {
  const [baseUrl, maxResponseBytes] = process.argv.slice(2);
  const ctx = {
    connection: { name: 'iizuka', adapter: 'etd', settings: { baseUrl, maxResponseBytes: Number(maxResponseBytes) } },
    log: { info() {}, warn() {}, error() {}, debug() {} },
    metrics: { peerResponse() {} },
  };
  // Warm up (modules, agent, connection) on a small reply, then measure from a collected heap.
  await postApplication(ctx, {}).catch(() => undefined);
  global.gc();
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 1);
  let outcome;
  try {
    const reply = await postApplication(ctx, {});
    outcome = { ok: true, status: reply.status };
  } catch (err) {
    outcome = { ok: false, code: err.code, retryable: err.retryable, message: err.message };
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  clearInterval(sampler);
  process.stdout.write(JSON.stringify({ before, peak, ...outcome }));
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ crashed: String(err && err.message) }));
  process.exitCode = 1;
});
