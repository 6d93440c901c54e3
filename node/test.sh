#!/usr/bin/env bash
# Builds the npm package bitrix24-callback from bindings/node and runs its checks:
# npm ci, napi build (debug), no diff in the committed index.js/index.d.ts, tsc, node --test.
# Run from anywhere. Honours CARGO_TARGET_DIR and B24_CALLBACK_BIN (the `b24-callback` binary
# that serves the fake portal; built when unset) and REDIS_SERVER (the `redis-server` of the
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

log "napi build (debug)"
npm run build

log "generated index.js / index.d.ts are up to date"
if ! git -C "$B24_ROOT" diff --exit-code -- node/index.js node/index.d.ts; then
    die "index.js or index.d.ts changed after a rebuild; commit the regenerated files"
fi

log "tsc --noEmit"
npm run typecheck

build_cli
log "node --test"
npm test
