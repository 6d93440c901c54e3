#!/usr/bin/env bash
# Builds the Android artifacts of the Kotlin binding, laid out for a Maven repository:
#
#   io.github.bitrix24callback:bitrix24-callback:<version>          (AAR)
#     bitrix24-callback-<v>.aar          classes.jar (the generated Kotlin, compiled), jni/<abi>/
#                                        libcallback_uniffi.so for every ABI, AndroidManifest.xml,
#                                        proguard.txt (consumer rules), R.txt
#     bitrix24-callback-<v>.pom          depends on JNA (aar), kotlinx-coroutines-core, kotlin-stdlib
#     bitrix24-callback-<v>-sources.jar  the generated Kotlin
#   io.github.bitrix24callback:bitrix24-callback-testing:<version>  (JAR, with --testing)
#     bitrix24-callback-testing-<v>.jar  the TESTING build of the library (cargo feature `testing`:
#                                        FakePortal, test hooks) for the desktop JVM that runs an
#                                        app's unit tests, at JNA's resource paths
#                                        (linux-x86-64/libcallback_uniffi.so, darwin-aarch64/...)
#     bitrix24-callback-testing-<v>.pom
#
# Usage:
#   bindings/uniffi/build-android.sh [--out DIR] [--version V] [--abis "arm64-v8a armeabi-v7a x86_64 x86"]
#                                    [--testing] [--testing-lib JNA_PREFIX=PATH]... [--layout-check]
#
#   --testing             also build the testing JAR with this host's testing library
#   --testing-lib P=PATH  add a testing library built elsewhere (e.g. on the macOS runner:
#                         darwin-aarch64=libcallback_uniffi.dylib, win32-x86-64=callback_uniffi.dll)
#   --layout-check        for machines without the Android NDK: puts this host's (linux-x86_64)
#                         library into jni/x86_64/ as a stand-in so that the AAR's layout, manifest
#                         and classes can be checked, then checks them (and runs the classes on the
#                         JVM against the testing JAR). Such an AAR must never be published.
#
# Needs: a JDK 17, npm (kotlinc from kotlin/package-lock.json), JNA's jar (Debian's libjna-java, or
# JNA_JAR=path); for the real build also the Android NDK r26+ (ANDROID_NDK_HOME), cargo-ndk and
# `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
# i686-linux-android`. Honours CARGO_TARGET_DIR. Output: DIR (default target/dist/android).
set -euo pipefail
LOG_PREFIX=build-android
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

GROUP="${B24_MAVEN_GROUP:-io.github.bitrix24callback}"
ARTIFACT=bitrix24-callback
OUT="$CARGO_TARGET_DIR/dist/android"
VERSION="$(cargo pkgid -p callback-uniffi | sed 's/.*@//')"
ABIS="arm64-v8a armeabi-v7a x86_64 x86"
# Native API level of the .so files; the manifest's minSdk is 26 (java.time.Duration; apps that
# enable core library desugaring can go lower with tools:overrideLibrary).
NDK_PLATFORM=24
MIN_SDK=26
JNA_VERSION=5.14.0
COROUTINES_VERSION=1.8.0
KOTLIN_STDLIB_VERSION=2.0.0
TESTING=0
LAYOUT_CHECK=0
TESTING_LIBS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --version) VERSION="$2"; shift 2 ;;
        --abis) ABIS="$2"; shift 2 ;;
        --testing) TESTING=1; shift ;;
        --testing-lib) TESTING_LIBS+=("$2"); TESTING=1; shift 2 ;;
        --layout-check) LAYOUT_CHECK=1; TESTING=1; shift ;;
        *) log "unknown argument: $1"; exit 2 ;;
    esac
