#!/usr/bin/env bash
# build.sh - the single front door of the LeaxOS mm: dependencies, builds, tests, fuzzing,
# crash reproduction, the kernel (image, QEMU boot) and benchmarks.
#
#   ./build.sh test                 everything CI runs; ends with "N passed, N failed"
#   ./build.sh fuzz [--time S] [TARGET...]   bounded libFuzzer campaign per target
#   ./build.sh fuzz-bench [--runs N | --time S] [TARGET...]   libFuzzer exec/s per core on fixed inputs
#   ./build.sh repro [--target T] [--kernel [--hardened]] FILE   replay one input (ASan+UBSan,
#                                   or inside the kernel under QEMU)
#   ./build.sh kernel [--hardened]  freestanding library + symbol check, bootable kernel image
#   ./build.sh qemu [--hardened] [--mem SIZE] [--smp N] [--numa N] [-- QEMU ARGS]   boot it under
#                                   QEMU (TCG), run its tests (--smp N: N CPUs, the SMP stress runs
#                                   when N > 1; --numa N: N nodes splitting memory, SRAT + SLIT)
#   ./build.sh kernel-test          the kernel part of ./build.sh test alone: both kernels, the two
#                                   test boots (at once), digests compared, the small boots
#   ./build.sh bench                release build, prints BENCH lines
#   ./build.sh mutants [--n N] [--time S] [--seed K] [--file F] [--list FILE]   mutation score of
#                                   the corpus + a short fuzz run (MUTANT, MUTANTS, BENCH lines)
#   ./build.sh postmortem [--addr 0xA]... [--svg F | --no-svg] DUMP   load an mm dump (replay --dump,
#                                   a triage group's dump.bin, or a kernel serial log with MM-DUMP)
#                                   and run mm_check, buddyinfo, slabinfo, VMAs, leaks, trace offline
#   ./build.sh layers [-v]          direction check of mm/'s layers (mm/tools/layers.sh)
#   ./build.sh lint                 clang-tidy over mm/ (.clang-tidy): zero findings
#   ./build.sh stress [--time S] [--seed K] [--rounds N] [--cpus N]   the concurrent stress
#                                   (one thread per CPU) under ThreadSanitizer: 0 reports or it fails
#   ./build.sh workflow-test-smp    fuzz -> triage -> repro on the planted race (MM_VARIANT=planted-smp)
#   ./build.sh corpus-migrate REV   re-encode corpus inputs whose meaning an op-table change moved
#   ./build.sh work-minimise [TARGET...]   shrink the work corpora in place (libFuzzer -merge=1)
#   ./build.sh planted-smp-replay   the planted race's checked-in input: fails planted-smp, passes the mm
#   ./build.sh unit | corpus | deps | clean
#
# Each configuration builds in its own directory under build/ (build.mk: sources, flags, graph):
#   asan     clang, ASan + UBSan (tests, replay)       gcc      gcc, ASan + UBSan (tests)
#   noasan   clang, UBSan only: hardening checks run   release  clang -O2 + LTO (bench)
#   fuzz     clang, libFuzzer + ASan + UBSan           afl      afl-clang-fast persistent + CmpLog
#   kernel   clang freestanding x86_64 image       kernel-hardened  the same, KASAN + UBSan
#   tsan     clang, ThreadSanitizer (the stress program tests/stress, one thread per CPU)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
# MM_VARIANT=planted builds everything with the test-only planted defect, in its own directories.
VARIANT="${MM_VARIANT:-}"
BUILD="$ROOT/build${VARIANT:+-$VARIANT}"
WORK_DIR="${MM_WORK_DIR:-${HOME:-/tmp}/.cache/leaxos-mm}"
JOBS="$(nproc 2>/dev/null || echo 2)"

INCLUDES=(-Imm/include -Iarch/x86_64/include)
DEFS=""
case "$VARIANT" in
    "") ;;
    planted) DEFS="-DMM_PLANTED_BUG=1"; INCLUDES+=("$DEFS") ;;
    planted-smp) DEFS="-DMM_PLANTED_BUG=2"; INCLUDES+=("$DEFS") ;;
    *) echo "build.sh: unknown MM_VARIANT '$VARIANT' (known: planted, planted-smp)" >&2; exit 1 ;;
esac

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

# ---------------------------------------------------------------- compiling (build.mk)

# Sources, flags and the compile/link graph of every configuration live in build.mk; this runs it.
# B is relative to the root, so header dependencies (-MMD) name the tree's files by relative
# paths and stay valid in a copy of the tree (the mutants' scratch tree).
MK_B="${BUILD#"$ROOT"/}"
# mk CFG [VAR=VALUE...] : build one configuration (its default products) with make -j JOBS
mk() {
    local cfg="$1"; shift
    make -s --no-print-directory -f "$ROOT/build.mk" -j"$JOBS" B="$MK_B" DEFS="$DEFS" CFG="$cfg" "$@"
}
# mk_print [VAR=VALUE...] VAR... : the values of build.mk variables, one line each
mk_print() {
    local a=() v
    for v in "$@"; do case "$v" in *=*) a+=("$v") ;; *) a+=("print-$v") ;; esac; done
    make -s --no-print-directory -f "$ROOT/build.mk" B="$MK_B" DEFS="$DEFS" "${a[@]}"
}
# the fuzz targets and their classes (build.mk says why each class is built or run differently)
{ read -r MK_TARGETS; read -r MK_NOASAN; read -r MK_KERNEL_TARGETS; read -r MK_SHORT_SMOKE; } < \
    <(mk_print FUZZ_TARGETS NOASAN_TARGETS KERNEL_TARGETS SHORT_SMOKE_TARGETS)
in_words() { [[ " $2 " == *" $1 "* ]]; } # WORD "LIST"

mm_sources() { mk_print MM | tr ' ' '\n'; }
fuzz_targets() { printf '%s\n' $MK_TARGETS; }
# The TARGET arguments of a command, one per line, each checked against the build's target list
# before anything is built; none given means every target. Status 1 (and why) on an unknown name.
fuzz_targets_or_all() { # [TARGET...]
    local t
    [ $# -gt 0 ] || { fuzz_targets; return 0; }
    for t in "$@"; do
        in_words "$t" "$MK_TARGETS" || { log "build.sh: no fuzz target '$t' (have: $MK_TARGETS)"; return 1; }
        echo "$t"
    done
}

# build_hosted CFG : asan, gcc, noasan (library, unit tests, replay, regression programs) or
# release (library and benchmarks)
build_hosted() { mk "$@"; } # CFG [MAKE TARGET...]: every program of CFG, or only those targets

# build_tsan : the library and the concurrent stress program under ThreadSanitizer (build/tsan)
build_tsan() { mk tsan; }

# run_stress [ARGS...] : the stress under TSan; fails on a stress failure or any TSan report.
# Prints the program's STRESS line plus "STRESS_TSAN reports=N".
run_stress() {
    build_tsan || return 1
    local logf="$BUILD/tsan/stress.log" rc=0 n
    TSAN_OPTIONS="halt_on_error=0 exitcode=66 history_size=4 ${TSAN_OPTIONS:-}" \
        "$BUILD/tsan/stress" "$@" >"$logf" 2>&1 || rc=$?
    n="$(grep -c '^WARNING: ThreadSanitizer' "$logf" || true)"
    grep -E '^(STRESS|stress:)' "$logf" || true
    echo "STRESS_TSAN reports=$n"
    if [ "$rc" -ne 0 ] || [ "$n" -ne 0 ]; then
        log "stress: exit status $rc, $n ThreadSanitizer report(s); the first lines of $logf:"
        grep -v '^STRESS' "$logf" | head -60 >&2
        return 1
    fi
}

cmd_stress() {
    local args=() time=30
    while [ $# -gt 0 ]; do
        case "$1" in
            --time) time="$2"; shift ;;
            --seed|--rounds|--cpus|--ops|--mem) args+=("$1" "$2"); shift ;;
            *) die "stress: unknown option '$1'" ;;
        esac
        shift
    done
    cmd_deps
    run_stress --time "$time" "${args[@]}"
}

# A short-smoke target (linux: every op is a round trip to a host child process) gets a 5 s
# libFuzzer smoke run in test and no AFL++ build or smoke there (the test budget);
# ./build.sh fuzz [--engine afl] TARGET still builds and runs it in full.
target_short_smoke() { in_words "$1" "$MK_SHORT_SMOKE"; }
smoke_afl_targets() { local t; for t in $(fuzz_targets); do target_short_smoke "$t" || echo "$t"; done; }

# A no-ASan target checks the mm's own hardening: it is built and replayed without ASan (UBSan
# only), or ASan would catch its injected misuse first.
target_no_asan() { in_words "$1" "$MK_NOASAN"; }
replay_bin() { if target_no_asan "$1"; then echo "$BUILD/noasan/replay"; else echo "$BUILD/asan/replay"; fi; }

# build_fuzz : per target a libFuzzer binary with compare hooks (fuzz_<t>) and one without
# (fuzz_<t>_fast), the checkers uninstrumented: see build.mk and "What the checkers lose" in
# fuzz/README.md
build_fuzz() { mk fuzz TARGETS="$(fuzz_targets | xargs)"; }

# build_afl [TARGET...] : per target (default: all) an AFL++ persistent binary and its CmpLog twin
build_afl() { mk afl TARGETS="${*:-$(fuzz_targets | xargs)}"; }

# ---------------------------------------------------------------- kernel (freestanding)
# ---------------------------------------------------------------- kernel (freestanding)

# ./build.sh kernel [--hardened]: the freestanding library (symbol-checked) and the bootable image
# build/kernel{,-hardened}/leaxos.bin (multiboot, for qemu -kernel) with its ELF for symbols.
cmd_kernel() {
    local cfg=kernel
    [ "${1:-}" = --hardened ] && cfg=kernel-hardened
    local out="$BUILD/$cfg"
    mk "$cfg" kobjs || { log "kernel compile failed"; return 1; }
    # everything in the image resolves inside the image: mm/, shims/, arch/, tests/, fuzz/
    kernel_symbol_check $(mk_print CFG="$cfg" KOBJS) || return 1
    mk "$cfg" || { log "kernel link failed"; return 1; }
    log "kernel: $out/leaxos.bin ($(stat -c %s "$out/leaxos.bin") bytes$([ "$cfg" = kernel ] ||
        echo ", KASAN + UBSan"))," "$out/libmm_kernel.a; freestanding symbol check clean"
}

# Annotate "[<address>]" tokens of a serial log with function and source line from the ELF.
kernel_symbolize() {
    local elf="$1" line
    while IFS= read -r line; do
        line="${line%$'\r'}"
        if [[ $line =~ \[\<([0-9a-f]{16})\>\] ]]; then
            line+="  $(llvm-symbolizer --obj="$elf" --functions=short --no-inlines -p \
                "0x${BASH_REMATCH[1]}" 2>/dev/null | head -1)"
        fi
        printf '%s\n' "$line"
    done
}

# The targets the kernel replays: all but build.mk's HOSTED_ONLY_TARGETS (smp: the kernel has no
# scheduled CPUs and runs them one after the other, so its digests differ; linux: no host kernel).
kernel_targets() { printf '%s\n' $MK_KERNEL_TARGETS; }

