#!/usr/bin/env bash
# layers.sh - the direction check of mm/: lower layers never use upper ones.
#
#   init -> protection -> virtual -> heap -> physical -> core          (an arrow: "may use")
#   checks beside them: may use every layer, used by none
#
# A file's layer is its folder, or for a few pinned files the file itself (table LAYERS below).
# Three graphs of mm/ are checked:
#   include  #include "..." between files of mm/. The public headers (mm/include/) are the
#            contract with callers outside mm/: they declare, they do not depend, so any file may
#            include them (calling what they declare is the call graph's business); they may
#            include only each other.
#   call     file A uses file B when an object of A has an undefined symbol (function or data)
#            that B's object defines: every file of mm/ is compiled freestanding (-O0, so no
#            reference is optimised away) and read with nm.
#   state    each part of the one mm_state (mm/lib/core.h: mm_state.phys, .heap, ...) belongs to
#            a layer (table PARTS); a file that names a part of a layer above its own is a
#            violation, just as a call would be (comments may name any part).
# Then the call graph's cycles (strongly connected sets of files) are listed. A lower layer that
# needs an upper one's help takes a registered hook (as shrinkers do), never a direct call.
#
# Exit status: 0 when there is no violation and every cycle lies inside one layer and is in the
# allow list ALLOW_CYCLES (each with the reason it may stay); 1 otherwise. Prints one line per
# violation ("layers: call heap/slab.c -> virtual/vmalloc.c: is_vmalloc_addr (heap -> virtual)")
# and per cycle, then a summary line "layers: N violations, M cycles (K allowed)".
#
# Usage: mm/tools/layers.sh [-v]     (from anywhere; -v also prints the file -> file graph)
# Needs clang and llvm-nm (or nm). Objects go to $LAYERS_OBJ (default build/layers).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
VERBOSE=""
[ "${1:-}" = -v ] && VERBOSE=1
OBJ="${LAYERS_OBJ:-$ROOT/build/layers}"
CC="${LAYERS_CC:-clang}"
NM="$(command -v llvm-nm || command -v nm)"

# path prefix -> layer (the first match wins); ranks: a layer may use layers of lower or equal rank.
# Inside virtual, two files are pinned below the rest: the page-table format and walk (every
# virtual file maps through it, it maps nothing itself) and the swap device's slot map, which
# never calls the LRU above it (swap_lru.c, with the shrinker and swap_setup). A header shared
# by such files belongs to the lowest of them.
LAYERS='
mm/include/              api          0
mm/lib/                  core         1
mm/physical/             physical     2
mm/heap/                 heap         3
mm/virtual/page_table.c  page-tables  4.1
mm/virtual/vm_internal.h page-tables  4.1
mm/swap/swap_slot.c      swap-slots   4.2
mm/swap/swap_internal.h  swap-slots   4.2
mm/virtual/              virtual      4.5
mm/swap/                 virtual      4.5
mm/protection/           protection   4.8
mm/init/                 init         5
mm/checks/               checks       9
mm/internal.h            outside      9
'
# mm_state part -> the layer that owns it (mm/lib/core.h)
PARTS='
core     core
report   core
phys     physical
heap     heap
swap     swap-slots
vmalloc  virtual
vm       virtual
leak     checks
prot     protection
'
# Cycles that may remain: the files of each allowed group may call each other (one line per
# group: name, then the files; the comment above says why). A cycle is allowed only if all of its
# files belong to one group.
ALLOW_CYCLES='
# physical: the page allocator is one subsystem in three files (Linux keeps it in one,
# page_alloc.c). The allocation fast path takes pages from the per-CPU lists (buddy.c -> pcp.c),
# which refill from and drain to the buddy lists (pcp.c -> buddy.c); an allocation that misses
# its watermark reclaims (buddy.c -> reclaim.c), and reclaim drains the per-CPU lists first
# (reclaim.c -> pcp.c). Splitting them further would only move the loop into hooks.
physical mm/physical/buddy.c mm/physical/pcp.c mm/physical/reclaim.c
'

