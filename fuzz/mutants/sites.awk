# sites.awk - every mutation site of the C files given as arguments (POSIX awk; mawk is enough).
#
#   awk -f sites.awk mm/a.c mm/b.c ...  ->  one line per site, in file, line, op order:
#   FILE <TAB> LINE <TAB> OP <TAB> EDITS
#
# EDITS is LINE <US> NEWTEXT [<RS> LINE <US> NEWTEXT ...] (US = \037, RS = \036): the whole new
# text of each changed line. Most operators change one line; del_lock changes the lock line and
# every unlock of the same lock up to the end of the function.
#
# Operators (on code only: comments, strings and character literals are masked first; lines of the
# preprocessor are skipped; binary operators are matched with the spaces the style puts around them):
#   rel          < <= > >= == != flipped to their boundary twin (< <-> <=, > <-> >=, == <-> !=)
#   arith        binary + <-> -
#   off1         a "+ 1" or "- 1" removed (off by one)
#   del_mem      a memcpy / memset / memmove statement removed
#   del_counter  a counter update statement removed (x++, x--, ++x, --x, x += e, x -= e,
#                env_atomic_add / env_atomic_sub)
#   del_tlb      a TLB flush call removed (env_tlb_flush*)
#   del_lock     a lock/unlock pair removed (env_spin_lock(L) and its env_spin_unlock(L) lines)
#   del_call     any other plain call statement removed ("f(...);" on one line)
#   swap_args    the two arguments of a two-argument call swapped (not MM_MIN / MM_MAX)
#   ret          a returned value replaced (expr -> 0, 0 -> 1, true <-> false)
# A removed statement becomes "{ if (0) STMT }" (see removed()).

BEGIN { US = "\037"; RS_ = "\036"; in_comment = 0 }

FNR == 1 && NR > 1 { scan_file() }
{ src[FNR] = $0; n = FNR; file = FILENAME }
END { if (n) scan_file() }

# Mask comments, string and character literals with spaces (same length), across lines.
function mask(s,    out, i, c, c2, len, q) {
    out = ""; len = length(s); i = 1
    while (i <= len) {
        c = substr(s, i, 1); c2 = substr(s, i, 2)
        if (in_comment) {
            if (c2 == "*/") { in_comment = 0; out = out "  "; i += 2; continue }
            out = out " "; i++; continue
        }
        if (c2 == "/*") { in_comment = 1; out = out "  "; i += 2; continue }
        if (c2 == "//") { while (i <= len) { out = out " "; i++ }; break }
        if (c == "\"" || c == "'") {
            q = c; out = out c; i++
            while (i <= len) {
                c = substr(s, i, 1)
                if (c == "\\") { out = out "  "; i += 2; continue }
                if (c == q) break
                out = out " "; i++
            }
            if (i <= len) { out = out q; i++ }
            continue
        }
        out = out c; i++
    }
    return out
}

function emit(line, op, edits) { printf "%s\t%d\t%s\t%s\n", file, line, op, edits }
function one(line, newtext) { return line US newtext }
function indent(s) { match(s, /^[ \t]*/); return substr(s, 1, RLENGTH) }
function rtrim(s) { sub(/[ \t]+$/, "", s); return s }
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
# A statement removed: "{ if (0) STMT }" keeps every variable it names used (no unused-variable
# error), runs nothing, and stays one statement under an unbraced if or else.
function removed(l,    ind, q) {
    ind = indent(src[l]); q = length(rtrim(code[l]))
    return ind "{ if (0) " substr(src[l], length(ind) + 1, q - length(ind)) " }" substr(src[l], q + 1)
}

