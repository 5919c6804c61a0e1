/*
 * vm_model.c - the reference model of fuzz target "vm" and its judges: what every user page, file
 * page and vmalloc / vmap area must contain, what every user access must return, and the checks
 * that compare the mm with that (ASan+UBSan). The executor (target_vm.c) changes the model only
 * through these functions, after the mm call it predicts; the state is vm_fz (vm_model.h).
 *
 * The model (per address space): sorted regions (finer than VMAs, never overlapping), each with
 * its VM protection (read implied by write / exec, as the mm does), shared or private, grows-down,
 * a backing object (an mm_file model or none) with a page offset, and per page for private
 * mappings whether the page has its own contents yet. Contents are token patterns: a page is
 * (a, b, split): bytes [0, split) are pattern a, [split, 4096) pattern b; token 0 is zeros.
 *   private anonymous: zero until written; fork copies the per-page state (COW: each side then
 *                      sees its own writes); swap-out / in is invisible
 *   shared (anonymous or file): the object's page, the same in every mapping and in mm_file_read
 *   private file:      the file's current page until written, then its own copy
 * Accesses (page-granular, 1..3 pages): SIGSEGV outside every region unless a grows-down region
 * above can grow (guard gap, user range) - the model adds the grown part as a region; ACCESS when
 * the protection forbids it; SIGBUS for file pages past the last page of the file; OOM only when
 * failure injection may be armed or memory is really exhausted (vm_oom_justified). Reads compare
 * every byte of every page; a write gives the bytes it covers a fresh token, and "cut=" makes it
 * skip the head of its first page and the tail of its last (vm_write_clip), so later reads check
 * bytes the write did not touch: zero fill of new anonymous pages, COW copies, private file
 * pages, swap-in.
 *
 * Invariants kept here: regions sorted by start and disjoint, at most VM_MAX_REG per address
 * space (callers check room first), each at most VM_REG_PAGES pages (vm_reg_add cuts, and
 * vm_reg_compact merges only neighbours the mm would see as one VMA within that bound); every
 * page content representable as (a, b, split) (vm_write_clip narrows a write so that it is).
 * The judges read the mm and the model and change neither (vm_oom_justified takes pages and
 * gives them back); they fail through vfail, and vm_check_everything feeds the digest with what
 * it read back. Most of them are in fuzz/coverage.ignore: they judge, they do not steer.
 */
#include "vm_model.h"

/* ---- content patterns ---- */

static uint64_t vm_word(uint32_t tok, uint32_t w)
{
    uint64_t s = ((uint64_t)tok << 32) ^ w;
    return tok ? fuzz_rand_next(&s) : 0;
}

uint8_t vm_byte(const struct vcont *c, uint32_t off)
{
    uint32_t tok = off < c->split ? c->a : c->b;
    return (uint8_t)(vm_word(tok, off / 8) >> (8 * (off % 8)));
}

/* Word @w of @c (8 bytes at 8 * w), exact when the split falls inside the word. */
static uint64_t vm_word_of(const struct vcont *c, uint32_t w)
{
    if (w * 8 + 8 <= c->split)
        return vm_word(c->a, w);
    if (w * 8 >= c->split)
        return vm_word(c->b, w);
    uint64_t lo = vm_word(c->a, w), hi = vm_word(c->b, w);
    uint64_t mask = (1ull << (8 * (c->split - w * 8))) - 1; /* the bytes below the split */
    return (lo & mask) | (hi & ~mask);
}

void vm_fill(uint8_t *p, const struct vcont *c)
{
    for (uint32_t w = 0; w < PAGE_SIZE / 8; w++) {
        uint64_t x = vm_word_of(c, w);
        memcpy(p + w * 8, &x, 8);
    }
}

/* First differing offset of @p against @c over [0, len), or -1. */
long vm_cmp(const uint8_t *p, const struct vcont *c, uint32_t len)
{
    for (uint32_t w = 0; w < PAGE_SIZE / 8 && w * 8 < len; w++) {
        uint64_t x = vm_word_of(c, w), y;
        memcpy(&y, p + w * 8, 8);
        if (x != y)
            for (uint32_t i = w * 8; i < w * 8 + 8 && i < len; i++)
                if (p[i] != vm_byte(c, i))
                    return (long)i;
    }
    return -1;
}

/* One token covers the whole page. */
bool vm_is_uniform(const struct vcont *c)
{
    return c->a == c->b || c->split == 0 || c->split >= PAGE_SIZE;
}

