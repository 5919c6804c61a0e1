/*
 * target_domains.c - fuzz target "domains": protection domains (memory_protection.h) under a
 * reference model of who may read or write what.
 *
 *   dom create KIND            core|driver|user: an id, or -MM_EEXIST (a second core) /
 *                              -MM_ENOSPC (15 keys of that kind in use), as the model predicts
 *   dom destroy d=             0, or -MM_EBUSY (reported) while one of its regions is pinned or
 *                              under I/O; its memory and grants die (their addresses become dead)
 *   dom alloc WHAT d= n=       pages (order n%4), vmalloc (n%8+1 pages), kmalloc (n%512+1 bytes):
 *                              zero-filled, not overlapping anything held, in the owner's half
 *   dom free AS h=             by the owner: 0 (-MM_EBUSY when pinned/under I/O); by another
 *                              domain: -MM_EACCES, reported, nothing changes
 *   dom grant RIGHTS h= to=    read|rw to another domain (to the owner itself or of an object:
 *                              -MM_EINVAL, reported)
 *   dom revoke g=              the owner revokes; the grant's address becomes dead
 *   dom migrate MODE h= to=    move|scrub; refused (-MM_EBUSY, reported, nothing changes) when
 *                              pinned, under I/O or granted to a third domain; -MM_EINVAL to the
 *                              owner itself
 *   dom pin HOW h=             pin|unpin|io|io-done on a page or vmalloc region
 *   dom access KIND from= t= w=  one 8-byte read or write of word w of target t (a held region or
 *                              object, a live grant, any page of a dead slot) from inside domain
 *                              `from` (or none; or a destroyed domain, whose entry must be
 *                              refused and reported) on the current CPU: the model says done or #PF with
 *                              which error code (P, W, U, PK); a read returns the model's word; a
 *                              fault goes to domain_report_fault and must be reported
 *   cpu N                      switch CPU (TLBs per CPU: revocation must reach every CPU)
 *
 * The model (who may touch what): a mapping of region X is keyed for its owner, a grant mapping
 * for the grantee and writable only for rw; from inside domain R an access to a mapping keyed for
 * E is refused by the key (PK) unless R == E, for user pages always (PKRU) and for supervisor
 * pages on supervisor accesses (PKRS); a user domain's accesses are user accesses, which the
 * paging check refuses on supervisor pages; outside every domain all keys are open.
 *
 * Checks after each op: mm_misuse_count() moved exactly by the reports the model expects; the
 * number of domains, grants and objects equals the model's; when due, mm_check (with
 * domain_check) and every model word of every held memory read through the window's tables. Teardown: every domain destroyed, domain_teardown, and free + slab pages equal the boot
 * value. The kernel replays it too: its accesses run on the real CPU (ring 0; ring 3 for a user
 * domain's), keys checked by PKS/PKU, and its digests must equal the hosted ones.
 */
#include "fuzz_target.h"
#include "machine_mmu.h"
#include "memory_protection.h"
#include "../mm/internal.h" /* the window's page table, for the contents check */

#define DF_MAX_DOM   32
#define DF_MAX_MEM   96
#define DF_MAX_GRANT DOMAIN_MAX_GRANTS
#define DF_MAX_DEAD  64
#define DF_WORDS     128

struct df_dom {
    int id;
    uint8_t kind;
    bool live;
};

struct df_mem {
    uintptr_t addr;
    uint32_t size;              /* bytes: pages * PAGE_SIZE or the object's class */
    uint8_t what;               /* 0 pages, 1 vmalloc, 2 kmalloc */
    uint8_t owner;              /* model domain */
    uint8_t npages;
    bool pinned, io, live;
    uint64_t w[DF_WORDS];       /* the model's words (df_word_off says where each lives) */
};

struct df_grant {
    uintptr_t addr;
    uint8_t mem, grantee, rights;
    bool live;
};