# The corpus as one file for the kernel (qemu -initrd = the first multiboot module).
kernel_corpus_pack() { # OUT [CORPUS_DIR]
    mkdir -p "$(dirname "$1")" "$BUILD"
    mk tools || return 1
    "$BUILD/corpus_pack_tool" ${MM_CORPUS_STRIDE:+--stride $MM_CORPUS_STRIDE} "$1" "${2:-corpus}" \
        $(kernel_targets) >&2
}

# One DIGEST line per corpus file from the hosted replay, each target in its own configuration,
# targets in the pack's order (sorted by name, as the kernel replays them).
hosted_digests() { # OUT
    local t
    for t in $(kernel_targets | LC_ALL=C sort); do "$(replay_bin "$t")" --digest --no-fork "corpus/$t" || return 1; done >"$1"
}

# The kernel's DIGEST lines (from its serial log) equal the hosted ones, line for line.
digest_compare() { # HOSTED_FILE SERIAL_LOG
    local k; k="$(mktemp)"
    tr -d '\r' <"$2" | grep '^DIGEST ' >"$k" || true
    if ! diff -q "$1" "$k" >/dev/null; then
        log "hosted and kernel digests differ ($(wc -l <"$1") hosted, $(wc -l <"$k") kernel lines):"
        diff "$1" "$k" | head -20 >&2
        rm -f "$k"; return 1
    fi
    log "digests: $(wc -l <"$k") inputs, hosted == kernel"
    rm -f "$k"
}

QEMU_PASS_STATUS=33 # isa-debug-exit: (0x10 << 1) | 1

# ./build.sh qemu [--hardened] [--mem SIZE] [--smp N] [--timeout S] [--no-corpus | --pack FILE] [--log FILE]
#                 [-- QEMU ARGS]      (e.g. -- -append "filter=vm verbose")
# Boots the kernel under TCG; exit status 0 only if every boot-time test passed.
cmd_qemu() {
    local hard="" mem=1G tmo="${MM_QEMU_TIMEOUT:-240}" corpus=1 pack="" logf="" extra=() smp=1 numa=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --hardened) hard=1 ;;
            --smp) smp="$2"; shift ;;
            --numa) numa="$2"; shift ;;
            --mem) mem="$2"; shift ;;
            --timeout) tmo="$2"; shift ;;
            --no-corpus) corpus="" ;;
            --pack) pack="$2"; shift ;;
            --log) logf="$2"; shift ;;
            --) shift; extra=("$@"); break ;;
            *) die "qemu: unknown option '$1'" ;;
        esac
        shift
    done
    [[ "$smp" =~ ^[1-8]$ ]] || die "qemu: --smp $smp: the kernel runs 1..8 CPUs"
    local mib
    case "$mem" in
        *[gG]) mib=$(( ${mem%[gG]} * 1024 )) ;;
        *[mM]) mib=${mem%[mM]} ;;
        *) mib=$(( mem / 1048576 )) ;;
    esac
    # the image is loaded at 512 MiB; the boot mm needs room above it (the hardened one more)
    [ "$mib" -ge $(( 576 + ${hard:+64} + 0 )) ] ||
        die "qemu: --mem $mem is too small: the ${hard:+hardened }kernel needs at least $(( 576 + ${hard:+64} + 0 ))M"
    [[ "$numa" =~ ^[0-4]$ ]] || die "qemu: --numa $numa: the mm takes 1..4 nodes"
    local numa_args=() i c cpus
    for ((i = 0; i < numa; i++)); do # equal memory per node, CPUs round robin, asymmetric SLIT
        cpus=""
        for ((c = i; c < smp; c += numa)); do cpus+=",cpus=$c"; done
        numa_args+=(-object "memory-backend-ram,id=nm$i,size=$((mib / numa))M"
                    -numa "node,nodeid=$i,memdev=nm$i$cpus")
    done
    for ((i = 1; i < numa; i++)); do
        numa_args+=(-numa "dist,src=0,dst=$i,val=$((20 + i))" -numa "dist,src=$i,dst=0,val=$((30 + i))")
    done
    command -v qemu-system-x86_64 >/dev/null || need_pkgs qemu-system-x86
    cmd_kernel ${hard:+--hardened} >/dev/null || return 1
    local out="$BUILD/kernel${hard:+-hardened}" initrd=()
    if [ -n "$pack" ]; then
        initrd=(-initrd "$pack")
    elif [ -n "$corpus" ]; then
        kernel_corpus_pack "$BUILD/kernel/corpus.pack" || return 1
        initrd=(-initrd "$BUILD/kernel/corpus.pack")
    fi
    logf="${logf:-$out/serial.log}"
    local rc=0 t0=$SECONDS
    set +e
    timeout --foreground "$tmo" qemu-system-x86_64 -kernel "$out/leaxos.bin" "${initrd[@]}" \
        -machine pc -cpu max -smp "$smp" -m "$mem" -serial stdio -display none -vga none -monitor none \
        -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${numa_args[@]}" "${extra[@]}" \
        </dev/null | kernel_symbolize "$out/leaxos.elf" | tee "$logf"
    rc="${PIPESTATUS[0]}"
    set -e
    log "qemu: $( [ -n "$hard" ] && echo hardened || echo normal ) kernel (-smp $smp) ran $((SECONDS - t0))s, status $rc"
    case "$rc" in
        "$QEMU_PASS_STATUS") return 0 ;;
        124) log "qemu: timed out after ${tmo}s"; return 1 ;;
        *) return 1 ;;
    esac
}

# Every undefined symbol of every object must be defined by mm/, shims/kernel or arch/.
kernel_symbol_check() {
    local defined undefined bad
    # objects' definitions plus the symbols the kernel's linker script defines (section bounds)
    defined="$( { llvm-nm --defined-only --no-sort "$@" | awk 'NF==3 && $2 ~ /[TDBRCVW]/ {print $3}'
        sed -n 's/^ *\(__[a-z_]*\) = .*/\1/p' arch/x86_64/kernel/linker.ld; } | sort -u)"
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
    clang $(mk_print KERNEL_CFLAGS) -c "$out/neg.c" -o "$out/neg.o"
    if kernel_symbol_check "$out/neg.o" 2>/dev/null; then
        log "symbol check accepted an object that references printf"
        return 1
    fi
}

# The seed's build interface for a kernel toolchain (mm/Makefile): `make -C mm` builds
# mm/build/libmm.a (freestanding by default, honours CC/CFLAGS), `make -C mm check` verifies the
# compiler and that mm/ compiles freestanding and references only mm/ and the env door.
mm_make_check() {
    make -s -C mm -j"$JOBS" && make -s -C mm check -j"$JOBS"
}

# ./build.sh lint: clang-tidy (checks in .clang-tidy) over every source of mm/ with the
# freestanding kernel flags, JOBS files at a time; any finding fails it.
cmd_lint() {
    command -v clang-tidy >/dev/null || need_pkgs clang-tidy
    local flags out rc=0
    flags="--target=x86_64-linux-gnu -std=gnu11 -ffreestanding -nostdinc \
-isystem $(clang -print-resource-dir)/include ${INCLUDES[*]}"
    out="$(mm_sources | FLAGS="$flags" xargs -P "$JOBS" -n 1 sh -c \
        'clang-tidy --quiet "$0" -- $FLAGS 2>/dev/null || { echo "LINT-FAILED $0"; exit 1; }')" || rc=$?
    # one line per finding (a header's finding is reported once, not once per file including it)
    printf '%s\n' "$out" | grep -E ': (warning|error): ' | sed "s|^$ROOT/||" | sort -u >&2 || true
    if [ "$rc" -ne 0 ] || grep -q '^LINT-FAILED ' <<<"$out"; then
        log "lint: clang-tidy findings in $(grep -c '^LINT-FAILED ' <<<"$out") file(s) of mm/"
        return 1
    fi
    log "lint: clang-tidy clean on $(mm_sources | wc -l) files of mm/"
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

# Crash files of one engine's work dir, one per line.
fuzz_crash_files() { # fuzz_crash_files ENGINE WORK (libFuzzer's slow-unit-* files are no crashes)
    case "$1" in
        libfuzzer) find "$2/crashes" -maxdepth 1 -type f ! -name 'slow-unit-*' 2>/dev/null ;;
        afl) find "$2/afl" -path '*/crashes/id:*' -type f 2>/dev/null ;;
    esac | sort
}

# Crashing inputs one libFuzzer run hit, new or already saved: an in-process run names every
# artifact it writes ("Test unit written to"; a re-found crash rewrites its existing file), fork
# mode counts them in its status lines ("oom/timeout/crash: A/B/C"); a report without either
# (the artifact could not be written) still counts one.
libfuzzer_log_crashes() { # LOG
    awk '/Test unit written to / && !/slow-unit-/ { n++ }
         / oom\/timeout\/crash: / {
             for (i = 1; i < NF; i++) if ($i == "oom/timeout/crash:") { split($(i + 1), c, "/"); f = c[1] + c[2] + c[3] }
         }
         /==ERROR|ERROR: libFuzzer|deadly signal|runtime error: / { e = 1 }
         END { if (f > n) n = f; if (n == 0 && e) n = 1; print n + 0 }' "$1" 2>/dev/null || echo 0
}