/*
 * @old with bytes [ws, we) rewritten by token @tok. Representable as (a, b, split) because the
 * caller clipped the range (vm_write_clip): it is the whole page, a prefix whose rest is one token
 * of @old, or a suffix whose head is one token of @old.
 */
struct vcont vm_write_merge(struct vcont old, uint32_t tok, uint32_t ws, uint32_t we)
{
    struct vcont c;
    if (ws == 0 && we >= PAGE_SIZE)
        c = (struct vcont){ tok, tok, PAGE_SIZE };
    else if (ws == 0)
        c = (struct vcont){ tok, we < old.split ? old.a : old.b, (uint16_t)we };
    else
        c = (struct vcont){ old.split > 0 ? old.a : old.b, tok, (uint16_t)ws };
    return c;
}

struct vcont vm_uniform(uint32_t tok)
{
    struct vcont c = { tok, tok, PAGE_SIZE };
    return c;
}

uint32_t vm_new_tok(uint32_t salt)
{
    uint64_t s = ((uint64_t)vm_fz.m.seed << 32) ^ (++vm_fz.next_tok * 0x9e37u) ^ salt;
    uint32_t t = (uint32_t)fuzz_rand_next(&s);
    return t ? t : 1;
}

/* ---- model objects ---- */

int vm_obj_new(uint64_t size, bool user, bool writable)
{
    uint32_t np = (uint32_t)MM_PFN_UP(size);
    if (vm_fz.nobj >= VM_MAX_OBJ || vm_fz.pool_used + np > VM_OBJ_POOL)
        return -1;
    struct vobj *o = &vm_fz.obj[vm_fz.nobj];
    memset(o, 0, sizeof(*o));
    o->user = user;
    o->writable = writable;
    o->size = size;
    o->npages = np;
    o->pg = &vm_fz.pool[vm_fz.pool_used];
    vm_fz.pool_used += np;
    for (uint32_t i = 0; i < np; i++)
        o->pg[i] = vm_uniform(0);
    return (int)vm_fz.nobj++;
}

/* Write tok over [0, len) of object page @i (len < PAGE_SIZE: a partial last page). */
void vm_obj_write(struct vobj *o, uint32_t i, uint32_t tok, uint32_t len)
{
    struct vcont *c = &o->pg[i];
    if (len >= PAGE_SIZE)
        *c = vm_uniform(tok);
    else if (c->split == PAGE_SIZE)
        *c = (struct vcont){ tok, c->a, (uint16_t)len };
    else if (c->split <= len)
        *c = (struct vcont){ tok, c->b, (uint16_t)len };
    else
        vfail("model: partial write of %u bytes over a split at %u", len, c->split);
}

/* ---- model regions ---- */

uintptr_t vm_reg_end(const struct vreg *r) { return r->start + (uintptr_t)r->np * PAGE_SIZE; }

struct vmm *vm_cur_mm(void) { return vm_fz.nmm ? &vm_fz.mm[vm_fz.cur] : NULL; }

/* Index of the region containing @va, or -1. */
int vm_reg_find(struct vmm *m, uintptr_t va)
{
    for (uint32_t i = 0; i < m->nreg; i++)
        if (va >= m->reg[i].start && va < vm_reg_end(&m->reg[i]))
            return (int)i;
    return -1;
}

bool vm_reg_range_free(struct vmm *m, uintptr_t s, uintptr_t e)
{
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start < e && vm_reg_end(&m->reg[i]) > s)
            return false;
    return true;
}

bool vm_reg_range_covered(struct vmm *m, uintptr_t s, uintptr_t e)
{
    for (uintptr_t at = s; at < e;) {
        int i = vm_reg_find(m, at);
        if (i < 0)
            return false;
        at = vm_reg_end(&m->reg[i]);
    }
    return true;
}

static void vm_reg_insert(struct vmm *m, const struct vreg *r)
{
    uint32_t i = 0;
    if (m->nreg >= VM_MAX_REG)
        vfail("model: region table full");
    while (i < m->nreg && m->reg[i].start < r->start)
        i++;
    memmove(&m->reg[i + 1], &m->reg[i], (m->nreg - i) * sizeof(m->reg[0]));
    m->reg[i] = *r;
    m->nreg++;
}

static void vm_reg_remove(struct vmm *m, uint32_t i)
{
    memmove(&m->reg[i], &m->reg[i + 1], (m->nreg - i - 1) * sizeof(m->reg[0]));
    m->nreg--;
}