static struct {
    struct fuzz_machine m;
    struct df_dom dom[DF_MAX_DOM];
    struct df_mem mem[DF_MAX_MEM];
    struct df_grant grant[DF_MAX_GRANT];
    uintptr_t dead[DF_MAX_DEAD];
    unsigned int nr_dead;
    unsigned long misuse, boot_sum;
    int dead_id;                /* the last domain destroyed (0: none yet) */
} df;

static const uint8_t dom_kinds[] = {
    FOP_DOM_CREATE, FOP_DOM_CREATE, FOP_DOM_DESTROY,
    FOP_DOM_ALLOC, FOP_DOM_ALLOC, FOP_DOM_ALLOC, FOP_DOM_ALLOC, FOP_DOM_FREE, FOP_DOM_FREE,
    FOP_DOM_GRANT, FOP_DOM_GRANT, FOP_DOM_REVOKE, FOP_DOM_MIGRATE, FOP_DOM_MIGRATE, FOP_DOM_PIN,
    FOP_DOM_ACCESS, FOP_DOM_ACCESS, FOP_DOM_ACCESS, FOP_DOM_ACCESS, FOP_DOM_ACCESS, FOP_DOM_ACCESS,
    FOP_CPU, FOP_CPU, FOP_CHECK,
};

static const struct fuzz_op_table dom_table = { dom_kinds, MM_ARRAY_SIZE(dom_kinds), FUZZ_TABLE_SMP,
                                                NULL };

#define DF_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

static _Noreturn MM_PRINTF(1, 2) void df_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fuzz_fail_op(NULL, fmt, ap);
    va_end(ap);
    fuzz_crash();
}

/* ---- model lookups ---- */

static bool df_dom_live(unsigned int i) { return df.dom[i].live; }
static bool df_mem_live(unsigned int i) { return df.mem[i].live; }
static bool df_grant_live(unsigned int i) { return df.grant[i].live; }

/* The index of the @h-th (modulo their number) of @n entries that @live accepts; -1 if none. */
static int df_nth(uint32_t h, unsigned int n, bool (*live)(unsigned int))
{
    unsigned int nr = 0;
    for (unsigned int i = 0; i < n; i++)
        nr += live(i);
    if (!nr)
        return -1;
    h %= nr;
    for (unsigned int i = 0; i < n; i++)
        if (live(i) && h-- == 0)
            return (int)i;
    return -1;
}

static int df_nth_dom(uint32_t h) { return df_nth(h, DF_MAX_DOM, df_dom_live); }
static int df_nth_mem(uint32_t h) { return df_nth(h, DF_MAX_MEM, df_mem_live); }
static int df_nth_grant(uint32_t h) { return df_nth(h, DF_MAX_GRANT, df_grant_live); }

/* What the model holds: DF_GRANTS live grants, DF_DOMS live domains, DF_OBJS live objects. */
enum { DF_GRANTS, DF_DOMS, DF_OBJS };
static unsigned int df_count(int what)
{
    unsigned int n = 0;
    for (unsigned int i = 0; what == DF_GRANTS && i < DF_MAX_GRANT; i++)
        n += df.grant[i].live;
    for (unsigned int i = 0; what == DF_DOMS && i < DF_MAX_DOM; i++)
        n += df.dom[i].live;
    for (unsigned int i = 0; what == DF_OBJS && i < DF_MAX_MEM; i++)
        n += df.mem[i].live && df.mem[i].what == 2;
    return n;
}

static bool df_user(unsigned int d) { return df.dom[d].kind == DOMAIN_USER; }

/* The slot base of window address @va (a slot is unmapped or mapped as a whole). */
static uintptr_t df_slot(uintptr_t va)
{
    uintptr_t base = va >= DOMAIN_KWIN ? DOMAIN_KWIN : DOMAIN_UWIN;
    return base + (va - base) / DOMAIN_SLOT_SPAN * DOMAIN_SLOT_SPAN;
}

/* A new mapping at @va: dead addresses in its slot are alive again. */
static void df_dead_prune(uintptr_t va)
{
    unsigned int k = 0;
    for (unsigned int i = 0; i < df.nr_dead; i++)
        if (df_slot(df.dead[i]) != df_slot(va))
            df.dead[k++] = df.dead[i];
    df.nr_dead = k;
}