# AFL++ crash counter summed over the instances of a work dir: total_crashes (every crashing
# input, where fuzzer_stats has it) or saved_crashes (AFL++ 4.04c writes only the saved ones: a
# crash on an already-seen path is not counted there).
afl_stats_crashes() { # WORK
    local f n=0
    for f in "$1"/afl/*/fuzzer_stats; do
        [ -f "$f" ] || continue
        n=$((n + $(awk -F': *' '$1 ~ /^total_crashes/ { t = $2 } $1 ~ /^(saved|unique)_crashes/ { s = $2 }
                               END { print (t != "" ? t : s) + 0 }' "$f")))
    done
    echo "$n"
}
# Before an AFL++ run: remember its crash counter, so the report counts this run only.
afl_stats_mark() { mkdir -p "$1/afl"; afl_stats_crashes "$1" >"$1/afl/crashes-before"; } # WORK

# One FUZZ line per target and engine. crashes= counts the crashing inputs this run hit, new or
# re-found; new= how many of them were saved as new files. Status 1 when there was any.
fuzz_report() { # fuzz_report TARGET ENGINE WORK BEFORE EXECS EPS CORPUS
    local t="$1" e="$2" work="$3" before="$4" files found=0 new
    files="$(fuzz_crash_files "$e" "$work" | wc -l)"
    new=$((files > before ? files - before : 0))
    case "$e" in
        libfuzzer) local lg; for lg in "$work/libfuzzer.log" "$work/libfuzzer-fast.log"; do
                       [ -f "$lg" ] && found=$((found + $(libfuzzer_log_crashes "$lg")))
                   done ;;
        afl) local b a; b="$(cat "$work/afl/crashes-before" 2>/dev/null || echo 0)"
             a="$(afl_stats_crashes "$work")"
             found=$((a >= b ? a - b : a)) ;; # a lower counter was restarted by this run
    esac
    [ "$found" -ge "$new" ] || found="$new"
    echo "FUZZ target=$t engine=$e execs=${5:-0} exec_per_s=${6:-0} corpus=$7 crashes=$found new=$new"
    local f units="" refound=""
    [ "$e" = libfuzzer ] && units="$(cat "$work"/libfuzzer*.log 2>/dev/null |
        sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' | sort -u || true)"
    for f in $units; do
        case "$f" in
            *slow-unit-*) log "slow input (no crash; libFuzzer's -report_slow_units): $f" ;;
            *) refound="$refound $f" ;;
        esac
    done
    [ "$found" -gt 0 ] || return 0
    [ "$new" -gt 0 ] || log "fuzz $t ($e): $found crash(es), none new"
    for f in $(fuzz_crash_files "$e" "$work" | tail -n "$new") $([ "$new" -gt 0 ] || echo "$refound"); do
        if [ "$new" -gt 0 ]; then log "crash saved: $f"; else log "crash re-found, saved before: $f"; fi
        log "reproduce:   ${VARIANT:+MM_VARIANT=$VARIANT }./build.sh repro --target $t '$f'"
    done
    return 1
}

# libFuzzer checks -max_total_time only after replaying the corpus: a run whose time ran out
# during the replay mutated nothing (its DONE line counts what INITED counted). Say so.
fuzz_note_unmutated() { # TARGET LOG
    local init fin
    init="$(grep -aoE '^#[0-9]+[[:space:]]+INITED' "$2" 2>/dev/null | tail -1 | grep -oE '[0-9]+' || true)"
    fin="$(grep -aoE '^#[0-9]+[[:space:]]+DONE' "$2" 2>/dev/null | tail -1 | grep -oE '[0-9]+' || true)"
    [ -n "$init" ] && [ "$init" = "$fin" ] || return 0
    log "fuzz $1: the time ran out while libFuzzer replayed the corpus ($init inputs): nothing was mutated; give it more time, or shrink the work corpus with ./build.sh work-minimise $1"
}

# libFuzzer: -jobs 1 runs fuzz_<t> (compare hooks) in-process. More jobs split as AFL++ splits a
# CmpLog instance from fast ones: one fork-mode process of fuzz_<t> and one of fuzz_<t>_fast with
# the other jobs, on the same work corpus; fork mode keeps going after a crash.
fuzz_one_libfuzzer() { # TARGET SECONDS WORK JOBS
    local t="$1" secs="$2" work="$3" jobs="$4" bin="$BUILD/fuzz/fuzz_$1"
    mkdir -p "$work/corpus" "$work/crashes" "corpus/$t"
    local before; before="$(fuzz_crash_files libfuzzer "$work" | wc -l)"
    local args=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
                -artifact_prefix="$work/crashes/") seeds=("corpus/$t")
    [ -n "${FUZZ_NO_SEEDS:-}" ] && seeds=()
    [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED") # fixed mutation seed (test smoke runs)
    [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
    args+=($(fuzz_options "$t"))
    # extra libFuzzer flags after the target's options, which they override (tests' fuzz runs)
    [ -n "${FUZZ_ARGS:-}" ] && args+=($FUZZ_ARGS)
    local procs=("$bin 1") p pids=() rc=0
    [ "$jobs" -gt 1 ] && procs=("$bin 1" "${bin}_fast $((jobs - 1))")
    log "== fuzz $t with libFuzzer for ${secs}s, $jobs job(s) (work dir $work)"
    rm -f "$work/libfuzzer.log" "$work/libfuzzer-fast.log"
    for p in "${procs[@]}"; do
        local pb="${p% *}" pj="${p#* }" fork=() lg="$work/libfuzzer.log"
        [ "${pb%_fast}" != "$pb" ] && lg="$work/libfuzzer-fast.log"
        [ "$jobs" -gt 1 ] && fork=(-fork="$pj" -ignore_crashes=1)
        "$pb" "${args[@]}" "${fork[@]}" "$work/corpus" "${seeds[@]}" >"$lg" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    local execs=0 eps=0 lg
    for lg in "$work/libfuzzer.log" "$work/libfuzzer-fast.log"; do
        [ -f "$lg" ] || continue
        grep -E '^#[0-9]+' "$lg" | tail -2 >&2 || true
        local e r
        e="$(sed -n 's/^stat::number_of_executed_units: *//p' "$lg" | tail -1)"
        r="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$lg" | tail -1)"
        if [ -z "$e" ]; then # fork mode: take the last status line
            e="$(grep -oE '^#[0-9]+' "$lg" | tail -1 | tr -d '#')"
            r=$(( ${e:-0} / (secs > 0 ? secs : 1) )) # average over the campaign
        fi
        execs=$(( execs + ${e:-0} )); eps=$(( eps + ${r:-0} ))
    done
    fuzz_note_unmutated "$t" "$work/libfuzzer.log"
    fuzz_report "$t" libfuzzer "$work" "$before" "$execs" "$eps" "$(ls "$work/corpus" | wc -l)" || return 1
    [ "$rc" -eq 0 ] || { log "libFuzzer exited with status $rc (see $work/libfuzzer*.log)"; return 1; }
}

# AFL++: persistent mode with the shared-memory testcase, CmpLog binary beside it; resumes.
fuzz_one_afl() { # TARGET SECONDS WORK JOBS
    local t="$1" secs="$2" work="$3" jobs="$4" bin="$BUILD/afl/afl_$1"
    mkdir -p "$work/afl"
    local before; before="$(fuzz_crash_files afl "$work" | wc -l)"
    afl_stats_mark "$work"
    local in="corpus/$t" dict=() j pids=()
    [ -d "$work/afl/main/queue" ] && in=- # resume where the last campaign stopped
    [ -f "fuzz/$t.dict" ] && dict=(-x "fuzz/$t.dict")
    [ -n "${FUZZ_SEED:-}" ] && dict+=(-s "$FUZZ_SEED")
    log "== fuzz $t with AFL++ for ${secs}s, $jobs job(s) (work dir $work/afl)"
    for j in $(seq 1 "$jobs"); do
        local role=(-M main) cmplog=(-c "$BUILD/afl/afl_${t}_cmplog")
        [ "$j" -gt 1 ] && role=(-S "sec$j") && cmplog=()
        AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
        AFL_AUTORESUME=1 AFL_SKIP_CRASHES=1 AFL_FAST_CAL=1 \
        ASAN_OPTIONS="abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1" \
        UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1" \
            afl-fuzz -i "$in" -o "$work/afl" "${role[@]}" "${cmplog[@]}" "${dict[@]}" -m none \
                -t 5000 -V "$secs" -- "$bin" >"$work/afl-$j.log" 2>&1 &
        pids+=($!)
    done
    local rc=0 p
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    # afl-fuzz can leave its CmpLog fork server behind; it would hold the output dir locked
    pkill -KILL -f "^$BUILD/afl/afl_${t}(_cmplog)?\$" 2>/dev/null || true
    local stats="$work/afl/main/fuzzer_stats" execs=0 eps=0 corpus=0
    if [ -f "$stats" ]; then
        execs="$(awk -F': *' '$1 ~ /^execs_done/ {print $2}' "$stats")"
        eps="$(awk -F': *' '$1 ~ /^execs_per_sec/ {print int($2)}' "$stats")"
        corpus="$(awk -F': *' '$1 ~ /^corpus_count/ {print $2}' "$stats")"
        log "afl: stability $(awk -F': *' '$1 ~ /^stability/ {print $2}' "$stats")"
    fi
    fuzz_report "$t" afl "$work" "$before" "$execs" "$eps" "$corpus" || return 1
    [ "$rc" -eq 0 ] || { log "afl-fuzz exited with status $rc (see $work/afl-1.log)"; tail -5 "$work/afl-1.log" >&2; return 1; }
}

# Take a work dir's lock without waiting: status 0 with its open fd in LOCK_FD (close the fd to
# release it), 1 (nothing held) when another process has it.
work_dir_trylock() { # DIR
    exec {LOCK_FD}>"$1/.lock"
    flock -n "$LOCK_FD" && return 0
    exec {LOCK_FD}>&-
    return 1
}

# One run per work dir at a time: a second ./build.sh fuzz of the same target (a campaign and a
# short run on one machine) used to delete and rewrite the first one's libFuzzer log, losing its
# final counts. The second run now works in a sibling directory whose corpus is hard-linked from
# the busy one, and folds its new inputs and crashes back when it ends.
fuzz_one() { # fuzz_one TARGET SECONDS WORKROOT [ENGINE] [JOBS]
    local t="$1" work="$3/$1" lockfd own rc=0
    mkdir -p "$work"
    if work_dir_trylock "$work"; then
        lockfd=$LOCK_FD
        fuzz_one_in "$t" "$2" "$work" "${4:-libfuzzer}" "${5:-1}" || rc=1
        exec {lockfd}>&-
    else
        own="$work.run$$"
        log "fuzz $t: $work is in use by another ./build.sh fuzz; this run works in $own (the corpus hard-linked from it) and folds its new inputs and crashes back at the end"
        rm -rf "$own" && mkdir -p "$own/crashes" "$work/corpus" && cp -al "$work/corpus" "$own/corpus" ||
            die "fuzz $t: cannot make $own"
        fuzz_one_in "$t" "$2" "$own" "${4:-libfuzzer}" "${5:-1}" || rc=1
        cp -rn "$own/corpus/." "$work/corpus/" && cp -rn "$own/crashes/." "$work/crashes/" || true
        [ "$rc" -eq 0 ] || log "fuzz $t: its crash files are now in $work/crashes"
        rm -rf "$own"
    fi
    return "$rc"
}

fuzz_one_in() { # TARGET SECONDS WORK ENGINE JOBS
    local t="$1" secs="$2" work="$3" engine="$4" jobs="$5" failed=0
    case "$engine" in
        libfuzzer) fuzz_one_libfuzzer "$t" "$secs" "$work" "$jobs" || failed=1 ;;
        afl) fuzz_one_afl "$t" "$secs" "$work" "$jobs" || failed=1 ;;
        both) fuzz_one_libfuzzer "$t" "$secs" "$work" "$jobs" || failed=1
              fuzz_one_afl "$t" "$secs" "$work" "$jobs" || failed=1 ;;
        *) die "unknown engine $engine (libfuzzer, afl or both)" ;;
    esac
    return "$failed"
}

cmd_fuzz() {
    local secs="" targets=() root="$WORK_DIR/fuzz" engine=libfuzzer jobs=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --time) secs="$2"; shift 2 ;;
            --time=*) secs="${1#--time=}"; shift ;;
            --engine) engine="$2"; shift 2 ;;
            --engine=*) engine="${1#--engine=}"; shift ;;
            --jobs) jobs="$2"; shift 2 ;;
            --jobs=*) jobs="${1#--jobs=}"; shift ;;
            --work) root="$2"; shift 2 ;;
            --no-seeds) export FUZZ_NO_SEEDS=1; shift ;;
            -*) die "fuzz: unknown option $1" ;;
            *) targets+=("$1"); shift ;;
        esac
    done
    local named; named="$(fuzz_targets_or_all "${targets[@]}")" || exit 1
    targets=($named)
    # default: about three minutes in all, at least 30 s per target
    [ -n "$secs" ] || secs=$(( 180 / ${#targets[@]} > 30 ? 180 / ${#targets[@]} : 30 ))
    cmd_deps
    # only the targets asked for (a variant's whole fuzz build costs minutes)
    case "$engine" in libfuzzer|both) mk fuzz TARGETS="${targets[*]}" || die "fuzz build failed" ;; esac
    case "$engine" in afl|both) need_pkgs afl++; build_afl "${targets[@]}" || die "AFL++ build failed" ;; esac
    local t failed=0
    for t in "${targets[@]}"; do
        fuzz_one "$t" "$secs" "$root" "$engine" "$jobs" || failed=$((failed + 1))
    done
    if [ "$failed" -ne 0 ]; then
        log "fuzz: $failed target(s) found crashes"
        cmd_triage "$root" || true
        return 1
    fi
}

