/*
 * smp_vm.c - the address spaces of fuzz target "smp": two shared address spaces made at setup
 * (as 0 and 1) and a fork child (as 2), in which every CPU's stream maps, unmaps, protects,
 * reads and writes pages concurrently, so faults, copy-on-write breaks and TLB shootdowns race
 * each other; and the model that judges every outcome.
 *
 * Ops (queued per CPU by target_smp.c; "at" = as * 32 + page, a window of 32 pages at SV_BASE in
 * each address space; ranges are clipped to the window):
 *   smp mmap on= at= pages= prot=     do_mmap MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS
 *   smp munmap on= at= pages=         do_munmap
 *   smp mprotect on= at= pages= prot= do_mprotect
 *   smp access on= at= kind=read|write|write-head  one page through the hosted MMU on that CPU
 *                                     (its TLB, faults, COW): a read or write of the whole page, or
 *                                     a write of its first half only (so the second half shows
 *                                     what a COW break copied or a new page was zeroed to); a
 *                                     write stores token = the record's number
 *   smp fork on= as=0|1               mm_fork of a shared address space into as 2 (if empty)
 *   smp exit on=                      mm_destroy of as 2 (skipped while another CPU has an op in
 *                                     flight there); ops on an address space that is not live are
 *                                     skipped (digested as such)
 *
 * Page contents, per half page: zeros, or the pattern of one token (word 0 = magic | token, word
 * 1 = the page's window index and the half, the rest a hash of token and word), so a read names
 * the writes it returns and a torn, misplaced or foreign half is caught however the model stands.
 *
 * The model. Every address-space op runs on one CPU from its start (sv_begin) to its completion
 * (sv_end); other CPUs may run in between (preemption points inside the mm), so ops on the same
 * pages overlap in time, and each takes effect at some instant of its interval that the harness
 * does not see. Per page the model keeps the SET of states the page may be in: maps, a bitmask of
 * {unmapped, mapped with VM protection 0..7}, and per half toks, a set of tokens (0 = zeros;
 * "any" when more than SV_TOKS pile up). Only the CPU holding the baton runs, so these updates are race free.
 *   view(page)    maps / toks closed under the possible effects of every op in flight on the page
 *                 (mmap: mapped(prot), or unmapped if it fails after its implicit munmap; munmap:
 *                 unmapped; mprotect: mapped(prot) if mapped; write: its token; mmap: zeros)
 *   accessors     (reads, writes, mprotect, fork) accumulate the union of view(page) at their
 *                 start and at every start or completion of another op on the page (acc)
 *   completion    a successful mmap / munmap / mprotect sets maps to its own state closed under the
 *                 ops that overlapped it in time (any of them may have taken effect after it); a
 *                 successful write or mmap sets toks likewise ({token} or {0} plus the overlapping
 *                 writes' tokens and mmaps' zeros); a failed op changes nothing, except a failed
 *                 mmap, after which the pages may be unmapped. More than SV_MAX_OV overlapping
 *                 ops: every state.
 * Accepted (anything else fails the run, naming the op):
 *   access    its fault result is one some state in acc gives (unmapped: SIGSEGV; protection
 *             lacking: ACCESS; else HANDLED; OOM where HANDLED is possible and memory is short or
 *             another CPU's op overlapped it in time); a read returns, per half, a token in acc's
 *             toks (with "any": a token written to this address space, or its parent's for the
 *             child)
 *   mmap      the address, or -ENOMEM (OOM judged as above)
 *   munmap    0, or -ENOMEM (OOM)
 *   mprotect  0 only if every page may have been mapped, -ENOMEM only if one may have been
 *             unmapped or OOM
 *   fork      0 (the child's pages: the parent's acc), or -ENOMEM (OOM)
 * So an access that overlaps no conflicting op must match the sequential model exactly, and one
 * racing a conflicting op may see the state before or after it, never a third one.
 *   quiescent (smp_vm_check, every CPU parked) each page's VMA state must be in maps and each
 *             readable page's token in toks; the model is then pinned to what was found. These
 *             reads fault pages in (they change the mm, deterministically).
 * smp_vm_pages counts what the address spaces hold for the target's conservation: page-table
 * pages, the distinct frames user PTEs map (fork shares them) and the zero page once allocated.
 */
#include "smp_vm.h"
#include "vm_model.h"
#include "mmap.h"
#include "../mm/internal.h"