# ---- compile every file of mm/ freestanding (incremental) and collect its symbols

mkdir -p "$OBJ"
RES="$("$CC" -print-resource-dir)"
FLAGS="--target=x86_64-linux-gnu -std=gnu11 -O0 -ffreestanding -fno-builtin -nostdinc -isystem $RES/include \
-Imm/include -Iarch/x86_64/include -w"
SRCS=($(find mm -name '*.c' ! -path 'mm/build/*' | sort))
printf '%s\n' "${SRCS[@]}" | OBJ="$OBJ" CC_="$CC" FLAGS="$FLAGS" xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh -c '
    o="$OBJ/$(echo "$1" | tr / _).o"
    if [ -f "$o" ] && [ "$o" -nt "$1" ] && [ -z "$(find mm arch/x86_64/include -name "*.h" -newer "$o" | head -1)" ]; then exit 0; fi
    $CC_ $FLAGS -c "$1" -o "$o" || exit 255' _ {}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
: >"$TMP/def"; : >"$TMP/undef"
for s in "${SRCS[@]}"; do
    o="$OBJ/$(echo "$s" | tr / _).o"
    "$NM" --defined-only "$o" | awk -v f="$s" 'NF == 3 && $2 ~ /^[TDBRCVWG]$/ { print $3, f }' >>"$TMP/def"
    "$NM" --undefined-only "$o" | awk -v f="$s" 'NF >= 2 { print $NF, f }' >>"$TMP/undef"
done

# ---- the three edge lists: kind from to what

{
    # call: symbol used by one file and defined by another
    awk 'NR == FNR { def[$1] = $2; next }
         ($1 in def) && def[$1] != $2 { print "call", $2, def[$1], $1 }' "$TMP/def" "$TMP/undef"
    # include: resolve "x.h" against the including file's folder, mm/include and arch
    for f in $(find mm -name '*.[ch]' ! -path 'mm/build/*' | sort); do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do
            d="$(dirname "$f")"
            for cand in "$d/$h" "mm/include/$h"; do
                if [ -f "$cand" ]; then
                    echo "include $f $(realpath --relative-to=. "$cand") $h"
                    break
                fi
            done
        done
    done
    # state: mm_state.<part>.field / mm_state.<part> (the part tables above)
    #        in code (comments may name any field: they document, they do not use)
    for f in $(find mm -name '*.[ch]' ! -path 'mm/build/*' | sort); do
        awk -v f="$f" '{
            line = $0; out = ""
            while (line != "") {
                if (incom) { i = index(line, "*/"); if (!i) { line = ""; break } line = substr(line, i + 2); incom = 0; continue }
                i = index(line, "/*"); j = index(line, "//")
                if (j && (!i || j < i)) { out = out substr(line, 1, j - 1); line = ""; break }
                if (!i) { out = out line; line = ""; break }
                out = out substr(line, 1, i - 1); line = substr(line, i + 2); incom = 1
            }
            while (match(out, /mm_state\.[a-z_]+/)) {
                part = substr(out, RSTART + 9, RLENGTH - 9); print "state", f, "part:" part, part
                out = substr(out, RSTART + RLENGTH)
            }
        }' "$f"
    done
} | sort -u >"$TMP/edges"

# ---- judge every edge