static void df_dead_add(uintptr_t va)
{
    df_dead_prune(va);
    if (df.nr_dead == DF_MAX_DEAD) {
        for (unsigned int i = 1; i < DF_MAX_DEAD; i++)
            df.dead[i - 1] = df.dead[i];
        df.nr_dead--;
    }
    df.dead[df.nr_dead++] = va;
}

/* Words of a held memory, and the byte offset of word @k. */
static unsigned int df_nwords(const struct df_mem *x)
{
    return x->what == 2 ? MM_MIN(x->size / 8, (uint32_t)DF_WORDS) : x->npages * 16u;
}

static uintptr_t df_word_off(const struct df_mem *x, unsigned int k)
{
    return x->what == 2 ? (uintptr_t)k * 8 : (uintptr_t)(k / 16) * PAGE_SIZE + (k % 16) * 256;
}

/* A reported misuse the model expects (checked after the op). */
static void df_expect_report(void) { df.misuse++; }

/* Allocation failures are legitimate only when slots or memory ran out. */
static void df_alloc_failed(const char *what)
{
    struct domain_stats st;
    domain_get_stats(&st);
    if (st.nr_regions < DOMAIN_MAX_REGIONS && page_alloc_nr_free() > 64)
        df_fail("harness.alloc: %s failed with %u regions and %lu free pages", what,
                st.nr_regions, page_alloc_nr_free());
}

/* ---- ops ---- */

static void df_op_create(uint32_t kind)
{
    unsigned int same = 0, slot = DF_MAX_DOM;
    bool core = false;
    for (unsigned int i = 0; i < DF_MAX_DOM; i++) {
        if (df.dom[i].live && (df.dom[i].kind == DOMAIN_USER) == (kind == DOMAIN_USER))
            same++;
        core = core || (df.dom[i].live && df.dom[i].kind == DOMAIN_CORE);
        if (!df.dom[i].live && slot == DF_MAX_DOM)
            slot = i;
    }
    int want = kind == DOMAIN_CORE && core ? -MM_EEXIST : same >= PKEY_NR - 1 ? -MM_ENOSPC : 1;
    int id = domain_create((enum domain_kind)kind);
    fuzz_digest_err(id > 0 ? 0 : id);
    if ((id > 0) != (want > 0) || (id <= 0 && id != want))
        df_fail("model.create: domain_create(%u) returned %d, the model says %d", kind, id, want);
    if (id > 0)
        df.dom[slot] = (struct df_dom){ .id = id, .kind = (uint8_t)kind, .live = true };
}

/* The model forgets memory @i (its address and its grants' become dead). */
static void df_mem_gone(unsigned int i)
{
    for (unsigned int g = 0; g < DF_MAX_GRANT; g++)
        if (df.grant[g].live && df.grant[g].mem == i) {
            df.grant[g].live = false;
            df_dead_add(df.grant[g].addr);
        }
    if (df.mem[i].what != 2)
        df_dead_add(df.mem[i].addr);
    df.mem[i].live = false;
}

static void df_op_destroy(uint32_t h)
{
    int d = df_nth_dom(h);
    if (d < 0)
        return fuzz_digest_ok(false);
    bool busy = false;
    for (unsigned int i = 0; i < DF_MAX_MEM; i++)
        busy = busy || (df.mem[i].live && df.mem[i].owner == d && (df.mem[i].pinned || df.mem[i].io));
    int err = domain_destroy(df.dom[d].id);
    fuzz_digest_err(err);
    if (err != (busy ? -MM_EBUSY : 0))
        df_fail("model.destroy: domain_destroy(%d) returned %d, busy %d", df.dom[d].id, err, busy);
    if (busy)
        return df_expect_report();
    for (unsigned int g = 0; g < DF_MAX_GRANT; g++)
        if (df.grant[g].live && df.grant[g].grantee == d) {
            df.grant[g].live = false;
            df_dead_add(df.grant[g].addr);
        }
    for (unsigned int i = 0; i < DF_MAX_MEM; i++)
        if (df.mem[i].live && df.mem[i].owner == d)
            df_mem_gone(i);
    df.dom[d].live = false;
    df.dead_id = df.dom[d].id;
}