#define SV_NAS     3
#define SV_CHILD   2u
#define SV_PAGES   32u
#define SV_BASE    0x40000000ul
#define SV_TOKS    8
#define SV_MAX_OV  8
#define SV_MAGIC   0x5e5e0a11u
#define SV_MAX_FRAMES 512
#define SV_HALF    (PAGE_SIZE / 2)
#define SV_BOTH    3u  /* halves mask: a whole-page write or an mmap */

#define SV_UNMAPPED   1u
#define SV_MAPPED(vp) ((uint16_t)(2u << (vp)))
#define SV_ANY_MAPPED 0x1feu
#define SV_ALL        0x1ffu

enum sv_kind { SV_MMAP, SV_MUNMAP, SV_MPROTECT, SV_WRITE, SV_READ, SV_FORK };
enum sv_state { SV_EMPTY, SV_LIVE, SV_FORKING, SV_EXITING };

struct sv_toks {
    uint8_t n;
    bool any;
    uint32_t t[SV_TOKS];
};

struct sv_page {
    uint16_t maps;
    struct sv_toks toks[2];             /* per half of the page */
};

struct sv_effect {
    uint8_t kind, vprot, halves;
    uint32_t tok;
};

/* The address-space op a CPU has in flight. */
struct sv_op {
    bool busy;
    uint8_t kind, as, vprot, halves;
    uint32_t first, n, tok, opno;
    uint8_t nov;
    bool ov_full;
    struct sv_effect ov[SV_MAX_OV];     /* conflicting ops that overlapped it in time */
    uint16_t acc_maps[SV_PAGES];        /* accessors: view of page first + i over the interval */
    struct sv_toks acc_toks[SV_PAGES][2];
};

struct sv_as {
    struct mm_struct *mm;
    uint8_t state, parent;
    struct sv_page pg[SV_PAGES];
};

static struct {
    struct sv_as as[SV_NAS];
    struct sv_op op[FUZZ_MAX_CPUS];
    bool in_op[FUZZ_MAX_CPUS];
    bool overlapped[FUZZ_MAX_CPUS];     /* another CPU's op ran during this CPU's current op */
    uint8_t tok_as[FUZZ_MAX_OPS + 2];   /* 1 + the address space token t was written to */
    uint8_t buf[FUZZ_MAX_CPUS + 1][PAGE_SIZE];
} sv;

#define SV_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)
#define svfail(o, fmt, ...) fuzz_fail("smp-vm op#%u on CPU %u: " fmt, (unsigned int)(o)->opno, \
                                      (unsigned int)((o) - sv.op), ##__VA_ARGS__)

/* ---- token sets ---- */

static struct sv_toks sv_toks_one(uint32_t t)
{
    struct sv_toks s = { .n = 1 };
    s.t[0] = t;
    return s;
}

static void sv_toks_add(struct sv_toks *s, uint32_t t)
{
    if (s->any)
        return;
    for (unsigned int i = 0; i < s->n; i++)
        if (s->t[i] == t)
            return;
    if (s->n == SV_TOKS)
        s->any = true;
    else
        s->t[s->n++] = t;
}

static void sv_toks_union(struct sv_toks *d, const struct sv_toks *s)
{
    if (s->any)
        d->any = true;
    for (unsigned int i = 0; i < s->n && !d->any; i++)
        sv_toks_add(d, s->t[i]);
}

static bool sv_toks_has(const struct sv_toks *s, uint32_t t)
{
    for (unsigned int i = 0; i < s->n; i++)
        if (s->t[i] == t)
            return true;
    return false;
}

/* ---- page contents ---- */

/* Word @w of half @h of window page @page holding token @tok (word 0 names the token, word 1
 * the page and half, so a misplaced or torn half shows). */
static uint64_t sv_word(uint32_t tok, uint32_t page, uint32_t h, uint32_t w)
{
    if (w == 0)
        return ((uint64_t)SV_MAGIC << 32) | tok;
    if (w == 1)
        return page | (h << 8);
    uint64_t s = ((uint64_t)tok << 32) ^ (h * (SV_HALF / 8) + w);
    return fuzz_rand_next(&s);
}

/* Fill the halves @halves of page buffer @b with token @tok's pattern. */
static void sv_fill(uint8_t *b, uint32_t tok, uint32_t page, unsigned int halves)
{
    for (uint32_t h = 0; h < 2; h++)
        for (uint32_t w = 0; (halves & (1u << h)) && w < SV_HALF / 8; w++) {
            uint64_t x = sv_word(tok, page, h, w);
            memcpy(b + h * SV_HALF + 8 * w, &x, 8);
        }
}

