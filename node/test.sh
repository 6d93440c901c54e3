#!/usr/bin/env bash
# Builds the npm package bitrix24-callback from bindings/node and runs its checks: npm ci, napi
# build (debug, with the test hooks), no diff in the committed native.js/index.d.ts, tsc, the
# release build that packing uses (artifacts/), node --test (the fake portal runs in the test
# process, from the package's testing module; the pack test installs the packed tarballs), then
# a 10-second load at 1,000 calls/s (bench/load.mjs --check: every call succeeds, open fds and
# RSS stay flat).
# Run from anywhere. Honours CARGO_TARGET_DIR and REDIS_SERVER (the `redis-server` of the
# shared-state tests; installed from Debian when none is found).
set -euo pipefail
LOG_PREFIX=node
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$B24_ROOT/node"

command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm
need_redis

log "npm ci"
npm ci --no-audit --no-fund

log "napi build (debug, test hooks on)"
npm run build

log "generated native.js / index.d.ts are up to date"
if ! git -C "$B24_ROOT" diff --exit-code -- node/native.js node/index.d.ts; then
    die "native.js or index.d.ts changed after a rebuild; commit the regenerated files"
fi

log "tsc --noEmit"
npm run typecheck

log "napi build (release, stripped: what packing ships)"
npm run build:release

log "node --test"
npm test

log "load: 10 s at 1,000 calls/s (limiter off); fds and RSS must stay flat"
node --expose-gc bench/load.mjs --seconds 10 --rate 1000 --check