/* Make a region boundary fall at @va (if inside a region). */
void vm_reg_split_at(struct vmm *m, uintptr_t va)
{
    int i = vm_reg_find(m, va);
    if (i < 0 || m->reg[i].start == va)
        return;
    static struct vreg n;
    struct vreg *r = &m->reg[i];
    uint32_t k = (uint32_t)((va - r->start) / PAGE_SIZE);
    n = *r;
    n.start = va;
    n.np = r->np - k;
    n.pgoff = r->pgoff + k;
    memmove(n.own, r->own + k, n.np);
    memmove(n.pg, r->pg + k, n.np * sizeof(n.pg[0]));
    r->np = k;
    vm_reg_insert(m, &n);
}

static bool vm_reg_same_vma(const struct vreg *a, const struct vreg *b)
{
    return vm_reg_end(a) == b->start && a->prot == b->prot && a->shared == b->shared &&
           a->grows == b->grows && a->locked == b->locked && a->obj == b->obj &&
           (a->obj < 0 || a->pgoff + a->np == b->pgoff);
}

/* Merge neighbouring model regions (purely a model economy; semantics unchanged). */
void vm_reg_compact(struct vmm *m)
{
    for (uint32_t i = 0; i + 1 < m->nreg;) {
        struct vreg *a = &m->reg[i], *b = &m->reg[i + 1];
        if (vm_reg_same_vma(a, b) && a->np + b->np <= VM_REG_PAGES) {
            memcpy(a->own + a->np, b->own, b->np);
            memcpy(a->pg + a->np, b->pg, b->np * sizeof(b->pg[0]));
            a->np += b->np;
            vm_reg_remove(m, i + 1);
        } else {
            i++;
        }
    }
}

void vm_reg_unmap(struct vmm *m, uintptr_t s, uintptr_t e)
{
    vm_reg_split_at(m, s);
    vm_reg_split_at(m, e);
    for (uint32_t i = 0; i < m->nreg;) {
        if (m->reg[i].start >= s && vm_reg_end(&m->reg[i]) <= e)
            vm_reg_remove(m, i);
        else
            i++;
    }
}

/* Add [s, s + np pages) (np may exceed VM_REG_PAGES: several regions). */
void vm_reg_add(struct vmm *m, uintptr_t s, uint32_t np, uint8_t prot, bool shared, bool grows,
                    int obj, uint32_t pgoff)
{
    static struct vreg r;
    while (np) {
        uint32_t k = MM_MIN(np, (uint32_t)VM_REG_PAGES);
        memset(&r, 0, sizeof(r));
        r.start = s;
        r.np = k;
        r.prot = prot;
        r.shared = shared;
        r.grows = grows;
        r.obj = obj;
        r.pgoff = pgoff;
        vm_reg_insert(m, &r);
        s += (uintptr_t)k * PAGE_SIZE;
        pgoff += k;
        np -= k;
    }
}

uint8_t vm_prot_flags(uint32_t prot)
{
    uint8_t f = 0;
    if (prot & PROT_READ)
        f |= VM_READ;
    if (prot & PROT_WRITE)
        f |= VM_WRITE | VM_READ;
    if (prot & PROT_EXEC)
        f |= VM_EXEC | VM_READ;
    return f;
}

/* ---- the content of a model page ---- */

/* What page @k of region @r holds now. */
struct vcont vm_page_content(const struct vreg *r, uint32_t k)
{
    if (r->obj >= 0 && (r->shared || !r->own[k])) {
        const struct vobj *o = &vm_fz.obj[r->obj];
        uint32_t idx = r->pgoff + k;
        return idx < o->npages ? o->pg[idx] : vm_uniform(0);
    }
    return r->own[k] ? r->pg[k] : vm_uniform(0);
}

/* ---- expected outcome of a user access ---- */

/*
 * Expected outcome of touching page @va with @kind; grows a stack region in the model when the
 * mm would (growth happens before the permission check). *@ri / *@k locate the page.
 */