/* The token whose whole pattern half @h of window page @page holds (0: zeros), or -1. */
static long sv_decode(const uint8_t *b, uint32_t page, uint32_t h)
{
    uint64_t w0, x;
    b += h * SV_HALF;
    memcpy(&w0, b, 8);
    uint32_t tok = (uint32_t)(w0 >> 32) == SV_MAGIC ? (uint32_t)w0 : 0;
    if (w0 && !tok)
        return -1;
    for (uint32_t w = 0; w < SV_HALF / 8; w++) {
        memcpy(&x, b + 8 * w, 8);
        if (x != (tok ? sv_word(tok, page, h, w) : 0))
            return -1;
    }
    return tok;
}

/* ---- map states and effects ---- */

static bool sv_is_mapop(uint8_t k) { return k == SV_MMAP || k == SV_MUNMAP || k == SV_MPROTECT; }
static bool sv_is_contop(uint8_t k) { return k == SV_MMAP || k == SV_WRITE; }
static bool sv_is_accessor(uint8_t k)
{
    return k == SV_READ || k == SV_WRITE || k == SV_MPROTECT || k == SV_FORK;
}

/* States effect @e may leave a page in that may be in one of @maps (0: it leaves it alone). */
static uint16_t sv_effect_maps(const struct sv_effect *e, uint16_t maps)
{
    switch (e->kind) {
    case SV_MMAP:
        return SV_MAPPED(e->vprot) | SV_UNMAPPED;
    case SV_MUNMAP:
        return SV_UNMAPPED;
    case SV_MPROTECT:
        return (maps & SV_ANY_MAPPED) ? SV_MAPPED(e->vprot) : 0;
    default:
        return 0;
    }
}

/* @maps closed under effects @e[0, n), applied in any order (two passes: only mprotect depends
 * on the state, and only on whether one is mapped). */
static uint16_t sv_close_maps(uint16_t maps, const struct sv_effect *e, unsigned int n)
{
    for (unsigned int pass = 0; pass < 2; pass++)
        for (unsigned int i = 0; i < n; i++)
            maps |= sv_effect_maps(&e[i], maps);
    return maps;
}

/* Half @h of a page may hold what @e leaves there. */
static void sv_effect_toks(const struct sv_effect *e, struct sv_toks *t, uint32_t h)
{
    if (e->kind == SV_WRITE && (e->halves & (1u << h)))
        sv_toks_add(t, e->tok);
    else if (e->kind == SV_MMAP)
        sv_toks_add(t, 0);
}

static struct sv_effect sv_effect_of(const struct sv_op *o)
{
    return (struct sv_effect){ o->kind, o->vprot, o->halves, o->tok };
}

/* ---- in-flight ops ---- */

static bool sv_touches(const struct sv_op *o, unsigned int as, uint32_t p)
{
    return o->busy && o->as == as && p >= o->first && p < o->first + o->n;
}

static bool sv_ranges_meet(const struct sv_op *a, const struct sv_op *b)
{
    return a->busy && b->busy && a->as == b->as && a->first < b->first + b->n &&
           b->first < a->first + a->n;
}

/* What page @p of @as may be now, seen by CPU @self: the model closed under the others' ops. */
static void sv_view(unsigned int as, uint32_t p, unsigned int self, uint16_t *maps,
                    struct sv_toks toks[2])
{
    const struct sv_page *pg = &sv.as[as].pg[p];
    struct sv_effect e[FUZZ_MAX_CPUS];
    unsigned int n = 0;

    toks[0] = pg->toks[0];
    toks[1] = pg->toks[1];
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++)
        if (c != self && sv_touches(&sv.op[c], as, p)) {
            e[n] = sv_effect_of(&sv.op[c]);
            sv_effect_toks(&e[n], &toks[0], 0);
            sv_effect_toks(&e[n++], &toks[1], 1);
        }
    *maps = sv_close_maps(pg->maps, e, n);
}

