#!/usr/bin/env bash
# fuzz/mutants.sh - mutation analysis of the fuzzers: does the checked-in corpus (and a short fuzz
# run) notice when mm/ is wrong? Run through ./build.sh mutants, which builds the pristine hosted
# configurations first.
#
#   mutants.sh [--n N] [--seed K] [--time S] [--file PATH]... [--op OP]... [--id ID]...
#              [--list FILE] [--no-corpus] [--dry-run] [--keep-logs]
#
#   --n N        sample N mutants (default 20; 0 = every site) ...
#   --seed K     ... chosen from every site of mm/ (fuzz/mutants/sites.awk) with seed K (>= 1,
#                default 1): the same tree and seed give the same mutants (fuzz/mutants/sample.awk)
#   --file PATH  only sites in this file (repeatable; a directory prefix works too)
#   --op OP      only this operator (repeatable): rel arith off1 del_mem del_counter del_tlb
#                del_lock del_call swap_args ret
#   --id ID      only these site ids (repeatable; ids as printed by a run or --dry-run)
#   --list FILE  the hand-written mutants of FILE instead (fuzz/mutants/known.txt format); each is
#                replayed and fuzzed against the target it names; exit 1 if any survives
#   --time S     seconds of libFuzzer (-seed=K) per fuzzed target for a mutant the corpus missed
#                (default 10; 0 = corpus only)
#   --no-corpus  skip the corpus replays: what the short fuzz run alone kills
#   --dry-run    print the chosen mutants (status=selected) and stop
#
# Per mutant, in a scratch copy of the tree (build/mutants/tree; the real mm/ is never written):
# write the mutated file, rebuild incrementally with the scratch copy's own build.sh (only that
# object recompiles; the configurations are those build.sh replays each target in), replay each
# relevant target's whole corpus in one process (replay --no-fork, which stops at the first
# failure), and if every corpus passes, fuzz the file's first target for S seconds from its
# corpus. A fuzz crash counts only if the pristine tree does not crash on the same input. Then the
# pristine source and objects are put back. Killed: a corpus input or the fuzz run failed;
# timeout: the replay or fuzz run hung (counted as killed); build-failed: the mutant does not
# compile (not counted).
#
# Output: one "MUTANT id=... file=... line=... op=... status=... by=... secs=..." line per mutant
# (survivors followed by "  - old" / "  + new" lines), then "MUTANTS killed=K survived=S
# timeout=T build_failed=B total=N score=P%" and "BENCH name=mutation_score killed=K survived=S
# total=N" (killed includes timeouts; total = killed + survived). Logs: build/mutants/logs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/fuzz/mutants"
WORK="${MUT_WORK:-$ROOT/build/mutants}"
BUILDNAME="build${MM_VARIANT:+-$MM_VARIANT}"
TREE="$WORK/tree"
TB="$TREE/$BUILDNAME"  # the scratch tree's build dir
PB="$ROOT/$BUILDNAME"  # the real tree's (pristine) build dir
US=$'\037'
RS=$'\036'

log() { printf '%s\n' "$*" >&2; }
die() { log "mutants: $*"; exit 2; }

n=20 seed=1 secs=10 list="" dry="" keep="" nocorpus=""
files=() opsel=() ids=()
while [ $# -gt 0 ]; do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --time) secs="$2"; shift 2 ;;
        --file) files+=("${2%/}"); shift 2 ;;
        --op) opsel+=("$2"); shift 2 ;;
        --id) ids+=("$2"); shift 2 ;;
        --list) list="$2"; shift 2 ;;
        --dry-run) dry=1; shift ;;
        --no-corpus) nocorpus=1; shift ;;
        --keep-logs) keep=1; shift ;;
        *) die "unknown option '$1' (see the head of fuzz/mutants.sh)" ;;
    esac
done
[[ "$n" =~ ^[0-9]+$ && "$secs" =~ ^[0-9]+$ && "$seed" =~ ^[0-9]+$ && "$seed" -ge 1 ]] ||
    die "--n, --time need a number, --seed a number >= 1"

