#!/usr/bin/env bash
# build.sh - the single front door of the LeaxOS mm: dependencies, builds, tests, fuzzing,
# crash reproduction, the freestanding kernel library and benchmarks.
#
#   ./build.sh test                 everything CI runs; ends with "N passed, N failed"
#   ./build.sh fuzz [--time S] [TARGET...]   bounded libFuzzer campaign per target
#   ./build.sh repro [--target T] FILE       replay one input under ASan+UBSan
#   ./build.sh kernel               freestanding static library + symbol check
#   ./build.sh bench                release build, prints BENCH lines
#   ./build.sh unit | corpus | deps | clean
#
# Each configuration builds in its own directory under build/:
#   asan     clang, ASan + UBSan (tests, replay)       gcc      gcc, ASan + UBSan (tests)
#   fuzz     clang, libFuzzer + ASan + UBSan           release  clang -O2 (bench)
#   kernel   clang freestanding x86_64 ELF objects
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
BUILD="$ROOT/build"
WORK_DIR="${MM_WORK_DIR:-${HOME:-/tmp}/.cache/leaxos-mm}"
JOBS="$(nproc 2>/dev/null || echo 2)"

INCLUDES=(-Imm/include -Iarch/x86_64/include)
HOSTED_INC=(-Ishims/hosted/include -Ifuzz -Itests)
WARN=(-Wall -Wextra -Werror -Wno-unused-parameter)
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)

log() { printf '%s\n' "$*" >&2; }
die() { log "build.sh: $*"; exit 1; }

# ---------------------------------------------------------------- dependencies

need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "== installing: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]} (run as root or install them)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

cmd_deps() {
    command -v dpkg >/dev/null || { log "not a Debian system: skipping package checks"; return 0; }
    need_pkgs clang lld llvm gcc libc6-dev libclang-rt-14-dev
}

# ---------------------------------------------------------------- compiling

# Newest mtime of any header: an object older than it is rebuilt.
headers_stamp() {
    find mm arch shims fuzz tests -name '*.h' -printf '%T@\n' 2>/dev/null | sort -n | tail -1
}

# compile OUTDIR CC "FLAGS" SRC... : objects land in OUTDIR/obj/<src path>.o (parallel, incremental)
compile() {
    local out="$1" cc="$2" flags="$3"
    shift 3
    local stamp; stamp="$(headers_stamp)"
    mkdir -p "$out/obj"
    printf '%s\n' "$@" | OUT="$out" CC_="$cc" FLAGS="$flags" STAMP="$stamp" \
        xargs -P "$JOBS" -I{} sh -c '
            src="$1"; obj="$OUT/obj/$src.o"; mkdir -p "$(dirname "$obj")"
            if [ -f "$obj" ] && [ "$obj" -nt "$src" ] &&
               [ "$(stat -c %Y "$obj")" -ge "${STAMP%.*}" ] &&
               [ "$(cat "$obj.flags" 2>/dev/null)" = "$CC_ $FLAGS" ]; then exit 0; fi
            $CC_ $FLAGS -c "$src" -o "$obj" || exit 255
            printf "%s" "$CC_ $FLAGS" > "$obj.flags"' _ {}
}

objs() { # objs OUTDIR SRC... -> object paths
    local out="$1"; shift
    local s; for s in "$@"; do printf '%s ' "$out/obj/$s.o"; done
}

mm_sources() { find mm -name '*.c' | sort; }
hosted_sources() { find shims/hosted -name '*.c' | sort; }
test_sources() { find tests -maxdepth 1 -name '*.c' | sort; }
fuzz_common_sources() { find fuzz -maxdepth 1 -name '*.c' ! -name replay.c ! -name libfuzzer_main.c | sort; }
fuzz_targets() { find fuzz -maxdepth 1 -name 'target_*.c' | sed 's|fuzz/target_||; s|\.c$||' | sort; }