awk -v layers="$LAYERS" -v parts="$PARTS" -v out="$TMP/graph" '
BEGIN {
    n = split(layers, L, "\n")
    for (i = 1; i <= n; i++) if (split(L[i], w, " ") == 3) { np++; pre[np] = w[1]; lay[np] = w[2]; rank[np] = w[3] }
    n = split(parts, P, "\n")
    for (i = 1; i <= n; i++) if (split(P[i], w, " ") == 2) owner[w[1]] = w[2]
    for (i = 1; i <= np; i++) rank_of_layer[lay[i]] = rank[i] + 0
}
function layer(f,   i) {
    for (i = 1; i <= np; i++) if (index(f, pre[i]) == 1) { R = rank[i]; return lay[i] }
    R = 9; return "unknown"
}
# may a file of layer a (rank ra) use layer b (rank rb)?
function allowed(a, ra, b, rb) {
    if (a == "checks" || a == "outside") return 1
    if (b == "checks" || b == "outside" || b == "unknown") return 0
    if (a == "api") return b == "api"
    if (b == "api") return 1
    return ra + 0 >= rb + 0
}
{
    kind = $1; from = $2; to = $3; what = $4
    la = layer(from); ra = R
    if (kind == "state") {
        part = what
        if (!(part in owner)) next      # a field of a state that has no parts: nothing to judge
        lb = owner[part]; rb = rank_of_layer[lb]; to = "mm_state." part
    } else {
        lb = layer(to); rb = R
    }
    if (kind == "call") print from, to >> out
    if (allowed(la, ra, lb, rb)) next
    key = kind " " from " -> " to
    if (!(key in seen)) { order[++nk] = key; seen[key] = ""; dir[key] = la " -> " lb }
    seen[key] = seen[key] (seen[key] == "" ? "" : " ") what
}
END {
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, w, " ")
        s = seen[k]; if (length(s) > 90) s = substr(s, 1, 87) "..."
        printf "layers: %s %s -> %s: %s (%s)\n", w[1], substr(w[2], 4), (w[4] ~ /^mm\// ? substr(w[4], 4) : w[4]), s, dir[k]
    }
    print nk + 0 > "/dev/stderr"
}' "$TMP/edges" >"$TMP/violations" 2>"$TMP/nviol"
touch "$TMP/graph"
sort -u -o "$TMP/graph" "$TMP/graph"
[ -n "$VERBOSE" ] && sed 's/^/layers: uses /' "$TMP/graph"
cat "$TMP/violations"

# ---- cycles: strongly connected sets of files in the call graph (transitive closure)

awk -v allow="$ALLOW_CYCLES" -v layers="$LAYERS" '
BEGIN {
    n = split(allow, A, "\n")
    for (i = 1; i <= n; i++) {
        if (A[i] ~ /^#/ || split(A[i], w, " ") < 2) continue
        for (j = 2; j in w; j++) group[w[j]] = w[1]
    }
}
{
    if (!($1 in id)) { id[$1] = ++nn; name[nn] = $1 }
    if (!($2 in id)) { id[$2] = ++nn; name[nn] = $2 }
    r[id[$1], id[$2]] = 1
}
END {
    for (k = 1; k <= nn; k++) for (i = 1; i <= nn; i++) if ((i, k) in r)
        for (j = 1; j <= nn; j++) if ((k, j) in r) r[i, j] = 1
    bad = 0; ok = 0
    for (i = 1; i <= nn; i++) {
        if (done[i]) continue
        members = name[i]; cnt = 1; g = (name[i] in group) ? group[name[i]] : ""
        for (j = i + 1; j <= nn; j++)
            if (!done[j] && ((i, j) in r) && ((j, i) in r)) {
                done[j] = 1; members = members " " name[j]; cnt++
                if (!(name[j] in group) || group[name[j]] != g) g = ""
            }
        if (cnt < 2) continue
        gsub(/mm\//, "", members)
        if (g != "") { ok++; printf "layers: cycle of %d files (allowed: %s): %s\n", cnt, g, members }
        else { bad++; printf "layers: cycle of %d files: %s\n", cnt, members }
    }
    printf "%d %d\n", bad, ok > "/dev/stderr"
}' "$TMP/graph" 2>"$TMP/ncyc"

read -r nviol <"$TMP/nviol"
read -r bad ok <"$TMP/ncyc"
echo "layers: $nviol violations, $((bad + ok)) cycles ($ok allowed)"
[ "$nviol" -eq 0 ] && [ "$bad" -eq 0 ]