done
case "$OUT" in /*) ;; *) OUT="$B24_ROOT/$OUT" ;; esac

KOTLIN_DIR="$B24_ROOT/bindings/uniffi/kotlin"
KOTLINC="$KOTLIN_DIR/node_modules/kotlin-compiler/bin/kotlinc"
KLIB="$KOTLIN_DIR/node_modules/kotlin-compiler/lib"
command -v java >/dev/null 2>&1 || apt_install default-jdk-headless
if [ -z "${JNA_JAR:-}" ]; then
    [ -f /usr/share/java/jna.jar ] || apt_install libjna-java libjna-jni
    JNA_JAR=/usr/share/java/jna.jar
fi
if [ ! -x "$KOTLINC" ]; then
    command -v npm >/dev/null 2>&1 || apt_install npm
    log "npm ci (kotlin-compiler)"
    (cd "$KOTLIN_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

WORK="$CARGO_TARGET_DIR/android-build"
rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"

# 1. The Kotlin source, generated from a release build of the host library (library mode; the
#    interface is the same for every target and for the testing build).
log "cargo build --release -p callback-uniffi -p uniffi-bindgen"
cargo build --quiet --release -p callback-uniffi -p uniffi-bindgen
HOST_LIB="$CARGO_TARGET_DIR/release/libcallback_uniffi.so"
[ -f "$HOST_LIB" ] || HOST_LIB="$CARGO_TARGET_DIR/release/libcallback_uniffi.dylib"
"$CARGO_TARGET_DIR/release/uniffi-bindgen" generate "$HOST_LIB" --language kotlin --no-format \
    --out-dir "$WORK/kotlin" >/dev/null

# 2. The native libraries, one per ABI.
mkdir -p "$WORK/aar/jni"
if [ "$LAYOUT_CHECK" = 1 ]; then
    log "layout check: this host's library stands in for jni/x86_64 (never publish this AAR)"
    mkdir -p "$WORK/aar/jni/x86_64"
    cp "$HOST_LIB" "$WORK/aar/jni/x86_64/libcallback_uniffi.so"
else
    [ -n "${ANDROID_NDK_HOME:-}" ] || { log "ANDROID_NDK_HOME is not set"; exit 1; }
    command -v cargo-ndk >/dev/null 2>&1 || { log "cargo-ndk is missing: cargo install cargo-ndk"; exit 1; }
    targets=()
    for abi in $ABIS; do targets+=(-t "$abi"); done
    # 16 KB memory pages (Android 15+, required by Google Play): NDK r28+ links that way by
    # default; older NDKs need the flag. Stripped: the AAR carries no debug information.
    for t in AARCH64_LINUX_ANDROID ARMV7_LINUX_ANDROIDEABI X86_64_LINUX_ANDROID I686_LINUX_ANDROID; do
        export "CARGO_TARGET_${t}_RUSTFLAGS=-C link-arg=-Wl,-z,max-page-size=16384"
    done
    log "cargo ndk --platform $NDK_PLATFORM ${targets[*]} build --release -p callback-uniffi"
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo ndk --platform "$NDK_PLATFORM" "${targets[@]}" \
        -o "$WORK/aar/jni" build --release -p callback-uniffi
fi
for abi in $( [ "$LAYOUT_CHECK" = 1 ] && echo x86_64 || echo "$ABIS" ); do
    [ -f "$WORK/aar/jni/$abi/libcallback_uniffi.so" ] || { log "missing jni/$abi/libcallback_uniffi.so"; exit 1; }
done

# 3. classes.jar: the generated Kotlin compiled for the JVM 1.8 bytecode Android's D8 reads, at
#    Kotlin language/API 2.0 so that apps on Kotlin 2.0 or newer can use it.
log "kotlinc (classes.jar)"
JAVA_OPTS="${JAVA_OPTS:--Xss4m}" "$KOTLINC" -nowarn -jvm-target 1.8 -language-version 2.0 -api-version 2.0 \
    -cp "$JNA_JAR:$KLIB/kotlinx-coroutines-core-jvm.jar" -d "$WORK/classes" "$WORK/kotlin"
rm -rf "$WORK/classes/META-INF/versions"
jar --create --file "$WORK/aar/classes.jar" -C "$WORK/classes" .

# 4. The AAR around it.
cat > "$WORK/aar/AndroidManifest.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="io.github.bitrix24callback">
    <uses-sdk android:minSdkVersion="$MIN_SDK" />
    <uses-permission android:name="android.permission.INTERNET" />
</manifest>
EOF
cat > "$WORK/aar/proguard.txt" <<'EOF'
# JNA binds the library by reflection: keep it and the binding (consumer rules of the AAR).
-keep class com.sun.jna.** { *; }
-keep class * implements com.sun.jna.** { *; }
-keep class bitrix24.callback.** { *; }
-dontwarn java.awt.**
EOF
: > "$WORK/aar/R.txt"
AAR="$OUT/$ARTIFACT-$VERSION.aar"
rm -f "$AAR"
(cd "$WORK/aar" && zip -qrX "$AAR" AndroidManifest.xml classes.jar jni proguard.txt R.txt)
(cd "$WORK/kotlin" && zip -qrX "$OUT/$ARTIFACT-$VERSION-sources.jar" .)

pom() { # pom ARTIFACT PACKAGING NAME DEPENDENCIES-XML
    cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>$GROUP</groupId>
  <artifactId>$1</artifactId>
  <version>$VERSION</version>
  <packaging>$2</packaging>
  <name>$3</name>
  <description>Start Bitrix24 telephony callbacks (voximplant.callback.start) safely</description>
  <licenses>
    <license><name>MIT</name><url>https://opensource.org/licenses/MIT</url></license>
    <license><name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0</url></license>
  </licenses>
  <dependencies>
$4
  </dependencies>
</project>
EOF
}
pom "$ARTIFACT" aar "bitrix24-callback for Android" "    <dependency>
      <groupId>net.java.dev.jna</groupId><artifactId>jna</artifactId><version>$JNA_VERSION</version>
      <type>aar</type><scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlinx</groupId><artifactId>kotlinx-coroutines-core</artifactId>
      <version>$COROUTINES_VERSION</version><scope>compile</scope>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId><artifactId>kotlin-stdlib</artifactId>
      <version>$KOTLIN_STDLIB_VERSION</version><scope>compile</scope>
    </dependency>" > "$OUT/$ARTIFACT-$VERSION.pom"

# 5. The testing JAR: testing builds of the desktop library, where JNA looks for them.
if [ "$TESTING" = 1 ]; then
    log "cargo build --release -p callback-uniffi --features testing,test-hooks (host testing library)"
    cargo build --quiet --release -p callback-uniffi --features "$UNIFFI_TEST_FEATURES"
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64) host_prefix=linux-x86-64; host_file=libcallback_uniffi.so ;;
        Linux-aarch64) host_prefix=linux-aarch64; host_file=libcallback_uniffi.so ;;
        Darwin-arm64) host_prefix=darwin-aarch64; host_file=libcallback_uniffi.dylib ;;
        Darwin-x86_64) host_prefix=darwin-x86-64; host_file=libcallback_uniffi.dylib ;;
        *) log "no JNA prefix known for $(uname -s)-$(uname -m)"; exit 1 ;;
    esac
    mkdir -p "$WORK/testing/$host_prefix"
    cp "$CARGO_TARGET_DIR/release/$host_file" "$WORK/testing/$host_prefix/"
    for spec in "${TESTING_LIBS[@]}"; do
        mkdir -p "$WORK/testing/${spec%%=*}"
        cp "${spec#*=}" "$WORK/testing/${spec%%=*}/"
    done
    strip --strip-unneeded "$WORK/testing/$host_prefix/$host_file" 2>/dev/null || true
    jar --create --file "$OUT/$ARTIFACT-testing-$VERSION.jar" -C "$WORK/testing" .
    pom "$ARTIFACT-testing" jar "bitrix24-callback testing library (FakePortal) for unit tests on the JVM" "    <dependency>
      <groupId>net.java.dev.jna</groupId><artifactId>jna</artifactId><version>$JNA_VERSION</version>
      <scope>runtime</scope>
    </dependency>" > "$OUT/$ARTIFACT-testing-$VERSION.pom"
fi

# 6. Checks that need no Android device: the layout, the manifest, the classes; with
#    --layout-check also the classes on the JVM, loading the testing library from its JAR.
log "checking $AAR"
listing="$(unzip -Z1 "$AAR")"
for entry in AndroidManifest.xml classes.jar proguard.txt R.txt; do
    grep -qx "$entry" <<<"$listing" || { log "the AAR lacks $entry"; exit 1; }
done
python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$WORK/aar/AndroidManifest.xml"
unzip -Z1 "$WORK/aar/classes.jar" | grep -qx 'bitrix24/callback/CallbackClient.class' \
    || { log "classes.jar lacks bitrix24/callback/CallbackClient.class"; exit 1; }
if [ "$LAYOUT_CHECK" = 1 ]; then
    SMOKE="$WORK/smoke"
    mkdir -p "$SMOKE"
    cat > "$SMOKE/Smoke.java" <<'EOF'
import bitrix24.callback.*;

public class Smoke {
    public static void main(String[] args) throws Exception {
        FakePortal portal = FakePortal.Companion.start(null);
        CallbackClient client = CallbackClient.Companion.webhook(portal.webhookUrl(), null);
        CallbackStarted started = client.startCallbackBlocking(
            new CallbackRequest("reg1", "+12015550123", "A visitor asked for a call back", null, null), null);
        if (started.getCallId() == null || portal.ledger().size() != 1) throw new AssertionError("no call");
        System.out.println("smoke: classes.jar + testing jar work on the JVM (" + started.getCallId() + ")");
        client.close();
        portal.close();
    }
}
EOF
    CP="$WORK/aar/classes.jar:$OUT/$ARTIFACT-testing-$VERSION.jar:$JNA_JAR:$KLIB/kotlin-stdlib.jar:$KLIB/kotlinx-coroutines-core-jvm.jar"
    javac -d "$SMOKE" -cp "$CP" "$SMOKE/Smoke.java"
    # No jna.library.path: JNA must find the library inside the testing JAR.
    java -cp "$SMOKE:$CP" Smoke
fi
log "artifacts in $OUT:"
(cd "$OUT" && ls -l)
unzip -l "$AAR" | sed 's/^/    /' >&2