enum vm_fault_result vm_expect(struct vmm *m, uintptr_t va, uint32_t kind, int *ri, uint32_t *k,
                                      bool apply_growth)
{
    *ri = -1;
    if (va >= ARCH_USER_VA_END || va < ARCH_USER_VA_START)
        return VM_FAULT_SIGSEGV;
    int i = vm_reg_find(m, va);
    if (i < 0) {
        uint32_t j = 0;
        while (j < m->nreg && m->reg[j].start < va)
            j++;
        if (j == m->nreg || !m->reg[j].grows || m->reg[j].shared || m->reg[j].obj >= 0)
            return VM_FAULT_SIGSEGV;
        struct vreg *g = &m->reg[j];
        uintptr_t vend = vm_reg_end(g);
        for (uint32_t t = j; t + 1 < m->nreg && vm_reg_same_vma(&m->reg[t], &m->reg[t + 1]); t++)
            vend = vm_reg_end(&m->reg[t + 1]);
        if (vend - va > MM_STACK_LIMIT)
            return VM_FAULT_SIGSEGV;
        /* the guard gap applies to an accessible, non-stack region below (fault_grow_stack) */
        if (j > 0 && !m->reg[j - 1].grows && m->reg[j - 1].prot &&
            va < vm_reg_end(&m->reg[j - 1]) + MM_STACK_GUARD_GAP)
            return VM_FAULT_SIGSEGV;
        if (!apply_growth)
            return VM_FAULT_HANDLED; /* caller only asks whether it is a fault at all */
        uint8_t prot = g->prot;
        uintptr_t gs = g->start;
        bool locked = g->locked; /* the mm grows the VMA itself: its VM_LOCKED with it */
        vm_reg_add(m, va, (uint32_t)((gs - va) / PAGE_SIZE), prot, false, true, -1, 0);
        vm_lock_set(m, va, gs, locked);
        VM_TRACE("  model: stack grows to %lx", (unsigned long)va);
        i = vm_reg_find(m, va);
    }
    struct vreg *r = &m->reg[i];
    *ri = i;
    *k = (uint32_t)((va - r->start) / PAGE_SIZE);
    bool ok = kind == 1 ? (r->prot & VM_WRITE) : kind == 2 ? (r->prot & VM_EXEC) : (r->prot & VM_READ);
    if (!ok)
        return VM_FAULT_ACCESS;
    if (r->obj >= 0 && (r->shared || !r->own[*k]) && r->pgoff + *k >= vm_fz.obj[r->obj].npages)
        return VM_FAULT_SIGBUS;
    return VM_FAULT_HANDLED;
}

/* What the model says page @va of @m holds now (zeros where no region is: a stack not grown yet). */
static struct vcont vm_content_at(struct vmm *m, uintptr_t va)
{
    int i = vm_reg_find(m, va);
    if (i < 0)
        return vm_uniform(0);
    return vm_page_content(&m->reg[i], (uint32_t)((va - m->reg[i].start) / PAGE_SIZE));
}

/*
 * A write of @pages pages at @va covers [va + *s, va + pages * PAGE_SIZE - *e): the head of the
 * first page and the tail of the last one are left alone, so reads later check bytes the write did
 * not touch (a COW break must copy them, a new anonymous page must be zero there, swap and file
 * read-in must keep them). Clipped so the model stays (a, b, split): the untouched head of the first
 * page is one token of what it held, so is the untouched tail of the last, and a one-page write
 * keeps only one side.
 */
void vm_write_clip(struct vmm *m, uintptr_t va, uint32_t pages, uint32_t cut, uint32_t *s, uint32_t *e)
{
    static const uint16_t offs[16] = { 0, 1, 7, 13, 64, 100, 333, 511, 1000, 1500, 2048, 2049, 3000,
                                       4000, 4088, 4095 };
    *s = offs[cut & 15];
    *e = offs[(cut >> 4) & 15];
    if (pages == 1 && *s)
        *e = 0;
    struct vcont first = vm_content_at(m, va);
    if (*s && !vm_is_uniform(&first) && *s > first.split)
        *s = first.split;
    struct vcont last = vm_content_at(m, va + (uintptr_t)(pages - 1) * PAGE_SIZE);
    if (*e && !vm_is_uniform(&last) && PAGE_SIZE - *e < last.split)
        *e = PAGE_SIZE - last.split;
}

/* ---- vmalloc / vmap area contents ---- */

void vm_area_fill(struct varea *a)
{
    uint8_t *p = a->addr;
    for (size_t i = 0; i < a->size; i += PAGE_SIZE) {
        struct vcont c = vm_uniform(a->tok + (uint32_t)(i / PAGE_SIZE));
        vm_fill(vm_fz.buf, &c);
        memcpy(p + i, vm_fz.buf, MM_MIN((size_t)PAGE_SIZE, a->size - i));
    }
}

void vm_area_check(const struct varea *a)
{
    const uint8_t *p = a->addr;
    for (size_t i = 0; i < a->size; i += PAGE_SIZE) {
        struct vcont c = vm_uniform(a->tok + (uint32_t)(i / PAGE_SIZE));
        uint32_t n = (uint32_t)MM_MIN((size_t)PAGE_SIZE, a->size - i);
        long d = vm_cmp(p + i, &c, n);
        if (d >= 0)
            vfail("%s area %p offset %lu: got %02x, expected %02x", a->vmap ? "vmap" : "vmalloc", a->addr,
                  (unsigned long)(i + (size_t)d), p[i + (size_t)d], vm_byte(&c, (uint32_t)d));
        if (a->vmap && vmalloc_to_page(p + i) != a->pages[i / PAGE_SIZE])
            vfail("vmalloc_to_page(%p) is not the page given to vmap", (const void *)(p + i));
    }
}