# build_hosted CFG : library + unit tests + replay for one hosted configuration
build_hosted() {
    local cfg="$1" cc flags out="$BUILD/$1" ar=ar ld=""
    case "$cfg" in
        asan) cc=clang; flags="-std=gnu11 -g -O1 ${WARN[*]} ${SAN[*]}" ;;
        gcc) cc=gcc; flags="-std=gnu11 -g -O1 ${WARN[*]} ${SAN[*]}" ;;
        # hardening-only runs: the mm's own checks without a sanitizer shadow (misuse detection)
        noasan) cc=clang; flags="-std=gnu11 -g -O1 ${WARN[*]} -fsanitize=undefined -fno-sanitize-recover=undefined" ;;
        # the env door is chosen at link time; LTO inlines it as a kernel build would
        release) cc=clang; ar=llvm-ar; ld=-fuse-ld=lld; flags="-std=gnu11 -g -O2 -DNDEBUG -flto ${WARN[*]}" ;;
        *) die "unknown configuration $cfg" ;;
    esac
    flags="$flags ${INCLUDES[*]} ${HOSTED_INC[*]}"
    local lib=($(mm_sources) $(hosted_sources))
    compile "$out" "$cc" "$flags" "${lib[@]}" || return 1
    rm -f "$out/libmm.a"
    $ar rcs "$out/libmm.a" $(objs "$out" "${lib[@]}")
    if [ "$cfg" = release ]; then
        local bench=($(find tests/bench -name '*.c' 2>/dev/null | sort))
        [ ${#bench[@]} -gt 0 ] || return 0
        compile "$out" "$cc" "$flags" "${bench[@]}" || return 1
        $cc $flags $ld -o "$out/bench_page" $(objs "$out" "${bench[@]}") "$out/libmm.a" -lpthread
        return 0
    fi
    local tests=($(test_sources))
    if [ ${#tests[@]} -gt 0 ]; then
        compile "$out" "$cc" "$flags" "${tests[@]}" || return 1
        $cc $flags $ld -o "$out/mm_tests" $(objs "$out" "${tests[@]}") "$out/libmm.a" -lpthread
    fi
    local fz=($(fuzz_common_sources) fuzz/replay.c)
    if [ -f fuzz/replay.c ]; then
        compile "$out" "$cc" "$flags" "${fz[@]}" || return 1
        $cc $flags $ld -o "$out/replay" $(objs "$out" "${fz[@]}") "$out/libmm.a" -lpthread
    fi
}

# build_fuzz : one libFuzzer binary per target
build_fuzz() {
    local out="$BUILD/fuzz" cc=clang
    local flags="-std=gnu11 -g -O1 ${WARN[*]} ${SAN[*]} -fsanitize=fuzzer-no-link ${INCLUDES[*]} ${HOSTED_INC[*]}"
    local lib=($(mm_sources) $(hosted_sources) $(fuzz_common_sources))
    compile "$out" "$cc" "$flags" "${lib[@]}" || return 1
    rm -f "$out/libfuzzcommon.a"
    ar rcs "$out/libfuzzcommon.a" $(objs "$out" "${lib[@]}")
    local t
    for t in $(fuzz_targets); do
        mkdir -p "$out/obj/main_$t"
        $cc $flags -DFUZZ_TARGET="$t" -c fuzz/libfuzzer_main.c -o "$out/obj/main_$t/libfuzzer_main.o"
        $cc $flags -fsanitize=fuzzer -o "$out/fuzz_$t" "$out/obj/main_$t/libfuzzer_main.o" \
            "$out/libfuzzcommon.a" -lpthread
    done
}

# ---------------------------------------------------------------- kernel (freestanding)

KERNEL_CFLAGS="--target=x86_64-linux-gnu -std=gnu11 -O2 -g -ffreestanding -fno-builtin -nostdinc \
-nostdlib -fno-pic -fno-pie -mno-red-zone -mcmodel=kernel -mno-sse -mno-sse2 -mno-mmx -mno-avx \
-fno-stack-protector -fno-asynchronous-unwind-tables -fno-exceptions ${WARN[*]}"

cmd_kernel() {
    local out="$BUILD/kernel" res
    res="$(clang -print-resource-dir)"
    local srcs=($(mm_sources) $(find shims/kernel arch/x86_64 -name '*.c' | sort))
    compile "$out" clang "$KERNEL_CFLAGS -isystem $res/include ${INCLUDES[*]} -Ishims/kernel/include" \
        "${srcs[@]}" || die "kernel compile failed"
    local o=($(objs "$out" "${srcs[@]}"))
    rm -f "$out/libmm_kernel.a"
    llvm-ar rcs "$out/libmm_kernel.a" "${o[@]}"
    kernel_symbol_check "${o[@]}"
    log "kernel: $out/libmm_kernel.a (${#o[@]} objects, freestanding symbol check clean)"
}

# Every undefined symbol of every object must be defined by mm/, shims/kernel or arch/.
kernel_symbol_check() {
    local defined undefined bad
    defined="$(llvm-nm --defined-only --no-sort "$@" | awk 'NF==3 && $2 ~ /[TDBRCVW]/ {print $3}' | sort -u)"
    undefined="$(llvm-nm --undefined-only --no-sort "$@" | awk 'NF>=2 {print $NF}' | sort -u)"
    bad="$(comm -23 <(printf '%s\n' "$undefined") <(printf '%s\n' "$defined") | sed '/^$/d')"
    if [ -n "$bad" ]; then
        log "kernel: objects reference symbols nothing in mm/, shims/kernel or arch/ defines:"
        printf '  %s\n' $bad >&2
        return 1
    fi
}

# The symbol check must be able to fail: an object that calls libc is rejected.
kernel_symbol_check_rejects_libc() {
    local out="$BUILD/kernel/negative"
    mkdir -p "$out"
    printf 'int printf(const char *, ...);\nint neg(void) { return printf("x"); }\n' > "$out/neg.c"
    clang $KERNEL_CFLAGS -c "$out/neg.c" -o "$out/neg.o"
    if kernel_symbol_check "$out/neg.o" 2>/dev/null; then
        log "symbol check accepted an object that references printf"
        return 1
    fi
}

# mm/ reaches the world only through mm_env.h and arch headers.
door_check() {
    local bad
    bad="$(grep -rnE '^\s*#\s*include\s*<' mm | grep -vE '<(stdint|stddef|stdbool|stdarg|limits)\.h>' || true)"
    bad+="$(grep -rnE '^\s*#\s*if(def|ndef)?\b.*(HOSTED|__linux__|__STDC_HOSTED__|FUZZING_BUILD_MODE|__SANITIZE_ADDRESS__|__has_feature)' mm || true)"
    if [ -n "$bad" ]; then
        log "door check: mm/ must not include libc/OS headers or test the build flavour:"
        log "$bad"
        return 1
    fi
}

# ---------------------------------------------------------------- fuzzing

# libFuzzer flags from fuzz/<target>.options ([libfuzzer] key = value), dict resolved to fuzz/
fuzz_options() {
    [ -f "fuzz/$1.options" ] || return 0
    sed -n 's/^[[:space:]]*\([a-z_]*\)[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1 \2/p' "fuzz/$1.options" |
        while read -r k v; do
            [ "$k" = dict ] && continue
            printf -- '-%s=%s\n' "$k" "$v"
        done
}

fuzz_one() { # fuzz_one TARGET SECONDS WORKROOT
    local t="$1" secs="$2" work="$3/$1" bin="$BUILD/fuzz/fuzz_$1"
    mkdir -p "$work/corpus" "$work/crashes"
    local before; before="$(ls "$work/crashes" | wc -l)"
    local args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
                -artifact_prefix="$work/crashes/")
    [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
    args+=($(fuzz_options "$t"))
    mkdir -p "corpus/$t"
    log "== fuzz $t for ${secs}s (work dir $work)"
    local rc=0
    "$bin" "${args[@]}" "$work/corpus" "corpus/$t" >"$work/last.log" 2>&1 || rc=$?
    grep -E '^#[0-9]+.*(NEW|pulse|DONE)' "$work/last.log" | tail -3 >&2 || true
    local execs eps corpus crashes
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/last.log" | tail -1)"
    eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/last.log" | tail -1)"
    corpus="$(ls "$work/corpus" | wc -l)"
    crashes="$(ls "$work/crashes" | wc -l)"
    echo "FUZZ target=$t engine=libfuzzer execs=${execs:-0} exec_per_s=${eps:-0} corpus=$corpus crashes=$((crashes - before))"
    if [ "$crashes" -gt "$before" ] || [ "$rc" -ne 0 ]; then
        local f
        for f in $(ls -t "$work/crashes" | head -n $((crashes - before))); do
            log "crash saved: $work/crashes/$f"
            log "reproduce:   ./build.sh repro --target $t $work/crashes/$f"
        done
        [ "$crashes" -gt "$before" ] || log "fuzzer exited with status $rc (see $work/last.log)"
        return 1
    fi
}

cmd_fuzz() {
    local secs="" targets=() root="$WORK_DIR/fuzz"
    while [ $# -gt 0 ]; do
        case "$1" in
            --time) secs="$2"; shift 2 ;;
            --time=*) secs="${1#--time=}"; shift ;;
            --work) root="$2"; shift 2 ;;
            -*) die "fuzz: unknown option $1" ;;
            *) targets+=("$1"); shift ;;
        esac
    done
    [ ${#targets[@]} -gt 0 ] || targets=($(fuzz_targets))
    # default: about three minutes in all, at least 30 s per target
    [ -n "$secs" ] || secs=$(( 180 / ${#targets[@]} > 30 ? 180 / ${#targets[@]} : 30 ))
    cmd_deps
    build_fuzz || die "fuzz build failed"
    local t failed=0
    for t in "${targets[@]}"; do
        [ -x "$BUILD/fuzz/fuzz_$t" ] || die "no fuzz target '$t' (have: $(fuzz_targets | xargs))"
        fuzz_one "$t" "$secs" "$root" || failed=$((failed + 1))
    done
    [ "$failed" -eq 0 ] || { log "fuzz: $failed target(s) found crashes"; return 1; }
}

cmd_repro() {
    local target=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --target) target="$2"; shift 2 ;;
            *) break ;;
        esac
    done
    [ $# -ge 1 ] || die "usage: ./build.sh repro [--target T] FILE"
    local f="$1"
    [ -f "$f" ] || die "repro: no such file $f"
    if [ -z "$target" ]; then
        local t
        for t in $(fuzz_targets); do
            case "$(readlink -f "$f")" in */"$t"/*) target="$t" ;; esac
        done
        target="${target:-page_alloc}"
    fi
    cmd_deps
    build_hosted asan >&2 || die "build failed"
    "$BUILD/asan/replay" --target "$target" --print "$f"
}

# ---------------------------------------------------------------- test

PASS=0
FAIL=0
step() { # step NAME CMD... : run, count, keep going
    local name="$1"; shift
    log "== $name"
    if "$@"; then PASS=$((PASS + 1)); log "ok: $name"; else FAIL=$((FAIL + 1)); log "FAILED: $name"; fi
}

run_unit() { # run_unit CFG : counts the test cases themselves
    local bin="$BUILD/$1/mm_tests" out rc=0
    [ -x "$bin" ] || { FAIL=$((FAIL + 1)); log "FAILED: no unit test binary for $1"; return; }
    log "== unit tests ($1)"
    out="$("$bin" 2>&1)" || rc=$?
    printf '%s\n' "$out"
    local line p f
    line="$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)"
    p="$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')"
    f="$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')"
    if [ -z "$line" ]; then FAIL=$((FAIL + 1)); log "FAILED: unit tests ($1) printed no summary (rc $rc)"; return; fi
    PASS=$((PASS + p)); FAIL=$((FAIL + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then FAIL=$((FAIL + 1)); log "FAILED: unit tests ($1) exited $rc"; fi
}

run_corpus() { # every checked-in corpus file of every target, one check each
    local t f
    for t in $(fuzz_targets); do
        for f in corpus/"$t"/*; do
            [ -f "$f" ] || continue
            if "$BUILD/asan/replay" --target "$t" "$f" >/dev/null 2>"$BUILD/asan/replay.err"; then
                PASS=$((PASS + 1))
            else
                FAIL=$((FAIL + 1)); log "FAILED: corpus replay $f"; tail -5 "$BUILD/asan/replay.err" >&2
            fi
        done
    done
    log "corpus replay done"
}

cmd_test() {
    local smoke="${MM_SMOKE_FUZZ_SECONDS:-20}" start=$SECONDS
    cmd_deps
    step "door check (mm/ includes and flavour tests)" door_check
    step "build hosted asan (clang)" build_hosted asan
    run_unit asan
    run_corpus
    step "build hosted gcc" build_hosted gcc
    run_unit gcc
    step "build release + bench" build_hosted release
    step "build kernel + freestanding symbol check" cmd_kernel
    step "symbol check rejects a libc reference" kernel_symbol_check_rejects_libc
    step "build fuzz targets" build_fuzz
    local tmp t; tmp="$(mktemp -d)"
    for t in $(fuzz_targets); do
        step "smoke fuzz $t (${smoke}s)" fuzz_one "$t" "$smoke" "$tmp"
    done
    rm -rf "$tmp"
    log "test time: $((SECONDS - start))s"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}

cmd_bench() {
    cmd_deps
    build_hosted release || die "release build failed"
    "$BUILD/release/bench_page" "$@"
}

# ---------------------------------------------------------------- main

case "${1:-help}" in
    deps) cmd_deps ;;
    test) shift; cmd_test "$@" ;;
    unit) cmd_deps; build_hosted asan; "$BUILD/asan/mm_tests" "${@:2}" ;;
    corpus) cmd_deps; build_hosted asan; run_corpus; echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ] ;;
    fuzz) shift; cmd_fuzz "$@" ;;
    repro) shift; cmd_repro "$@" ;;
    kernel) cmd_deps; cmd_kernel ;;
    bench) shift; cmd_bench "$@" ;;
    hosted) cmd_deps; build_hosted "${2:-asan}" ;;
    clean) rm -rf "$BUILD" ;;
    help|-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (try ./build.sh help)" ;;
esac