# ---------------------------------------------------------------- targets of a file

mk_print() { make -s --no-print-directory -C "$ROOT" -f build.mk "print-$1"; }
all_targets() { printf '%s\n' $(mk_print FUZZ_TARGETS); }

# The targets whose corpus is replayed for a mutant of FILE, the most relevant first; the first
# is the one fuzzed. Every target replays: a whole corpus costs about a second.
targets_for() {
    local first
    case "$1" in
        mm/heap/*|mm/checks/check_slab.c) first="slab misuse" ;;
        mm/virtual/*|mm/swap/*|mm/checks/check_vm.c) first="vm" ;;
        mm/init/*) first="boot page_alloc" ;;
        *) first="page_alloc boot" ;;
    esac
    { printf '%s\n' $first; all_targets; } | awk 'NF && !seen[$0]++' | while read -r t; do
        all_targets | grep -qx "$t" && echo "$t"
    done
}

NOASAN_TARGETS=" $(mk_print NOASAN_TARGETS) "
target_no_asan() { [[ "$NOASAN_TARGETS" == *" $1 "* ]]; }
target_cfg() { if target_no_asan "$1"; then echo noasan; else echo asan; fi; }

# ---------------------------------------------------------------- the scratch tree

# A fresh copy of the sources with their mtimes (so objects built from them stay current); the
# corpus is read in place. Builds of earlier runs are kept, else seeded from the real tree's.
tree_sync() {
    mkdir -p "$TREE/$BUILDNAME"
    local d
    for d in mm arch shims fuzz tests; do
        rm -rf "${TREE:?}/$d"
        cp -a "$ROOT/$d" "$TREE/$d"
    done
    cp -a "$ROOT/build.sh" "$ROOT/build.mk" "$TREE/"
    ln -sfn "$ROOT/corpus" "$TREE/corpus"
    for d in asan noasan fuzz fuzz-noasan; do
        [ -d "$TB/$d" ] || [ ! -d "$PB/$d" ] || cp -a "$PB/$d" "$TB/$d"
    done
}

tree_build() { # CFG (asan | noasan | fuzz:TARGET) LOG
    case "$1" in
        fuzz:*) (cd "$TREE" && ./build.sh mutants --build-fuzz "${1#fuzz:}") >>"$2" 2>&1 ;;
        *) (cd "$TREE" && ./build.sh hosted "$1") >>"$2" 2>&1 ;;
    esac
}

# Objects of FILE in every scratch configuration, saved before a mutant and put back after it
# (the restored source keeps its old mtime, so the build would not notice a mutated object). A
# restored object is touched: what was linked from the mutant is linked again on the next build.
obj_stash() { # FILE
    rm -rf "$WORK/stash"; mkdir -p "$WORK/stash"
    local d o
    for d in "$TB"/*/obj; do
        o="$d/$1.o"
        [ -f "$o" ] || continue
        mkdir -p "$WORK/stash/${d#$TB/}"
        cp -p "$o" "$WORK/stash/${d#$TB/}/"
    done
}