/* A fresh allocation: in the owner's half, overlapping nothing held. */
static void df_mem_verify_new(const struct df_mem *x)
{
    if ((x->addr < DOMAIN_KWIN) != df_user(x->owner))
        df_fail("model.alloc: 0x%lx is in the wrong half for domain %d", (unsigned long)x->addr,
                df.dom[x->owner].id);
    for (unsigned int i = 0; i < DF_MAX_MEM; i++) {
        const struct df_mem *y = &df.mem[i];
        if (y->live && y != x && x->addr < y->addr + y->size && y->addr < x->addr + x->size)
            df_fail("model.alloc: [0x%lx +%u) overlaps held [0x%lx +%u)", (unsigned long)x->addr,
                    x->size, (unsigned long)y->addr, y->size);
    }
}

static void df_op_alloc(uint32_t what, uint32_t h, uint32_t n)
{
    int d = df_nth_dom(h), slot = -1;
    for (unsigned int i = 0; i < DF_MAX_MEM && slot < 0; i++)
        if (!df.mem[i].live)
            slot = (int)i;
    if (d < 0 || slot < 0)
        return fuzz_digest_ok(false);
    struct df_mem *x = &df.mem[slot];
    *x = (struct df_mem){ .what = (uint8_t)what, .owner = (uint8_t)d, .live = true };
    if (what == 0) {
        x->npages = (uint8_t)(1u << (n % 4));
        x->addr = domain_alloc_pages(df.dom[d].id, n % 4);
    } else if (what == 1) {
        x->npages = (uint8_t)(n % 8 + 1);
        x->addr = domain_vmalloc(df.dom[d].id, (size_t)x->npages * PAGE_SIZE - n % 100);
    } else {
        x->size = DOMAIN_OBJ_MIN;
        while (x->size < n % DOMAIN_OBJ_MAX + 1)
            x->size <<= 1;
        x->addr = domain_kmalloc(df.dom[d].id, n % DOMAIN_OBJ_MAX + 1);
    }
    if (what != 2)
        x->size = x->npages * (uint32_t)PAGE_SIZE;
    fuzz_digest_ok(x->addr != 0);
    if (!x->addr) {
        x->live = false;
        return df_alloc_failed("dom alloc");
    }
    df_mem_verify_new(x);
    df_dead_prune(x->addr);
}

static void df_op_free(uint32_t as, uint32_t h)
{
    int i = df_nth_mem(h);
    if (i < 0)
        return fuzz_digest_ok(false);
    struct df_mem *x = &df.mem[i];
    int by = x->owner;
    if (as == 1) { /* another live domain, if any */
        for (unsigned int k = 1; k < DF_MAX_DOM && by == x->owner; k++)
            if (df.dom[(x->owner + k) % DF_MAX_DOM].live)
                by = (int)((x->owner + k) % DF_MAX_DOM);
        if (by == x->owner)
            return fuzz_digest_ok(false);
    }
    int want = by != x->owner ? -MM_EACCES : (x->pinned || x->io) && x->what != 2 ? -MM_EBUSY : 0;
    int err = x->what == 2 ? domain_kfree(df.dom[by].id, x->addr)
                           : domain_free(df.dom[by].id, x->addr);
    fuzz_digest_err(err);
    if (err != want)
        df_fail("model.free: freeing 0x%lx (owner %d) as domain %d returned %d, expected %d",
                (unsigned long)x->addr, df.dom[x->owner].id, df.dom[by].id, err, want);
    if (err)
        return df_expect_report();
    df_mem_gone((unsigned int)i);
}

