#!/usr/bin/env bash
# Makes sure the real services the tests talk to are there: Redis on 127.0.0.1:6379 (or $REDIS_URL), OpenSSH's
# sshd (the real SFTP peer of the iSupport tests) and Chromium (the ops browser tests). Installs what is missing
# with apt-get when run as root; otherwise says what to install. Quick when everything is present.
set -euo pipefail

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-prereqs: installing ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "test-prereqs: missing ${need_apt[*]}; install them (Debian/Ubuntu: sudo apt-get install -y ${need_apt[*]})" >&2
    exit 1
  fi
fi

redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  if [ -n "${REDIS_URL:-}" ]; then
    echo "test-prereqs: Redis is not reachable at $REDIS_URL" >&2
    exit 1
  fi
  echo "test-prereqs: starting redis-server on 127.0.0.1:6379 (no persistence, noeviction)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --maxmemory-policy noeviction >/dev/null
  for _ in $(seq 1 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli ping >/dev/null
fi