function scan_file(    l, m) {
    in_comment = 0
    for (l = 1; l <= n; l++) code[l] = mask(src[l])
    for (l = 1; l <= n; l++) {
        m = code[l]
        if (m ~ /^[ \t]*#/ || m ~ /^[ \t]*$/) continue
        ops_binary(l, m)
        ops_statement(l, m)
        op_swap(l, m)
    }
    delete src; delete code; n = 0
}

function ops_binary(l, m,    i, len, two, one_, s, rep, j, k, sfx) {
    s = src[l]; len = length(m)
    for (i = 1; i < len; i++) {
        if (substr(m, i, 1) != " ") continue
        two = substr(m, i + 1, 2); one_ = substr(m, i + 1, 1)
        if ((two == "<=" || two == ">=" || two == "==" || two == "!=") && substr(m, i + 3, 1) == " ") {
            rep = two == "<=" ? "<" : two == ">=" ? ">" : two == "==" ? "!=" : "=="
            emit(l, "rel", one(l, substr(s, 1, i) rep substr(s, i + 3)))
        } else if ((one_ == "<" || one_ == ">") && substr(m, i + 2, 1) == " ") {
            emit(l, "rel", one(l, substr(s, 1, i) one_ "=" substr(s, i + 2)))
        } else if ((one_ == "+" || one_ == "-") && substr(m, i + 2, 1) == " ") {
            emit(l, "arith", one(l, substr(s, 1, i) (one_ == "+" ? "-" : "+") substr(s, i + 2)))
            # off by one: " + 1" / " - 1" (with an integer suffix) not followed by more of a token
            if (substr(m, i + 3, 1) == "1") {
                j = i + 4; sfx = ""
                while (substr(m, j, 1) ~ /[uUlL]/) j++
                k = substr(m, j, 1)
                if (k !~ /[A-Za-z0-9_.]/)
                    emit(l, "off1", one(l, substr(s, 1, i - 1) substr(s, j)))
            }
        }
    }
}

function ops_statement(l, m,    t, arg, j, edits, want, e) {
    t = rtrim(m)
    if (t ~ /^[ \t]*(memcpy|memset|memmove)[ \t]*\(.*\);$/) {
        emit(l, "del_mem", one(l, removed(l))); return
    }
    if (t ~ /^[ \t]*env_tlb_flush[A-Za-z_]*[ \t]*\(.*\);$/) {
        emit(l, "del_tlb", one(l, removed(l))); return
    }
    if (t ~ /^[ \t]*(env_atomic_add|env_atomic_sub)[ \t]*\(.*\);$/ ||
        t ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_.>\[\]*&-]*[ \t]*(\+\+|--);$/ ||
        t ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_.>\[\]()*&-]*[ \t]*(\+=|-=)[^=;]*;$/ ||
        t ~ /^[ \t]*(\+\+|--)[A-Za-z_][^;=]*;$/) {
        emit(l, "del_counter", one(l, removed(l))); return
    }
    if (t ~ /^[ \t]*env_spin_lock[ \t]*\(.*\);$/) {
        arg = trim(t); sub(/^env_spin_lock[ \t]*\(/, "", arg); sub(/\);$/, "", arg)
        want = "env_spin_unlock(" arg ");"
        edits = one(l, removed(l)); e = 0
        for (j = l + 1; j <= n && substr(src[j], 1, 1) != "}"; j++)
            if (trim(code[j]) == want) { edits = edits RS_ one(j, removed(j)); e++ }
        if (e) emit(l, "del_lock", edits)
        return
    }
    if (t ~ /^[ \t]*env_spin_unlock[ \t]*\(/) return
    if (t ~ /^[ \t]*return[ \t]+[^;]*;$/) { op_ret(l, t); return }
    # any other call statement: f(...); with nothing before the name
    if (t ~ /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\(.*\);$/ &&
        t !~ /^[ \t]*(if|while|for|switch|return|sizeof|do|else)[ \t(]/)
        emit(l, "del_call", one(l, removed(l)))
}

function op_ret(l, t,    s, p, q, e, rep) {
    s = src[l]
    p = index(s, "return") + 6
    # the statement's ';' is the last one of the code (t is the masked, right-trimmed line)
    q = length(t)
    e = trim(substr(s, p, q - p))
    if (e == "NULL" || e == "") return
    rep = e == "0" ? "1" : e == "true" ? "false" : e == "false" ? "true" : "0"
    emit(l, "ret", one(l, substr(s, 1, p - 1) " " rep substr(s, q)))
}

# A call NAME(A, B) on one line whose two top-level arguments differ.
function op_swap(l, m,    s, i, len, c, name, depth, j, comma, ncomma, a, b, st) {
    s = src[l]; len = length(m)
    for (i = 2; i <= len; i++) {
        if (substr(m, i, 1) != "(") continue
        st = i - 1
        while (st >= 1 && substr(m, st, 1) ~ /[A-Za-z0-9_]/) st--
        name = substr(m, st + 1, i - st - 1)
        if (name == "" || name ~ /^[0-9]/ ||
            name ~ /^(if|while|for|switch|return|sizeof|MM_MIN|MM_MAX|env_log|mm_unlikely|mm_likely)$/)
            continue
        depth = 0; ncomma = 0
        for (j = i; j <= len; j++) {
            c = substr(m, j, 1)
            if (c == "(" || c == "[" || c == "{") depth++
            else if (c == ")" || c == "]" || c == "}") { depth--; if (depth == 0) break }
            else if (c == "," && depth == 1) { ncomma++; comma = j }
        }
        if (j > len || ncomma != 1) continue
        a = substr(s, i + 1, comma - i - 1); b = substr(s, comma + 1, j - comma - 1)
        if (trim(a) == trim(b) || trim(a) == "" || trim(b) == "") continue
        emit(l, "swap_args", one(l, substr(s, 1, i) trim(b) ", " trim(a) substr(s, j)))
    }
}