static void df_op_grant(uint32_t rights, uint32_t h, uint32_t to)
{
    int i = df_nth_mem(h), e = df_nth_dom(to), g = -1;
    for (unsigned int k = 0; k < DF_MAX_GRANT && g < 0; k++)
        if (!df.grant[k].live)
            g = (int)k;
    if (i < 0 || e < 0)
        return fuzz_digest_ok(false);
    struct df_mem *x = &df.mem[i];
    int want = x->what == 2 || e == x->owner ? -MM_EINVAL : g < 0 ? -MM_ENOSPC : 0;
    uintptr_t va = 0;
    int err = domain_grant(df.dom[x->owner].id, x->addr, df.dom[e].id,
                           (enum domain_rights)rights, &va);
    fuzz_digest_err(err);
    if (err != want)
        df_fail("model.grant: granting 0x%lx of domain %d to %d returned %d, expected %d",
                (unsigned long)x->addr, df.dom[x->owner].id, df.dom[e].id, err, want);
    if (err == -MM_EINVAL)
        return df_expect_report();
    if (err)
        return;
    if ((va < DOMAIN_KWIN) != df_user((unsigned int)e))
        df_fail("model.grant: grant at 0x%lx in the wrong half", (unsigned long)va);
    df.grant[g] = (struct df_grant){ .addr = va, .mem = (uint8_t)i, .grantee = (uint8_t)e,
                                     .rights = (uint8_t)rights, .live = true };
    df_dead_prune(va);
}

static void df_op_revoke(uint32_t h)
{
    int g = df_nth_grant(h);
    if (g < 0)
        return fuzz_digest_ok(false);
    int err = domain_revoke(df.dom[df.mem[df.grant[g].mem].owner].id, df.grant[g].addr);
    fuzz_digest_err(err);
    if (err)
        df_fail("model.revoke: revoking 0x%lx returned %d", (unsigned long)df.grant[g].addr, err);
    df.grant[g].live = false;
    df_dead_add(df.grant[g].addr);
}

/* The error the model expects for migrating memory @i to domain @d. */
static int df_migrate_want(unsigned int i, int d)
{
    const struct df_mem *x = &df.mem[i];
    if (d == x->owner)
        return -MM_EINVAL;
    if (x->what == 2)
        return 0;
    if (x->pinned || x->io)
        return -MM_EBUSY;
    for (unsigned int g = 0; g < DF_MAX_GRANT; g++)
        if (df.grant[g].live && df.grant[g].mem == i && df.grant[g].grantee != d)
            return -MM_EBUSY;
    return 0;
}

static void df_op_migrate(uint32_t mode, uint32_t h, uint32_t to)
{
    int i = df_nth_mem(h), d = df_nth_dom(to);
    if (i < 0 || d < 0)
        return fuzz_digest_ok(false);
    struct df_mem *x = &df.mem[i];
    int want = df_migrate_want((unsigned int)i, d);
    uintptr_t na = 0;
    int err = domain_migrate(df.dom[x->owner].id, x->addr, df.dom[d].id,
                             (enum domain_migrate_mode)mode, &na);
    fuzz_digest_err(err);
    if (err == -MM_ENOMEM && want == 0 && x->what == 2)
        return df_alloc_failed("object migration");
    if (err != want)
        df_fail("model.migrate: 0x%lx of domain %d to %d returned %d, expected %d",
                (unsigned long)x->addr, df.dom[x->owner].id, df.dom[d].id, err, want);
    if (err)
        return df_expect_report();
    for (unsigned int g = 0; g < DF_MAX_GRANT; g++) /* the destination's grant is dropped */
        if (df.grant[g].live && df.grant[g].mem == i) {
            df.grant[g].live = false;
            df_dead_add(df.grant[g].addr);
        }
    if (x->what != 2 && na != x->addr)
        df_dead_add(x->addr);
    x->addr = na;
    x->owner = (uint8_t)d;
    if (mode == DOMAIN_MIGRATE_SCRUB)
        memset(x->w, 0, sizeof(x->w));
    df_mem_verify_new(x);
    df_dead_prune(na);
}