/* Every accessor in flight on [first, first + n) of @as takes in the current view. */
static void sv_refresh(unsigned int as, uint32_t first, uint32_t n)
{
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++) {
        struct sv_op *o = &sv.op[c];
        if (!o->busy || !sv_is_accessor(o->kind) || o->as != as)
            continue;
        uint32_t lo = MM_MAX(first, o->first), hi = MM_MIN(first + n, o->first + o->n);
        for (uint32_t p = lo; p < hi; p++) {
            uint16_t m;
            struct sv_toks t[2];
            sv_view(as, p, c, &m, t);
            o->acc_maps[p - o->first] |= m;
            sv_toks_union(&o->acc_toks[p - o->first][0], &t[0]);
            sv_toks_union(&o->acc_toks[p - o->first][1], &t[1]);
        }
    }
}

static void sv_ov_add(struct sv_op *o, struct sv_effect e)
{
    if (o->nov == SV_MAX_OV)
        o->ov_full = true;
    else
        o->ov[o->nov++] = e;
}

static struct sv_op *sv_begin(unsigned int cpu, uint8_t kind, unsigned int as, uint32_t first,
                              uint32_t n, uint8_t vprot, uint32_t tok, uint32_t opno,
                              unsigned int halves)
{
    struct sv_op *o = &sv.op[cpu];

    memset(o, 0, sizeof(*o));
    *o = (struct sv_op){ .busy = true, .kind = kind, .as = (uint8_t)as, .vprot = vprot,
                         .halves = (uint8_t)halves, .first = first, .n = n, .tok = tok, .opno = opno };
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++) {
        struct sv_op *q = &sv.op[c];
        if (c == cpu || !sv_ranges_meet(o, q))
            continue;
        if ((sv_is_mapop(kind) && sv_is_mapop(q->kind)) || (sv_is_contop(kind) && sv_is_contop(q->kind))) {
            sv_ov_add(o, sv_effect_of(q));
            sv_ov_add(q, sv_effect_of(o));
        }
    }
    for (uint32_t p = 0; p < n; p++)
        sv_view(as, first + p, cpu, &o->acc_maps[p], o->acc_toks[p]);
    sv_refresh(as, first, n); /* the others may see this op's effect from now on */
    return o;
}

static void sv_end(struct sv_op *o)
{
    o->busy = false;
    sv_refresh(o->as, o->first, o->n);
}

/* A successful mapping op: its state, or what the ops that overlapped it made of it. */
static void sv_commit_maps(struct sv_op *o, uint16_t state)
{
    for (uint32_t p = 0; p < o->n; p++)
        sv.as[o->as].pg[o->first + p].maps = o->ov_full ? SV_ALL : sv_close_maps(state, o->ov, o->nov);
}

/* A successful write or mmap: the halves it covers hold its token, or what the content ops that
 * overlapped it left there. */
static void sv_commit_toks(struct sv_op *o, uint32_t tok)
{
    for (uint32_t h = 0; h < 2; h++) {
        if (!(o->halves & (1u << h)))
            continue;
        struct sv_toks t = sv_toks_one(tok);
        t.any = o->ov_full;
        for (unsigned int i = 0; i < o->nov; i++)
            sv_effect_toks(&o->ov[i], &t, h);
        for (uint32_t p = 0; p < o->n; p++)
            sv.as[o->as].pg[o->first + p].toks[h] = t;
    }
}

/* ---- judges ---- */

/* An allocation failure is plausible: another CPU's op overlapped this one in time (it may have
 * held pages at the moment of the failure, and given them back since: a free logged but not yet
 * back in the buddy lists when this op's allocation ran), or a fault's worth of pages (4 kernel +
 * 1 user) cannot be had now. Runs after the op's model update. The probe's locks are preemption
 * points, so the overlap is read after it: an op that another CPU starts inside the probe and that
 * frees memory makes the probe succeed (corpus/smp/regress-oom-free-inside-the-probe). */
static bool sv_oom_ok(unsigned int cpu)
{
    struct page *got[5];
    unsigned int n = 0;
    bool short_of_memory = false;

    for (; n < 5; n++) {
        got[n] = alloc_pages((n < 4 ? GFP_KERNEL : GFP_HIGHUSER) | __GFP_NOWARN, 0);
        if (!got[n]) {
            short_of_memory = true;
            break;
        }
    }
    while (n--)
        __free_pages(got[n], 0);
    /* FUZZ_MAX_CPUS: the quiescent check, where no op is in flight */
    return short_of_memory || (cpu < FUZZ_MAX_CPUS && sv.overlapped[cpu]);
}

