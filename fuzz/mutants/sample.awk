# sample.awk - a deterministic sample of N sites (sites.awk lines, numbered) for a seed (POSIX awk).
#
#   awk -v n=N -v seed=K -f sample.awk SITES  ->  the chosen lines, in site order
#
# Input lines are "ID <TAB> FILE <TAB> LINE <TAB> OP <TAB> EDITS". Sampling is stratified by
# operator: each operator's sites are shuffled (Fisher-Yates) with the Park-Miller generator
# (x = 16807 x mod 2^31-1: every product stays below 2^53, so any awk computes it exactly), then
# the operators, in name order, take turns giving their next site until N are chosen. The same
# sites and seed give the same sample on every machine; n=0 takes every site.

function rnd(m) { x = (x * 16807) % 2147483647; return x % m }

{ line[NR] = $0; split($0, f, "\t"); op = f[4]
  if (!(op in cnt)) { ops[++nops] = op; cnt[op] = 0 }
  list[op, ++cnt[op]] = NR }

END {
    x = (seed % 2147483646) + 1
    for (i = 1; i <= 20; i++) rnd(2) # let a small seed leave its neighbourhood
    # operator names in order (insertion sort: a handful of names)
    for (i = 2; i <= nops; i++) for (j = i; j > 1 && ops[j - 1] > ops[j]; j--) { t = ops[j]; ops[j] = ops[j - 1]; ops[j - 1] = t }
    for (i = 1; i <= nops; i++) {
        op = ops[i]
        for (j = cnt[op]; j > 1; j--) { k = rnd(j) + 1; t = list[op, j]; list[op, j] = list[op, k]; list[op, k] = t }
        pos[op] = 0
    }
    want = (n > 0 && n < NR) ? n : NR
    got = 0
    while (got < want) {
        for (i = 1; i <= nops && got < want; i++) {
            op = ops[i]
            if (pos[op] < cnt[op]) { chosen[list[op, ++pos[op]]] = 1; got++ }
        }
    }
    for (i = 1; i <= NR; i++) if (i in chosen) print line[i]
}
