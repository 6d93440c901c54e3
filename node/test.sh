#!/usr/bin/env bash
# Builds the npm package bitrix24-callback from bindings/node and runs its checks:
# npm ci, napi build (debug, with the test hooks), no diff in the committed native.js/index.d.ts,
# tsc, the release build that packing uses (artifacts/), node --test (the fake portal runs in the
# test process, from the package's testing module; the pack test installs the packed tarballs),
# then a 10-second load at 1000 calls/s (bench/load.mjs --check: every call succeeds, open fds
# and RSS stay flat).
# Run from anywhere (paths are taken relative to this file). Honours $CARGO_TARGET_DIR and
# $REDIS_SERVER (the `redis-server` the shared-state tests start; installed if missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node/test.sh: installing Node.js and npm (Debian packages)" >&2
  apt-get update -q && apt-get install -y -q nodejs npm
fi
if ! command -v "${REDIS_SERVER:-redis-server}" >/dev/null; then
  echo "node/test.sh: installing redis-server (Debian package) for the shared-state tests" >&2
  apt-get update -q && apt-get install -y -q redis-server
fi

# The napi CLI resolves CARGO_TARGET_DIR relative to its cwd; make it absolute from the root.
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  case "$CARGO_TARGET_DIR" in
    /*) ;;
    *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;;
  esac
  export CARGO_TARGET_DIR
fi

echo "== npm ci"
npm ci --no-audit --no-fund

echo "== napi build (debug, test hooks on)"
npm run build

echo "== generated native.js / index.d.ts are up to date"
if ! git -C "$root" diff --exit-code -- node/native.js node/index.d.ts; then
  echo "node/test.sh: native.js or index.d.ts changed after a rebuild; commit the regenerated files" >&2
  exit 1
fi

echo "== tsc --noEmit"
npm run typecheck

echo "== napi build (release, stripped: what packing ships)"
npm run build:release

echo "== node --test"
npm test

echo "== load: 10 s at 1000 calls/s (limiter off), fds and RSS must stay flat"
node bench/load.mjs --seconds 10 --rate 1000 --check