/* ---- is an allocation failure legitimate? ---- */

unsigned long vm_fail_injected(void)
{
    static struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    return st.counters.fail_injected;
}

bool vm_inj_armed(void)
{
    if (vm_fz.inj_armed && vm_fail_injected() >= vm_fz.inj_target)
        vm_fz.inj_armed = false;
    return vm_fz.inj_armed;
}

/*
 * An allocation failure is legitimate: injection armed, or memory really is exhausted - judged
 * at the moment of the failure (before the harness gives back pages it took for the op) by
 * whether the pages the failed call needs can be had now, each kind with the gfp the mm uses for
 * it: @meta GFP_KERNEL pages (slab pages for its nodes, page-table pages) and then @data pages of
 * @data_gfp. The gfp matters: a __GFP_HIGHMEM allocation may not take NORMAL or DMA below the
 * watermark plus lowmem_reserve (buddy.c, zone_setup_watermarks), a GFP_KERNEL one may, so
 * GFP_KERNEL pages being obtainable says nothing about vmalloc's data pages (regression:
 * corpus/vm/regress-vmalloc-lowmem-reserve). Metadata is taken first, as the mm takes its node
 * first: it competes with the data pages only for the zones both may use, so this order is the
 * least the call could have had, and "available" means the call had to succeed. An op that
 * failed when only a page or two were left above the watermark failed rightly (regression:
 * corpus/vm/regress-vmap-watermark-*). The probe pages are held on a list (page->lru is the
 * owner's while a page is allocated), so a need has no upper bound.
 */

/* Take up to @n pages of @gfp onto @held, from @nodes only unless it is ~0 (a bind policy's
 * placement: alloc_pages_nodemask); returns how many were had. */
static unsigned int vm_probe_take(struct list_head *held, unsigned int n, gfp_t gfp, uint32_t nodes)
{
    unsigned int got = 0;
    struct page *p;
    gfp |= __GFP_NOWARN;
    while (got < n && (p = nodes == ~0u ? alloc_pages(gfp, 0)
                                        : alloc_pages_nodemask(NUMA_NO_NODE, gfp, 0, nodes))) {
        list_add_tail(&p->lru, held);
        got++;
    }
    return got;
}

/* @meta GFP_KERNEL pages and then @data pages of @data_gfp from @nodes cannot all be had now. */
static bool vm_probe_short(unsigned int meta, unsigned int data, gfp_t data_gfp, uint32_t nodes)
{
    struct list_head held;
    list_init(&held);
    bool exhausted = vm_probe_take(&held, meta, GFP_KERNEL, ~0u) < meta ||
                     vm_probe_take(&held, data, data_gfp, nodes) < data;
    while (!list_empty(&held)) {
        struct page *p = list_entry(held.next, struct page, lru);
        list_del(&p->lru);
        __free_pages(p, 0);
    }
    return exhausted;
}

/* A bind policy on @nodes was set in some address space (set_mempolicy or mbind). */
void vm_note_bind(uint32_t nodes)
{
    nodes &= 0xff;
    vm_fz.bind_masks[nodes >> 6] |= 1ull << (nodes & 63);
}

/*
 * User pages (GFP_HIGHUSER) are placed by the policy in force at the faulting address
 * (mpol_place.c): under a bind policy only its nodes may serve, and they may be full while
 * others have room. The model does not track which policy an op's pages fell under, so the
 * data pages are probed once globally and once within every bind mask set so far: short in any
 * of them justifies the failure (a mask no longer in force only widens what is accepted).
 */
bool vm_oom_justified_need(unsigned int meta, unsigned int data, gfp_t data_gfp)
{
    if (vm_fz.inj_at_op || vm_inj_armed() || vm_probe_short(meta, data, data_gfp, ~0u))
        return true;
    for (uint32_t mask = 1; data && data_gfp == GFP_HIGHUSER && mask < 256; mask++)
        if ((vm_fz.bind_masks[mask >> 6] >> (mask & 63) & 1) &&
            vm_probe_short(meta, data, data_gfp, mask)) {
            VM_TRACE("  oom justified: bind nodes %x cannot give %u user pages", mask, data);
            return true;
        }
    VM_TRACE("  oom not justified: free=%lu, %u kernel + %u pages of gfp 0x%x obtainable",
             page_alloc_nr_free(), meta, data, data_gfp);
    return false;
}

