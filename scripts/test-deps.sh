#!/usr/bin/env bash
# The system packages the test suite needs, installed with apt-get only when missing (so running it
# again is a no-op): Debian's redis-server, the oracle of test/oracle/, and chromium, which the
# dashboard's browser test drives. `npm test` runs this first; so does .ci/run.
# Exits non-zero, saying what to install by hand, when a package is missing and cannot be installed.
set -uo pipefail

REDIS=/usr/bin/redis-server
CHROMIUM="${TALLY_CHROMIUM:-/usr/bin/chromium}"

missing=()
[ -x "$REDIS" ] || missing+=(redis-server)
[ -x "$CHROMIUM" ] || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (apt-get) for the test suite"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: apt-get not found; install ${missing[*]} yourself ($REDIS, $CHROMIUM) and run npm test again" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "test-deps: ${missing[*]} missing and not root (and no password-less sudo): run" >&2
      echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; }; then
    echo "test-deps: apt-get install ${missing[*]} failed (see above); the suite needs $REDIS and $CHROMIUM" >&2
    exit 1
  fi
  for p in "$REDIS" "$CHROMIUM"; do
    if [ ! -x "$p" ]; then
      echo "test-deps: apt-get finished but $p is still missing" >&2
      exit 1
    fi
  done
fi

echo "== $("$REDIS" --version 2>/dev/null || echo 'redis-server (version unknown)')"
echo "== $("$CHROMIUM" --version 2>/dev/null || echo 'chromium (version unknown)')"
# Debian's redis-server brings libjemalloc2: the malloc of the nodes the tests start, as `tally
# cluster up` starts them (src/util/allocator.ts, "auto"). Without it they run on the system malloc.
JEMALLOC=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 2>/dev/null | head -1)
echo "== node malloc: ${JEMALLOC:-the system malloc (libjemalloc.so.2 not found)}"
