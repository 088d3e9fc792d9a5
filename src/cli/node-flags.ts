/**
 * The V8 flags every hub process runs with. Each launcher passes them on the command line (V8 sizes its heap when the
 * process starts; `v8.setFlagsFromString` afterwards has no effect on it): `bin/caseway`'s shebang, `npm start` and
 * `npm run demo` in package.json, the Dockerfile's ENTRYPOINT, and the bench and cluster harnesses that spawn hubs.
 * test/e2e/node-flags.test.ts fails when one of them drifts from this list.
 *
 * `--max-semi-space-size=16`: V8 grows its young generation up to 32 MB semi-spaces by default (Node 24 on this
 * project's 24 GB machine; the young generation holds two of them plus a new-large-object space). A long stream (a
 * 1,000,000-member iSupport export read over SFTP) grows it to that maximum, and the reader peaked at 254-264 MB;
 * with 16 MB semi-spaces the same read peaks at 220-222 MB (2026-11-29, bench/isupport-export.ts's adapter child,
 * alternating runs; docs/performance.md, "iSupport export"). Smaller young generations mean more scavenges: the
 * throughput side is measured by `npm run bench`'s iSupport line, which runs the reader with these flags.
 */
export const HUB_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