/*
 * A user page confined to @nodes (a bind policy's migration target: alloc_pages_nodemask) cannot
 * be had now. The global probe above cannot judge this: the other nodes may have memory while
 * every node of the mask is full.
 */
bool vm_oom_justified_nodes(uint32_t nodes)
{
    if (vm_fz.inj_at_op || vm_inj_armed() || vm_probe_short(0, 1, GFP_HIGHUSER, nodes))
        return true;
    VM_TRACE("  node oom not justified: a page of nodes %x obtainable", nodes);
    return false;
}

/* @need GFP_KERNEL pages and one user page (GFP_HIGHUSER) */
bool vm_oom_justified_n(unsigned int need)
{
    return vm_oom_justified_need(MM_MAX(need, 1u), 1, GFP_HIGHUSER);
}

bool vm_oom_justified(void)
{
    return vm_oom_justified_n(VM_OOM_NEED_OP);
}

void vm_check_mm(void)
{
    struct mm_check_report rep;
    int err = mm_check(&rep);
    if (err) /* the format every target uses, so triage types the crash by the invariant */
        fuzz_fail("invariant=%s pfn=%lx op#%u [%s]: %s (%s)", rep.invariant ? rep.invariant : "?",
                  rep.pfn, (unsigned int)fuzz_cur.opno, fuzz_cur_text(), rep.detail, mm_strerror(err));
}

/* The mm_file behind object @o (user file, or an anonymous object found through a mapping). */
static struct mm_file *vm_obj_file(int o)
{
    if (vm_fz.obj[o].user)
        return vm_fz.obj[o].f;
    for (uint32_t k = 0; k < vm_fz.nmm; k++)
        for (uint32_t i = 0; i < vm_fz.mm[k].nreg; i++)
            if (vm_fz.mm[k].reg[i].obj == o) {
                struct vm_area_struct *v = find_vma(vm_fz.mm[k].mm, vm_fz.mm[k].reg[i].start);
                if (!v || v->vm_start > vm_fz.mm[k].reg[i].start)
                    vfail("no VMA at %lx (model region of object %d)",
                          (unsigned long)vm_fz.mm[k].reg[i].start, o);
                return v->vm_file;
            }
    return NULL;
}

void vm_check_obj(int o)
{
    struct vobj *ob = &vm_fz.obj[o];
    struct mm_file *f = vm_obj_file(o);
    if (!f)
        return;
    if (mm_file_size(f) != ob->size)
        vfail("object %d: mm_file_size %lu, model %lu", o, (unsigned long)mm_file_size(f),
              (unsigned long)ob->size);
    for (uint32_t p = 0; p < ob->npages; p++) {
        uint32_t len = (uint32_t)MM_MIN((uint64_t)PAGE_SIZE, ob->size - (uint64_t)p * PAGE_SIZE);
        int err = mm_file_read(f, (uint64_t)p * PAGE_SIZE, vm_fz.buf, len);
        fuzz_digest_err(err);
        if (!err)
            fuzz_digest_bytes(vm_fz.buf, len);
        if (err)
            vfail("mm_file_read object %d page %u: %s", o, p, mm_strerror(err));
        long d = vm_cmp(vm_fz.buf, &ob->pg[p], len);
        if (d >= 0)
            vfail("object %d (%s) page %u byte %ld: mm_file_read gives %02x, model %02x (tokens %x/%x split %u)",
                  o, ob->user ? "file" : "anon-shared", p, d, vm_fz.buf[d], vm_byte(&ob->pg[p], (uint32_t)d),
                  ob->pg[p].a, ob->pg[p].b, ob->pg[p].split);
    }
}

/* ---- mlock: VM_LOCKED regions ---- */

/* Set or clear the lock of every region inside [s, e) (boundaries there already). */
void vm_lock_set(struct vmm *m, uintptr_t s, uintptr_t e, bool locked)
{
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start >= s && vm_reg_end(&m->reg[i]) <= e)
            m->reg[i].locked = locked;
}

/*
 * What the mm's population of the locked regions of [s, e) does (mlock_populate_range), in its
 * order: each page read-faulted, write-faulted in a private writable region (a private file page
 * becomes the region's own copy). False at the first page that cannot be: a PROT_NONE region
 * when @none_fails (mlock), or a fault the model expects to fail (past the end of a file); the
 * pages before it are populated.
 */