static void df_op_pin(uint32_t how, uint32_t h)
{
    int i = df_nth_mem(h);
    if (i < 0 || df.mem[i].what == 2)
        return fuzz_digest_ok(false);
    struct df_mem *x = &df.mem[i];
    bool on = how == 0 || how == 2;
    int err = how < 2 ? domain_pin(df.dom[x->owner].id, x->addr, on)
                      : domain_io(df.dom[x->owner].id, x->addr, on);
    fuzz_digest_err(err);
    if (err)
        df_fail("model.pin: pin/io %u of 0x%lx returned %d", how, (unsigned long)x->addr, err);
    if (how < 2)
        x->pinned = on;
    else
        x->io = on;
}

/* ---- accesses ---- */

/* The #PF error code the model expects for an access from model domain @r (-1: none) to a
 * mapping keyed for domain @e, writable when @rw_pte; 0 when it is done. */
static unsigned int df_expect(int r, unsigned int e, bool rw_pte, bool write)
{
    bool user_acc = r >= 0 && df_user((unsigned int)r), user_page = df_user(e);
    unsigned int code = (write ? PF_ERR_W : 0) | (user_acc ? PF_ERR_U : 0);
    bool deny = (user_acc && !user_page) || (write && !rw_pte);
    bool pk = r >= 0 && (user_page || !user_acc) && (unsigned int)r != e;
    return deny || pk ? code | PF_ERR_P | (pk ? PF_ERR_PK : 0) : 0;
}

/* The target @t: held memory, a live grant or a dead address; *@x its memory (NULL: dead),
 * *@e the domain its mapping is keyed for, *@rw the mapping's write right. */
static uintptr_t df_target(uint32_t t, uint32_t w, struct df_mem **x, unsigned int *e, bool *rw,
                           unsigned int *word)
{
    unsigned int nm = 0, ng = 0;
    for (unsigned int i = 0; i < DF_MAX_MEM; i++)
        nm += df.mem[i].live;
    for (unsigned int g = 0; g < DF_MAX_GRANT; g++)
        ng += df.grant[g].live;
    unsigned int n = nm + ng + df.nr_dead;
    if (!n)
        return 0;
    t %= n;
    *x = NULL;
    if (t >= nm + ng) { /* any of the slot's pages: none is mapped */
        *word = w % (DOMAIN_REGION_PAGES * 16);
        return df_slot(df.dead[t - nm - ng]) + (uintptr_t)(*word / 16) * PAGE_SIZE +
               (uintptr_t)(*word % 16) * 256;
    }
    uintptr_t base;
    if (t < nm) {
        *x = &df.mem[df_nth_mem(t)];
        *e = (*x)->owner;
        *rw = true;
        base = (*x)->addr;
    } else {
        const struct df_grant *g = &df.grant[df_nth_grant(t - nm)];
        *x = &df.mem[g->mem];
        *e = g->grantee;
        *rw = g->rights == DOMAIN_GRANT_RW;
        base = g->addr;
    }
    *word = w % df_nwords(*x);
    return base + df_word_off(*x, *word);
}

/* Entering a destroyed domain (the last one destroyed, or an id never handed out) is refused
 * with -MM_ENOENT and reported; the CPU stays where it was. */
static void df_enter_dead(void)
{
    int id = df.dead_id ? df.dead_id : 1000000;
    int before = domain_current(), err = domain_enter(id);
    fuzz_digest_err(err);
    if (err != -MM_ENOENT || domain_current() != before)
        df_fail("model.enter: entering destroyed domain %d returned %d (in %d, was %d)", id, err,
                domain_current(), before);
    df_expect_report();
}

/* Run the access inside @id; a fault is reported through domain_report_fault from inside it. */
static size_t df_access_run(int id, uintptr_t va, uint64_t *v, unsigned int acc, unsigned int *err)
{
    int prev = domain_enter(id);
    size_t n = fuzz_platform.mmu_copy(domain_window_root(), va, v, sizeof(*v), acc, err);
    if (n != sizeof(*v) && n != (size_t)-1) {
        int rep = domain_report_fault(va, *err);
        if (rep != -MM_EACCES)
            df_fail("model.report: domain_report_fault(0x%lx, 0x%x) returned %d",
                    (unsigned long)va, *err, rep);
    }
    domain_enter(prev);
    return n;
}

