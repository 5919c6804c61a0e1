# known.awk - a hand-written mutant list (see known.txt) as mutation sites (POSIX awk).
#
#   awk -v root=DIR -f known.awk LIST  ->  FILE <TAB> LINE <TAB> known <TAB> EDITS <TAB> NAME <TAB> TARGET
#
# EDITS as in sites.awk. Each find string must occur on exactly one line of the file (under root);
# otherwise the entry is reported on stderr and the exit status is 2.

BEGIN { US = "\037"; RS_ = "\036"; bad = 0; reset() }

function reset() { name = ""; file = ""; target = ""; np = 0 }
function val(s) { sub(/^[a-z]+:[ \t]?/, "", s); return s }
function fail(msg) { printf "known.awk: %s: entry '%s': %s\n", FILENAME, name, msg > "/dev/stderr"; bad = 2 }

function flush(    path, line, nl, i, j, hit, hits, nchanged, changed, edits, first) {
    if (name == "" && file == "" && np == 0) return
    if (name == "" || file == "" || target == "" || np == 0) { fail("needs name, file, target and find/replace"); reset(); return }
    path = root "/" file; nl = 0
    while ((getline line < path) > 0) text[++nl] = line
    close(path)
    if (nl == 0) { fail("cannot read " path); reset(); return }
    nchanged = 0
    for (i = 1; i <= np; i++) {
        hits = 0
        for (j = 1; j <= nl; j++) if (index(text[j], fnd[i])) { hits++; hit = j }
        if (hits != 1) { fail(sprintf("'%s' is on %d lines of %s (want exactly 1)", fnd[i], hits, file)); reset(); return }
        j = index(text[hit], fnd[i])
        text[hit] = substr(text[hit], 1, j - 1) rep[i] substr(text[hit], j + length(fnd[i]))
        if (!(hit in changed)) { changed[hit] = 1; order[++nchanged] = hit }
    }
    edits = ""; first = order[1]
    for (i = 1; i <= nchanged; i++) edits = edits (i > 1 ? RS_ : "") order[i] US text[order[i]]
    printf "%s\t%d\tknown\t%s\t%s\t%s\n", file, first, edits, name, target
    delete text; delete changed; delete order
    reset()
}

/^#/ { next }
/^[ \t]*$/ { flush(); next }
/^name:/ { if (name != "") flush(); name = val($0); next }
/^file:/ { file = val($0); next }
/^target:/ { target = val($0); next }
/^find:/ { fnd[++np] = val($0); next }
/^replace:/ { if (np == 0) fail("replace before find"); else rep[np] = val($0); next }
/^why:/ { next }
{ fail("unknown line: " $0) }
END { flush(); exit bad }