static int sv_expect(unsigned int state, unsigned int kind)
{
    if (state == 0)
        return VM_FAULT_SIGSEGV;
    return ((state - 1) & (kind ? VM_WRITE : VM_READ)) ? VM_FAULT_HANDLED : VM_FAULT_ACCESS;
}

/* Could an access of @kind have given @res in one of @maps? (OOM: -1, decide with the probe.) */
static int sv_outcome_possible(uint16_t maps, unsigned int kind, int res)
{
    bool handled = false;
    for (unsigned int s = 0; s < 9; s++) {
        if (!(maps & (1u << s)))
            continue;
        if (sv_expect(s, kind) == res)
            return 1;
        handled |= sv_expect(s, kind) == VM_FAULT_HANDLED;
    }
    return res == VM_FAULT_OOM && handled ? -1 : 0;
}

static const char *sv_maps_text(uint16_t maps)
{
    static char bufs[2][9 * 8];
    static unsigned int turn;
    static const char *const vp[8] = { "none", "r", "w?", "rw", "x?", "rx", "wx?", "rwx" };
    char *b = bufs[turn++ & 1];
    size_t at = 0;
    b[0] = 0;
    for (unsigned int s = 0; s < 9; s++)
        if (maps & (1u << s)) {
            const char *t = s ? vp[s - 1] : "unmapped";
            at += (size_t)mm_snprintf(b + at, sizeof(bufs[0]) - at, "%s%s", at ? "," : "", t);
        }
    return b;
}

/* Half @h read from page @p of @as is possible under @toks; returns its token. */
static uint32_t sv_check_half(uint32_t opno, const char *when, unsigned int as, uint32_t p,
                              uint32_t h, const uint8_t *b, const struct sv_toks *toks)
{
    long tok = sv_decode(b, p, h);
    if (tok < 0)
        fuzz_fail("smp-vm op#%u: %s as %u page %u half %u: neither zeros nor one whole write of "
                  "this half (word0 %016lx): a torn, misplaced or uncopied page", (unsigned int)opno,
                  when, as, p, h, (unsigned long)*(const uint64_t *)(b + h * SV_HALF));
    fuzz_digest_count((unsigned long)tok);
    if (sv_toks_has(toks, (uint32_t)tok))
        return (uint32_t)tok;
    if (toks->any && (tok == 0 || (tok < (long)MM_ARRAY_SIZE(sv.tok_as) &&
                                   (sv.tok_as[tok] == as + 1 ||
                                    (as == SV_CHILD && sv.tok_as[tok] == sv.as[as].parent + 1)))))
        return (uint32_t)tok;
    fuzz_fail("smp-vm op#%u: %s as %u page %u half %u holds token %ld, the model allows %u "
              "token(s)%s, first %u (a lost write, a stale translation or a missed copy)",
              (unsigned int)opno, when, as, p, h, tok, (unsigned int)toks->n,
              toks->any ? " or any" : "", toks->n ? toks->t[0] : 0);
}

/* ---- the ops ---- */

static struct mm_struct *sv_mm_live(unsigned int as)
{
    if (as >= SV_NAS || sv.as[as].state != SV_LIVE) {
        fuzz_digest_ok(false);
        SV_TRACE("  skipped: address space %u is not live", as);
        return NULL;
    }
    return sv.as[as].mm;
}