static void df_op_access(uint32_t kind, uint32_t from, uint32_t t, uint32_t w)
{
    struct df_mem *x = NULL;
    unsigned int e = 0, word = 0, err = 0;
    bool rw = false, write = kind == 1;
    uintptr_t va = df_target(t, w, &x, &e, &rw, &word);
    int r = -1;
    unsigned int nd = df_count(DF_DOMS);
    if (!va || !domain_window_root())
        return fuzz_digest_ok(false);
    if (from % (nd + 2) == nd + 1) /* from a destroyed domain: refused and reported */
        return df_enter_dead();
    if (from % (nd + 2))
        r = df_nth_dom(from % (nd + 2) - 1);
    bool user_acc = r >= 0 && df_user((unsigned int)r);
    unsigned int want = x ? df_expect(r, e, rw, write)
                          : (write ? PF_ERR_W : 0) | (user_acc ? PF_ERR_U : 0);
    bool want_fault = !x || want;
    uint64_t v = write ? ((uint64_t)fuzz_cur.opno << 32 | w) * 0x9e3779b97f4a7c15ull : 0;
    unsigned int acc = (write ? MMU_WRITE : MMU_READ) | (user_acc ? MMU_USER : 0);
    size_t n = df_access_run(r >= 0 ? df.dom[r].id : 0, va, &v, acc, &err);
    if (n == (size_t)-1)
        return fuzz_digest_ok(false);
    bool faulted = n != sizeof(v);
    fuzz_digest_count(faulted ? err | 0x10000u : 0);
    DF_TRACE("  access 0x%lx from domain %d: %s 0x%x (model %s 0x%x)", (unsigned long)va,
             r >= 0 ? df.dom[r].id : 0, faulted ? "fault" : "done", err,
             want_fault ? "fault" : "done", want);
    if (faulted != want_fault || (faulted && err != want))
        df_fail("model.access: %s of 0x%lx from domain %d: %s with error code 0x%x, the model "
                "says %s 0x%x", write ? "write" : "read", (unsigned long)va,
                r >= 0 ? df.dom[r].id : 0, faulted ? "fault" : "done", err,
                want_fault ? "fault" : "done", want);
    if (faulted)
        return df_expect_report();
    if (write)
        x->w[word] = v;
    else if (v != x->w[word])
        df_fail("model.contents: word %u of 0x%lx (domain %d) reads 0x%llx, the model says 0x%llx",
                word, (unsigned long)x->addr, df.dom[x->owner].id, (unsigned long long)v,
                (unsigned long long)x->w[word]);
}

/* ---- the engine's callbacks ---- */

static uint32_t df_setup(const uint8_t *data, size_t size)
{
    struct fuzz_machine m = df.m;
    struct fuzz_layout l;
    (void)data;
    (void)size;
    memset(&df, 0, sizeof(df));
    fuzz_machine_clamp(&dom_table, &m);
    df.m = m;
    fuzz_machine_layout(&df.m, &l);
    int err = fuzz_platform.boot(&l);
    if (err)
        df_fail("boot: %s", mm_strerror(err));
    df.boot_sum = page_alloc_nr_free() + slab_nr_pages();
    df.misuse = mm_misuse_count();
    return 0;
}

static void df_exec(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;
    switch (op->kind) {
    case FOP_DOM_CREATE: df_op_create(a[0]); break;
    case FOP_DOM_DESTROY: df_op_destroy(a[0]); break;
    case FOP_DOM_ALLOC: df_op_alloc(a[0], a[1], a[2]); break;
    case FOP_DOM_FREE: df_op_free(a[0], a[1]); break;
    case FOP_DOM_GRANT: df_op_grant(a[0], a[1], a[2]); break;
    case FOP_DOM_REVOKE: df_op_revoke(a[0]); break;
    case FOP_DOM_MIGRATE: df_op_migrate(a[0], a[1], a[2]); break;
    case FOP_DOM_PIN: df_op_pin(a[0], a[1]); break;
    case FOP_DOM_ACCESS: df_op_access(a[0], a[1], a[2], a[3]); break;
    case FOP_CPU: fuzz_platform.cpu_set(a[0]); break;
    default: break;
    }
}

