#!/usr/bin/env bash
# Compiles the generated Kotlin binding plus the Kotlin test suite and runs it on the JVM (JNA)
# against the testing build of the library, whose fake portal (`FakePortal`) the tests start in
# their own process. Standalone from a fresh Debian machine (installs what it needs); exits
# non-zero on any failure, including a missing toolchain.
#
#   bindings/uniffi/test-kotlin.sh            (honours CARGO_TARGET_DIR)
set -euo pipefail
LOG_PREFIX=test-kotlin
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
started=$SECONDS

KOTLIN_DIR="$B24_ROOT/bindings/uniffi/kotlin"
KOTLINC="$KOTLIN_DIR/node_modules/kotlin-compiler/bin/kotlinc"
KLIB="$KOTLIN_DIR/node_modules/kotlin-compiler/lib"

# 1. Toolchain: a JDK, JNA (jar + native part), JUnit 4 + hamcrest, org.json (the same API
#    Android ships) from Debian; kotlinc from the npm package pinned in kotlin/package-lock.json
#    (Debian's own kotlin 1.3 is too old for uniffi's generated code).
command -v java >/dev/null 2>&1 || apt_install default-jdk-headless
apt_install libjna-java libjna-jni junit4 libhamcrest-java libandroid-json-java
command -v npm >/dev/null 2>&1 || apt_install npm
if [ ! -x "$KOTLINC" ] || ! grep -q '"version": "2.4.20"' "$KOTLIN_DIR/node_modules/kotlin-compiler/package.json"; then
    log "npm ci (kotlin-compiler)"
    (cd "$KOTLIN_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

jar_of() { # the first existing jar among the arguments
    local j
    for j in "$@"; do [ -f "$j" ] && { echo "$j"; return 0; }; done
    log "missing jar: $*"
    return 1
}
JNA=$(jar_of /usr/share/java/jna.jar)
JUNIT=$(jar_of /usr/share/java/junit4.jar)
HAMCREST=$(jar_of /usr/share/java/hamcrest-core.jar /usr/share/java/hamcrest.jar /usr/share/java/hamcrest-all.jar)
JSON=$(jar_of /usr/share/java/com.android.json.jar)
KOTLIN_JARS="$KLIB/kotlin-test.jar:$KLIB/kotlin-test-junit.jar:$KLIB/kotlinx-coroutines-core-jvm.jar"

# 2. The testing build of the native library and bindgen; then the generated Kotlin.
uniffi_build --testing
uniffi_generate kotlin

# 3. Compile the generated binding together with the tests.
BUILD="$UNIFFI_OUT/kotlin-build"
rm -rf "$BUILD"
mkdir -p "$BUILD"
log "kotlinc"
JAVA_OPTS="${JAVA_OPTS:--Xss4m}" "$KOTLINC" -nowarn -jvm-target 17 \
    -cp "$JNA:$JUNIT:$JSON:$KOTLIN_JARS" \
    -d "$BUILD/classes" \
    "$UNIFFI_OUT/kotlin" "$KOTLIN_DIR/src"

# 4. Run (the vectors are the core's shared test data).
export B24_VECTORS_DIR="$B24_ROOT/tests/vectors"
log "running"
status=0
java -Djna.library.path="$(dirname "$UNIFFI_LIB")" \
    -cp "$BUILD/classes:$KLIB/kotlin-stdlib.jar:$KOTLIN_JARS:$JNA:$JUNIT:$HAMCREST:$JSON" \
    bitrix24.callback.tests.RunnerKt || status=$?
log "finished in $((SECONDS - started)) s (exit $status)"
exit $status