static void sv_mmap(unsigned int cpu, uint32_t opno, unsigned int as, uint32_t first, uint32_t n,
                    uint32_t prot)
{
    struct mm_struct *mm = sv_mm_live(as);
    if (!mm)
        return;
    uint8_t vp = vm_prot_flags(prot);
    uintptr_t va = SV_BASE + first * PAGE_SIZE;
    struct sv_op *o = sv_begin(cpu, SV_MMAP, as, first, n, vp, 0, opno, SV_BOTH);
    long r = do_mmap(mm, va, n * PAGE_SIZE, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    if (r == (long)va) {
        sv_commit_maps(o, SV_MAPPED(vp));
        sv_commit_toks(o, 0);
    } else if (r == -MM_ENOMEM) {
        for (uint32_t p = 0; p < n; p++)
            sv.as[as].pg[first + p].maps |= SV_UNMAPPED;
    }
    sv_end(o);
    fuzz_digest_err(r < 0 ? (int)r : 0);
    SV_TRACE("  cpu%u mmap as %u [%u, +%u) prot %u = %ld", cpu, as, first, n, prot, r);
    if (r != (long)va && !(r == -MM_ENOMEM && sv_oom_ok(cpu)))
        svfail(o, "do_mmap(fixed, as %u page %u, %u pages, prot %u) = %ld (%s)", as, first, n, prot,
               r, r < 0 ? mm_strerror((int)r) : "another address");
}

static void sv_munmap(unsigned int cpu, uint32_t opno, unsigned int as, uint32_t first, uint32_t n)
{
    struct mm_struct *mm = sv_mm_live(as);
    if (!mm)
        return;
    struct sv_op *o = sv_begin(cpu, SV_MUNMAP, as, first, n, 0, 0, opno, SV_BOTH);
    int err = do_munmap(mm, SV_BASE + first * PAGE_SIZE, n * PAGE_SIZE);
    if (!err)
        sv_commit_maps(o, SV_UNMAPPED);
    sv_end(o);
    fuzz_digest_err(err);
    SV_TRACE("  cpu%u munmap as %u [%u, +%u) = %d", cpu, as, first, n, err);
    if (err && !(err == -MM_ENOMEM && sv_oom_ok(cpu)))
        svfail(o, "do_munmap(as %u page %u, %u pages) = %s", as, first, n, mm_strerror(err));
}

static void sv_mprotect(unsigned int cpu, uint32_t opno, unsigned int as, uint32_t first,
                        uint32_t n, uint32_t prot)
{
    struct mm_struct *mm = sv_mm_live(as);
    if (!mm)
        return;
    uint8_t vp = vm_prot_flags(prot);
    struct sv_op *o = sv_begin(cpu, SV_MPROTECT, as, first, n, vp, 0, opno, SV_BOTH);
    int err = do_mprotect(mm, SV_BASE + first * PAGE_SIZE, n * PAGE_SIZE, prot);
    if (!err)
        sv_commit_maps(o, SV_MAPPED(vp));
    sv_end(o);
    fuzz_digest_err(err);
    SV_TRACE("  cpu%u mprotect as %u [%u, +%u) prot %u = %d", cpu, as, first, n, prot, err);
    bool all_mapped = true, hole = false;
    for (uint32_t p = 0; p < n; p++) {
        all_mapped &= (o->acc_maps[p] & SV_ANY_MAPPED) != 0;
        hole |= (o->acc_maps[p] & SV_UNMAPPED) != 0;
    }
    if (!err && !all_mapped)
        svfail(o, "do_mprotect(as %u page %u, %u pages) succeeded over a range the model says "
               "was never all mapped", as, first, n);
    if (err && !(err == -MM_ENOMEM && (hole || sv_oom_ok(cpu))))
        svfail(o, "do_mprotect(as %u page %u, %u pages, prot %u) = %s, the model says every page "
               "was mapped", as, first, n, prot, mm_strerror(err));
}

/* kind 0 read (the whole page), 1 write (the whole page), 2 write-head (its first half only, so
 * the second half shows what a COW break copied or a new page was zeroed to) */
static void sv_access(unsigned int cpu, uint32_t opno, unsigned int as, uint32_t p, unsigned int kind)
{
    static const char *const kn[] = { "read", "write", "write-head" };
    struct mm_struct *mm = sv_mm_live(as);
    if (!mm || !fuzz_platform.user_copy)
        return;
    uint8_t *b = sv.buf[cpu];
    uint32_t tok = kind ? opno : 0;
    unsigned int halves = kind == 2 ? 1u : SV_BOTH;
    if (kind) {
        sv_fill(b, tok, p, halves);
        sv.tok_as[tok] = (uint8_t)(as + 1);
    }
    struct sv_op *o = sv_begin(cpu, kind ? SV_WRITE : SV_READ, as, p, 1, 0, tok, opno, halves);
    uintptr_t fva = 0;
    int res = fuzz_platform.user_copy(mm, SV_BASE + p * PAGE_SIZE, b, kind == 2 ? SV_HALF : PAGE_SIZE,
                                      kind ? 1 : 0, &fva);
    if (kind && res == VM_FAULT_HANDLED)
        sv_commit_toks(o, tok);
    sv_end(o);
    fuzz_digest_fault(res, res == VM_FAULT_HANDLED);
    SV_TRACE("  cpu%u %s as %u page %u: %s", cpu, kn[kind], as, p, vm_fault_name((enum vm_fault_result)res));
    int ok = sv_outcome_possible(o->acc_maps[0], kind ? 1 : 0, res);
    if (ok < 0)
        ok = sv_oom_ok(cpu);
    if (!ok)
        svfail(o, "%s as %u page %u: %s, the model allows states {%s}", kn[kind], as, p,
               vm_fault_name((enum vm_fault_result)res), sv_maps_text(o->acc_maps[0]));
    for (uint32_t h = 0; !kind && res == VM_FAULT_HANDLED && h < 2; h++)
        (void)sv_check_half(opno, "read", as, p, h, b, &o->acc_toks[0][h]);
}

static void sv_fork(unsigned int cpu, uint32_t opno, unsigned int as)
{
    struct sv_as *ch = &sv.as[SV_CHILD];
    struct mm_struct *mm = sv_mm_live(as), *child = NULL;
    if (!mm)
        return;
    if (ch->state != SV_EMPTY) {
        fuzz_digest_ok(false);
        SV_TRACE("  skipped: the child slot is taken");
        return;
    }
    ch->state = SV_FORKING;
    struct sv_op *o = sv_begin(cpu, SV_FORK, as, 0, SV_PAGES, 0, 0, opno, SV_BOTH);
    int err = mm_fork(mm, &child);
    if (!err) {
        ch->mm = child;
        ch->parent = (uint8_t)as;
        for (uint32_t p = 0; p < SV_PAGES; p++)
            ch->pg[p] = (struct sv_page){ o->acc_maps[p], { o->acc_toks[p][0], o->acc_toks[p][1] } };
    }
    ch->state = err ? SV_EMPTY : SV_LIVE;
    sv_end(o);
    fuzz_digest_err(err);
    SV_TRACE("  cpu%u fork as %u = %d", cpu, as, err);
    if (err && !(err == -MM_ENOMEM && sv_oom_ok(cpu)))
        svfail(o, "mm_fork(as %u) = %s", as, mm_strerror(err));
}

static void sv_exit(unsigned int cpu)
{
    struct sv_as *ch = &sv.as[SV_CHILD];
    if (!sv_mm_live(SV_CHILD))
        return;
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++)
        if (c != cpu && sv.op[c].busy && sv.op[c].as == SV_CHILD) {
            fuzz_digest_ok(false);
            SV_TRACE("  skipped: CPU %u has an op in flight in the child", c);
            return;
        }
    ch->state = SV_EXITING;
    mm_destroy(ch->mm);
    ch->mm = NULL;
    ch->state = SV_EMPTY;
    fuzz_digest_ok(true);
    SV_TRACE("  cpu%u exit of the child", cpu);
}

