#!/usr/bin/env bash
# fuzz/oss-fuzz/check.sh - validate the OSS-Fuzz / ClusterFuzzLite integration as far as this
# machine can (run by `./build.sh oss-fuzz-check` and `./build.sh test`):
#   1. the ClusterFuzzLite workflows (.github/workflows/cflite_*.yml) and both project.yaml files
#      parse, the workflows use the build_fuzzers / run_fuzzers actions in the four modes
#      (code-change, batch, prune, coverage), and every sanitizer they run is one project.yaml lists;
#   2. for every sanitizer project.yaml lists (and coverage, which the cron workflow runs), the
#      project's build step runs in OSS-Fuzz mode with OSS-Fuzz's compiler flags for it and
#      libFuzzer, and every target it builds runs its whole seed corpus (<t>_seed_corpus.zip) clean;
#   3. with afl in fuzzing_engines: the same build with afl-clang-fast and libAFLDriver.a (address),
#      each target run on a few of its seeds through the driver.
# honggfuzz is not listed: Debian 12 does not package it, so it cannot be validated here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3 # Debian's, with python3-yaml (build.sh installs it)
TMP="${OSS_FUZZ_CHECK_DIR:-$ROOT/build/oss-fuzz-check}"
rm -rf "$TMP"; mkdir -p "$TMP"
log() { printf '%s\n' "$*" >&2; }
fail() { log "oss-fuzz-check: $*"; exit 1; }

# ---- 1. the YAML files
"$PY" - fuzz/oss-fuzz/project.yaml .clusterfuzzlite/project.yaml .github/workflows/cflite_*.yml <<'PYEOF' >"$TMP/sanitizers" || fail "YAML check failed"
import sys, yaml
proj = yaml.safe_load(open(sys.argv[1]))
for key in ("language", "sanitizers", "fuzzing_engines"):
    assert key in proj, f"{sys.argv[1]}: no {key}"
lite = yaml.safe_load(open(sys.argv[2]))
assert lite.get("language") == proj["language"], ".clusterfuzzlite/project.yaml: language differs"
allowed = set(proj["sanitizers"]) | {"coverage"}
modes = set()
for path in sys.argv[3:]:
    wf = yaml.safe_load(open(path))
    assert "jobs" in wf and wf["jobs"], f"{path}: no jobs"
    for name, job in wf["jobs"].items():
        sans = job.get("strategy", {}).get("matrix", {}).get("sanitizer", [])
        for s in sans:
            assert s in allowed, f"{path}: job {name} runs sanitizer {s} that project.yaml does not list"
        uses = [st.get("uses", "") for st in job["steps"]]
        assert any("clusterfuzzlite/actions/build_fuzzers" in u for u in uses), f"{path}: {name} builds nothing"
        for st in job["steps"]:
            w = st.get("with", {})
            if "run_fuzzers" in st.get("uses", ""):
                modes.add(w.get("mode"))
            if "language" in w:
                assert w["language"] == proj["language"], f"{path}: language {w['language']}"
            s = w.get("sanitizer", "address")
            assert s.startswith("${{") or s in allowed, f"{path}: sanitizer {s}"
missing = {"code-change", "batch", "prune", "coverage"} - modes
assert not missing, f"workflows lack modes {sorted(missing)}"
print(" ".join(proj["sanitizers"]))
print(" ".join(proj["fuzzing_engines"]))
PYEOF
read -r -a SANITIZERS < <(sed -n 1p "$TMP/sanitizers")
read -r -a ENGINES < <(sed -n 2p "$TMP/sanitizers")
log "oss-fuzz-check: YAML ok; sanitizers ${SANITIZERS[*]} + coverage; engines ${ENGINES[*]}"

