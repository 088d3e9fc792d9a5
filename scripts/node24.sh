#!/usr/bin/env bash
# Runs a command on Node.js 24 LTS. When the machine's own `node` is already 24, it is used as is; otherwise the
# official Linux build is taken from the npm registry package `node-linux-<arch>` (the binary is inside the
# package: no other download) into .tools/node-<version>/ and put first on PATH for the command.
#   scripts/node24.sh node --version
#   scripts/node24.sh npx jest
# NODE24_VERSION pins the exact release; CASEWAY_SYSTEM_NODE=1 skips all this and runs on the machine's node.
set -euo pipefail

version="${NODE24_VERSION:-24.22.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ "${CASEWAY_SYSTEM_NODE:-}" = 1 ] || [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" = 24 ]; then
  exec "$@"
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node24: no Node 24 package for $(uname -m); install Node.js 24 yourself" >&2; exit 1 ;;
esac

dir="$root/.tools/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "node24: fetching node-linux-$arch@$version from the npm registry into .tools/ (once)" >&2
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp/x"
  mkdir -p "$dir/bin"
  cp "$tmp/x/package/bin/node" "$dir/bin/node"
  chmod 755 "$dir/bin/node"
  "$dir/bin/node" --version >/dev/null
fi

export PATH="$dir/bin:$PATH"
exec "$@"