bool vm_lock_populate(struct vmm *m, uintptr_t s, uintptr_t e, bool none_fails)
{
    for (uint32_t i = 0; i < m->nreg; i++) {
        struct vreg *r = &m->reg[i];
        if (!r->locked || vm_reg_end(r) <= s || r->start >= e)
            continue;
        if (!r->prot) {
            if (none_fails)
                return false;
            continue;
        }
        bool wr = !r->shared && (r->prot & VM_WRITE);
        for (uintptr_t va = MM_MAX(s, r->start); va < MM_MIN(e, vm_reg_end(r)); va += PAGE_SIZE) {
            int ri;
            uint32_t k;
            if (vm_expect(m, va, wr ? 1 : 0, &ri, &k, false) != VM_FAULT_HANDLED)
                return false;
            if (wr && r->obj >= 0 && !r->own[k]) {
                r->pg[k] = vm_page_content(r, k);
                r->own[k] = 1;
            }
        }
    }
    return true;
}

pte_t vm_pte_now(struct mm_struct *mm, uintptr_t va)
{
    pte_t *p = pt_walk(&mm->pt, va, false, 0);
    return p ? *p : 0;
}

/* The mm's VM_LOCKED at @va (false where no VMA is). */
static bool vm_mm_locked(struct mm_struct *mm, uintptr_t va)
{
    struct vm_area_struct *v = find_vma(mm, va);
    return v && va >= v->vm_start && (v->vm_flags & VM_LOCKED);
}

/*
 * After an mlock / mprotect over [s, e): the mm's VM_LOCKED must be the model's in every region
 * there, unless memory ran out (a population that failed half-way, an injected failure): then
 * the model takes the mm's locks, and the private file pages the population copied before it
 * failed (a present PTE on a page that is not the page cache's) become the region's own, and
 * those vm_lock_populate took as copied but the mm never reached (no PTE, or the page cache's
 * page still mapped) are the file's again: an own copy is always mapped or swapped out.
 */
void vm_lock_judge(struct vmm *m, uintptr_t s, uintptr_t e, const char *what, bool oom)
{
    bool differ = false;
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start < e && vm_reg_end(&m->reg[i]) > s)
            differ |= m->reg[i].locked != vm_mm_locked(m->mm, m->reg[i].start);
    if (!differ)
        return;
    if (!oom && !vm_oom_justified())
        vfail("%s: VM_LOCKED in the mm differs from the model with memory available", what);
    VM_TRACE("  model: out of memory, takes the mm's locks over [%lx, %lx)", (unsigned long)s,
             (unsigned long)e);
    for (uint32_t i = 0; i < m->nreg; i++) {
        struct vreg *r = &m->reg[i];
        if (r->start >= e || vm_reg_end(r) <= s)
            continue;
        r->locked = vm_mm_locked(m->mm, r->start);
        for (uint32_t k = 0; r->obj >= 0 && !r->shared && k < r->np; k++) {
            pte_t pte = vm_pte_now(m->mm, r->start + (uintptr_t)k * PAGE_SIZE);
            bool cache = pte_present(pte) &&
                         (pfn_to_page(MM_PFN_DOWN(pte_addr(pte)))->flags & PG_cache);
            if (!r->own[k] && pte_present(pte) && !cache) {
                r->pg[k] = vm_page_content(r, k);
                r->own[k] = 1;
            } else if (r->own[k] && r->prot && (!pte || cache)) {
                r->own[k] = 0; /* vm_lock_populate expected a copy the failed fault never made */
            }
        }
    }
}

/* Every region of every address space: the mm's VM_LOCKED is the model's, and a locked
 * accessible region has every page present (never swapped out, never left unpopulated). */
void vm_check_locked(void)
{
    for (uint32_t n = 0; n < vm_fz.nmm; n++) {
        struct vmm *m = &vm_fz.mm[n];
        for (uint32_t i = 0; i < m->nreg; i++) {
            const struct vreg *r = &m->reg[i];
            if (r->locked != vm_mm_locked(m->mm, r->start))
                vfail("mm %u region %lx+%u pages: the model says %s, the mm's VMA %s", n,
                      (unsigned long)r->start, r->np, r->locked ? "locked" : "unlocked",
                      r->locked ? "is not" : "is VM_LOCKED");
            for (uint32_t k = 0; r->locked && r->prot && k < r->np; k++) {
                pte_t pte = vm_pte_now(m->mm, r->start + (uintptr_t)k * PAGE_SIZE);
                if (!pte_present(pte))
                    vfail("mm %u locked page %lx is %s", n,
                          (unsigned long)(r->start + (uintptr_t)k * PAGE_SIZE),
                          pte ? "swapped out" : "not present");
            }
        }
    }
}