obj_restore() { # FILE
    local d o s
    for d in "$TB"/*/obj; do
        o="$d/$1.o"; s="$WORK/stash/${d#$TB/}/$(basename "$1").o"
        if [ -f "$s" ]; then cp -p "$s" "$o"; touch "$o"
        else rm -f "$o"; fi # built only while mutated: rebuild from the pristine source
    done
}

source_restore() { # FILE
    cp -p "$ROOT/$1" "$TREE/$1"
    # A header has no object of its own to stash: its includers were rebuilt from the mutant and
    # are newer than the restored file (whose mtime is the real tree's, in this run and the next),
    # so drop every object whose dependency file names it (by its last two path parts: includers
    # elsewhere spell it mm/checks/../heap/x.h); the next build redoes them pristine.
    case "$1" in
        *.h) grep -rlF --include='*.d' "$(basename "$(dirname "$1")")/$(basename "$1")" "$TB" \
                 2>/dev/null | while read -r d; do
                 rm -f "${d%.d}.o"
             done ;;
    esac
}

apply_edits() { # FILE EDITS : write the mutated FILE into the scratch tree
    awk -v edits="$2" 'BEGIN { n = split(edits, e, "\036")
        for (i = 1; i <= n; i++) { split(e[i], p, "\037"); rep[p[1] + 0] = substr(e[i], length(p[1]) + 2) } }
        { if (FNR in rep) print rep[FNR]; else print }' "$ROOT/$1" >"$TREE/$1.mut"
    mv "$TREE/$1.mut" "$TREE/$1"
    touch "$TREE/$1"
    ! cmp -s "$ROOT/$1" "$TREE/$1"
}

show_edits() { # FILE EDITS : "  - old" / "  + new" per changed line
    local e l t
    IFS="$RS" read -r -a _e <<<"$2"
    for e in "${_e[@]}"; do
        l="${e%%$US*}"; t="${e#*$US}"
        printf '  - %s\n  + %s\n' "$(sed -n "${l}p" "$ROOT/$1")" "$t"
    done
}

# ---------------------------------------------------------------- running one mutant

REPLAY_TIMEOUT=30 # per target; set from the baseline

replay_corpus() { # CFG TARGET LOG -> 0 pass, 1 fail, 124 timeout
    local rc=0 files=("$ROOT/corpus/$2"/*)
    [ -f "${files[0]}" ] || return 0
    { timeout -k 5 "$REPLAY_TIMEOUT" "$TB/$1/replay" --no-fork --target "$2" "${files[@]}" \
        >>"$3" 2>&1; } 2>/dev/null || rc=$? # (no "Aborted" notice from bash: the log has the report)
    case "$rc" in 0) return 0 ;; 124|137) return 124 ;; *) return 1 ;; esac
}

# libFuzzer options of fuzz/<t>.options (dict resolved in fuzz/)
fuzz_flags() {
    local t="$1"
    [ -f "$ROOT/fuzz/$t.dict" ] && echo "-dict=$ROOT/fuzz/$t.dict"
    [ -f "$ROOT/fuzz/$t.options" ] || return 0
    sed -n 's/^[[:space:]]*\([a-z_]*\)[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1 \2/p' \
        "$ROOT/fuzz/$t.options" | while read -r k v; do
        [ "$k" = dict ] || printf -- '-%s=%s\n' "$k" "$v"
    done
}

# A short libFuzzer run from the corpus with a fixed seed -> 0 nothing, 1 crash (reproduces on
# the mutant only), 124 hung, 3 crash that the pristine tree has too (not a kill).
fuzz_target() { # TARGET LOG
    local t="$1" w="$WORK/fuzzwork" rc=0
    rm -rf "$w"; mkdir -p "$w/corpus" "$w/crashes"
    (cd "$TREE" && timeout -k 5 $((secs + 180)) "$TB/fuzz/fuzz_$t" -seed="$seed" \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        $(fuzz_flags "$t") -artifact_prefix="$w/crashes/" "$w/corpus" "$ROOT/corpus/$t") \
        >>"$2" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] && return 0
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && return 124
    local f; f="$(find "$w/crashes" -type f | sort | head -1)"
    [ -n "$f" ] || return 1
    # an input libFuzzer timed out on (timeout-*) counts as a hang when the pristine tree runs it
    if timeout -k 5 "$REPLAY_TIMEOUT" "$PB/$(target_cfg "$t")/replay" --target "$t" "$f" \
        >>"$2.pristine" 2>&1; then
        case "$(basename "$f")" in timeout-*) return 124 ;; *) return 1 ;; esac
    fi
    return 3
}

MUT_STATUS="" MUT_BY="" T_BUILD=0 T_REPLAY=0 T_FUZZ=0
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
run_mutant() { # FILE EDITS TARGETS FUZZTARGET LOG
    local file="$1" edits="$2" targets="$3" ft="$4" logf="$5" t cfg rc built=" "
    MUT_STATUS=survived MUT_BY=-
    T_BUILD=0 T_REPLAY=0 T_FUZZ=0
    local m
    obj_stash "$file"
    if ! apply_edits "$file" "$edits"; then MUT_STATUS=build-failed MUT_BY=no-change; fi
    [ -z "$nocorpus" ] || targets=""
    for t in $targets; do
        [ "$MUT_STATUS" = survived ] || break
        cfg="$(target_cfg "$t")"
        if [[ "$built" != *" $cfg "* ]]; then
            m=$(now_ms)
            tree_build "$cfg" "$logf" || { MUT_STATUS=build-failed MUT_BY="build:$cfg"; break; }
            T_BUILD=$((T_BUILD + $(now_ms) - m))
            built+="$cfg "
        fi
        m=$(now_ms); rc=0; replay_corpus "$cfg" "$t" "$logf" || rc=$?
        T_REPLAY=$((T_REPLAY + $(now_ms) - m))
        case "$rc" in
            0) ;;
            124) MUT_STATUS=timeout MUT_BY="corpus:$t" ;;
            *) MUT_STATUS=killed MUT_BY="corpus:$t" ;;
        esac
    done
    if [ "$MUT_STATUS" = survived ] && [ "$secs" -gt 0 ] && [ -n "$ft" ]; then
        m=$(now_ms)
        if ! tree_build "fuzz:$ft" "$logf"; then MUT_STATUS=build-failed MUT_BY=build:fuzz
        else
            T_BUILD=$((T_BUILD + $(now_ms) - m)); m=$(now_ms)
            rc=0; fuzz_target "$ft" "$logf" || rc=$?
            T_FUZZ=$((T_FUZZ + $(now_ms) - m))
            case "$rc" in
                0) ;;
                124) MUT_STATUS=timeout MUT_BY="fuzz:$ft" ;;
                3) MUT_BY="fuzz-crash-also-unmutated:$ft" ;;
                *) MUT_STATUS=killed MUT_BY="fuzz:$ft" ;;
            esac
        fi
    fi
    source_restore "$file"
    obj_restore "$file"
}

# ---------------------------------------------------------------- main

mkdir -p "$WORK/logs"
exec 9>"$WORK/lock"
flock -n 9 || die "another mutants run holds $WORK/lock"

# the mutants: ID FILE LINE OP EDITS NAME TARGET
sel="$WORK/selected.tsv"
if [ -n "$list" ]; then
    [ -f "$list" ] || die "no such list $list"
    awk -v root="$ROOT" -f "$HERE/known.awk" "$list" | awk -F'\t' -v OFS='\t' '{ print $5, $0 }' >"$sel" ||
        die "bad mutant list $list"
else
    (cd "$ROOT" && find mm -name '*.c' | LC_ALL=C sort | xargs awk -f "$HERE/sites.awk") |
        awk -F'\t' -v OFS='\t' '{ print NR, $0 }' >"$WORK/sites.tsv"
    awk -F'\t' -v files="${files[*]:-}" -v ops="${opsel[*]:-}" -v ids="${ids[*]:-}" '
        function any(list, v,    a, k, i) { if (list == "") return 1
            k = split(list, a, " "); for (i = 1; i <= k; i++) if (v == a[i] || index(v, a[i] "/") == 1) return 1
            return 0 }
        any(files, $2) && any(ops, $4) && any(ids, $1)' "$WORK/sites.tsv" >"$WORK/filtered.tsv"
    if [ -n "${ids[*]:-}" ]; then cp "$WORK/filtered.tsv" "$sel"
    else awk -v n="$n" -v seed="$seed" -f "$HERE/sample.awk" "$WORK/filtered.tsv" >"$sel"; fi
    log "mutants: $(wc -l <"$WORK/sites.tsv") sites in mm/, $(wc -l <"$WORK/filtered.tsv") after filters, $(wc -l <"$sel") chosen (seed $seed)"
fi
[ -s "$sel" ] || die "no mutants chosen"

if [ -n "$dry" ]; then
    while IFS=$'\t' read -r id file line op edits name target; do
        echo "MUTANT id=$id file=$file line=$line op=$op status=selected"
        show_edits "$file" "$edits"
    done <"$sel"
    exit 0
fi

# baseline: the pristine scratch tree builds and passes every corpus (else every mutant "dies")
t0=$SECONDS
tree_sync
trap 'while read -r f; do [ -f "$ROOT/$f" ] && source_restore "$f"; done < <(cut -f2 "$sel" | sort -u) 2>/dev/null' EXIT
blog="$WORK/logs/baseline.log"; : >"$blog"
log "mutants: baseline build and corpus replay in $TREE"
(cd "$ROOT" && ./build.sh hosted asan && ./build.sh hosted noasan) >>"$blog" 2>&1 ||
    die "the real tree does not build (see $blog)" # pristine replays, to judge fuzz crashes
for c in asan noasan; do tree_build "$c" "$blog" || die "the pristine scratch tree does not build (see $blog)"; done
if [ "$secs" -gt 0 ]; then
    for t in $(all_targets); do tree_build "fuzz:$t" "$blog" || die "the pristine fuzz build failed (see $blog)"; done
fi
maxs=0
for t in $(all_targets); do
    s0=$(date +%s%N)
    replay_corpus "$(target_cfg "$t")" "$t" "$blog" || die "the pristine corpus of $t fails (see $blog)"
    ms=$(( ($(date +%s%N) - s0) / 1000000 ))
    log "mutants: baseline corpus $t: $(ls "$ROOT/corpus/$t" | wc -l) files, ${ms} ms"
    [ "$ms" -gt "$maxs" ] && maxs=$ms
done
REPLAY_TIMEOUT=$(( maxs * 10 / 1000 + 20 )) # a corpus taking 10x its baseline is hung
log "mutants: baseline ok in $((SECONDS - t0))s; replay timeout ${REPLAY_TIMEOUT}s, fuzz ${secs}s with -seed=$seed"

killed=0 survived=0 timeouts=0 bfail=0 total_secs=0 count=0
surv="$WORK/survivors.txt"; : >"$surv"
while IFS=$'\t' read -r id file line op edits name target <&3; do
    if [ -n "$list" ]; then targets="$target"; ft="$target"
    else targets="$(targets_for "$file" | xargs)"; ft="${targets%% *}"; fi
    logf="$WORK/logs/mutant-$id.log"; : >"$logf"
    m0=$SECONDS
    run_mutant "$file" "$edits" "$targets" "$ft" "$logf"
    dt=$((SECONDS - m0)); count=$((count + 1)); total_secs=$((total_secs + dt))
    echo "MUTANT id=$id file=$file line=$line op=$op status=$MUT_STATUS by=$MUT_BY secs=$dt build_ms=$T_BUILD replay_ms=$T_REPLAY fuzz_ms=$T_FUZZ"
    case "$MUT_STATUS" in
        killed) killed=$((killed + 1)) ;;
        timeout) timeouts=$((timeouts + 1)) ;;
        build-failed) bfail=$((bfail + 1)); grep -m3 -E 'error:' "$logf" | sed 's/^/  /' >&2 || true ;;
        survived) survived=$((survived + 1))
            show_edits "$file" "$edits"
            { echo "MUTANT id=$id file=$file line=$line op=$op status=survived"; show_edits "$file" "$edits"; } >>"$surv" ;;
    esac
    [ -n "$keep" ] || [ "$MUT_STATUS" = survived ] || rm -f "$logf" "$logf.pristine"
done 3<"$sel"

k=$((killed + timeouts)) tot=$((killed + timeouts + survived))
score=$(awk -v k="$k" -v t="$tot" 'BEGIN { printf "%.1f", t ? 100 * k / t : 0 }')
log "mutants: $count mutants in ${total_secs}s (mean $((count ? total_secs / count : 0))s each); survivors in $surv"
echo "MUTANTS killed=$k survived=$survived timeout=$timeouts build_failed=$bfail total=$tot score=$score%"
echo "BENCH name=mutation_score${list:+_$(basename "$list" .txt)} killed=$k survived=$survived total=$tot"
[ -z "$list" ] || [ "$survived" -eq 0 ]