/* Every model word of every held memory, read through the window's tables (no MMU, no TLB):
 * what the model says it holds. */
static FUZZ_VERIFY_FN void df_check_contents(void)
{
    for (unsigned int i = 0; i < DF_MAX_MEM; i++) {
        const struct df_mem *x = &df.mem[i];
        for (unsigned int k = 0; x->live && k < df_nwords(x); k++) {
            uintptr_t va = x->addr + df_word_off(x, k);
            pte_t *ptep = pt_walk(&mm_state.prot.pt, va & ~(uintptr_t)(PAGE_SIZE - 1), false, 0);
            if (!ptep || !(*ptep & PTE_P))
                df_fail("model.mapping: word %u of 0x%lx (domain %d) is not mapped at 0x%lx", k,
                        (unsigned long)x->addr, df.dom[x->owner].id, (unsigned long)va);
            const uint64_t *w = (const uint64_t *)((char *)env_phys_to_virt(pte_addr(*ptep)) +
                                                   (va & (PAGE_SIZE - 1)));
            if (*w != x->w[k])
                df_fail("model.contents: word %u of 0x%lx (domain %d) holds 0x%llx, the model says "
                        "0x%llx", k, (unsigned long)x->addr, df.dom[x->owner].id,
                        (unsigned long long)*w, (unsigned long long)x->w[k]);
        }
    }
}

static FUZZ_VERIFY_FN void df_check(bool deep)
{
    struct mm_check_report rep;
    struct domain_stats st;
    if (mm_misuse_count() != df.misuse)
        df_fail("model.misuse: %lu misuse reports, the model expects %lu", mm_misuse_count(),
                df.misuse);
    domain_get_stats(&st);
    if (st.refused != mm_misuse_count_kind(MM_MISUSE_DOMAIN))
        df_fail("model.stats: %lu refusals counted, %lu domain-violation reports", st.refused,
                mm_misuse_count_kind(MM_MISUSE_DOMAIN));
    if (st.nr_domains != df_count(DF_DOMS) || st.nr_grants != df_count(DF_GRANTS) || st.objects != df_count(DF_OBJS))
        df_fail("model.stats: %u domains, %u grants, %lu objects; the model holds %u, %u, %u",
                st.nr_domains, st.nr_grants, st.objects, df_count(DF_DOMS), df_count(DF_GRANTS), df_count(DF_OBJS));
    if (!deep && !fuzz_cur_check_due())
        return;
    if (mm_check(&rep))
        df_fail("invariant=%s: %s", rep.invariant, rep.detail);
    df_check_contents();
}

static void df_teardown(void)
{
    fuzz_platform.cpu_set(0);
    for (unsigned int i = 0; i < DF_MAX_MEM; i++)
        if (df.mem[i].live && (df.mem[i].pinned || df.mem[i].io)) {
            domain_pin(df.dom[df.mem[i].owner].id, df.mem[i].addr, false);
            domain_io(df.dom[df.mem[i].owner].id, df.mem[i].addr, false);
            df.mem[i].pinned = df.mem[i].io = false;
        }
    for (unsigned int d = 0; d < DF_MAX_DOM; d++)
        if (df.dom[d].live)
            df_op_destroy(0);
    df_check(true);
    unsigned int left = domain_teardown();
    if (left)
        df_fail("teardown: %u domains were still live", left);
    unsigned long sum = page_alloc_nr_free() + slab_nr_pages();
    if (sum != df.boot_sum)
        df_fail("invariant=harness.conservation: free + slab pages %lu, boot %lu", sum, df.boot_sum);
}

const struct fuzz_target fuzz_target_domains = {
    .name = "domains",
    .table = &dom_table,
    .machine = &df.m,
    .setup = df_setup,
    .exec = df_exec,
    .check = df_check,
    .teardown = df_teardown,
};