/* ---- whole-state checks ---- */

static void vm_check_swap(void)
{
    struct swap_stats st;
    unsigned long used = 0;
    swap_get_stats(&st);
    for (unsigned long i = 0; i < st.nr_slots + 2; i++)
        used += swap_slot_count(i) != 0;
    if (used != st.slots_used || st.nr_slots != (swap_enabled() ? st.nr_slots : 0) ||
        (!swap_enabled() && (st.nr_slots || st.slots_used)))
        vfail("swap stats: %lu slots, %lu used, %lu counted in use (enabled %d)", st.nr_slots,
              st.slots_used, used, swap_enabled());
}

/* mm_strerror names every MM_E* code (either sign) as documented, and only those. */
static void vm_check_strerror(void)
{
    static const struct { int code; const char *name; } codes[] = {
        { 0, "OK" }, { MM_EPERM, "EPERM" }, { MM_ENOENT, "ENOENT" }, { MM_EIO, "EIO" },
        { MM_EAGAIN, "EAGAIN" }, { MM_ENOMEM, "ENOMEM" }, { MM_EACCES, "EACCES" },
        { MM_EFAULT, "EFAULT" }, { MM_EBUSY, "EBUSY" }, { MM_EEXIST, "EEXIST" },
        { MM_EINVAL, "EINVAL" }, { MM_ENOSPC, "ENOSPC" }, { MM_ERANGE, "ERANGE" },
        { MM_EOVERFLOW, "EOVERFLOW" }, { MM_ENOTSUP, "ENOTSUP" }, { MM_ECORRUPT, "ECORRUPT" },
        { 3, "E?" }, { 4096, "E?" },
    };
    for (uint32_t i = 0; i < MM_ARRAY_SIZE(codes); i++)
        if (!vm_same_name(codes[i].name, mm_strerror(codes[i].code)) ||
            !vm_same_name(codes[i].name, mm_strerror(-codes[i].code)))
            vfail("mm_strerror(%d) = %s / mm_strerror(%d) = %s, expected %s", codes[i].code,
                  mm_strerror(codes[i].code), -codes[i].code, mm_strerror(-codes[i].code), codes[i].name);
}

void vm_check_everything(void)
{
    vm_check_strerror();
    vm_check_swap();
    for (int o = 0; o < (int)vm_fz.nobj; o++)
        vm_check_obj(o);
    for (uint32_t i = 0; i < vm_fz.nva; i++)
        vm_area_check(&vm_fz.va[i]);
    if (!fuzz_platform.user_copy)
        return;
    for (uint32_t k = 0; k < vm_fz.nmm; k++) {
        struct vmm *m = &vm_fz.mm[k];
        for (uint32_t i = 0; i < m->nreg; i++) {
            struct vreg *r = &m->reg[i];
            for (uint32_t p = 0; p < r->np; p++) {
                int ri;
                uint32_t kk;
                uintptr_t va = r->start + (uintptr_t)p * PAGE_SIZE;
                if (vm_expect(m, va, 0, &ri, &kk, false) != VM_FAULT_HANDLED)
                    continue;
                uintptr_t fva = 0;
                int res = fuzz_platform.user_copy(m->mm, va, vm_fz.buf, PAGE_SIZE, 0, &fva);
                fuzz_digest_fault(res, res == VM_FAULT_HANDLED);
                if (res == VM_FAULT_HANDLED)
                    fuzz_digest_bytes(vm_fz.buf, PAGE_SIZE);
                if (res == VM_FAULT_OOM && vm_oom_justified())
                    continue;
                if (res != VM_FAULT_HANDLED)
                    vfail("check: read at %lx of mm %u: %s, model expects success", (unsigned long)va, k,
                          vm_fault_name(res));
                struct vcont c = vm_page_content(r, p);
                long d = vm_cmp(vm_fz.buf, &c, PAGE_SIZE);
                if (d >= 0)
                    vfail("check: mm %u page %lx byte %ld: got %02x, model %02x (%s%s, tokens %x/%x split %u)",
                          k, (unsigned long)va, d, vm_fz.buf[d], vm_byte(&c, (uint32_t)d),
                          r->shared ? "shared" : "private", r->obj >= 0 ? " file" : " anon", c.a, c.b,
                          c.split);
            }
        }
    }
}

/* Two NUL-terminated names are equal (no libc in the kernel build). */
bool vm_same_name(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}