void smp_vm_exec(unsigned int cpu, uint32_t opno, const struct fuzz_op *op)
{
    unsigned int as = op->arg[1] / SV_PAGES;
    uint32_t first = op->arg[1] % SV_PAGES;
    uint32_t n = MM_MIN(op->arg[2], SV_PAGES - first);

    switch (op->kind) {
    case FOP_SMP_MMAP:
        sv_mmap(cpu, opno, as, first, n, op->arg[3]);
        break;
    case FOP_SMP_MUNMAP:
        sv_munmap(cpu, opno, as, first, n);
        break;
    case FOP_SMP_MPROTECT:
        sv_mprotect(cpu, opno, as, first, n, op->arg[3]);
        break;
    case FOP_SMP_ACCESS:
        sv_access(cpu, opno, as, first, op->arg[2]);
        break;
    case FOP_SMP_FORK:
        sv_fork(cpu, opno, op->arg[1]);
        break;
    case FOP_SMP_EXIT:
        sv_exit(cpu);
        break;
    }
}

/* ---- setup, quiescent checks, conservation, teardown ---- */

void smp_vm_setup(uint32_t seed)
{
    (void)seed;
    memset(&sv, 0, sizeof(sv));
    for (unsigned int a = 0; a < SV_CHILD; a++) {
        sv.as[a].mm = mm_create();
        if (!sv.as[a].mm)
            fuzz_fail("smp-vm: boot: mm_create failed");
        sv.as[a].state = SV_LIVE;
        for (uint32_t p = 0; p < SV_PAGES; p++)
            sv.as[a].pg[p] = (struct sv_page){ SV_UNMAPPED, { sv_toks_one(0), sv_toks_one(0) } };
    }
}