# ---- 2. libFuzzer builds, one per sanitizer, each target over its seed corpus
COMMON="-O1 -fno-omit-frame-pointer -gline-tables-only"
UBSAN_CHECKS="array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound"
san_flags() {
    case "$1" in
        address) echo "-fsanitize=address -fsanitize-address-use-after-scope" ;;
        undefined) echo "-fsanitize=$UBSAN_CHECKS,unsigned-integer-overflow -fno-sanitize-recover=$UBSAN_CHECKS" ;;
        memory) echo "-fsanitize=memory -fsanitize-memory-track-origins" ;;
        coverage) echo "-fprofile-instr-generate -fcoverage-mapping" ;;
        *) return 1 ;;
    esac
}
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1"
export MSAN_OPTIONS="halt_on_error=1"
export LLVM_PROFILE_FILE="$TMP/cov-%p.profraw"

run_seeds() { # BIN TARGET OUTDIR [MAXFILES] : the seed corpus through BIN
    local bin="$1" t="$2" out="$3" max="${4:-}" dir="$TMP/seeds-$t"
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && unzip -q "$out/${t}_seed_corpus.zip")
    local n; n="$(ls "$dir" | wc -l)"
    [ "$n" -gt 0 ] || fail "$t: empty seed corpus"
    if [ -n "$max" ]; then # AFL driver: files as arguments, each run once
        "$bin" $(ls -d "$dir"/* | head -n "$max") >"$TMP/run-$t.log" 2>&1 ||
            { tail -20 "$TMP/run-$t.log" >&2; fail "$t ($bin) failed on its seeds"; }
        return 0
    fi
    "$bin" -runs=0 "$dir" >"$TMP/run-$t.log" 2>&1 ||
        { tail -20 "$TMP/run-$t.log" >&2; fail "$t ($bin) failed on its seed corpus"; }
    grep -q 'DONE' "$TMP/run-$t.log" || fail "$t: libFuzzer did not finish its seed corpus"
    log "  $t: $n seeds ok"
}

build_and_run() { # SANITIZER ENGINE
    local san="$1" engine="$2" out="$TMP/out-$1-$2" flags cc=clang cxx=clang++ lib=-fsanitize=fuzzer max=""
    flags="$COMMON $(san_flags "$san")" || fail "no OSS-Fuzz flags known for sanitizer $san"
    if [ "$engine" = afl ]; then
        cc=afl-clang-fast; cxx=afl-clang-fast++; lib=/usr/lib/afl/libAFLDriver.a; max=5
    else
        flags="$flags -fsanitize=fuzzer-no-link"
    fi
    log "oss-fuzz-check: SANITIZER=$san engine=$engine"
    mkdir -p "$out"
    AFL_QUIET=1 OUT="$out" WORK="$TMP/work-$san-$engine" SANITIZER="$san" FUZZING_ENGINE="$engine" \
        CC="$cc" CXX="$cxx" CFLAGS="$flags" CXXFLAGS="$(san_flags "$san")" LIB_FUZZING_ENGINE="$lib" \
        ./build.sh oss-fuzz >"$TMP/build-$san-$engine.log" 2>&1 ||
        { tail -20 "$TMP/build-$san-$engine.log" >&2; fail "build step failed for $san/$engine"; }
    local t built=0
    for t in $(ls fuzz/target_*.c | sed 's|fuzz/target_||; s|\.c$||'); do
        [ -x "$out/$t" ] || continue
        for f in "${t}_seed_corpus.zip"; do [ -s "$out/$f" ] || fail "$san: $out/$f missing"; done
        run_seeds "$out/$t" "$t" "$out" $max
        [ -z "$max" ] || log "  $t: $max seeds ok through the AFL driver"
        built=$((built + 1))
    done
    [ "$built" -gt 0 ] || fail "$san/$engine built no target"
}

for san in "${SANITIZERS[@]}" coverage; do build_and_run "$san" libfuzzer; done
for e in "${ENGINES[@]}"; do
    case "$e" in
        libfuzzer) ;;
        afl) build_and_run address afl ;;
        *) fail "fuzzing engine $e is listed but this check cannot validate it" ;;
    esac
done
log "oss-fuzz-check: all builds and seed corpora ok"