# Throughput of the libFuzzer builds on fixed inputs: per target, the checked-in corpus/<target>
# (copied, so nothing is written into it) is run once, then mutated with a fixed seed, one job,
# for a fixed number of runs (--runs N, default 3000, corpus included) or a fixed wall time
# (--time S; what runs then depends on the machine's load). With --runs, what runs is a function
# of the build and the seed; the rate is executed inputs over the CPU time (user +
# system) of the whole process, its start and the corpus load included: exec/s per core, even on
# a shared machine. One "BENCH name=fuzz_<target> exec_per_s=N" line each.
cmd_fuzz_bench() {
    local secs=0 runs=3000 targets=() t
    while [ $# -gt 0 ]; do
        case "$1" in
            --time) secs="$2"; runs=-1; shift 2 ;;
            --runs) runs="$2"; secs=0; shift 2 ;;
            -*) die "fuzz-bench: unknown option $1" ;;
            *) targets+=("$1"); shift ;;
        esac
    done
    local named; named="$(fuzz_targets_or_all "${targets[@]}")" || exit 1
    targets=($named)
    cmd_deps
    build_fuzz || die "fuzz build failed"
    local tmp; tmp="$(mktemp -d)"
    for t in "${targets[@]}"; do
        local sfx
        for sfx in "" _fast; do
            rm -rf "$tmp/corpus"; cp -r "corpus/$t" "$tmp/corpus"
            local args=(-seed=1 -runs="$runs" -max_total_time="$secs" -print_final_stats=1
                        -reload=0 -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$tmp/")
            [ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
            args+=($(fuzz_options "$t" | grep -v -e '^-timeout=' -e '^-rss_limit_mb='))
            local rc=0 execs cpu ms
            # CPU time (user + system) of the run: the rate per core, whatever else the machine runs
            cpu="$( { TIMEFORMAT='%3U %3S %3R'; time "$BUILD/fuzz/fuzz_$t$sfx" "${args[@]}" "$tmp/corpus" \
                      >"$tmp/$t$sfx.log" 2>&1 || echo "rc=$?" >"$tmp/$t$sfx.rc"; } 2>&1 )"
            [ -f "$tmp/$t$sfx.rc" ] && rc=1 && rm -f "$tmp/$t$sfx.rc"
            execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t$sfx.log" | tail -1)"
            if [ "$rc" -ne 0 ]; then # keep what it found: a bench run is a fuzz run
                mkdir -p "$WORK_DIR/fuzz-bench"
                cp "$tmp/$t$sfx.log" "$WORK_DIR/fuzz-bench/$t$sfx.log"
                cp "$tmp"/crash-* "$tmp"/timeout-* "$tmp"/oom-* "$WORK_DIR/fuzz-bench/" 2>/dev/null || true
                grep -m1 -E 'FUZZ-FAIL|ERROR|runtime error' "$tmp/$t$sfx.log" >&2 || tail -5 "$tmp/$t$sfx.log" >&2
                log "fuzz-bench: $t$sfx stopped early (log and inputs in $WORK_DIR/fuzz-bench/)"
            fi
            ms="$(awk '{ printf "%d", ($1 + $2) * 1000 }' <<<"$cpu")"
            echo "BENCH name=fuzz_$t$sfx exec_per_s=$(( ${execs:-0} * 1000 / (ms > 0 ? ms : 1) )) execs=${execs:-0} cpu_ms=$ms wall_ms=$(awk '{ printf "%d", $3 * 1000 }' <<<"$cpu")"
        done
    done
    rm -rf "$tmp"
}

# ./build.sh corpus-migrate REV: the checked-in corpus was written for REV's op tables (replay
# --op-tables); an op appended to a table remaps every input of it (op byte % table size). Every
# corpus file whose decoding differs between REV's replay and this tree's is re-encoded from REV's
# text form, checked to decode to that text now, and rewritten; the rest stay byte for byte.
# fuzz/op_tables.txt then records this tree's tables.
cmd_corpus_migrate() {
    local rev="${1:?usage: ./build.sh corpus-migrate REV}" old="$BUILD/migrate-old" t f n=0 moved=0
    local tmp; tmp="$(mktemp -d)"
    cmd_deps
    build_hosted noasan || die "build failed"
    git rev-parse -q --verify "$rev^{commit}" >/dev/null || die "corpus-migrate: $rev is not a commit"
    rm -rf "$old" && mkdir -p "$old"
    git archive "$rev" | tar -x -C "$old" || die "corpus-migrate: cannot unpack $rev"
    log "corpus-migrate: building $rev's replay"
    (cd "$old" && make -s --no-print-directory -f build.mk -j"$JOBS" CFG=noasan build/noasan/replay) ||
        die "corpus-migrate: $rev's replay does not build"
    for t in $(fuzz_targets); do
        for f in corpus/"$t"/*; do
            [ -f "$f" ] || continue
            n=$((n + 1))
            "$old/build/noasan/replay" --decode --target "$t" "$f" >"$tmp/old.txt" 2>/dev/null ||
                { log "corpus-migrate: $rev cannot decode $f (kept)"; continue; }
            "$BUILD/noasan/replay" --decode --target "$t" "$f" >"$tmp/new.txt" 2>/dev/null || true
            cmp -s "$tmp/old.txt" "$tmp/new.txt" && continue
            "$BUILD/noasan/replay" --encode --target "$t" "$tmp/old.txt" "$tmp/new.bin" >/dev/null &&
                "$BUILD/noasan/replay" --decode --target "$t" "$tmp/new.bin" >"$tmp/check.txt" &&
                cmp -s "$tmp/old.txt" "$tmp/check.txt" ||
                die "corpus-migrate: $f: $rev's text does not survive this tree's encoder ($tmp)"
            cp "$tmp/new.bin" "$f"
            moved=$((moved + 1))
        done
    done
    "$BUILD/noasan/replay" --op-tables >fuzz/op_tables.txt
    rm -rf "$tmp" "$old"
    log "corpus-migrate: $moved of $n corpus files re-encoded from $rev's meaning; fuzz/op_tables.txt updated"
}

# corpus-merge and work-minimise: the targets asked for (all by default), checked, and the
# fuzz build both merge with.
fuzz_merge_prepare() { # [TARGET...] -> the targets, one per line
    fuzz_targets_or_all "$@" || return 1
    cmd_deps >&2
    build_fuzz >&2 || { log "build.sh: fuzz build failed"; return 1; }
}

# Fold a work corpus back into corpus/<target>: only inputs that add coverage are copied.
cmd_corpus_merge() {
    local root="$WORK_DIR/fuzz" t named
    named="$(fuzz_merge_prepare "$@")" || exit 1
    for t in $named; do
        local dirs=()
        [ -d "$root/$t/corpus" ] && dirs+=("$root/$t/corpus")
        [ -d "$root/$t/afl/main/queue" ] && dirs+=("$root/$t/afl/main/queue")
        [ ${#dirs[@]} -gt 0 ] || { log "corpus-merge: no work corpus for $t"; continue; }
        local n0; n0="$(ls "corpus/$t" | wc -l)"
        "$BUILD/fuzz/fuzz_$t" -merge=1 -max_len=65536 "corpus/$t" "${dirs[@]}" >"$root/$t/merge.log" 2>&1 ||
            die "merge failed for $t (see $root/$t/merge.log)"
        log "corpus-merge $t: $n0 -> $(ls "corpus/$t" | wc -l) files"
    done
}

# Minimise each work corpus in place: libFuzzer -merge=1 into an empty directory keeps the inputs
# that add coverage. A work dir that only grows ends up with a short run spending its whole time
# replaying it (fuzz_note_unmutated). It takes the work dir's lock as fuzz_one does: a target whose
# campaign is running is left alone (its corpus would be swapped under it) and the command fails.
cmd_work_minimise() {
    local root="$WORK_DIR/fuzz" t named busy=0
    named="$(fuzz_merge_prepare "$@")" || exit 1
    for t in $named; do
        local work="$root/$t/corpus" n0 lockfd
        [ -d "$work" ] || { log "work-minimise: no work corpus for $t"; continue; }
        if ! work_dir_trylock "$root/$t"; then
            log "work-minimise $t: $root/$t is in use by a ./build.sh fuzz; not minimised"
            busy=$((busy + 1)); continue
        fi
        lockfd=$LOCK_FD
        n0="$(ls "$work" | wc -l)"
        rm -rf "$work.min" "$work.old" && mkdir -p "$work.min"
        "$BUILD/fuzz/fuzz_$t" -merge=1 -max_len=65536 "$work.min" "$work" >"$root/$t/minimise.log" 2>&1 ||
            { rm -rf "$work.min"; die "work-minimise: merge failed for $t (see $root/$t/minimise.log)"; }
        mv "$work" "$work.old" && mv "$work.min" "$work" && rm -rf "$work.old"
        exec {lockfd}>&-
        log "work-minimise $t: $n0 -> $(ls "$work" | wc -l) files"
    done
    [ "$busy" -eq 0 ] || die "work-minimise: $busy target(s) busy; run it again when their campaigns end"
}

cmd_repro() {
    local target="" kernel="" hard=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --target) target="$2"; shift 2 ;;
            --kernel) kernel=1; shift ;;
            --hardened) kernel=1; hard=1; shift ;;
            *) break ;;
        esac
    done
    [ $# -ge 1 ] || die "usage: ./build.sh repro [--target T] [--kernel [--hardened]] FILE"
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
    if target_no_asan "$target"; then build_hosted noasan >&2; else build_hosted asan >&2; fi ||
        die "build failed"
    echo "== $f (target $target) as ops:"
    "$(replay_bin "$target")" --decode --target "$target" "$f"
    [ -n "$kernel" ] && { repro_kernel "$target" "$f" "$hard"; return; }
    echo "== replay under $(target_no_asan "$target" && echo UBSan || echo ASan+UBSan):"
    local rep rc=0
    rep="$(mktemp)"
    triage_replay "$target" "$f" >"$rep" || rc=$?
    cat "$rep"
    if [ "$rc" -eq 0 ]; then
        rm -f "$rep"
        echo "REPRO status=clean target=$target file=$f"
        return 0
    fi
    echo "REPRO status=crash target=$target signature=$(triage_signature_of "$rep" || echo unknown) file=$f"
    rm -f "$rep"
    return 1
}

# repro --kernel: the same input replayed inside the kernel under QEMU (real MMU, kernel
# sanitizers with --hardened), every op traced; the kernel's DIGEST line is compared with the
# hosted replay's.
repro_kernel() { # TARGET FILE HARDENED
    local dir rc=0 hd kd kind=normal
    [ -n "$3" ] && kind=hardened
    dir="$(mktemp -d)"
    mkdir -p "$dir/corpus/$1"
    cp "$2" "$dir/corpus/$1/$(basename "$2")"
    kernel_corpus_pack "$dir/repro.pack" "$dir/corpus" 2>/dev/null || die "repro: cannot pack $2"
    echo "== replay inside the ${3:+hardened }kernel under QEMU:"
    cmd_qemu ${3:+--hardened} --pack "$dir/repro.pack" --timeout 300 --log "$dir/serial.log" \
        -- -append "filter=corpus trace verbose check_every=1" || rc=$?
    hd="$("$(replay_bin "$1")" --digest "$dir/corpus/$1" 2>/dev/null | grep '^DIGEST' || true)"
    kd="$(tr -d '\r' <"$dir/serial.log" | grep '^DIGEST' || true)"
    echo "hosted: ${hd:-none}"
    echo "kernel: ${kd:-none}"
    rm -rf "$dir"
    if [ "$rc" -eq 0 ] && [ "$hd" = "$kd" ]; then
        echo "REPRO status=clean target=$1 kernel=$kind file=$2"
        return 0
    fi
    echo "REPRO status=crash target=$1 kernel=$kind digests=$([ "$hd" = "$kd" ] && echo same || echo differ) file=$2"
    return 1
}

# ---------------------------------------------------------------- triage
# Signatures, the op-level minimiser and the crash groups live in fuzz/triage_tool.c (its head
# comment says how each works); these are the front door's calls into it.

TRIAGE_RUNS="${MM_TRIAGE_RUNS:-5}"                # replays per crash for the reproduce rate
TRIAGE_MIN_SECONDS="${MM_TRIAGE_MIN_SECONDS:-60}" # minimisation budget per crash (it stops early)

# triage_tool ARGS... : build the tool when its source is newer, run it with every target's
# replay program (the configuration the target runs in).
triage_tool() {
    local bin="$BUILD/triage/triage_tool" t args=()
    mk tools >&2 || die "triage tool build failed"
    for t in $(fuzz_targets); do args+=(--replay "$t=$(replay_bin "$t")"); done
    "$bin" "${args[@]}" --seconds "$TRIAGE_MIN_SECONDS" "$@"
}

# Replay one input for triage: symbolized stacks, sanitizers stop at the first error, the full
# invariant check after every op.
triage_replay() { # TARGET FILE -> output on stdout, status of the replay
    FUZZ_CHECK_EVERY_OP=1 \
    ASAN_OPTIONS="handle_abort=1:symbolize=1:detect_leaks=0:allocator_may_return_null=1" \
    UBSAN_OPTIONS="print_stacktrace=1:handle_abort=1:symbolize=1:halt_on_error=1" \
    ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer || true)" \
        "$(replay_bin "$1")" --target "$1" --no-fork "$2" 2>&1
}

# Signature of a replay report (crash type + top three frames that are not reporting helpers).
triage_signature_of() { # REPORTFILE [type] -> signature (or just the crash type), or status 1
    triage_tool signature ${2:+--type} "$1"
}

# ./build.sh triage [DIR]: every crash file under DIR (default: the fuzz work dir) into
# signature groups under ~/.cache/leaxos-mm/crashes/ (or $MM_CRASH_DIR).
# ./build.sh triage --check-minimal GROUPDIR: replay the group's input.min without each op in
# turn; succeeds only if every removal loses the group's signature.
cmd_triage() {
    local out="${MM_CRASH_DIR:-$WORK_DIR/crashes${VARIANT:+-$VARIANT}}"
    cmd_deps
    { build_hosted asan && build_hosted noasan; } >&2 || die "build failed"
    if [ "${1:-}" = --check-minimal ]; then
        local g="${2:?usage: ./build.sh triage --check-minimal GROUPDIR}"
        [ -f "$g/input.min" ] && [ -f "$g/target" ] || die "triage: $g is not a crash group"
        triage_tool check-minimal "$(cat "$g/target")" "$g/input.min" "$(basename "$g")"
        return
    fi
    mkdir -p "$out"
    triage_tool triage --out "$out" --runs "$TRIAGE_RUNS" --root "$ROOT" \
        --repro-prefix "${VARIANT:+MM_VARIANT=$VARIANT }" "${1:-$WORK_DIR/fuzz}"
}

# ---------------------------------------------------------------- OSS-Fuzz / ClusterFuzzLite

# Build as an OSS-Fuzz project build script: the image's compiler, flags and fuzzing engine.
cmd_oss_fuzz() {
    : "${OUT:?oss-fuzz mode needs OUT}" "${LIB_FUZZING_ENGINE:?oss-fuzz mode needs LIB_FUZZING_ENGINE}"
    local work="${WORK:-$BUILD/oss-fuzz}/leaxos-mm" t targets=()
    log "oss-fuzz: CC=${CC:-clang} SANITIZER=${SANITIZER:-?} engine=$LIB_FUZZING_ENGINE OUT=$OUT"
    for t in $(fuzz_targets); do
        if target_no_asan "$t" && [ "${SANITIZER:-address}" != undefined ] && [ "${SANITIZER:-}" != coverage ]; then
            log "oss-fuzz: $t checks the mm's own hardening; built only with SANITIZER=undefined"
            continue
        fi
        targets+=("$t")
    done
    CC="${CC:-clang}" CXX="${CXX:-clang++}" CFLAGS="${CFLAGS:-}" CXXFLAGS="${CXXFLAGS:-}" \
        mk oss-fuzz OSS_OUT="$OUT" OSS_WORK="$work" TARGETS="${targets[*]}" ||
        die "oss-fuzz build failed"
    for t in "${targets[@]}"; do
        rm -f "$OUT/${t}_seed_corpus.zip"
        (cd "corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
        [ -f "fuzz/$t.dict" ] && cp "fuzz/$t.dict" "$OUT/$t.dict"
        [ -f "fuzz/$t.options" ] && cp "fuzz/$t.options" "$OUT/$t.options"
        log "oss-fuzz: $OUT/$t"
    done
}

# ---------------------------------------------------------------- coverage

# Replay the checked-in corpus (and the unit tests) under clang source-based coverage.
cmd_cov() {
    cmd_deps
    local out="$BUILD/cov"
    mk cov || die "coverage build failed"
    rm -rf "$out/prof" && mkdir -p "$out/prof"
    local t files
    for t in $(fuzz_targets); do
        files=(corpus/"$t"/*)
        [ -f "${files[0]}" ] || continue
        LLVM_PROFILE_FILE="$out/prof/$t-%p.profraw" "$out/replay" --no-fork --target "$t" "${files[@]}" \
            >/dev/null 2>&1 || log "cov: some $t corpus inputs fail (see ./build.sh corpus)"
    done
    llvm-profdata merge -sparse "$out"/prof/*.profraw -o "$out/corpus.profdata"
    log "== line and branch coverage of mm/ by the checked-in corpus"
    llvm-cov report "$out/replay" -instr-profile="$out/corpus.profdata" $(mm_sources) |
        sed 's|^'"$ROOT"'/||'
    llvm-cov show "$out/replay" -instr-profile="$out/corpus.profdata" -format=html \
        -output-dir="$out/html" $(mm_sources) >/dev/null
    local total
    total="$(llvm-cov report "$out/replay" -instr-profile="$out/corpus.profdata" $(mm_sources) |
        awk '/^TOTAL/ {print $10}')"
    echo "COV scope=mm corpus_line_coverage=$total html=$out/html/index.html"
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

run_regress() { # every regression program built for asan / noasan
    local b
    for b in "$BUILD"/asan/regress/* "$BUILD"/noasan/regress/*; do
        [ -x "$b" ] || continue
        if "$b" >"$BUILD/regress.out" 2>&1; then PASS=$((PASS + 1)); else
            FAIL=$((FAIL + 1)); log "FAILED: regression $(basename "$b")"; tail -5 "$BUILD/regress.out" >&2
        fi
    done
}

# planted_find TAG VARIANT TARGET TMP GLOB [VAR=VALUE...] : fuzz TARGET of build variant VARIANT
# from an empty corpus for at most 120 s (the VAR=VALUE settings in its environment), expect a
# crash, and print the triaged group's directory (TMP/crashes/GLOB).
planted_find() {
    local tag="$1" variant="$2" t="$3" tmp="$4" glob="$5" rc=0 g
    shift 5
    env "$@" MM_VARIANT="$variant" MM_CRASH_DIR="$tmp/crashes" \
        ./build.sh fuzz --no-seeds --time 120 --work "$tmp/work" "$t" >"$tmp/fuzz.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] || { log "$tag: fuzzing did not find the planted bug"; return 1; }
    grep -q "^FUZZ target=$t engine=libfuzzer .* crashes=[1-9]" "$tmp/fuzz.log" ||
        { log "$tag: no FUZZ line with a crash"; tail -20 "$tmp/fuzz.log" >&2; return 1; }
    g="$(ls -d "$tmp"/crashes/$glob 2>/dev/null | head -1)"
    [ -n "$g" ] || { log "$tag: no crash group with signature $glob"; ls "$tmp/crashes" >&2; return 1; }
    echo "$g"
}

# planted_repro TAG TARGET GROUP TMP : the group's repro.sh reproduces its signature, and the real
# mm passes its minimised input.
planted_repro() {
    local tag="$1" t="$2" g="$3" tmp="$4" rc=0 sig
    sig="$(basename "$g")"
    "$g/repro.sh" >"$tmp/repro.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && grep -q "^REPRO status=crash .*signature=$sig " "$tmp/repro.log" ||
        { log "$tag: repro.sh did not reproduce $sig"; tail -5 "$tmp/repro.log" >&2; return 1; }
    ./build.sh repro --target "$t" "$g/input.min" >"$tmp/clean.log" 2>&1 ||
        { log "$tag: the input also crashes the real mm"; tail -5 "$tmp/clean.log" >&2; return 1; }
}

# The workflow itself, end to end, on a planted bug: fuzz a variant with a deliberate defect from
# an empty corpus until it crashes, triage it, and check what comes out.
test_planted_workflow() {
    local tmp sig g rc=0 line
    tmp="$(mktemp -d)"
    # the FUZZ line counts a crash this run re-found (its artifact existed already) as found, not new
    mkdir -p "$tmp/refound/crashes" && : >"$tmp/refound/crashes/crash-0"
    echo "artifact_prefix='$tmp/refound/crashes/'; Test unit written to $tmp/refound/crashes/crash-0" \
        >"$tmp/refound/libfuzzer.log"
    line="$(fuzz_report page_alloc libfuzzer "$tmp/refound" 1 0 0 0 2>/dev/null)" && rc=1
    case "$line" in *" crashes=1 new=0") ;; *) rc=1 ;; esac
    [ "$rc" -eq 0 ] || { log "planted: FUZZ line for a re-found crash: '$line'"; return 1; }
    g="$(planted_find planted planted page_alloc "$tmp" 'invariant-buddy.unmerged-*' \
        MM_TRIAGE_MIN_SECONDS=30 MM_TRIAGE_RUNS=3)" || return 1
    sig="$(basename "$g")"
    local f
    for f in input.min input.orig ops.txt report.txt repro.sh regress_test.c repro-rate events.txt; do
        [ -s "$g/$f" ] || { log "planted: $sig lacks $f"; return 1; }
    done
    [ "$(stat -c %s "$g/input.min")" -le "$(stat -c %s "$g/input.orig")" ] || { log "planted: minimised input grew"; return 1; }
    grep -qE '^[1-9][0-9]*/3$' "$g/repro-rate" || { log "planted: reproduce rate $(cat "$g/repro-rate")"; return 1; }
    grep -q ' cpu1 page_free pfn=' "$g/events.txt" ||
        { log "planted: events.txt lacks a page free on CPU 1, where the merge is skipped"; return 1; }
    build_hosted noasan >&2 || return 1
    "$BUILD/noasan/postmortem" --no-svg "$g/dump.bin" >"$tmp/pm.out" 2>&1 || true # 1: broken
    grep -q '^CHECK FAILED invariant=buddy.unmerged ' "$tmp/pm.out" ||
        { log "planted: the group's dump.bin does not show buddy.unmerged to the post-mortem tool"; return 1; }
    # 1-minimal: replayed without any one of its ops, the input loses the signature
    MM_VARIANT=planted ./build.sh triage --check-minimal "$g" >"$tmp/minimal.log" 2>&1 &&
        grep -q '^MINIMAL status=yes ' "$tmp/minimal.log" ||
        { log "planted: input.min is not 1-minimal"; tail -5 "$tmp/minimal.log" >&2; return 1; }
    planted_repro planted page_alloc "$g" "$tmp" || return 1
    log "planted: found, triaged as $sig ($(stat -c %s "$g/input.orig") -> $(stat -c %s "$g/input.min") bytes, $(cat "$g/minimise.txt" 2>/dev/null), rate $(cat "$g/repro-rate")), 1-minimal, reproduced"
    rm -rf "$tmp"
}

# The same workflow on the planted race (MM_VARIANT=planted-smp: the slab lock dropped inside a
# refill): target smp from an empty corpus finds it, triage groups it, repro reproduces it on every
# replay and the real mm passes the input. Whole-length inputs of at most 64 records, so the
# dictionary's scenario templates fit from the first input; 120 s at most. Not in cmd_test: in 8
# runs it found the race 6 times, after 270 to 13,415 inputs (10-49 s in all with the variant
# built, 106 s with its cold build), and twice not within 120 s (fuzz/README.md "Planted race");
# a fixed -seed does not fix the search (the CPU threads' waits give varying coverage).
test_planted_smp_workflow() {
    local tmp g sig f t0=$SECONDS
    tmp="$(mktemp -d)"
    g="$(planted_find planted-smp planted-smp smp "$tmp" 'harness-teardown-smp_vfail-smp_teardown-*' \
        MM_TRIAGE_MIN_SECONDS=20 MM_TRIAGE_RUNS=5 FUZZ_ARGS="-len_control=0 -max_len=520")" || return 1
    sig="$(basename "$g")"
    for f in input.min input.orig ops.txt report.txt repro.sh repro-rate; do
        [ -s "$g/$f" ] || { log "planted-smp: $sig lacks $f"; return 1; }
    done
    grep -q 'destroying the shared cache: EBUSY' "$g/report.txt" ||
        { log "planted-smp: the report is not the lost object's EBUSY"; head -5 "$g/report.txt" >&2; return 1; }
    grep -qE '^5/5$' "$g/repro-rate" || { log "planted-smp: reproduce rate $(cat "$g/repro-rate"), not every time"; return 1; }
    planted_repro planted-smp smp "$g" "$tmp" || return 1
    log "planted-smp: found after $(grep -o 'execs=[0-9]*' "$tmp/fuzz.log" | head -1), triaged as $sig ($(cat "$g/minimise.txt" 2>/dev/null), rate $(cat "$g/repro-rate")), reproduced; $((SECONDS - t0)) s with the variant's build"
    rm -rf "$tmp"
}

# The tables the corpus was written for (fuzz/op_tables.txt) are this tree's: an op appended to a
# target's table would silently give its inputs other meanings (op byte % table size).
check_op_tables() {
    if "$BUILD/noasan/replay" --op-tables | diff -u fuzz/op_tables.txt - >"$BUILD/op_tables.diff"; then
        PASS=$((PASS + 1))
    else
        FAIL=$((FAIL + 1))
        log "FAILED: the op tables differ from fuzz/op_tables.txt, so corpus inputs decode to other ops:"
        head -12 "$BUILD/op_tables.diff" >&2
        log "  re-encode the corpus with ./build.sh corpus-migrate REV (REV: the last commit with the old tables)"
    fi
}

# The planted race in every test run, without a fuzz campaign: fuzz/planted/smp_refill_race.txt is
# the text form of the input the smp target found on MM_VARIANT=planted-smp (its head says how).
# The scheduled machine makes its interleaving a function of the input, so the planted build must
# report the lost object (destroying the shared cache: EBUSY) on every replay, and the real mm must
# pass it. Builds only the variant's noasan replay (about 15 s of CPU).
PLANTED_SMP_INPUT=fuzz/planted/smp_refill_race.txt
test_planted_smp_replay() {
    local tmp i rc=0 planted="$ROOT/build-planted-smp/noasan/replay"
    tmp="$(mktemp -d)"
    MM_VARIANT=planted-smp "$ROOT/build.sh" hosted noasan build-planted-smp/noasan/replay >&2 ||
        { log "planted-smp replay: the variant's replay did not build"; return 1; }
    "$(replay_bin smp)" --encode --target smp "$PLANTED_SMP_INPUT" "$tmp/input" >&2 || return 1
    for i in 1 2 3; do
        if ("$planted" --target smp "$tmp/input"; exit $?) >"$tmp/planted.log" 2>&1; then
            log "planted-smp replay: the planted build passed $PLANTED_SMP_INPUT (replay $i)"; rc=1; break
        fi
        grep -q 'destroying the shared cache: EBUSY' "$tmp/planted.log" ||
            { log "planted-smp replay: replay $i failed, but not with the lost object's EBUSY"
              tail -5 "$tmp/planted.log" >&2; rc=1; break; }
    done
    "$(replay_bin smp)" --target smp "$tmp/input" >"$tmp/real.log" 2>&1 ||
        { log "planted-smp replay: the real mm fails $PLANTED_SMP_INPUT"; tail -5 "$tmp/real.log" >&2; rc=1; }
    [ "$rc" -ne 0 ] || log "planted-smp replay: the planted build lost the object 3/3, the real mm passed"
    rm -rf "$tmp"
    return "$rc"
}

run_corpus() { # every checked-in corpus file of every target, one check each
    local t f
    check_op_tables
    for t in $(fuzz_targets); do
        for f in corpus/"$t"/*; do
            [ -f "$f" ] || continue
            if "$(replay_bin "$t")" --target "$t" "$f" >/dev/null 2>"$BUILD/replay.err"; then
                PASS=$((PASS + 1))
            else
                FAIL=$((FAIL + 1)); log "FAILED: corpus replay $f"; tail -5 "$BUILD/replay.err" >&2
            fi
        done
    done
    log "corpus replay done"
}

# Mutants per corpus file the normal kernel also replays (fuzz/mutate.h): hosted and kernel are
# compared on inputs nobody checked in, too.
KERNEL_TEST_MUTANTS="${MM_KERNEL_MUTANTS:-2}"
# CPUs of the kernel test boots (normal and hardened): the single-CPU suites and the corpus run
# on CPU 0 as with one CPU, then suite smp runs on all of them (MM_KERNEL_SMP=1 skips it).
KERNEL_TEST_SMP="${MM_KERNEL_SMP:-4}"

# The DIGEST lines the hosted build gives for the pack with K mutants (the kernel's own replay
# code, run hosted without ASan as the normal kernel runs without KASAN).
hosted_pack_digests() { # PACK K OUT
    "$BUILD/noasan/replay" --mutants "$2" --pack "$1" 2>&1 | grep '^DIGEST ' >"$3"
    [ "${PIPESTATUS[0]}" -eq 0 ]
}

# The test boots run at once when the host has more than one core (MM_KERNEL_PARALLEL=0: one
# after the other): each replays its corpus on one vCPU, so two boots fill two host cores.
KERNEL_TEST_PARALLEL="${MM_KERNEL_PARALLEL:-$([ "$JOBS" -gt 1 ] && echo 1 || echo 0)}"

# kernel_boot_log [--hardened] : the serial log of a test boot
kernel_boot_log() { echo "$BUILD/kernel${1:+-hardened}/serial.log"; }

# kernel_boot_start [--hardened] : start a test boot in the background (its pid in BOOT_PID) on
# the pack kernel_boots_prepare made; the normal kernel also replays KERNEL_TEST_MUTANTS variants
# of every corpus file
kernel_boot_start() {
    local logf; logf="$(kernel_boot_log "${1:-}")"
    mkdir -p "$(dirname "$logf")"; rm -f "$logf"
    local append=()
    [ -z "${1:-}" ] && [ "$KERNEL_TEST_MUTANTS" -gt 0 ] && append=(-- -append "mutants=$KERNEL_TEST_MUTANTS")
    cmd_qemu ${1:-} --smp "$KERNEL_TEST_SMP" --log "$logf" --pack "$BUILD/kernel/corpus.pack" \
        "${append[@]}" >/dev/null &
    BOOT_PID=$!
}

# kernel_boot_finish [--hardened] PID : wait for the boot, count its test cases, compare its
# corpus digests with the hosted ones
kernel_boot_finish() {
    local hard="${1:-}" pid="$2" name="kernel${1:+ (hardened)}" logf rc=0 want="$BUILD/digests.hosted"
    logf="$(kernel_boot_log "$hard")"
    wait "$pid" || rc=$?
    [ -z "$hard" ] && [ "$KERNEL_TEST_MUTANTS" -gt 0 ] && want="$BUILD/digests.hosted-mutants"
    local line p f
    line="$(tr -d '\r' <"$logf" 2>/dev/null | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)"
    if [ -z "$line" ]; then
        FAIL=$((FAIL + 1)); log "FAILED: the $name printed no summary (status $rc); last lines:"
        tail -40 "$logf" >&2 2>/dev/null || true
        return
    fi
    p="${line%% passed*}"; f="${line#*passed, }"; f="${f%% failed*}"
    PASS=$((PASS + p)); FAIL=$((FAIL + f))
    log "$name: $line"
    if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
        grep -E '^ *not ok|KERNEL CRASH|KASAN|UBSAN|PANIC' "$logf" | head -40 >&2 || true
        [ "$f" -eq 0 ] && { FAIL=$((FAIL + 1)); log "FAILED: the $name exited with status $rc"; }
    fi
    step "$name corpus digests == hosted digests" digest_compare "$want" "$logf"
}

# The corpus pack both boots read, and the hosted digests of the corpus with its mutants.
kernel_boots_prepare() {
    kernel_corpus_pack "$BUILD/kernel/corpus.pack" || return 1
    [ "$KERNEL_TEST_MUTANTS" -gt 0 ] || return 0
    step "hosted digests of the corpus + $KERNEL_TEST_MUTANTS mutants per file" \
        hosted_pack_digests "$BUILD/kernel/corpus.pack" "$KERNEL_TEST_MUTANTS" "$BUILD/digests.hosted-mutants"
}

# run_kernel_boots : the normal and the hardened kernel's test boots (at once, or one after the
# other), each counted and its digests compared
run_kernel_boots() {
    local pid_n pid_h
    log "== boot the kernel and the hardened kernel under QEMU (TCG)$([ "$KERNEL_TEST_PARALLEL" = 1 ] && echo ", at once")"
    kernel_boots_prepare || { FAIL=$((FAIL + 1)); log "FAILED: corpus pack"; return; }
    kernel_boot_start; pid_n=$BOOT_PID
    if [ "$KERNEL_TEST_PARALLEL" = 1 ]; then
        kernel_boot_start --hardened; pid_h=$BOOT_PID
        kernel_boot_finish "" "$pid_n"
        kernel_boot_finish --hardened "$pid_h"
    else
        kernel_boot_finish "" "$pid_n"
        kernel_boot_start --hardened; kernel_boot_finish --hardened "$BOOT_PID"
    fi
}

# The planted missing TLB shootdown (smp_break=shootdown) must fail suite smp's shootdown case
# with the stale read it causes.
kernel_smp_planted() {
    local logf="$BUILD/kernel/smp-planted.log"
    if cmd_qemu --smp 2 --no-corpus --timeout 60 --log "$logf" -- \
        -append "filter=shootdown smp_break=shootdown" >/dev/null 2>&1; then
        log "smp_break=shootdown: the kernel exited with the pass status"; return 1
    fi
    grep -qE 'not ok 1 shootdown' "$logf" && grep -qE 'CPU 1 read 0x[0-9a-f]+ through its old translation' "$logf" ||
        { log "smp_break=shootdown: no stale read reported"; tail -20 "$logf" >&2; return 1; }
}

# A 2-node machine (QEMU -numa, SRAT + asymmetric SLIT): the kernel reads the topology, boots its
# mm instance on it and passes suite numa (a second or so).
kernel_numa_boot() {
    local logf="$BUILD/kernel/numa.log"
    cmd_qemu --numa 2 --smp 2 --no-corpus --timeout 60 --log "$logf" -- -append "filter=numa" \
        >/dev/null 2>&1 || { log "numa boot: the kernel failed"; tail -20 "$logf" >&2; return 1; }
    grep -q 'numa: SRAT 2 nodes, SLIT found, topology used' "$logf" &&
        grep -q 'numa: node 1 from 0x20000000, distances 31 10' "$logf" &&
        grep -q 'boot mm instance has 2 NUMA nodes' "$logf" ||
        { log "numa boot: topology not read from SRAT/SLIT"; grep numa: "$logf" >&2; return 1; }
}

# pm_expect LOG PATTERN... : every pattern matches a line of the post-mortem tool's output LOG
pm_expect() {
    local out="$1" p; shift
    for p in "$@"; do
        grep -qE -- "$p" "$out" || { log "postmortem: no line matches '$p' in $out"; head -40 "$out" >&2; return 1; }
    done
}

# The post-mortem tool on hosted dumps: a replay of a planted corruption (the planted variant's
# skipped buddy merge, tests/postmortem/) crashes and dumps; the tool names the invariant, prints
# buddyinfo, slabinfo, the address spaces, the leak scan and the trace, resolves the broken page's
# address and writes the SVG. A clean corpus input's dump passes mm_check (exit status 0).
test_postmortem_hosted() {
    local tmp pm="$BUILD/noasan/postmortem" rb="$ROOT/build-planted/asan/replay" dm pfn rc=0
    tmp="$(mktemp -d)"
    build_hosted noasan && build_hosted asan && MM_VARIANT=planted "$ROOT/build.sh" hosted asan >&2 || return 1
    "$rb" --target page_alloc --encode tests/postmortem/planted-buddy-unmerged.txt "$tmp/in.bin" || return 1
    "$rb" --target page_alloc --trace-classes all --dump "$tmp/crash.dump" "$tmp/in.bin" >"$tmp/replay.log" 2>&1 && rc=1
    [ "$rc" -eq 0 ] && grep -q '^DUMP .* why=crash rc=0' "$tmp/replay.log" ||
        { log "postmortem: the planted replay did not crash and dump"; tail -5 "$tmp/replay.log" >&2; return 1; }
    "$pm" --svg "$tmp/map.svg" "$tmp/crash.dump" >"$tmp/pm.out" 2>&1 && rc=1
    [ "$rc" -eq 0 ] || { log "postmortem: exit status 0 on a corrupt dump"; return 1; }
    # the unmerged pair is 0x340/0x348 (the planted skip at their free); either one may be named
    pm_expect "$tmp/pm.out" \
        '^CHECK FAILED invariant=buddy.unmerged pfn=0x34[08]: order-3 blocks at 0x348 and buddy 0x340 both free' 'zone +Normal' \
        'unusable index' '^kmem_cache +[0-9]+' '^ADDRESS-SPACES count=0' '^LEAKS objects=[0-9]+' \
        'trace: cpu1, last [0-9]+ events' ' cpu1 page_free pfn=0x340 order=3' || return 1
    dm="$(sed -n 's/^DUMP .* direct_map=\(0x[0-9a-f]*\).*/\1/p' "$tmp/pm.out")"
    "$pm" --no-svg --addr "$(printf '0x%x' $(( dm + 0x340 * 4096 + 8 )))" "$tmp/crash.dump" >"$tmp/addr.out" 2>&1 || true # 1: broken
    pm_expect "$tmp/addr.out" '^ADDR 0x[0-9a-f]+: free page pfn=0x340 block=0x[0-9a-f]+ order=3' || return 1
    grep -c '<rect' "$tmp/map.svg" | grep -qv '^0$' && grep -q 'free by block order\|free memory by block order' "$tmp/map.svg" ||
        { log "postmortem: no SVG map"; return 1; }
    "$BUILD/asan/replay" --target vm --dump "$tmp/clean.dump" corpus/vm/regress-mprotect-prot-none-present >/dev/null 2>&1 &&
        "$pm" --no-svg "$tmp/clean.dump" >"$tmp/clean.out" 2>&1 ||
        { log "postmortem: a clean vm dump fails"; head -5 "$tmp/clean.out" >&2; return 1; }
    pm_expect "$tmp/clean.out" '^CHECK ok' '^address space id=1 ' '^LEAKS objects=[0-9]+ reached=[0-9]+ leaks=0 ' || return 1
    rm -rf "$tmp"
}

# The kernel writes its dump over the serial line at a crash (pmdump); one boot with a planted
# corruption (crash=mm-corrupt: an allocated page marked free) and a boot-time trace mask: the
# post-mortem shows the mask, the tool reads the log, names the invariant, and resolves the
# kmalloc object the demo printed; its leak scan reaches that object through the vmalloc area
# that holds it (the area's pages are read through the dumped direct map).
test_postmortem_kernel() {
    local logf="$BUILD/kernel/crash-mm-corrupt.log" out="$BUILD/kernel/crash-mm-corrupt.pm" obj
    if cmd_qemu --no-corpus --timeout 60 --log "$logf" -- \
        -append "crash=mm-corrupt pmdump trace=page_alloc,page_free,slab_alloc" >/dev/null 2>&1; then
        log "crash=mm-corrupt: the kernel exited with the pass status"; return 1
    fi
    grep -q '^trace: mask 0x7, ' "$logf" && grep -q '^MM-DUMP END bytes=[0-9]* rc=0' "$logf" ||
        { log "crash=mm-corrupt: no trace mask 0x7 or no complete MM-DUMP"; tail -5 "$logf" >&2; return 1; }
    obj="$(sed -n 's/.*marked free while allocated, kmalloc object \(0x[0-9a-f]*\).*/\1/p' "$logf" | tr -d '\r')"
    [ -n "$obj" ] || { log "crash=mm-corrupt: no object address in the log"; return 1; }
    "$BUILD/noasan/postmortem" --no-svg --addr "$obj" "$logf" >"$out" 2>&1 || true # 1: broken
    pm_expect "$out" '^DUMP .* why="kernel crash" ' '^CHECK FAILED invariant=page.stray ' 'zone +Normal' \
        '^kmalloc-128 +1 ' '^trace: mask 0x7,' "^ADDR $obj: slab .*cache=kmalloc-128 object=$obj .*state=allocated" \
        '^LEAKS objects=[0-9]+ reached=[0-9]+ leaks=1 ' '^LEAK leak.pages ' || return 1
    # the object is held only by a vmalloc area (not-a-leak): the offline scan read the area's pages
    ! grep -q "^LEAK .*addr=$obj " "$out" || { log "crash=mm-corrupt: the vmalloc area's contents were not scanned"; return 1; }
    ! sed -n '/^---- trace/,$p' "$out" | grep -qE ' cpu[0-9]+ (fault|mmap|vmalloc|vfree|misuse) ' ||
        { log "crash=mm-corrupt: events of a class trace= did not enable"; return 1; }
}

# A kernel-side mm_check failure the boot survives (crash=mm-check, one corpus file as the pack):
# the planted damage (an allocated page marked free after op 1) fails the input through its
# target's own mm_check; with pmdump that failure writes the dump, and the test case's KT_MM_CHECK
# failure after it says the boot's one dump is taken; both are reported as always. The tool reads
# the dump from the log, names page.stray at the planted page and shows the trace the boot asked for.
test_postmortem_kernel_check() {
    local d="$BUILD/kernel/mm-check" logf="$BUILD/kernel/crash-mm-check.log" out="$BUILD/kernel/crash-mm-check.pm" inv pfn
    rm -rf "$d" && mkdir -p "$d/corpus/page_alloc" && cp corpus/page_alloc/all_orders "$d/corpus/page_alloc/" &&
        kernel_corpus_pack "$d/pack" "$d/corpus" 2>/dev/null || return 1
    if cmd_qemu --pack "$d/pack" --timeout 60 --log "$logf" -- \
        -append "crash=mm-check pmdump trace=page_alloc,page_free" >/dev/null 2>&1; then
        log "crash=mm-check: the kernel exited with the pass status"; return 1
    fi
    pm_expect "$logf" '^FUZZ-FAIL invariant=[a-z.]+ pfn=[0-9]+ op#1 ' '^DIGEST page_alloc page_alloc/all_orders failed' \
        'not ok 1 - corpus/page_alloc' '^---- post-mortem dump: corpus page_alloc/all_orders ----' \
        '^MM-DUMP END bytes=[0-9]+ rc=0' '^MM-DUMP skipped \(one per boot\): test crash_check.mm_check_planted: page.stray' \
        'not ok 1 mm_check_planted' 'mm-check: corpus inputs failed 1, test cases failed 1' || return 1
    inv="$(sed -n 's/^FUZZ-FAIL invariant=\([a-z.]*\) pfn=\([0-9]*\) .*/\1 \2/p' "$logf" | head -1 | tr -d '\r')"
    pfn="$(printf '0x%x' "${inv#* }")"
    "$BUILD/noasan/postmortem" --no-svg "$logf" >"$out" 2>&1 || true # 1: broken
    pm_expect "$out" '^DUMP .* why="corpus page_alloc/all_orders" ' "^CHECK FAILED invariant=${inv% *} pfn=$pfn:" \
        '^trace: mask 0x3,' ' cpu[0-9]+ page_alloc pfn=' || return 1
}

# A deliberate kernel bug (crash.c) must fail the boot and leave a report with these lines.
kernel_crash_report() { # KIND HARDENED PATTERN...
    local kind="$1" hard="$2" logf="$BUILD/kernel/crash-$1.log" p
    shift 2
    if cmd_qemu ${hard:+--hardened} --no-corpus --timeout 60 --log "$logf" -- -append "crash=$kind" \
        >/dev/null 2>&1; then
        log "crash=$kind: the kernel exited with the pass status"; return 1
    fi
    for p in "$@"; do
        grep -qE -- "$p" "$logf" || { log "crash=$kind: no line matches '$p'"; tail -30 "$logf" >&2; return 1; }
    done
}

# run_kernel_tests : the kernel part of ./build.sh test (the hosted replay and noasan builds
# exist): both kernels, the two test boots with their digests, the planted shootdown, NUMA and
# the crash reports; ./build.sh kernel-test runs it alone
run_kernel_tests() {
    local t0=$SECONDS
    step "build kernel + freestanding symbol check" cmd_kernel
    step "symbol check rejects a libc reference" kernel_symbol_check_rejects_libc
    step "build hardened kernel (KASAN + UBSan)" cmd_kernel --hardened
    need_pkgs qemu-system-x86
    step "hosted corpus digests" hosted_digests "$BUILD/digests.hosted"
    run_kernel_boots
    step "kernel SMP: a missing TLB shootdown is caught (smp_break=shootdown, 2 CPUs)" kernel_smp_planted
    step "kernel NUMA: 2 nodes from SRAT/SLIT (qemu --numa 2), suite numa" kernel_numa_boot
    step "kernel crash report: vmalloc guard page" kernel_crash_report vmalloc-overflow "" \
        'KERNEL CRASH: #PF' 'buffer overflow' 'RIP: .*crash_vmalloc_overflow at .*crash.c:' \
        'post-mortem' 'zone +Normal' 'kmalloc-64' 'trace: cpu0, last [1-8] events' \
        '#[0-9]+ cpu0 vmalloc addr=0x[0-9a-f]+ size=0x1000 '
    step "kernel crash report: stack overflow" kernel_crash_report stack-overflow "" \
        'KERNEL CRASH: #DF' 'guard page under the boot stack: kernel stack overflow'
    step "kernel crash report: KASAN use-after-free" kernel_crash_report kasan-uaf 1 \
        'BUG: KASAN: slab-use-after-free in .*crash_kasan_uaf at .*crash.c:' 'cache kmalloc-64' \
        'Read of size 1'
    step "kernel crash report: UBSan shift" kernel_crash_report ubsan-shift 1 \
        'UBSAN: shift-out-of-bounds in arch/x86_64/kernel/crash.c' 'shift exponent 32'
    log "kernel tests time: $((SECONDS - t0))s"
}

cmd_test() {
    local smoke="${MM_SMOKE_FUZZ_SECONDS:-20}" start=$SECONDS
    cmd_deps
    step "door check (mm/ includes and flavour tests)" door_check
    step "layer check (mm/: init -> protection -> virtual -> heap -> physical -> core, checks beside)" mm/tools/layers.sh
    need_pkgs make
    step "make -C mm (mm/build/libmm.a) and make -C mm check (freestanding, symbols)" mm_make_check
    step "build graph: every source of the tree is in a list of build.mk / mm/sources.mk" \
        make -s --no-print-directory -f build.mk srccheck
    step "lint: clang-tidy over mm/ (.clang-tidy), zero findings" cmd_lint
    step "build hosted asan (clang)" build_hosted asan
    step "build hosted noasan (the mm's own hardening, no sanitizer shadow)" build_hosted noasan
    run_unit asan
    run_unit noasan
    run_corpus
    run_regress
    step "concurrent stress under ThreadSanitizer (4 CPUs, 100 rounds, 0 reports)" \
        run_stress --rounds 100 --seed 5
    step "build hosted gcc" build_hosted gcc
    run_unit gcc
    step "build release + bench" build_hosted release
    run_kernel_tests
    step "build fuzz targets" build_fuzz
    need_pkgs afl++
    step "build AFL++ targets (persistent + CmpLog)" build_afl $(smoke_afl_targets)
    local tmp t; tmp="$(mktemp -d)"
    export FUZZ_SEED="${FUZZ_SEED:-1}" # smoke runs mutate from a fixed seed: reproducible CI
    for t in $(fuzz_targets); do
        if target_short_smoke "$t"; then
            step "smoke fuzz $t with libFuzzer (5s, short smoke)" fuzz_one "$t" 5 "$tmp" libfuzzer
            continue
        fi
        step "smoke fuzz $t with libFuzzer (${smoke}s)" fuzz_one "$t" "$smoke" "$tmp" libfuzzer
        step "smoke fuzz $t with AFL++ (10s)" fuzz_one "$t" 10 "$tmp" afl
    done
    smoke_keep_crashes "$tmp"
    rm -rf "$tmp"
    unset FUZZ_SEED
    step "one run per fuzz work dir: a second run works beside it, work-minimise waits" test_work_dir_lock
    step "fuzz -> triage -> repro workflow on a planted bug" test_planted_workflow
    step "the planted race: its checked-in schedule fails the planted-smp build, passes the real mm" \
        test_planted_smp_replay
    step "known blind spots stay closed: every mutant of fuzz/mutants/known.txt is killed" \
        cmd_mutants --list fuzz/mutants/known.txt --time 10
    need_pkgs python3-yaml zip unzip
    step "OSS-Fuzz / ClusterFuzzLite: YAML, build per sanitizer, seed corpora" fuzz/oss-fuzz/check.sh
    step "post-mortem tool on hosted dumps (planted corruption, clean input)" test_postmortem_hosted
    step "post-mortem tool on a kernel dump over serial (crash=mm-corrupt pmdump trace=...)" test_postmortem_kernel
    step "post-mortem tool on a kernel mm_check failure's dump (crash=mm-check pmdump, one corpus file)" test_postmortem_kernel_check
    log "test time: $((SECONDS - start))s"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}

# One run per work dir (fuzz_one, cmd_work_minimise): while another process holds a target's work
# dir lock, a fuzz run works in a sibling and folds its inputs back, and work-minimise refuses.
test_work_dir_lock() {
    local tmp lockfd n rc=0 t=misuse
    tmp="$(mktemp -d)" && mkdir -p "$tmp/fuzz/$t"
    # held as a campaign holds it: the runs below open the file anew, which conflicts
    work_dir_trylock "$tmp/fuzz/$t" || { log "cannot take a fresh lock"; rm -rf "$tmp"; return 1; }
    lockfd=$LOCK_FD
    FUZZ_SEED=1 fuzz_one "$t" 3 "$tmp/fuzz" libfuzzer >/dev/null 2>&1 || { log "fuzz beside a held lock failed"; rc=1; }
    n="$(ls "$tmp/fuzz/$t/corpus" 2>/dev/null | wc -l)"
    [ "$n" -gt 0 ] || { log "the sibling run's inputs were not folded back"; rc=1; }
    ! ls -d "$tmp/fuzz/$t".run* >/dev/null 2>&1 || { log "the sibling work dir was left behind"; rc=1; }
    if MM_WORK_DIR="$tmp" "$ROOT/build.sh" work-minimise "$t" >"$tmp/busy.log" 2>&1; then
        log "work-minimise minimised a work dir whose lock is held"; rc=1
    fi
    grep -q "in use by a ./build.sh fuzz" "$tmp/busy.log" || { log "work-minimise did not say why"; rc=1; }
    [ "$(ls "$tmp/fuzz/$t/corpus" | wc -l)" -eq "$n" ] || { log "work-minimise touched a busy corpus"; rc=1; }
    exec {lockfd}>&-
    MM_WORK_DIR="$tmp" "$ROOT/build.sh" work-minimise "$t" >"$tmp/free.log" 2>&1 || { log "work-minimise of a free work dir failed"; rc=1; }
    grep -q "work-minimise $t: $n -> " "$tmp/free.log" || { log "work-minimise did not report its counts"; cat "$tmp/free.log" >&2; rc=1; }
    rm -rf "$tmp"
    return "$rc"
}
# A smoke run's crash inputs outlive its temporary work dir: copied to $WORK_DIR/smoke-crashes/
# <target>/crashes/ (the layout triage reads; a run is not reproducible by its seed alone: timing decides how far it gets), with
# the triage and repro commands printed.
smoke_keep_crashes() { # TMPROOT
    local f t n=0 kept="$WORK_DIR/smoke-crashes"
    while IFS= read -r f; do
        t="${f#"$1"/}"; t="${t%%/*}"
        mkdir -p "$kept/$t/crashes" && cp "$f" "$kept/$t/crashes/" && n=$((n + 1))
    done < <(find "$1" -path '*/crashes/*' -type f ! -name README.txt 2>/dev/null)
    [ "$n" -eq 0 ] && return 0
    log "smoke: $n crash input(s) kept in $kept (./build.sh triage $kept; ./build.sh repro --target T FILE)"
}

# Every benchmark program; extra arguments (e.g. --quick, a case filter) go to each.
cmd_bench() {
    cmd_deps
    need_pkgs libmimalloc-dev libjemalloc-dev
    build_hosted release || die "release build failed"
    local b rc=0
    for b in $(find tests/bench -name '*.c' | sort); do
        "$BUILD/release/$(basename "$b" .c)" "$@" || rc=1
    done
    return "$rc"
}

# ./build.sh mutants [--n N] [--time S] [--seed K] [--file PATH] [--op OP] [--id ID] [--list FILE]
#                    [--dry-run]: mutation analysis of the fuzzers (fuzz/mutants.sh says how).
# The engine rebuilds its scratch copy of the tree with that copy's own build.sh; --build-fuzz T is
# its way in to build_fuzz there, for the one target it fuzzes (this process ends right after).
cmd_mutants() {
    if [ "${1:-}" = --build-fuzz ]; then
        local only="$2"; fuzz_targets() { echo "$only"; }
        build_fuzz; return
    fi
    cmd_deps
    MUT_WORK="$BUILD/mutants" "$ROOT/fuzz/mutants.sh" "$@"
}

# ---------------------------------------------------------------- main

# An OSS-Fuzz build image runs the project's build script with these set and no command.
if [ $# -eq 0 ] && [ -n "${OUT:-}" ] && [ -n "${LIB_FUZZING_ENGINE:-}" ]; then
    set -- oss-fuzz
fi

case "${1:-help}" in
    deps) cmd_deps ;;
    test) shift; cmd_test "$@" ;;
    layers) shift; cmd_deps; mm/tools/layers.sh "$@" ;;
    lint) cmd_deps; cmd_lint ;;
    unit) cmd_deps; build_hosted asan; "$BUILD/asan/mm_tests" "${@:2}" ;;
    corpus) cmd_deps; build_hosted asan; build_hosted noasan; run_corpus; echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ] ;;
    fuzz) shift; cmd_fuzz "$@" ;;
    fuzz-bench) shift; cmd_fuzz_bench "$@" ;;
    corpus-merge) shift; cmd_corpus_merge "$@" ;;
    work-minimise) shift; cmd_work_minimise "$@" ;;
    corpus-migrate) shift; cmd_corpus_migrate "$@" ;;
    cov) cmd_cov ;;
    triage) shift; cmd_triage "$@" ;;
    workflow-test) cmd_deps; test_planted_workflow ;;
    workflow-test-smp) cmd_deps; test_planted_smp_workflow ;;
    work-lock-test) cmd_deps; build_fuzz && test_work_dir_lock && echo "work-lock-test: ok" ;;
    planted-smp-replay) cmd_deps; build_hosted asan && test_planted_smp_replay ;;
    postmortem-test) cmd_deps; test_postmortem_hosted && test_postmortem_kernel && test_postmortem_kernel_check && echo "postmortem-test: ok" ;;
    oss-fuzz) cmd_oss_fuzz ;;
    oss-fuzz-check) cmd_deps; need_pkgs python3-yaml zip unzip afl++; fuzz/oss-fuzz/check.sh ;;
    repro) shift; cmd_repro "$@" ;;
    kernel) shift; cmd_deps; cmd_kernel "$@" ;;
    kernel-test) cmd_deps; build_hosted asan && build_hosted noasan || die "hosted builds failed"
        run_kernel_tests; echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ] ;;
    qemu) shift; cmd_deps; cmd_qemu "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    mutants) shift; cmd_mutants "$@" ;;
    stress) shift; cmd_stress "$@" ;;
    postmortem) shift; cmd_deps >&2; build_hosted noasan >&2 || die "noasan build failed"
        "$BUILD/noasan/postmortem" "$@" ;;
    hosted) cmd_deps; build_hosted "${2:-asan}" "${@:3}" ;;
    clean) rm -rf "$BUILD" ;;
    help|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (try ./build.sh help)" ;;
esac