/* An op starts (@busy) or ends on @cpu: it overlaps every op in flight on another CPU. Judging
 * OOM by "another CPU is mid-op now" missed an op that ran and finished inside this one (the
 * smp target found that: corpus/smp/regress-oom-beside-a-finished-free). */
void smp_vm_note_op(unsigned int cpu, bool busy)
{
    sv.in_op[cpu] = busy;
    if (busy)
        sv.overlapped[cpu] = false;
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++)
        if (c != cpu && sv.in_op[c]) {
            sv.overlapped[c] = true;
            sv.overlapped[cpu] |= busy;
        }
}

/* Pin page @p of @as to what the mm holds, failing if the model did not allow it. */
static void sv_check_page(unsigned int as, uint32_t p)
{
    struct sv_as *a = &sv.as[as];
    struct sv_page *pg = &a->pg[p];
    uintptr_t va = SV_BASE + p * PAGE_SIZE;
    struct vm_area_struct *v = find_vma(a->mm, va);
    bool mapped = v && v->vm_start <= va;
    uint16_t state = mapped ? SV_MAPPED(v->vm_flags & 7u) : SV_UNMAPPED;

    if (!(pg->maps & state))
        fuzz_fail("smp-vm quiescent after op#%u: as %u page %u is %s, the model allows {%s}",
                  (unsigned int)fuzz_cur.opno, as, p, sv_maps_text(state), sv_maps_text(pg->maps));
    pg->maps = state;
    if (!mapped || !(v->vm_flags & VM_READ) || !fuzz_platform.user_copy)
        return;
    uintptr_t fva = 0;
    int res = fuzz_platform.user_copy(a->mm, va, sv.buf[FUZZ_MAX_CPUS], PAGE_SIZE, 0, &fva);
    fuzz_digest_fault(res, res == VM_FAULT_HANDLED);
    if (res == VM_FAULT_OOM && sv_oom_ok(FUZZ_MAX_CPUS))
        return;
    if (res != VM_FAULT_HANDLED)
        fuzz_fail("smp-vm quiescent after op#%u: read of as %u page %u (%s): %s",
                  (unsigned int)fuzz_cur.opno, as, p, sv_maps_text(state),
                  vm_fault_name((enum vm_fault_result)res));
    for (uint32_t h = 0; h < 2; h++)
        pg->toks[h] = sv_toks_one(sv_check_half(fuzz_cur.opno, "quiescent read of", as, p, h,
                                                sv.buf[FUZZ_MAX_CPUS], &pg->toks[h]));
}

void smp_vm_check(void)
{
    for (unsigned int as = 0; as < SV_NAS; as++)
        if (sv.as[as].state == SV_LIVE)
            for (uint32_t p = 0; p < SV_PAGES; p++)
                sv_check_page(as, p);
}

struct sv_frames {
    unsigned long n;
    unsigned long pfn[SV_MAX_FRAMES];
};

static int sv_count_pte(void *arg, uintptr_t va, pte_t *ptep)
{
    struct sv_frames *f = arg;
    pte_t e = *ptep;
    (void)va;
    if (!pte_present(e) || (e & PTE_SW_ZERO))
        return 0;
    unsigned long pfn = (unsigned long)(pte_addr(e) >> PAGE_SHIFT);
    for (unsigned long i = 0; i < f->n; i++)
        if (f->pfn[i] == pfn)
            return 0;
    if (f->n == SV_MAX_FRAMES)
        fuzz_fail("smp-vm: more than %u user frames", SV_MAX_FRAMES);
    f->pfn[f->n++] = pfn;
    return 0;
}

unsigned long smp_vm_pages(void)
{
    static struct sv_frames f;
    unsigned long tables = 0;

    f.n = 0;
    for (unsigned int as = 0; as < SV_NAS; as++) {
        if (!sv.as[as].mm)
            continue;
        tables += sv.as[as].mm->pt.nr_tables;
        pt_visit(&sv.as[as].mm->pt, ARCH_USER_VA_START, ARCH_USER_VA_END, sv_count_pte, &f);
    }
    return tables + f.n + (mm_state.vm.zero_page ? 1 : 0);
}

void smp_vm_teardown(void)
{
    for (unsigned int as = SV_NAS; as-- > 0;)
        if (sv.as[as].mm) {
            mm_destroy(sv.as[as].mm);
            sv.as[as].mm = NULL;
            sv.as[as].state = SV_EMPTY;
        }
}
