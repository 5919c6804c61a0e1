/*
 * target_vm.c - fuzz target "vm": address spaces (mmap / munmap / mprotect / brk / faults / fork /
 * exit), the page cache of in-memory files, swap, failure injection and vmalloc / vmap, against a
 * reference model of what every user page must contain (ASan+UBSan).
 *
 * Machine: the header's machine; "vm swapdev slots=" as the FIRST op gives it a swap device
 * (elsewhere it is a no-op). Then four files are created, f0..f3, sizes and writability from the
 * seed (sizes 0 .. 16 pages, some with a partial last page, f1 and f3 read-only for shared writes),
 * each page filled with a token pattern, and one address space. Up to VM_MAX_MM address spaces
 * exist (fork); ops act on the current one ("vm use M", modulo the live ones, oldest first).
 *
 * Argument encodings (the x / at fields are raw u32 values decoded here):
 *   at (address selector): mode = at % 8, r = at >> 3
 *     0,1 region-relative: model region (r & 63) % n (regions in address order), page
 *         k = (r >> 6) % (pages + 6): page k of it for k < pages, pages..pages+2 just above it,
 *         pages+3..pages+5 the 1..3 pages just below it
 *         (so at = page << 9 | region << 3 | mode)
 *     2   the fixed arena 0x40000000 + (r % 256) pages
 *     3   just above the end of region (r & 63) % n (+ (r >> 6) % 4 pages)
 *     4   below a grows-down region (1 + (r >> 6) % 8 pages below it), else as 0
 *     5   around the break: page_align(brk) + ((r >> 6) % 8 - 4) pages
 *     6   odd addresses: 0, unaligned, below ARCH_USER_VA_START, the last user page, the end of
 *         user space, ARCH_USER_VA_START
 *     7   below mmap_base (where placement puts mappings): mmap_base - (1 + r % 128) pages
 *   vm mmap x: bits 0-5 length - 1 (pages), 6-7 file offset {0, 1, 3, 8} pages, 8-31 at
 *   vm brk x: mode = x % 4: 0 grow by (x >> 2) % 24 pages + (x >> 8) % 4096 bytes, 1 shrink as
 *            much, 2 to the start, 3 odd (below start, at mmap_base, huge)
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
 * pages, swap-in. do_mmap / do_munmap / do_mprotect / do_brk / mm_fork
 * results are predicted (EINVAL, ENOMEM holes, EEXIST, EACCES, hint placement, free range).
 *
 * After every op: mm_check(). On "check": every readable page of every address space, every
 * file and shared anonymous object through mm_file_read, every vmalloc / vmap area.
 * Teardown: every address space, file, vmalloc / vmap area and held page is released; then
 * no swap slot in use, and page_alloc_nr_free() + slab_nr_pages() + kept pages == boot value,
 * where the mm legitimately keeps (1) the shared zero page once allocated and (2) page-table
 * pages the kernel page table of the vmalloc range grew (vmalloc_stats.nr_tables - boot value).
 * The swap slot map is a small kmalloc: it lives in slab pages, which the sum already counts.
 *
 * Appended ops: "vm corrupt VICTIM x=" (vm_corrupt), "vm vmisuse KIND h=" (vm_vmisuse),
 * "vm swapfail swapout|swapin n= at=" (vm_swapfail, platform swap_fail hook; skipped without it)
 * and "vm forkfail skip=" (vm_forkfail); each one's contract is in the comment above it.
 *
 * Digest (digest.h): the error or success of every mmap / munmap / mprotect / brk / fork / file
 * write / vfree / vunmap, whether mm_create / vmalloc / vmap returned memory, every user access's
 * fault result and completed pages plus the bytes each read brought back (accesses, "check",
 * swapfail), the bytes mm_file_read returned, reclaim / swap counts, the pages a hog got, the
 * invariant a corruption was named by, every vmalloc misuse's result and report kind. Never a
 * user, vmalloc or physical address (brk is digested as "moved to the request" or "stayed").
 */
#include "fuzz_target.h"
#include "mmap.h"
#include "swap.h"
#include "vmalloc.h"
#include "../mm/internal.h"
#include "../mm/virtual/mmap_internal.h"

static const uint8_t vm_kinds[] = {
    FOP_VM_SWAPDEV, FOP_VM_USE, FOP_VM_USE,
    FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP,
    FOP_VM_MUNMAP, FOP_VM_MUNMAP, FOP_VM_MPROTECT, FOP_VM_MPROTECT, FOP_VM_BRK,
    FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS,
    FOP_VM_FORK, FOP_VM_FORK, FOP_VM_EXIT, FOP_VM_PRESSURE, FOP_VM_PRESSURE, FOP_FAILNEXT,
    FOP_VM_FILE, FOP_VM_FILE, FOP_VMALLOC, FOP_VFREE, FOP_VMAP, FOP_VUNMAP, FOP_CHECK,
    /* appended: corruption, vmalloc misuse, swap device errors, fork under failure injection */
    FOP_VM_CORRUPT, FOP_VM_CORRUPT, FOP_VM_VMISUSE, FOP_VM_SWAPFAIL, FOP_VM_FORKFAIL,
};

static const struct fuzz_op_table vm_table = { vm_kinds, MM_ARRAY_SIZE(vm_kinds), 0 };

#define VM_MAX_MM     6
#define VM_MAX_REG    40
#define VM_REG_PAGES  128
#define VM_NFILES     4
#define VM_FILE_PAGES 16
#define VM_MAX_OBJ    40
#define VM_OBJ_POOL   3072
#define VM_MAX_VAREA  24
#define VM_MAX_HOG    4096
#define VM_ARENA      0x40000000ul
#define VM_BRK_START  0x10000000ul


struct vcont {
    uint32_t a, b;
    uint16_t split; /* bytes [0, split) pattern a, the rest pattern b */
};

struct vobj {
    struct mm_file *f;   /* user files: ours; anonymous shared: found through find_vma */
    bool user, writable;
    uint64_t size;
    uint32_t npages;
    struct vcont *pg;
};

struct vreg {
    uintptr_t start;
    uint32_t np;
    uint8_t prot;        /* VM_READ | VM_WRITE | VM_EXEC as the mm derives them */
    bool shared, grows;
    int obj;             /* -1: anonymous private */
    uint32_t pgoff;
    uint8_t own[VM_REG_PAGES];
    struct vcont pg[VM_REG_PAGES];
};

struct vmm {
    struct mm_struct *mm;
    uintptr_t brk;
    uint32_t nreg;
    struct vreg reg[VM_MAX_REG];
};

struct varea {
    void *addr;
    size_t size;
    bool vmap;
    uint32_t tok;
    unsigned int n;
    struct page *pages[8];
};

static struct {
    struct fuzz_machine m;
    struct vmm mm[VM_MAX_MM];
    uint32_t nmm, cur;
    struct vobj obj[VM_MAX_OBJ];
    uint32_t nobj;
    struct vcont pool[VM_OBJ_POOL];
    uint32_t pool_used;
    struct varea va[VM_MAX_VAREA];
    uint32_t nva;
    struct page *hog[VM_MAX_HOG];
    uint32_t nhog;
    uint32_t next_tok;
    unsigned long inj_target; /* fail_injected value at which the armed injection is spent */
    bool inj_armed;
    bool inj_at_op;           /* injection was armed when the current op started */
    unsigned long boot_pages, boot_tables;
    uint8_t buf[3 * PAGE_SIZE];
} vm_fz;

static struct vmm vm_tmp_mm; /* scratch for fork */
static bool vcr_same_name(const char *a, const char *b);

#define VM_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

#define vfail(fmt, ...) fuzz_fail("vm op#%u [%s]: " fmt, (unsigned int)fuzz_cur.opno, fuzz_cur_text(), \
                                   ##__VA_ARGS__)

/* ---- content patterns ---- */

static uint64_t vm_word(uint32_t tok, uint32_t w)
{
    uint64_t s = ((uint64_t)tok << 32) ^ w;
    return tok ? fuzz_rand_next(&s) : 0;
}

static uint8_t vm_byte(const struct vcont *c, uint32_t off)
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

static void vm_fill(uint8_t *p, const struct vcont *c)
{
    for (uint32_t w = 0; w < PAGE_SIZE / 8; w++) {
        uint64_t x = vm_word_of(c, w);
        memcpy(p + w * 8, &x, 8);
    }
}

/* First differing offset of @p against @c over [0, len), or -1. */
static long vm_cmp(const uint8_t *p, const struct vcont *c, uint32_t len)
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
static bool vm_is_uniform(const struct vcont *c)
{
    return c->a == c->b || c->split == 0 || c->split >= PAGE_SIZE;
}

/*
 * @old with bytes [ws, we) rewritten by token @tok. Representable as (a, b, split) because the
 * caller clipped the range (vm_write_clip): it is the whole page, a prefix whose rest is one token
 * of @old, or a suffix whose head is one token of @old.
 */
static struct vcont vm_write_merge(struct vcont old, uint32_t tok, uint32_t ws, uint32_t we)
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

static struct vcont vm_uniform(uint32_t tok)
{
    struct vcont c = { tok, tok, PAGE_SIZE };
    return c;
}

static uint32_t vm_new_tok(uint32_t salt)
{
    uint64_t s = ((uint64_t)vm_fz.m.seed << 32) ^ (++vm_fz.next_tok * 0x9e37u) ^ salt;
    uint32_t t = (uint32_t)fuzz_rand_next(&s);
    return t ? t : 1;
}

/* ---- memory accounting helpers ---- */

static unsigned long vm_fail_injected(void)
{
    static struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    return st.counters.fail_injected;
}

static bool vm_inj_armed(void)
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
#define VM_OOM_NEED_OP 4 /* a fault or VMA change: the page (or a slab page) + 3 table levels */

/* Take up to @n pages of @gfp onto @held; returns how many were had. */
static unsigned int vm_probe_take(struct list_head *held, unsigned int n, gfp_t gfp)
{
    unsigned int got = 0;
    struct page *p;
    while (got < n && (p = alloc_pages(gfp | __GFP_NOWARN, 0))) {
        list_add_tail(&p->lru, held);
        got++;
    }
    return got;
}

static bool vm_oom_justified_need(unsigned int meta, unsigned int data, gfp_t data_gfp)
{
    if (vm_fz.inj_at_op || vm_inj_armed())
        return true;
    struct list_head held;
    list_init(&held);
    bool exhausted = vm_probe_take(&held, meta, GFP_KERNEL) < meta ||
                     vm_probe_take(&held, data, data_gfp) < data;
    while (!list_empty(&held)) {
        struct page *p = list_entry(held.next, struct page, lru);
        list_del(&p->lru);
        __free_pages(p, 0);
    }
    if (!exhausted)
        VM_TRACE("  oom not justified: free=%lu, %u kernel + %u pages of gfp %#x obtainable",
                 page_alloc_nr_free(), meta, data, data_gfp);
    return exhausted;
}

/* @need GFP_KERNEL pages and one user page (GFP_HIGHUSER) */
static bool vm_oom_justified_n(unsigned int need)
{
    return vm_oom_justified_need(MM_MAX(need, 1u), 1, GFP_HIGHUSER);
}

static bool vm_oom_justified(void)
{
    return vm_oom_justified_n(VM_OOM_NEED_OP);
}

static void vm_check_mm(void)
{
    struct mm_check_report rep;
    int err = mm_check(&rep);
    if (err) /* the format every target uses, so triage types the crash by the invariant */
        fuzz_fail("invariant=%s pfn=%lx op#%u [%s]: %s (%s)", rep.invariant ? rep.invariant : "?",
                  rep.pfn, (unsigned int)fuzz_cur.opno, fuzz_cur_text(), rep.detail, mm_strerror(err));
}

/* ---- model objects ---- */

static int vm_obj_new(uint64_t size, bool user, bool writable)
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
static void vm_obj_write(struct vobj *o, uint32_t i, uint32_t tok, uint32_t len)
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

static uintptr_t reg_end(const struct vreg *r) { return r->start + (uintptr_t)r->np * PAGE_SIZE; }

static struct vmm *cur_mm(void) { return vm_fz.nmm ? &vm_fz.mm[vm_fz.cur] : NULL; }

/* Index of the region containing @va, or -1. */
static int reg_find(struct vmm *m, uintptr_t va)
{
    for (uint32_t i = 0; i < m->nreg; i++)
        if (va >= m->reg[i].start && va < reg_end(&m->reg[i]))
            return (int)i;
    return -1;
}

static bool reg_range_free(struct vmm *m, uintptr_t s, uintptr_t e)
{
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start < e && reg_end(&m->reg[i]) > s)
            return false;
    return true;
}

static bool reg_range_covered(struct vmm *m, uintptr_t s, uintptr_t e)
{
    for (uintptr_t at = s; at < e;) {
        int i = reg_find(m, at);
        if (i < 0)
            return false;
        at = reg_end(&m->reg[i]);
    }
    return true;
}

static void reg_insert(struct vmm *m, const struct vreg *r)
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

static void reg_remove(struct vmm *m, uint32_t i)
{
    memmove(&m->reg[i], &m->reg[i + 1], (m->nreg - i - 1) * sizeof(m->reg[0]));
    m->nreg--;
}

/* Make a region boundary fall at @va (if inside a region). */
static void reg_split_at(struct vmm *m, uintptr_t va)
{
    int i = reg_find(m, va);
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
    reg_insert(m, &n);
}

static bool reg_same_vma(const struct vreg *a, const struct vreg *b)
{
    return reg_end(a) == b->start && a->prot == b->prot && a->shared == b->shared &&
           a->grows == b->grows && a->obj == b->obj &&
           (a->obj < 0 || a->pgoff + a->np == b->pgoff);
}

/* Merge neighbouring model regions (purely a model economy; semantics unchanged). */
static void reg_compact(struct vmm *m)
{
    for (uint32_t i = 0; i + 1 < m->nreg;) {
        struct vreg *a = &m->reg[i], *b = &m->reg[i + 1];
        if (reg_same_vma(a, b) && a->np + b->np <= VM_REG_PAGES) {
            memcpy(a->own + a->np, b->own, b->np);
            memcpy(a->pg + a->np, b->pg, b->np * sizeof(b->pg[0]));
            a->np += b->np;
            reg_remove(m, i + 1);
        } else {
            i++;
        }
    }
}

static void reg_unmap(struct vmm *m, uintptr_t s, uintptr_t e)
{
    reg_split_at(m, s);
    reg_split_at(m, e);
    for (uint32_t i = 0; i < m->nreg;) {
        if (m->reg[i].start >= s && reg_end(&m->reg[i]) <= e)
            reg_remove(m, i);
        else
            i++;
    }
}

/* Add [s, s + np pages) (np may exceed VM_REG_PAGES: several regions). */
static void reg_add(struct vmm *m, uintptr_t s, uint32_t np, uint8_t prot, bool shared, bool grows,
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
        reg_insert(m, &r);
        s += (uintptr_t)k * PAGE_SIZE;
        pgoff += k;
        np -= k;
    }
}

static uint8_t vm_prot_flags(uint32_t prot)
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

/* ---- address selection ---- */

static uintptr_t vm_addr(struct vmm *m, uint32_t at)
{
    uint32_t mode = at % 8, r = at >> 3;
    uint32_t n = m ? m->nreg : 0;

    if (mode == 4 && n) {
        for (uint32_t k = 0; k < n; k++) {
            struct vreg *g = &m->reg[(r + k) % n];
            if (g->grows)
                return g->start - (uintptr_t)(1 + (r >> 6) % 8) * PAGE_SIZE;
        }
        mode = 0;
    }
    switch (mode) {
    case 0: case 1: case 4:
        if (n) {
            struct vreg *g = &m->reg[(r & 63) % n];
            long off = (long)((r >> 6) % (g->np + 6));
            if (off >= (long)g->np + 3)
                off = (long)g->np + 2 - off; /* -1 .. -3: just below the region */
            return (uintptr_t)((long)g->start + off * (long)PAGE_SIZE);
        }
        return VM_ARENA + (uintptr_t)(r % 256) * PAGE_SIZE;
    case 2:
        return VM_ARENA + (uintptr_t)(r % 256) * PAGE_SIZE;
    case 3:
        if (n)
            return reg_end(&m->reg[(r & 63) % n]) + (uintptr_t)((r >> 6) % 4) * PAGE_SIZE;
        return VM_ARENA;
    case 5:
        return MM_ALIGN_UP(m ? m->brk : VM_BRK_START, PAGE_SIZE) + (uintptr_t)((long)((r >> 6) % 8) - 4) *
               PAGE_SIZE;
    case 6: {
        static const uintptr_t odd[] = { 0, VM_ARENA + 123, ARCH_USER_VA_START - PAGE_SIZE,
                                         ARCH_USER_VA_END - PAGE_SIZE, ARCH_USER_VA_END,
                                         ARCH_USER_VA_START };
        return odd[r % MM_ARRAY_SIZE(odd)];
    }
    default:
        return (m && m->mm ? m->mm->mmap_base : ARCH_USER_VA_END - (1ul << 30)) -
               (uintptr_t)(1 + r % 128) * PAGE_SIZE;
    }
}

static bool vm_range_ok(uintptr_t addr, size_t len)
{
    return len && MM_IS_ALIGNED(addr, PAGE_SIZE) && addr + len > addr &&
           addr >= ARCH_USER_VA_START && addr + len <= ARCH_USER_VA_END;
}

/* ---- files ---- */

static const uint64_t vm_file_sizes[8] = {
    0, 1, PAGE_SIZE, 3 * PAGE_SIZE + 100, 8 * PAGE_SIZE, 16 * PAGE_SIZE, 5000, 12 * PAGE_SIZE - 1,
};

static void vm_files_create(void)
{
    for (uint32_t i = 0; i < VM_NFILES; i++) {
        uint64_t size = vm_file_sizes[(vm_fz.m.seed >> (4 * i)) & 7];
        bool writable = (i & 1) == 0 || ((vm_fz.m.seed >> 20) & (1u << i));
        int o = vm_obj_new(size, true, writable);
        struct vobj *ob = &vm_fz.obj[o];
        ob->f = mm_file_create(size, writable);
        if (!ob->f)
            vfail("mm_file_create(%lu) failed at start", (unsigned long)size);
        for (uint32_t p = 0; p < ob->npages; p++) {
            uint32_t tok = vm_new_tok(0xf11e0000u | i);
            uint32_t len = (uint32_t)MM_MIN((uint64_t)PAGE_SIZE, size - (uint64_t)p * PAGE_SIZE);
            vm_fill(vm_fz.buf, &(struct vcont){ tok, tok, PAGE_SIZE });
            int err = mm_file_write(ob->f, (uint64_t)p * PAGE_SIZE, vm_fz.buf, len);
            if (err)
                vfail("mm_file_write at start: %s", mm_strerror(err));
            vm_obj_write(ob, p, tok, len);
        }
    }
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

static void vm_check_obj(int o)
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

/* ---- the content of a model page ---- */

/* What page @k of region @r holds now. */
static struct vcont vm_page_content(const struct vreg *r, uint32_t k)
{
    if (r->obj >= 0 && (r->shared || !r->own[k])) {
        const struct vobj *o = &vm_fz.obj[r->obj];
        uint32_t idx = r->pgoff + k;
        return idx < o->npages ? o->pg[idx] : vm_uniform(0);
    }
    return r->own[k] ? r->pg[k] : vm_uniform(0);
}

/* ---- user accesses ---- */

/*
 * Expected outcome of touching page @va with @kind; grows a stack region in the model when the
 * mm would (growth happens before the permission check). *@ri / *@k locate the page.
 */
static enum vm_fault_result vm_expect(struct vmm *m, uintptr_t va, uint32_t kind, int *ri, uint32_t *k,
                                      bool apply_growth)
{
    *ri = -1;
    if (va >= ARCH_USER_VA_END || va < ARCH_USER_VA_START)
        return VM_FAULT_SIGSEGV;
    int i = reg_find(m, va);
    if (i < 0) {
        uint32_t j = 0;
        while (j < m->nreg && m->reg[j].start < va)
            j++;
        if (j == m->nreg || !m->reg[j].grows || m->reg[j].shared || m->reg[j].obj >= 0)
            return VM_FAULT_SIGSEGV;
        struct vreg *g = &m->reg[j];
        uintptr_t vend = reg_end(g);
        for (uint32_t t = j; t + 1 < m->nreg && reg_same_vma(&m->reg[t], &m->reg[t + 1]); t++)
            vend = reg_end(&m->reg[t + 1]);
        if (vend - va > MM_STACK_LIMIT)
            return VM_FAULT_SIGSEGV;
        if (j > 0 && va < reg_end(&m->reg[j - 1]) + MM_STACK_GUARD_GAP)
            return VM_FAULT_SIGSEGV;
        if (!apply_growth)
            return VM_FAULT_HANDLED; /* caller only asks whether it is a fault at all */
        uint8_t prot = g->prot;
        uintptr_t gs = g->start;
        reg_add(m, va, (uint32_t)((gs - va) / PAGE_SIZE), prot, false, true, -1, 0);
        VM_TRACE("  model: stack grows to %lx", (unsigned long)va);
        i = reg_find(m, va);
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
    int i = reg_find(m, va);
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
static void vm_write_clip(struct vmm *m, uintptr_t va, uint32_t pages, uint32_t cut, uint32_t *s, uint32_t *e)
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

static void vm_access(uint32_t kind, uint32_t pages, uint32_t at, uint32_t cut)
{
    static const char *const kn[] = { "read", "write", "exec" };
    struct vmm *m = cur_mm();
    if (!m || !fuzz_platform.user_copy)
        return;
    uintptr_t va = MM_ALIGN_DOWN(vm_addr(m, at), PAGE_SIZE);
    if (va >= ARCH_USER_VA_END || va + (uintptr_t)pages * PAGE_SIZE > ARCH_USER_VA_END)
        pages = va >= ARCH_USER_VA_END ? 1 : (uint32_t)MM_MIN((uintptr_t)pages, (ARCH_USER_VA_END - va) / PAGE_SIZE);
    /* growth below the model's capacity only */
    if (m->nreg + 2 * pages + 2 > VM_MAX_REG) {
        VM_TRACE("  skipped: model region table nearly full");
        return;
    }
    uint32_t toks[3], ws = 0, we = 0;
    if (kind == 1) {
        for (uint32_t p = 0; p < pages; p++) {
            toks[p] = vm_new_tok(0xacce55u);
            vm_fill(vm_fz.buf + p * PAGE_SIZE, &(struct vcont){ toks[p], toks[p], PAGE_SIZE });
        }
        vm_write_clip(m, va, pages, cut, &ws, &we);
        if (ws || we)
            VM_TRACE("  write covers [%lx, %lx)", (unsigned long)(va + ws),
                     (unsigned long)(va + (uintptr_t)pages * PAGE_SIZE - we));
    }
    uintptr_t fva = 0;
    int res = fuzz_platform.user_copy(m->mm, va + ws, vm_fz.buf + ws, (size_t)pages * PAGE_SIZE - ws - we, kind, &fva);
    uint32_t done = res == VM_FAULT_HANDLED ? pages : (uint32_t)((MM_ALIGN_DOWN(fva, PAGE_SIZE) - va) / PAGE_SIZE);
    fuzz_digest_fault(res, done);
    if (kind != 1 && done <= pages)
        fuzz_digest_bytes(vm_fz.buf, (size_t)done * PAGE_SIZE);
    VM_TRACE("  %s %lx x%u: %s at %lx", kn[kind], (unsigned long)va, pages, vm_fault_name(res),
             (unsigned long)fva);
    if (res != VM_FAULT_HANDLED && (fva < va || done >= pages))
        vfail("%s %lx x%u: fault %s at %lx outside the accessed range", kn[kind], (unsigned long)va,
              pages, vm_fault_name(res), (unsigned long)fva);
    for (uint32_t p = 0; p < pages; p++) {
        uintptr_t pva = va + (uintptr_t)p * PAGE_SIZE;
        int ri;
        uint32_t k = 0;
        bool last = p == done;
        /* a page before the faulting one completed, so the mm grew the stack for it whatever the
         * later fault was; the faulting page itself grew only when the fault was not SIGSEGV */
        bool grew = p < done || (last && res != VM_FAULT_SIGSEGV);
        enum vm_fault_result e = vm_expect(m, pva, kind, &ri, &k, grew);
        if (p < done) {
            if (e != VM_FAULT_HANDLED)
                vfail("%s at %lx succeeded, model expects %s", kn[kind], (unsigned long)pva, vm_fault_name(e));
            if (ri < 0)
                vfail("%s at %lx succeeded, but the model has no region there", kn[kind], (unsigned long)pva);
            struct vreg *r = &m->reg[ri];
            if (kind == 1) {
                struct vcont c = vm_write_merge(vm_page_content(r, k), toks[p], p == 0 ? ws : 0,
                                                p + 1 == pages ? PAGE_SIZE - we : PAGE_SIZE);
                if (r->shared)
                    vm_fz.obj[r->obj].pg[r->pgoff + k] = c;
                else {
                    r->own[k] = 1;
                    r->pg[k] = c;
                }
            } else {
                struct vcont c = vm_page_content(r, k);
                long d = vm_cmp(vm_fz.buf + p * PAGE_SIZE, &c, PAGE_SIZE);
                if (d >= 0)
                    vfail("%s at %lx byte %ld: got %02x, model %02x (%s%s region %lx+%u pages, tokens %x/%x split %u)",
                          kn[kind], (unsigned long)pva, d, vm_fz.buf[p * PAGE_SIZE + d], vm_byte(&c, (uint32_t)d),
                          r->shared ? "shared" : "private", r->obj >= 0 ? " file" : " anon",
                          (unsigned long)r->start, r->np, c.a, c.b, c.split);
            }
            continue;
        }
        if (!last)
            break;
        if (res == VM_FAULT_OOM) {
            /* the page-table page is allocated before a file fault finds the page beyond the
             * end of the file (mmap.h: OOM is "no memory for the page or a page-table page") */
            if (e != VM_FAULT_HANDLED && e != VM_FAULT_SIGBUS)
                vfail("%s at %lx: oom, model expects %s", kn[kind], (unsigned long)pva, vm_fault_name(e));
            if (!vm_oom_justified())
                vfail("%s at %lx: VM_FAULT_OOM with memory available and no failure injection armed "
                      "(free %lu)", kn[kind], (unsigned long)pva, page_alloc_nr_free());
        } else if ((int)e != res) {
            vfail("%s at %lx: %s, model expects %s", kn[kind], (unsigned long)pva, vm_fault_name(res),
                  vm_fault_name(e));
        }
        break;
    }
    reg_compact(m);
}

/* ---- mmap / munmap / mprotect / brk ---- */

static void vm_mmap(uint32_t what, uint32_t prot, uint32_t how, uint32_t x)
{
    struct vmm *m = cur_mm();
    if (!m)
        return;
    static const uint32_t offs[4] = { 0, 1, 3, 8 };
    uint32_t np = 1 + (x & 63);
    size_t len = (size_t)np * PAGE_SIZE;
    uint64_t off = (uint64_t)offs[(x >> 6) & 3] * PAGE_SIZE;
    uintptr_t addr = vm_addr(m, x >> 8);
    int fo = what >= 2 ? (int)((what - 2) / 2) : -1;
    bool shared = what == 1 || (what >= 2 && (what & 1));
    unsigned int flags = shared ? MAP_SHARED : MAP_PRIVATE;
    struct mm_file *file = NULL;
    long expect = 0; /* 0: success predicted */

    if (fo < 0) {
        flags |= MAP_ANONYMOUS;
        off = 0;
    } else {
        file = vm_fz.obj[fo].f;
    }
    switch (how) {
    case 0: addr = 0; break;
    case 1: break;
    case 2: flags |= MAP_FIXED; break;
    case 3: flags |= MAP_FIXED_NOREPLACE; break;
    case 4: if (what == 0) flags |= MAP_GROWSDOWN; break;
    case 5: flags |= MAP_FIXED | (what == 0 ? MAP_GROWSDOWN : 0); break;
    case 6: flags |= 0x200000; break; /* a bit Linux does not define either */
    case 7: flags |= MAP_SHARED | MAP_PRIVATE; break;
    case 8: flags &= ~(MAP_SHARED | MAP_PRIVATE); break;
    case 9: len = 0; break;
    case 10: off += 100; break;
    case 11: if (fo < 0) file = vm_fz.obj[0].f; else flags |= MAP_ANONYMOUS; break;
    default: prot |= 0x10; break; /* PROT_SEM (0x8) is accepted, as in Linux */
    }
    /* the argument checks, in the mm's order */
    if (!len || (flags & 0x200000) || (prot & ~0xfu))
        expect = -MM_EINVAL;
    else if (!!(flags & MAP_SHARED) == !!(flags & MAP_PRIVATE))
        expect = -MM_EINVAL;
    else if (!(flags & MAP_ANONYMOUS) == !file || !MM_IS_ALIGNED(off, PAGE_SIZE))
        expect = -MM_EINVAL;
    else if (file && (flags & MAP_SHARED) && (prot & PROT_WRITE) && !vm_fz.obj[fo].writable)
        expect = -MM_EACCES;
    else if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (!vm_range_ok(addr, len))
            expect = -MM_EINVAL;
        else if ((flags & MAP_FIXED_NOREPLACE) && !reg_range_free(m, addr, addr + len))
            expect = -MM_EEXIST;
    }
    bool hint_fits = !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && MM_ALIGN_DOWN(addr, PAGE_SIZE) &&
                     vm_range_ok(MM_ALIGN_DOWN(addr, PAGE_SIZE), len) &&
                     reg_range_free(m, MM_ALIGN_DOWN(addr, PAGE_SIZE), MM_ALIGN_DOWN(addr, PAGE_SIZE) + len);
    int obj = fo;
    if (!expect && shared && fo < 0) {
        obj = vm_obj_new(len, false, true);
        if (obj < 0) {
            VM_TRACE("  skipped: model object pool full");
            return;
        }
    }
    if (!expect && m->nreg + 4 > VM_MAX_REG) {
        VM_TRACE("  skipped: model region table nearly full");
        if (shared && fo < 0)
            vm_fz.nobj--, vm_fz.pool_used -= np;
        return;
    }
    long ret = do_mmap(m->mm, addr, len, prot, flags, file, off);
    fuzz_digest_err(ret < 0 ? (int)ret : 0);
    VM_TRACE("  do_mmap(%lx, %u pages, prot %x, flags %x, off %lx) = %lx", (unsigned long)addr, np, prot,
             flags, (unsigned long)off, (unsigned long)ret);
    if (expect) {
        if (ret != expect)
            vfail("do_mmap(%lx, %zu, %x, %x, off %lx) = %ld, expected %s", (unsigned long)addr, len, prot,
                  flags, (unsigned long)off, ret, mm_strerror((int)expect));
        return;
    }
    if (ret < 0) {
        if (shared && fo < 0)
            vm_fz.nobj--, vm_fz.pool_used -= np;
        if (ret != -MM_ENOMEM || !vm_oom_justified())
            vfail("do_mmap(%lx, %zu, %x, %x, off %lx) = %s, expected success", (unsigned long)addr, len,
                  prot, flags, (unsigned long)off, mm_strerror((int)ret));
        if ((flags & MAP_FIXED) && !reg_range_free(m, addr, addr + len)) {
            /* the old mapping may be gone (unmapped before the failing allocation) */
            struct vm_area_struct *v = find_vma(m->mm, addr);
            if (!v || v->vm_start >= addr + len)
                reg_unmap(m, addr, addr + len);
        }
        return;
    }
    uintptr_t a = (uintptr_t)ret;
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && a != addr)
        vfail("do_mmap fixed at %lx returned %lx", (unsigned long)addr, (unsigned long)a);
    if (hint_fits && a != MM_ALIGN_DOWN(addr, PAGE_SIZE))
        vfail("do_mmap hint %lx fits (free) but the mapping went to %lx", (unsigned long)addr, (unsigned long)a);
    if (!vm_range_ok(a, len))
        vfail("do_mmap returned %lx: not a page-aligned user range of %zu bytes", (unsigned long)a, len);
    if (flags & MAP_FIXED)
        reg_unmap(m, a, a + len);
    else if (!reg_range_free(m, a, a + len))
        vfail("do_mmap placed %zu bytes at %lx over an existing mapping", len, (unsigned long)a);
    reg_add(m, a, np, vm_prot_flags(prot), shared, (flags & MAP_GROWSDOWN) != 0, obj,
            (uint32_t)(off >> PAGE_SHIFT));
    reg_compact(m);
}

static bool vm_range_args(uintptr_t addr, uint32_t pages)
{
    return pages && vm_range_ok(addr, (size_t)pages * PAGE_SIZE);
}

static void vm_munmap(uint32_t pages, uint32_t at)
{
    struct vmm *m = cur_mm();
    if (!m)
        return;
    uintptr_t addr = vm_addr(m, at);
    size_t len = (size_t)pages * PAGE_SIZE;
    int expect = vm_range_args(addr, pages) ? 0 : -MM_EINVAL;
    if (!expect && m->nreg + 2 > VM_MAX_REG)
        return;
    int ret = do_munmap(m->mm, addr, len);
    fuzz_digest_err(ret);
    VM_TRACE("  do_munmap(%lx, %u pages) = %d", (unsigned long)addr, pages, ret);
    if (ret == -MM_ENOMEM && !expect && vm_oom_justified())
        return;
    if (ret != expect)
        vfail("do_munmap(%lx, %zu) = %s, expected %s", (unsigned long)addr, len, mm_strerror(ret),
              mm_strerror(expect));
    if (!ret) {
        reg_unmap(m, addr, addr + len);
        reg_compact(m);
    }
}

static void vm_mprotect(uint32_t pages, uint32_t prot, uint32_t at)
{
    struct vmm *m = cur_mm();
    if (!m)
        return;
    uintptr_t addr = vm_addr(m, at), end = addr + (uintptr_t)pages * PAGE_SIZE;
    size_t len = (size_t)pages * PAGE_SIZE;
    int expect = 0;
    if (!MM_IS_ALIGNED(addr, PAGE_SIZE))
        expect = -MM_EINVAL; /* Linux's order: alignment, zero length, then the range */
    else if (!pages)
        expect = 0;
    else if (!vm_range_ok(addr, len) || !reg_range_covered(m, addr, end))
        expect = -MM_ENOMEM;
    else if (prot & PROT_WRITE)
        for (uint32_t i = 0; i < m->nreg; i++) {
            struct vreg *r = &m->reg[i];
            if (r->start < end && reg_end(r) > addr && r->shared && r->obj >= 0 && !vm_fz.obj[r->obj].writable)
                expect = -MM_EACCES;
        }
    if (!expect && m->nreg + 2 > VM_MAX_REG)
        return;
    int ret = do_mprotect(m->mm, addr, len, prot);
    fuzz_digest_err(ret);
    VM_TRACE("  do_mprotect(%lx, %u pages, %x) = %d", (unsigned long)addr, pages, prot, ret);
    if (ret == -MM_ENOMEM && !expect && vm_oom_justified())
        return;
    if (ret != expect)
        vfail("do_mprotect(%lx, %zu, %x) = %s, expected %s", (unsigned long)addr, len, prot,
              mm_strerror(ret), mm_strerror(expect));
    if (ret || !pages)
        return;
    reg_split_at(m, addr);
    reg_split_at(m, end);
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start >= addr && reg_end(&m->reg[i]) <= end)
            m->reg[i].prot = vm_prot_flags(prot);
    reg_compact(m);
}

static void vm_brk(uint32_t x)
{
    struct vmm *m = cur_mm();
    if (!m)
        return;
    uintptr_t old = m->brk, nb;
    uintptr_t delta = (uintptr_t)((x >> 2) % 24) * PAGE_SIZE + (x >> 8) % 4096;
    switch (x % 4) {
    case 0: nb = old + delta; break;
    case 1: nb = old > delta ? old - delta : 0; break;
    case 2: nb = VM_BRK_START; break;
    default: {
        const uintptr_t odd[] = { VM_BRK_START - 1, m->mm->mmap_base, ~(uintptr_t)0 - PAGE_SIZE,
                                  m->mm->mmap_base - 1 };
        nb = odd[(x >> 2) % 4];
    }
    }
    uintptr_t ot = MM_ALIGN_UP(old, PAGE_SIZE), nt = MM_ALIGN_UP(nb, PAGE_SIZE), expect = nb;
    bool grow = false, shrink = false;
    if (nb < VM_BRK_START || nb >= m->mm->mmap_base)
        expect = old;
    else if (nt < ot)
        shrink = true;
    else if (nt > ot) {
        if (!reg_range_free(m, ot, nt))
            expect = old;
        else
            grow = true;
    }
    if ((grow || shrink) && m->nreg + 4 > VM_MAX_REG)
        return;
    /* a huge growth needs one model region per VM_REG_PAGES pages: skip what the model cannot hold */
    if (grow && m->nreg + 4 + (nt - ot) / PAGE_SIZE / VM_REG_PAGES > VM_MAX_REG) {
        VM_TRACE("  skipped: model region table too small for %lu pages", (unsigned long)((nt - ot) / PAGE_SIZE));
        return;
    }
    uintptr_t ret = do_brk(m->mm, nb);
    fuzz_digest_count(ret == nb ? 0 : ret == old ? 1 : 2);
    VM_TRACE("  do_brk(%lx) = %lx (old %lx)", (unsigned long)nb, (unsigned long)ret, (unsigned long)old);
    if (ret != expect) {
        if (!(ret == old && (grow || shrink) && vm_oom_justified()))
            vfail("do_brk(%lx) = %lx, expected %lx (old break %lx)", (unsigned long)nb, (unsigned long)ret,
                  (unsigned long)expect, (unsigned long)old);
        return;
    }
    if (shrink)
        reg_unmap(m, nt, ot);
    if (grow)
        reg_add(m, ot, (uint32_t)((nt - ot) / PAGE_SIZE), VM_READ | VM_WRITE, false, false, -1, 0);
    m->brk = ret;
    reg_compact(m);
}

/* ---- fork / exit / use ---- */

static bool vm_new_mm(void)
{
    if (vm_fz.nmm >= VM_MAX_MM)
        return false;
    struct mm_struct *mm = mm_create();
    fuzz_digest_ok(mm != NULL);
    if (!mm) {
        if (!vm_oom_justified())
            vfail("mm_create failed with memory available");
        return false;
    }
    struct vmm *m = &vm_fz.mm[vm_fz.nmm];
    m->mm = mm;
    m->brk = VM_BRK_START;
    m->nreg = 0;
    vm_fz.cur = vm_fz.nmm++;
    return true;
}

/*
 * What mm_fork of @mm allocates at most, all GFP_KERNEL (fork.c): the child's tables - a root and
 * a copy of every parent table that holds an entry, so no more than the parent's nr_tables - and
 * slab pages for the mm_struct and one VMA per parent VMA (a small kmalloc slab holds 8 objects
 * or more: slab_pick_order). No data page: pages are shared copy-on-write. Judging a fork with a
 * fault's 4 pages called a fork whose parent had 7 tables (it takes all 7 when it succeeds) a mm
 * failure while only 5 GFP_KERNEL pages were obtainable (regression: corpus/vm/regress-fork-tables).
 */
static unsigned int vm_fork_need(const struct mm_struct *mm)
{
    return (unsigned int)(mm->pt.nr_tables + 1 + (mm->map_count + 7) / 8);
}

static void vm_fork(void)
{
    struct vmm *m = cur_mm();
    if (!m) {
        vm_new_mm();
        return;
    }
    if (vm_fz.nmm >= VM_MAX_MM)
        return;
    struct mm_struct *child = NULL;
    int ret = mm_fork(m->mm, &child);
    fuzz_digest_err(ret);
    VM_TRACE("  mm_fork = %d", ret);
    if (ret) {
        if (ret != -MM_ENOMEM || !vm_oom_justified_need(vm_fork_need(m->mm), 0, 0))
            vfail("mm_fork = %s, expected 0", mm_strerror(ret));
        return;
    }
    vm_tmp_mm = *m;
    vm_tmp_mm.mm = child;
    vm_fz.mm[vm_fz.nmm++] = vm_tmp_mm;
}

static void vm_exit(void)
{
    struct vmm *m = cur_mm();
    if (!m)
        return;
    mm_destroy(m->mm);
    memmove(&vm_fz.mm[vm_fz.cur], &vm_fz.mm[vm_fz.cur + 1], (vm_fz.nmm - vm_fz.cur - 1) * sizeof(vm_fz.mm[0]));
    vm_fz.nmm--;
    vm_fz.cur = vm_fz.nmm ? vm_fz.cur % vm_fz.nmm : 0;
    if (!vm_fz.nmm)
        vm_new_mm();
}

/* ---- pressure, files ---- */

static void vm_pressure(uint32_t how, uint32_t n)
{
    unsigned long got = 0;
    /* (the calls stay outside VM_TRACE: its arguments are evaluated only when tracing) */
    switch (how) {
    case 0: got = page_reclaim(GFP_KERNEL, n); VM_TRACE("  page_reclaim = %lu", got); break;
    case 1: got = swap_reclaim(n); VM_TRACE("  swap_reclaim = %lu", got); break;
    case 2: got = page_reclaim_background(); VM_TRACE("  kswapd = %lu", got); break;
    case 3:
        for (uint32_t i = 0; i < n && vm_fz.nhog < VM_MAX_HOG; i++) {
            struct page *p = alloc_pages(GFP_HIGHUSER | __GFP_NOWARN, 0);
            if (!p)
                break;
            vm_fz.hog[vm_fz.nhog++] = p;
        }
        VM_TRACE("  holding %u pages, free %lu", vm_fz.nhog, page_alloc_nr_free());
        break;
    default:
        for (uint32_t i = 0; i < n + 1 && vm_fz.nhog; i++)
            __free_pages(vm_fz.hog[--vm_fz.nhog], 0);
        break;
    }
    fuzz_digest_count(how < 3 ? got : vm_fz.nhog);
}

static void vm_file(uint32_t op, uint32_t fi, uint32_t page, uint32_t tok)
{
    struct vobj *o = &vm_fz.obj[fi];
    uint64_t off = (uint64_t)page * PAGE_SIZE;
    int ret;
    switch (op) {
    case 0:
    case 3: {
        if (op == 3)
            off = o->size + (page & 1);
        uint32_t len = off < o->size ? (uint32_t)MM_MIN((uint64_t)PAGE_SIZE, o->size - off) : 1;
        int expect = off < o->size ? 0 : -MM_EINVAL;
        tok = tok ? tok : 1;
        if (off < o->size && len < PAGE_SIZE && !vm_is_uniform(&o->pg[page]) && o->pg[page].split > len) {
            /* a write through a shared mapping split this last page beyond the file's end: the
             * file write [0, len) would leave three runs, more than a (a, b, split) page holds */
            VM_TRACE("  skipped: model page f%u/%u split at %u, write of %u bytes", fi, page,
                     o->pg[page].split, len);
            return;
        }
        vm_fill(vm_fz.buf, &(struct vcont){ tok, tok, PAGE_SIZE });
        ret = mm_file_write(o->f, off, vm_fz.buf, len);
        fuzz_digest_err(ret);
        VM_TRACE("  mm_file_write(f%u, %lx, %u) = %d", fi, (unsigned long)off, len, ret);
        if (ret == -MM_ENOMEM && !expect && vm_oom_justified())
            return;
        if (ret != expect)
            vfail("mm_file_write(f%u, off %lu, len %u) = %s, expected %s (size %lu)", fi, (unsigned long)off,
                  len, mm_strerror(ret), mm_strerror(expect), (unsigned long)o->size);
        if (!ret)
            vm_obj_write(o, page, tok, len);
        break;
    }
    case 1:
        vm_check_obj((int)fi);
        ret = mm_file_read(o->f, o->size, vm_fz.buf, 1);
        fuzz_digest_err(ret);
        if (ret != -MM_EINVAL)
            vfail("mm_file_read past the end = %s, expected EINVAL", mm_strerror(ret));
        break;
    default:
        mm_file_sync(o->f);
        break;
    }
}

/* ---- vmalloc / vmap ---- */

static void vm_area_fill(struct varea *a)
{
    uint8_t *p = a->addr;
    for (size_t i = 0; i < a->size; i += PAGE_SIZE) {
        struct vcont c = vm_uniform(a->tok + (uint32_t)(i / PAGE_SIZE));
        vm_fill(vm_fz.buf, &c);
        memcpy(p + i, vm_fz.buf, MM_MIN((size_t)PAGE_SIZE, a->size - i));
    }
}

static void vm_area_check(const struct varea *a)
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

static void vm_vmalloc(uint32_t fn, uint32_t size)
{
    if (vm_fz.nva >= VM_MAX_VAREA)
        return;
    /* the gfp of the area's pages (vmalloc.c): vmalloc / vzalloc take __GFP_HIGHMEM */
    static const gfp_t gfp[4] = { GFP_KERNEL | __GFP_HIGHMEM, GFP_KERNEL | __GFP_HIGHMEM | __GFP_ZERO,
                                  GFP_KERNEL | __GFP_HIGHMEM, GFP_KERNEL | __GFP_ZERO };
    void *p;
    switch (fn) {
    case 0: p = vmalloc(size); break;
    case 1: p = vzalloc(size); break;
    default: p = __vmalloc(size, gfp[fn & 3]); break;
    }
    fuzz_digest_ok(p != NULL);
    VM_TRACE("  vmalloc(%u) = %p", size, p);
    if (!size) {
        if (p)
            vfail("vmalloc(0) returned %p, expected NULL", p);
        return;
    }
    if (!p) {
        /* the node's slab page and up to 2 tables per level below the root (an area of more than
         * one page may straddle a table boundary), then the pages with the area's own gfp */
        unsigned int npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
        if (!vm_oom_justified_need(1 + 3 * (npages > 1 ? 2 : 1), npages, gfp[fn & 3]))
            vfail("vmalloc(%u) failed with memory available", size);
        return;
    }
    uintptr_t s;
    size_t sz;
    if (!is_vmalloc_addr(p) || !MM_IS_ALIGNED((uintptr_t)p, PAGE_SIZE) || !vmalloc_area_of(p, &s, &sz) ||
        s != (uintptr_t)p || sz != MM_ALIGN_UP(size, PAGE_SIZE))
        vfail("vmalloc(%u) = %p: not an area of the rounded size", size, p);
    for (uint32_t i = 0; i < vm_fz.nva; i++) {
        uintptr_t o = (uintptr_t)vm_fz.va[i].addr;
        if ((uintptr_t)p < o + MM_ALIGN_UP(vm_fz.va[i].size, PAGE_SIZE) + PAGE_SIZE &&
            o < (uintptr_t)p + sz + PAGE_SIZE)
            vfail("vmalloc area %p overlaps area %p (or its guard page)", p, vm_fz.va[i].addr);
    }
    if (fn == 1 || fn == 3)
        for (size_t i = 0; i < size; i++)
            if (((uint8_t *)p)[i])
                vfail("vzalloc(%u) byte %zu is %02x", size, i, ((uint8_t *)p)[i]);
    struct varea *a = &vm_fz.va[vm_fz.nva++];
    memset(a, 0, sizeof(*a));
    a->addr = p;
    a->size = size;
    a->tok = vm_new_tok(0xa11c);
    vm_area_fill(a);
}

static void vm_vmap(uint32_t n, uint32_t ro)
{
    if (vm_fz.nva >= VM_MAX_VAREA)
        return;
    struct varea *a = &vm_fz.va[vm_fz.nva];
    memset(a, 0, sizeof(*a));
    a->vmap = true;
    a->n = n;
    a->size = (size_t)n * PAGE_SIZE;
    a->tok = vm_new_tok(0x3a9);
    for (uint32_t i = 0; i < n; i++) {
        a->pages[i] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
        fuzz_digest_ok(a->pages[i] != NULL);
        if (!a->pages[i]) {
            if (!vm_oom_justified_n(1)) /* judged holding the pages taken so far */
                vfail("alloc_pages for vmap failed with memory available");
            while (i)
                __free_pages(a->pages[--i], 0);
            return;
        }
        struct vcont c = vm_uniform(a->tok + i);
        vm_fill(page_address(a->pages[i]), &c);
    }
    a->addr = vmap(a->pages, n, ro ? VMALLOC_PROT_KERNEL_RO : VMALLOC_PROT_KERNEL);
    fuzz_digest_ok(a->addr != NULL);
    VM_TRACE("  vmap(%u pages) = %p", n, a->addr);
    if (!a->addr) {
        /* vmap needs its area node (a slab page) and up to 3 table levels; judged holding the pages */
        if (!vm_oom_justified_n(VM_OOM_NEED_OP + 1))
            vfail("vmap(%u) failed with memory available", n);
        for (uint32_t i = 0; i < n; i++)
            __free_pages(a->pages[i], 0);
        return;
    }
    vm_area_check(a);
    if (!ro) { /* writes through the alias land in the caller's pages */
        a->tok = vm_new_tok(0x3aa);
        vm_area_fill(a);
        for (uint32_t i = 0; i < n; i++) {
            struct vcont c = vm_uniform(a->tok + i);
            long d = vm_cmp(page_address(a->pages[i]), &c, PAGE_SIZE);
            if (d >= 0)
                vfail("vmap write at page %u offset %ld not visible in the page", i, d);
        }
    }
    vm_fz.nva++;
}

static void vm_area_release(uint32_t h, bool check)
{
    struct varea *a = &vm_fz.va[h];
    if (check)
        vm_area_check(a);
    int ret = a->vmap ? vunmap(a->addr) : vfree(a->addr);
    fuzz_digest_err(ret);
    if (ret)
        vfail("%s(%p) = %s", a->vmap ? "vunmap" : "vfree", a->addr, mm_strerror(ret));
    for (uint32_t i = 0; a->vmap && i < a->n; i++)
        __free_pages(a->pages[i], 0);
    memmove(&vm_fz.va[h], &vm_fz.va[h + 1], (vm_fz.nva - h - 1) * sizeof(vm_fz.va[0]));
    vm_fz.nva--;
}

static void vm_vfree(uint32_t h, uint32_t via, bool is_vunmap_op)
{
    if (!is_vunmap_op && via == 2) {
        int ret = vfree(NULL);
        fuzz_digest_err(ret);
        if (ret)
            vfail("vfree(NULL) = %s", mm_strerror(ret));
        return;
    }
    if (!vm_fz.nva)
        return;
    h %= vm_fz.nva;
    struct varea *a = &vm_fz.va[h];
    bool wrong = via == 1;
    if (!wrong && a->vmap != is_vunmap_op) {
        /* the op names the other kind: use the right call (the wrong one is via=) */
        vm_area_release(h, true);
        return;
    }
    if (wrong) {
        unsigned long mis = mm_misuse_count();
        int ret = a->vmap ? vfree(a->addr) : vunmap(a->addr);
        fuzz_digest_err(ret);
        fuzz_digest_count(mm_misuse_count() - mis);
        if (ret != -MM_EINVAL || mm_misuse_count() != mis + 1)
            vfail("%s of a %s area = %s (misuse reports %lu), expected EINVAL and one report",
                  a->vmap ? "vfree" : "vunmap", a->vmap ? "vmap" : "vmalloc", mm_strerror(ret),
                  mm_misuse_count() - mis);
        vm_area_check(a);
        return;
    }
    vm_area_release(h, true);
}

/* ---- check ---- */

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
        if (!vcr_same_name(codes[i].name, mm_strerror(codes[i].code)) ||
            !vcr_same_name(codes[i].name, mm_strerror(-codes[i].code)))
            vfail("mm_strerror(%d) = %s / mm_strerror(%d) = %s, expected %s", codes[i].code,
                  mm_strerror(codes[i].code), -codes[i].code, mm_strerror(-codes[i].code), codes[i].name);
}

static void vm_check_everything(void)
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

/* ---- vm corrupt VICTIM x= ----
 *
 * One structure of the address spaces, the swap slots, the LRU lists, a page table or the vmalloc
 * range is damaged in one specific way (see enum fuzz_vm_corrupt_kind); mm_check must return
 * -MM_ECORRUPT naming the expected invariant (a documented set where the same damage can be seen
 * by two checks first); the saved bytes (or slot count) are put back and mm_check must pass.
 * Victims are picked by a scan starting at x; a machine without one leaves the op a no-op.
 */

#define VCR_MAX_SAVE 4
#define VCR_MAX_CAND 64

static struct {
    struct { void *addr; size_t len; uint8_t bytes[16]; } s[VCR_MAX_SAVE];
    unsigned int n;
    long slot;               /* swap slot whose count is restored through the API, or -1 */
    unsigned long slot_count;
} vcr_saved;

static struct list_head vcr_junk; /* a list link that is no struct page */

static void vcr_save(void *p, size_t n)
{
    if (vcr_saved.n >= VCR_MAX_SAVE || n > sizeof(vcr_saved.s[0].bytes))
        vfail("corrupt: save table full");
    vcr_saved.s[vcr_saved.n].addr = p;
    vcr_saved.s[vcr_saved.n].len = n;
    memcpy(vcr_saved.s[vcr_saved.n].bytes, p, n);
    vcr_saved.n++;
}

static void vcr_restore(void)
{
    while (vcr_saved.n) {
        vcr_saved.n--;
        memcpy(vcr_saved.s[vcr_saved.n].addr, vcr_saved.s[vcr_saved.n].bytes, vcr_saved.s[vcr_saved.n].len);
    }
    if (vcr_saved.slot >= 0) {
        int err = swap_debug_set_count((unsigned long)vcr_saved.slot, vcr_saved.slot_count);
        if (err)
            vfail("corrupt: swap_debug_set_count(%ld, %lu) to restore = %s", vcr_saved.slot, vcr_saved.slot_count,
                  mm_strerror(err));
        vcr_saved.slot = -1;
    }
}

/* PTE candidates of one address space: pt_visit collects entries passing a filter. */
enum vcr_pte_want { VCR_PRESENT, VCR_COW, VCR_USER_PAGE, VCR_SWAP };

static struct {
    enum vcr_pte_want want;
    uint32_t n;
    pte_t *ptep[VCR_MAX_CAND];
    uintptr_t va[VCR_MAX_CAND];
} vcr_cand;

static int vcr_pte_cb(void *arg, uintptr_t va, pte_t *ptep)
{
    pte_t e = *ptep;
    bool ok;
    (void)arg;
    switch (vcr_cand.want) {
    case VCR_PRESENT: ok = pte_present(e); break;
    case VCR_COW: ok = pte_present(e) && (e & PTE_SW_COW) && !(e & PTE_SW_ZERO); break;
    case VCR_USER_PAGE: {
        unsigned long pfn = MM_PFN_DOWN(pte_addr(e));
        ok = pte_present(e) && !(e & PTE_SW_ZERO) && pfn_valid(pfn) &&
             (pfn_to_page(pfn)->flags & ~PG_cache) == PG_head && pfn_to_page(pfn)->order == 0;
        break;
    }
    default: ok = pte_is_swap(e); break;
    }
    if (ok && vcr_cand.n < VCR_MAX_CAND) {
        vcr_cand.ptep[vcr_cand.n] = ptep;
        vcr_cand.va[vcr_cand.n] = va;
        vcr_cand.n++;
    }
    return 0;
}

/* A PTE of kind @want in some address space (scan from mm x % nmm); *mi = its model index. */
static pte_t *vcr_find_pte(uint32_t x, enum vcr_pte_want want, uint32_t *mi, uintptr_t *va)
{
    for (uint32_t k = 0; k < vm_fz.nmm; k++) {
        uint32_t i = (x + k) % vm_fz.nmm;
        vcr_cand.want = want;
        vcr_cand.n = 0;
        pt_visit(&vm_fz.mm[i].mm->pt, 0, ARCH_USER_VA_END, vcr_pte_cb, NULL);
        if (vcr_cand.n) {
            uint32_t c = (x >> 3) % vcr_cand.n;
            *mi = i;
            *va = vcr_cand.va[c];
            return vcr_cand.ptep[c];
        }
    }
    return NULL;
}

static struct vm_area_struct *vcr_vma_at(struct mm_struct *mm, uint32_t k)
{
    struct list_head *pos;
    list_for_each(pos, &mm->vmas)
        if (k-- == 0)
            return list_entry(pos, struct vm_area_struct, vm_list);
    return NULL;
}

static struct vm_area_struct *vcr_vma_next(struct mm_struct *mm, struct vm_area_struct *v)
{
    return v->vm_list.next == &mm->vmas ? NULL : list_entry(v->vm_list.next, struct vm_area_struct, vm_list);
}

/* The address space x selects (modulo the live ones), or NULL when every one has exited. */
static struct mm_struct *vcr_mm_pick(uint32_t x)
{
    return vm_fz.nmm ? vm_fz.mm[x % vm_fz.nmm].mm : NULL;
}

/* An address space with at least @min VMAs (scan from x); NULL if none. */
static struct mm_struct *vcr_mm_with(uint32_t x, unsigned long min)
{
    for (uint32_t k = 0; k < vm_fz.nmm; k++) {
        struct mm_struct *mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
        if (mm->map_count >= min)
            return mm;
    }
    return NULL;
}

static bool vcr_same_name(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* The x-th page on some LRU list (any mm), or NULL. */
static struct page *vcr_lru_page(uint32_t x)
{
    for (uint32_t k = 0; k < vm_fz.nmm; k++) {
        struct mm_struct *mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
        for (unsigned int l = 0; l < 2; l++) {
            unsigned long n = 0;
            struct list_head *pos;
            list_for_each(pos, &mm->lru[l])
                n++;
            if (!n)
                continue;
            unsigned long want = (x >> 4) % n;
            list_for_each(pos, &mm->lru[l])
                if (want-- == 0)
                    return list_entry(pos, struct page, lru);
        }
    }
    return NULL;
}

/* The PTE of page @k of model area @a in the kernel page table (NULL: no table there). */
static pte_t *vcr_varea_pte(const struct varea *a, size_t off)
{
    return pt_walk(&mm_state.vmalloc.pt, (uintptr_t)a->addr + off, false, 0);
}

/* The leaf of @t that holds the entry starting at @start (and its slot), or NULL. */
static struct rtree_node *vcr_tree_leaf(const struct range_tree *t, uintptr_t start,
                                        unsigned int *slot)
{
    struct rtree_node *n = t->root;
    while (n && !n->leaf) {
        unsigned int i = n->count;
        while (i > 1 && n->start[i - 1] > start)
            i--;
        n = n->slot[i - 1];
    }
    for (unsigned int i = 0; n && i < n->count; i++)
        if (n->start[i] == start) {
            *slot = i;
            return n;
        }
    return NULL;
}

/*
 * Damage range tree @t near the entry starting at @key: its depth (tree-depth), the leaf's gap
 * record (tree-gap), or an inner node's key of a child, or in a one-leaf tree the leaf's entry
 * pointer (tree-key). Fills @names with what mm_check must report.
 */
static bool vcr_corrupt_tree(uint32_t victim, uint32_t x, struct range_tree *t, uintptr_t key,
                             const char **names)
{
    unsigned int i;
    struct rtree_node *leaf = vcr_tree_leaf(t, key, &i);
    if (!leaf)
        vfail("corrupt: no tree entry starts at 0x%lx", (unsigned long)key);
    if (victim == FUZZ_VCR_TREE_DEPTH) {
        vcr_save(&t->depth, sizeof(t->depth));
        t->depth += (x & 1) || t->depth > RTREE_MAX_DEPTH ? 1 : (unsigned int)-1;
        names[0] = "tree.depth";
    } else if (victim == FUZZ_VCR_TREE_GAP) {
        vcr_save(&leaf->gap[i], sizeof(leaf->gap[i]));
        leaf->gap[i] += PAGE_SIZE;
        names[0] = "tree.gap";
    } else if (t->depth > 1) {
        struct rtree_node *root = t->root;
        unsigned int c = (x >> 5) % root->count;
        vcr_save(&root->start[c], sizeof(root->start[c]));
        root->start[c] += (x & 1) ? PAGE_SIZE : -(uintptr_t)PAGE_SIZE;
        names[0] = "tree.key";
    } else {
        vcr_save(&leaf->slot[i], sizeof(leaf->slot[i]));
        leaf->slot[i] = (x & 1) && leaf->count > 1 ? leaf->slot[(i + 1) % leaf->count] : &vcr_junk;
        names[0] = t == &mm_state.vmalloc.tree ? "vmalloc.tree" : "vma.tree";
    }
    return true;
}

static bool vm_corrupt(uint32_t victim, uint32_t x)
{
    const char *names[3] = { NULL, NULL, NULL };
    struct mm_check_report rep;
    struct vm_area_struct *v, *w;
    struct mm_struct *mm;
    struct page *p;
    uint32_t mi;
    uintptr_t va;
    pte_t *ptep;

    vcr_saved.n = 0;
    vcr_saved.slot = -1;
    switch (victim) {
    case FUZZ_VCR_COW_WRITABLE:
        if (!(ptep = vcr_find_pte(x, VCR_COW, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        *ptep |= PTE_RW;
        names[0] = "pte.cow";
        names[1] = "pte.perm"; /* a COW page of a VMA that is not writable (mprotect after fork) */
        break;
    case FUZZ_VCR_PTE_OUTSIDE: {
        /* an empty entry of an existing table page just outside a VMA; counted so pt_check agrees */
        ptep = NULL;
        for (uint32_t k = 0; k < vm_fz.nmm && !ptep; k++) {
            mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
            struct list_head *pos;
            list_for_each(pos, &mm->vmas) {
                v = list_entry(pos, struct vm_area_struct, vm_list);
                uintptr_t cand[2] = { v->vm_end, v->vm_start - PAGE_SIZE };
                for (int c = 0; c < 2 && !ptep; c++) {
                    uintptr_t a = cand[(c + x) & 1];
                    if (a < ARCH_USER_VA_START || a >= ARCH_USER_VA_END)
                        continue;
                    w = find_vma(mm, a);
                    if (w && w->vm_start <= a)
                        continue;
                    pte_t *e = pt_walk(&mm->pt, a, false, 0);
                    if (e && !*e)
                        ptep = e;
                }
                if (ptep)
                    break;
            }
        }
        if (!ptep)
            return false;
        p = virt_to_page(ptep);
        if (!p)
            vfail("corrupt: a page-table entry %p has no struct page", (void *)ptep);
        vcr_save(ptep, sizeof(*ptep));
        vcr_save(&p->private_data, sizeof(p->private_data));
        *ptep = PTE_D; /* non-present, not a swap entry */
        p->private_data++;
        names[0] = "pte.outside";
        break;
    }
    case FUZZ_VCR_PTE_USER:
        if (!(ptep = vcr_find_pte(x, VCR_PRESENT, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        *ptep ^= PTE_US;
        names[0] = "pte.perm";
        break;
    case FUZZ_VCR_PTE_PAGE: {
        if (!(ptep = vcr_find_pte(x, VCR_USER_PAGE, &mi, &va)))
            return false;
        struct page *f = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
        if (!f)
            return false;
        __free_pages(f, 0); /* a free page now */
        vcr_save(ptep, sizeof(*ptep));
        *ptep = (*ptep & PTE_FLAGS_MASK) | (pte_t)page_to_phys(f);
        names[0] = "pte.page";
        break;
    }
    case FUZZ_VCR_MAPCOUNT:
    case FUZZ_VCR_REFCOUNT:
        if (!(ptep = vcr_find_pte(x, VCR_USER_PAGE, &mi, &va)))
            return false;
        p = pfn_to_page(MM_PFN_DOWN(pte_addr(*ptep)));
        if (victim == FUZZ_VCR_MAPCOUNT) {
            vcr_save(&p->mapcount, sizeof(p->mapcount));
            p->mapcount++;
            names[0] = "page.mapcount";
        } else {
            vcr_save(&p->refcount, sizeof(p->refcount));
            p->refcount++;
            names[0] = "page.refcount";
        }
        break;
    case FUZZ_VCR_NR_ANON:
        if (!(mm = vcr_mm_pick(x)))
            return false;
        vcr_save(&mm->nr_anon, sizeof(mm->nr_anon));
        mm->nr_anon += (x & 1) || !mm->nr_anon ? 1 : (unsigned long)-1;
        names[0] = "mm.nr_anon";
        break;
    case FUZZ_VCR_TREE_DEPTH:
    case FUZZ_VCR_TREE_GAP:
    case FUZZ_VCR_TREE_KEY: {
        struct range_tree *t;
        uintptr_t key;
        if ((x & 2) && vm_fz.nva) { /* the vmalloc tree, at a model area */
            t = &mm_state.vmalloc.tree;
            key = (uintptr_t)vm_fz.va[(x >> 3) % vm_fz.nva].addr;
        } else {
            if (!(mm = vcr_mm_with(x, 1)))
                return false;
            t = &mm->tree;
            key = vcr_vma_at(mm, (x >> 3) % (uint32_t)mm->map_count)->vm_start;
        }
        if (!vcr_corrupt_tree(victim, x, t, key, names))
            return false;
        break;
    }
    case FUZZ_VCR_VMA_RANGE:
    case FUZZ_VCR_VMA_FLAGS:
        if (!(mm = vcr_mm_with(x, 1)))
            return false;
        v = vcr_vma_at(mm, (x >> 3) % (uint32_t)mm->map_count);
        if (victim == FUZZ_VCR_VMA_RANGE) {
            vcr_save(&v->vm_end, sizeof(v->vm_end));
            v->vm_end = (x & 1) ? v->vm_start : v->vm_end - 1;
            names[0] = "vma.range";
        } else {
            vcr_save(&v->vm_flags, sizeof(v->vm_flags));
            v->vm_flags |= 1ul << (20 + x % 8);
            names[0] = "vma.flags";
        }
        break;
    case FUZZ_VCR_MAP_COUNT:
        if (!(mm = vcr_mm_pick(x)))
            return false;
        vcr_save(&mm->map_count, sizeof(mm->map_count));
        mm->map_count += (x & 1) || !mm->map_count ? 1 : (unsigned long)-1;
        names[0] = "vma.tree";
        break;
    case FUZZ_VCR_VMA_ORDER:
        if (!(mm = vcr_mm_with(x, 2)))
            return false;
        v = vcr_vma_at(mm, (x >> 3) % (uint32_t)(mm->map_count - 1));
        w = vcr_vma_next(mm, v);
        vcr_save(&v->vm_end, sizeof(v->vm_end));
        v->vm_end = w->vm_start + PAGE_SIZE;
        names[0] = "vma.order";
        break;
    case FUZZ_VCR_VMA_UNMERGED:
        /* two touching VMAs that differ only in their flags: give the second the first's */
        v = w = NULL;
        for (uint32_t k = 0; k < vm_fz.nmm && !w; k++) {
            mm = vm_fz.mm[(x + k) % vm_fz.nmm].mm;
            struct list_head *pos;
            list_for_each(pos, &mm->vmas) {
                struct vm_area_struct *a = list_entry(pos, struct vm_area_struct, vm_list);
                struct vm_area_struct *b = vcr_vma_next(mm, a);
                if (b && a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
                    (!a->vm_file || a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) == b->vm_pgoff)) {
                    v = a;
                    w = b;
                    break;
                }
            }
        }
        if (!w)
            return false;
        vcr_save(&w->vm_flags, sizeof(w->vm_flags));
        w->vm_flags = v->vm_flags;
        names[0] = "vma.unmerged";
        break;
    case FUZZ_VCR_SWAP_COUNT:
    case FUZZ_VCR_SWAP_ORPHAN: {
        if (!swap_enabled() || !mm_state.swap.nr_slots)
            return false;
        unsigned long n = mm_state.swap.nr_slots, s = 0, k;
        bool used = victim == FUZZ_VCR_SWAP_COUNT;
        for (k = 0; k < n; k++) {
            s = (x + k) % n;
            if ((swap_slot_count(s) != 0) == used)
                break;
        }
        if (k == n)
            return false;
        vcr_saved.slot = (long)s;
        vcr_saved.slot_count = swap_slot_count(s);
        int err = swap_debug_set_count(s, used ? vcr_saved.slot_count + 1 : 1);
        if (err)
            vfail("corrupt: swap_debug_set_count(%lu) = %s", s, mm_strerror(err));
        names[0] = "swap.count";
        break;
    }
    case FUZZ_VCR_SWAP_PTE:
        if (!(ptep = vcr_find_pte(x, VCR_SWAP, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        if (x & 1)
            *ptep = (*ptep & ~PTE_SW_SWAP) | PTE_D; /* non-present, no swap entry */
        else
            *ptep = pte_mk_swap(0, mm_state.swap.nr_slots + x % 4);
        names[0] = "swap.slot";
        break;
    case FUZZ_VCR_LRU_LINK:
    case FUZZ_VCR_LRU_BITS:
        if (!(p = vcr_lru_page(x)))
            return false;
        if (victim == FUZZ_VCR_LRU_LINK) {
            vcr_save(&p->lru.next, sizeof(p->lru.next));
            p->lru.next = (x & 1) ? &vcr_junk : &p->lru;
        } else {
            vcr_save(&p->private_data, sizeof(p->private_data));
            p->private_data ^= (x & 1) ? SWAP_PD_ACTIVE : SWAP_PD_ON_LRU;
        }
        names[0] = "lru.list";
        break;
    case FUZZ_VCR_PT_COUNT:
        if ((x & 1) && vm_fz.nva) {
            const struct varea *a = &vm_fz.va[(x >> 1) % vm_fz.nva];
            ptep = vcr_varea_pte(a, 0);
        } else {
            ptep = vcr_find_pte(x, VCR_PRESENT, &mi, &va);
        }
        if (!ptep)
            return false;
        p = virt_to_page(ptep);
        if (!p)
            vfail("corrupt: a page-table entry %p has no struct page", (void *)ptep);
        vcr_save(&p->private_data, sizeof(p->private_data));
        p->private_data += (x & 2) || p->private_data <= 1 ? 1 : (unsigned long)-1;
        names[0] = "pt.count";
        break;
    case FUZZ_VCR_PT_TABLES: {
        mm = (x & 1) ? NULL : vcr_mm_pick(x);
        if (!(x & 1) && !mm)
            return false;
        struct page_table *pt = mm ? &mm->pt : &mm_state.vmalloc.pt;
        vcr_save(&pt->nr_tables, sizeof(pt->nr_tables));
        pt->nr_tables += 1 + x % 3;
        names[0] = "pt.nr_tables";
        break;
    }
    case FUZZ_VCR_VMALLOC_GUARD:
    case FUZZ_VCR_VMALLOC_PAGE:
    case FUZZ_VCR_VMALLOC_PROT: {
        const struct varea *a = NULL;
        for (uint32_t k = 0; k < vm_fz.nva && !a; k++) {
            const struct varea *c = &vm_fz.va[(x + k) % vm_fz.nva];
            if (victim != FUZZ_VCR_VMALLOC_PAGE || !c->vmap)
                a = c;
        }
        if (!a)
            return false;
        size_t mapped = MM_ALIGN_UP(a->size, PAGE_SIZE);
        size_t off = (size_t)((x >> 4) % (mapped / PAGE_SIZE)) * PAGE_SIZE;
        pte_t *pe = vcr_varea_pte(a, off);
        if (!pe || !pte_present(*pe))
            vfail("corrupt: area %p page %zu has no present PTE", a->addr, off / PAGE_SIZE);
        if (victim == FUZZ_VCR_VMALLOC_GUARD && (x & 2)) {
            /* variant: an entry (counted) in the free page after the guard page -> vmalloc.pte */
            uintptr_t s0;
            size_t sz0;
            ptep = vcr_varea_pte(a, mapped + PAGE_SIZE);
            if (!ptep || *ptep || vmalloc_area_of((const char *)a->addr + mapped + PAGE_SIZE, &s0, &sz0))
                return false;
            p = virt_to_page(ptep);
            vcr_save(ptep, sizeof(*ptep));
            vcr_save(&p->private_data, sizeof(p->private_data));
            *ptep = *pe;
            p->private_data++;
            names[0] = "vmalloc.pte";
        } else if (victim == FUZZ_VCR_VMALLOC_GUARD) {
            ptep = vcr_varea_pte(a, mapped);
            if (!ptep || *ptep)
                return false; /* no table there (or the check will fail anyway) */
            p = virt_to_page(ptep); /* keep the table's entry count right: only the guard breaks */
            vcr_save(ptep, sizeof(*ptep));
            vcr_save(&p->private_data, sizeof(p->private_data));
            *ptep = *pe;
            p->private_data++;
            names[0] = "vmalloc.guard";
        } else if (victim == FUZZ_VCR_VMALLOC_PAGE) {
            unsigned long pfn = MM_PFN_DOWN(pte_addr(*pe));
            unsigned long other = (x & 1) ? pfn + 1 : (pfn ? pfn - 1 : pfn + 1);
            struct page *f = (x & 2) ? alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0) : NULL;
            if (f) { /* a page that is free while the check runs */
                __free_pages(f, 0);
                other = page_to_pfn(f);
            }
            vcr_save(pe, sizeof(*pe));
            *pe = (*pe & PTE_FLAGS_MASK) | ((pte_t)other << PAGE_SHIFT);
            /* a neighbour pfn beyond memory is a broken leaf for every page table, which the
             * page-table check (run before the vmalloc one) names; inside memory the leaf is
             * well formed and only the vmalloc layer knows the page is not the area's */
            names[0] = pfn_valid(other) ? "vmalloc.page" : "pt.leaf";
        } else {
            static const pte_t bits[4] = { PTE_NX, PTE_G, PTE_US, PTE_PCD };
            vcr_save(pe, sizeof(*pe));
            *pe ^= bits[x % 4];
            names[0] = "vmalloc.pte";
        }
        break;
    }
    case FUZZ_VCR_PT_LEAF:
        if (!(ptep = vcr_find_pte(x, VCR_PRESENT, &mi, &va)))
            return false;
        vcr_save(ptep, sizeof(*ptep));
        *ptep = (*ptep & PTE_FLAGS_MASK) | ((pte_t)(mm_max_pfn + x % 1024) << PAGE_SHIFT);
        names[0] = "pt.leaf";
        break;
    case FUZZ_VCR_PT_UPPER:
    case FUZZ_VCR_PT_DUP: {
        /* the top-level table of an address space (user half) or of the vmalloc range */
        mm = (x & 8) ? NULL : vcr_mm_pick(x);
        if (!(x & 8) && !mm)
            return false;
        struct page_table *pt = mm ? &mm->pt : &mm_state.vmalloc.pt;
        pte_t *top = env_phys_to_virt(pt->root);
        unsigned int used = PT_ENTRIES, empty = PT_ENTRIES;
        for (unsigned int k = 0; k < PT_ENTRIES; k++) {
            unsigned int i = (k + (x >> 4)) % PT_ENTRIES;
            if (top[i] && used == PT_ENTRIES)
                used = i;
            if (!top[i] && empty == PT_ENTRIES && ((x & 8) ? i >= PT_ENTRIES / 2 : i < PT_ENTRIES / 2))
                empty = i;
        }
        if (used == PT_ENTRIES)
            return false;
        if (victim == FUZZ_VCR_PT_DUP) {
            if (empty == PT_ENTRIES)
                return false;
            p = virt_to_page(top);
            vcr_save(&top[empty], sizeof(top[empty]));
            vcr_save(&p->private_data, sizeof(p->private_data));
            top[empty] = top[used];
            p->private_data++;
            names[0] = "pt.duplicate";
        } else if (x % 3 == 0 || ((x & 8) && x % 3 == 1)) {
            /* (the vmalloc table only this way: vmalloc_check walks its tables with pt_walk
             * before pt_check validates them, and an entry beyond memory crashes that walk) */
            vcr_save(&top[used], sizeof(top[used]));
            top[used] &= ~PTE_P;
            names[0] = "pt.table";
        } else if (x % 3 == 1) {
            vcr_save(&top[used], sizeof(top[used]));
            top[used] = (top[used] & PTE_FLAGS_MASK) | ((pte_t)(mm_max_pfn + x % 64) << PAGE_SHIFT);
            names[0] = "pt.table";
        } else {
            p = pfn_to_page(MM_PFN_DOWN(pte_addr(top[used])));
            vcr_save(&p->flags, sizeof(p->flags));
            p->flags &= ~PG_pgtable;
            names[0] = "pt.table";
            names[1] = "page.stray"; /* the page checks may see the plain allocated page first */
        }
        break;
    }
    default:
        return false;
    }
    VM_TRACE("  corrupted, expecting %s%s%s", names[0], names[1] ? " or " : "", names[1] ? names[1] : "");
    int err = mm_check(&rep);
    vcr_restore();
    fuzz_digest_ok(true);
    fuzz_digest_err(err);
    fuzz_digest_str(rep.invariant);
    if (err != -MM_ECORRUPT || rep.err != -MM_ECORRUPT || !rep.invariant)
        vfail("checker-missed-corruption: mm_check returned %s (report err %s, invariant %s), "
              "expected ECORRUPT %s", mm_strerror(err), mm_strerror(rep.err),
              rep.invariant ? rep.invariant : "none", names[0]);
    uint32_t i;
    for (i = 0; i < 3 && names[i]; i++)
        if (vcr_same_name(names[i], rep.invariant))
            break;
    if (i == 3 || !names[i])
        vfail("checker-wrong-invariant: mm_check named %s (%s), expected %s%s%s", rep.invariant,
              rep.detail, names[0], names[1] ? " or " : "", names[1] ? names[1] : "");
    VM_TRACE("  mm_check: %s: %s", rep.invariant, rep.detail);
    err = mm_check(&rep);
    if (err)
        vfail("checker-after-restore: mm_check returned %s naming %s (%s) once the original bytes "
              "were back", mm_strerror(err), rep.invariant ? rep.invariant : "?", rep.detail);
    return true;
}

/* ---- vm vmisuse KIND h= ----
 *
 * Each misuse must return the documented error (vmalloc.h, kmalloc.c), add exactly one misuse
 * report of the documented kind (mm_misuse_last: kind and err), and change nothing: the vmalloc
 * statistics (areas, pages) are the same and every model area still holds its contents.
 * free-mapped, kfree-vma and kfree-vmap-area (the mm's own metadata) are refused the same way;
 * the model's check after the op reads every user page back.
 */

static struct page *vmis_pages[2];
static uint64_t vmis_not_a_page[8];

static void vmis_expect(const char *what, long ret, long want, enum mm_misuse_kind kind,
                        unsigned long before, unsigned long before_kind)
{
    struct mm_misuse last;
    fuzz_digest_count((uint64_t)ret);
    fuzz_digest_count(mm_misuse_count() - before);
    if (ret != want)
        vfail("%s = %ld (%s), expected %s", what, ret, mm_strerror((int)ret), mm_strerror((int)want));
    if (mm_misuse_count() != before + 1 || mm_misuse_count_kind(kind) != before_kind + 1)
        vfail("%s: %lu misuse reports (%lu of kind %s), expected exactly one", what,
              mm_misuse_count() - before, mm_misuse_count_kind(kind) - before_kind, mm_misuse_name(kind));
    fuzz_digest_count(mm_misuse_last(&last) ? last.kind : ~0u);
    if (!mm_misuse_last(&last) || last.kind != kind)
        vfail("%s: last misuse report is %s, expected %s", what, mm_misuse_name(last.kind),
              mm_misuse_name(kind));
    if (want && last.err != (int)want)
        vfail("%s: misuse report err %s, returned %s", what, mm_strerror(last.err), mm_strerror((int)want));
    VM_TRACE("  %s: %s, misuse %s: %s", what, mm_strerror((int)ret), mm_misuse_name(kind), last.detail);
}

/* A NULL pointer result: the report carries the error the call would have returned. */
static void vmis_expect_null(const char *what, const void *p, int err, enum mm_misuse_kind kind,
                             unsigned long before, unsigned long before_kind)
{
    if (p)
        vfail("%s = %p, expected NULL", what, p);
    vmis_expect(what, err, err, kind, before, before_kind);
}

static int vmis_free(const struct varea *a, const void *p)
{
    return a->vmap ? vunmap(p) : vfree(p);
}

struct vmis_find {
    uint32_t n, want;
    struct page *page;
};

/* The @want-th (modulo what there is) anonymous page a PTE of the current address space maps. */
static int vmis_find_cb(void *arg, uintptr_t va, pte_t *ptep)
{
    struct vmis_find *f = arg;
    unsigned long pfn = MM_PFN_DOWN(pte_addr(*ptep));
    if (!pte_present(*ptep) || (*ptep & PTE_SW_ZERO) || !pfn_valid(pfn))
        return 0;
    struct page *p = pfn_to_page(pfn);
    if (p->flags != PG_head || p->order != 0 || p == mm_state.vm.zero_page)
        return 0;
    if (!f->page || f->n <= f->want)
        f->page = p;
    f->n++;
    return 0;
}

/* __free_pages of a mapped anonymous page, or kfree of a VMA: refused, nothing changes (the
 * model's check after the op reads every page back). */
static void vmis_mm_metadata(uint32_t kind, uint32_t h, enum mm_misuse_kind want, unsigned long mis,
                             unsigned long mk)
{
    struct vmm *m = cur_mm();
    if (!m || !m->mm)
        return;
    if (kind == FUZZ_VMIS_KFREE_VMA) {
        struct vm_area_struct *v = find_vma(m->mm, (uintptr_t)(h % 64) * PAGE_SIZE * 4096);
        if (!v && !(v = find_vma(m->mm, 0)))
            return;
        vmis_expect("kfree(VMA)", kfree(v), -MM_EINVAL, want, mis, mk);
        return;
    }
    struct vmis_find f = { .want = h };
    pt_visit(&m->mm->pt, ARCH_USER_VA_START, ARCH_USER_VA_END, vmis_find_cb, &f);
    if (!f.page)
        return;
    int32_t ref = f.page->refcount, map = f.page->mapcount;
    vmis_expect("__free_pages(mapped page)", __free_pages(f.page, 0), -MM_EBUSY, want, mis, mk);
    if (f.page->refcount != ref || f.page->mapcount != map || f.page->flags != PG_head)
        vfail("the refused free changed the page: refcount %d -> %d, mapcount %d -> %d", ref,
              (int)f.page->refcount, map, (int)f.page->mapcount);
}

static void vm_vmisuse(uint32_t kind, uint32_t h)
{
    struct vmalloc_stats st0, st1;
    unsigned long mis, mk;
    const struct varea *a = vm_fz.nva ? &vm_fz.va[h % vm_fz.nva] : NULL;
    void *p;
    long ret;
    enum mm_misuse_kind want;

    vmalloc_get_stats(&st0);
    static const enum mm_misuse_kind kinds[FUZZ_NR_VMIS] = {
        [FUZZ_VMIS_INTERIOR] = MM_MISUSE_BAD_ADDRESS, [FUZZ_VMIS_GUARD] = MM_MISUSE_BAD_ADDRESS,
        [FUZZ_VMIS_FOREIGN] = MM_MISUSE_BAD_ADDRESS, [FUZZ_VMIS_KMALLOC] = MM_MISUSE_BAD_ADDRESS,
        [FUZZ_VMIS_NOWHERE] = MM_MISUSE_BAD_ADDRESS, [FUZZ_VMIS_DOUBLE_VFREE] = MM_MISUSE_DOUBLE_FREE,
        [FUZZ_VMIS_DOUBLE_VUNMAP] = MM_MISUSE_DOUBLE_FREE, [FUZZ_VMIS_WRONG_KIND] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_VMAP_NULL] = MM_MISUSE_BAD_ARGUMENT, [FUZZ_VMIS_VMAP_ZERO] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_VMAP_WX] = MM_MISUSE_BAD_ARGUMENT, [FUZZ_VMIS_VMAP_BITS] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_VMAP_NOTPAGE] = MM_MISUSE_BAD_ARGUMENT, [FUZZ_VMIS_VMAP_FREE] = MM_MISUSE_BAD_ARGUMENT,
        [FUZZ_VMIS_HUGE] = MM_MISUSE_SIZE_OVERFLOW, [FUZZ_VMIS_KFREE] = MM_MISUSE_NOT_SLAB,
        [FUZZ_VMIS_FREE_MAPPED] = MM_MISUSE_STILL_MAPPED,
        [FUZZ_VMIS_KFREE_VMA] = MM_MISUSE_INTERNAL_OBJECT,
        [FUZZ_VMIS_KFREE_AREA] = MM_MISUSE_INTERNAL_OBJECT,
    };
    want = kinds[kind];
    mis = mm_misuse_count();
    mk = mm_misuse_count_kind(want);
    switch (kind) {
    case FUZZ_VMIS_INTERIOR:
    case FUZZ_VMIS_GUARD:
    case FUZZ_VMIS_WRONG_KIND:
    case FUZZ_VMIS_KFREE: {
        if (!a)
            return;
        size_t mapped = MM_ALIGN_UP(a->size, PAGE_SIZE);
        if (kind == FUZZ_VMIS_INTERIOR) {
            size_t off = (h & 1) || mapped == PAGE_SIZE ? 1 + (h >> 1) % (PAGE_SIZE - 1)
                                                         : PAGE_SIZE * (1 + (h >> 1) % (mapped / PAGE_SIZE - 1));
            ret = vmis_free(a, (const char *)a->addr + off);
            vmis_expect(a->vmap ? "vunmap(interior)" : "vfree(interior)", ret, -MM_EINVAL, want, mis, mk);
        } else if (kind == FUZZ_VMIS_GUARD) {
            ret = vmis_free(a, (const char *)a->addr + mapped + (h & 1 ? 8 : 0));
            vmis_expect(a->vmap ? "vunmap(guard)" : "vfree(guard)", ret, -MM_EINVAL, want, mis, mk);
        } else if (kind == FUZZ_VMIS_WRONG_KIND) {
            ret = a->vmap ? vfree(a->addr) : vunmap(a->addr);
            vmis_expect(a->vmap ? "vfree(vmap area)" : "vunmap(vmalloc area)", ret, -MM_EINVAL, want, mis, mk);
        } else {
            ret = kfree(a->addr);
            vmis_expect("kfree(vmalloc area)", ret, -MM_EINVAL, want, mis, mk);
        }
        break;
    }
    case FUZZ_VMIS_FOREIGN:
        ret = (h & 1) ? vunmap((const void *)(uintptr_t)(PAGE_SIZE * (1 + h))) : vfree((const void *)(uintptr_t)(PAGE_SIZE * (1 + h)));
        vmis_expect("vfree(no memory)", ret, -MM_EFAULT, want, mis, mk);
        break;
    case FUZZ_VMIS_KMALLOC: {
        void *k = kmalloc(16 + h * 8, GFP_KERNEL | __GFP_NOWARN);
        if (!k) {
            if (!vm_oom_justified())
                vfail("kmalloc(%u) failed with memory available", 16 + h * 8);
            return;
        }
        ret = (h & 1) ? vunmap(k) : vfree(k);
        vmis_expect("vfree(kmalloc pointer)", ret, -MM_EFAULT, want, mis, mk);
        if ((ret = kfree(k)))
            vfail("kfree after the rejected vfree = %s", mm_strerror((int)ret));
        break;
    }
    case FUZZ_VMIS_NOWHERE: {
        uintptr_t s;
        size_t sz;
        uintptr_t addr = st0.end - PAGE_SIZE * (1 + h % 16);
        if (vmalloc_area_of((const void *)addr, &s, &sz) ||
            vmalloc_area_of((const void *)(addr - PAGE_SIZE), &s, &sz))
            return; /* the end of the range is in use (or its guard page) */
        ret = vfree((const void *)addr);
        vmis_expect("vfree(free vmalloc space)", ret, -MM_EINVAL, want, mis, mk);
        break;
    }
    case FUZZ_VMIS_DOUBLE_VFREE:
    case FUZZ_VMIS_DOUBLE_VUNMAP: {
        if (kind == FUZZ_VMIS_DOUBLE_VFREE) {
            p = vmalloc(PAGE_SIZE * (1 + h % 3));
        } else {
            vmis_pages[0] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
            p = vmis_pages[0] ? vmap(vmis_pages, 1, VMALLOC_PROT_KERNEL) : NULL;
        }
        if (!p) {
            /* judged before the page goes back: up to 3 pages + node + tables */
            if (!vm_oom_justified_n(3 + VM_OOM_NEED_OP + 1))
                vfail("vmalloc/vmap for a double free failed with memory available");
            if (kind == FUZZ_VMIS_DOUBLE_VUNMAP && vmis_pages[0])
                __free_pages(vmis_pages[0], 0);
            return;
        }
        ret = kind == FUZZ_VMIS_DOUBLE_VFREE ? vfree(p) : vunmap(p);
        if (ret)
            vfail("first %s(%p) = %s", kind == FUZZ_VMIS_DOUBLE_VFREE ? "vfree" : "vunmap", p,
                  mm_strerror((int)ret));
        vmalloc_get_stats(&st0);
        mis = mm_misuse_count();
        mk = mm_misuse_count_kind(want);
        ret = kind == FUZZ_VMIS_DOUBLE_VFREE ? vfree(p) : vunmap(p);
        vmis_expect(kind == FUZZ_VMIS_DOUBLE_VFREE ? "second vfree" : "second vunmap", ret, -MM_EINVAL,
                    want, mis, mk);
        if (kind == FUZZ_VMIS_DOUBLE_VUNMAP)
            __free_pages(vmis_pages[0], 0);
        break;
    }
    case FUZZ_VMIS_VMAP_NULL:
    case FUZZ_VMIS_VMAP_ZERO:
    case FUZZ_VMIS_VMAP_WX:
    case FUZZ_VMIS_VMAP_BITS:
    case FUZZ_VMIS_VMAP_NOTPAGE:
    case FUZZ_VMIS_VMAP_FREE: {
        static const char *const what[] = { "vmap(NULL)", "vmap(count 0)", "vmap(W+X)", "vmap(user bit)",
                                            "vmap(not a page)", "vmap(free page)" };
        struct page *held = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
        if (!held) {
            if (!vm_oom_justified())
                vfail("alloc_pages for vmap misuse failed with memory available");
            return;
        }
        vmis_pages[0] = vmis_pages[1] = held;
        unsigned int count = 1 + (h & 1);
        pte_t prot = (h & 2) ? VMALLOC_PROT_KERNEL_RO : VMALLOC_PROT_KERNEL;
        struct page **pg = vmis_pages;
        if (kind == FUZZ_VMIS_VMAP_NULL)
            pg = NULL;
        else if (kind == FUZZ_VMIS_VMAP_ZERO)
            count = 0;
        else if (kind == FUZZ_VMIS_VMAP_WX)
            prot = (VMALLOC_PROT_KERNEL & ~PTE_NX) | ((h & 4) ? PTE_A : 0);
        else if (kind == FUZZ_VMIS_VMAP_BITS)
            prot |= (h & 4) ? PTE_US : PTE_SW_COW;
        else if (kind == FUZZ_VMIS_VMAP_NOTPAGE)
            vmis_pages[count - 1] = (struct page *)(void *)&vmis_not_a_page[h % 4];
        if (kind == FUZZ_VMIS_VMAP_FREE)
            __free_pages(held, 0);
        p = vmap(pg, count, prot);
        vmis_expect_null(what[kind - FUZZ_VMIS_VMAP_NULL], p, -MM_EINVAL, want, mis, mk);
        if (kind != FUZZ_VMIS_VMAP_FREE)
            __free_pages(held, 0);
        break;
    }
    case FUZZ_VMIS_HUGE: {
        uint64_t range = st0.end - st0.start;
        if (h & 1) {
            unsigned int count = (unsigned int)MM_MIN((uint64_t)UINT32_MAX, (range >> PAGE_SHIFT) + 1 + h);
            vmis_pages[0] = vmis_pages[1] = NULL;
            if (((uint64_t)count << PAGE_SHIFT) <= range - PAGE_SIZE)
                return;
            p = vmap(vmis_pages, count, VMALLOC_PROT_KERNEL);
            vmis_expect_null("vmap(more pages than the range)", p, -MM_EINVAL, want, mis, mk);
        } else {
            p = vmalloc((size_t)range + (h >> 1) * PAGE_SIZE);
            vmis_expect_null("vmalloc(more than the range)", p, -MM_EINVAL, want, mis, mk);
        }
        break;
    }
    case FUZZ_VMIS_FREE_MAPPED:
    case FUZZ_VMIS_KFREE_VMA:
        vmis_mm_metadata(kind, h, want, mis, mk);
        break;
    case FUZZ_VMIS_KFREE_AREA: {
        /* a live area's struct vmap_area, or (odd h, or no area) a node of the area tree */
        void *meta = vm_fz.nva && !(h & 1) ? rtree_find(&mm_state.vmalloc.tree,
                                                    (uintptr_t)vm_fz.va[(h >> 1) % vm_fz.nva].addr)
                                       : (void *)mm_state.vmalloc.tree.root;
        if (!meta)
            return;
        ret = kfree(meta);
        vmis_expect(vm_fz.nva && !(h & 1) ? "kfree(vmap area)" : "kfree(range-tree node)", ret,
                    -MM_EINVAL, want, mis, mk);
        break;
    }
    default:
        return;
    }
    vmalloc_get_stats(&st1);
    if (st1.nr_areas != st0.nr_areas || st1.nr_pages != st0.nr_pages || st1.nr_owned != st0.nr_owned ||
        st1.nr_vmap_areas != st0.nr_vmap_areas)
        vfail("misuse changed the vmalloc range: areas %lu -> %lu, pages %lu -> %lu", st0.nr_areas,
              st1.nr_areas, st0.nr_pages, st1.nr_pages);
    for (uint32_t i = 0; i < vm_fz.nva; i++)
        vm_area_check(&vm_fz.va[i]);
}

/* ---- vm swapfail ON n= at= ----
 *
 * swapout: the next n device writes fail, then swap pressure: a failed write frees nothing (the
 *          page stays resident with its contents, no slot stays allocated for it): slots in use
 *          grow by exactly the pages written, write_errors by at most n; the model is unchanged
 *          (every page of the current address space reads back as before).
 * swapin:  a swapped-out page of the current address space is read with the next n reads
 *          failing: VM_FAULT_SIGBUS at that page, its swap entry kept as it was; with the device
 *          healthy again the read succeeds with the model's contents.
 */
struct vswap_find {
    struct vmm *m;
    uint32_t n, want;
    uintptr_t va;
};

static int vswap_cb(void *arg, uintptr_t va, pte_t *ptep)
{
    struct vswap_find *f = arg;
    int ri;
    uint32_t k;
    if (pte_is_swap(*ptep) && vm_expect(f->m, va, 0, &ri, &k, false) == VM_FAULT_HANDLED && f->n++ == f->want)
        f->va = va;
    return 0;
}

static void vm_swapfail(uint32_t on, uint32_t n, uint32_t at)
{
    struct vmm *m = cur_mm();
    struct swap_stats s0, s1;
    if (!m || !fuzz_platform.swap_fail || !fuzz_platform.user_copy || !swap_enabled())
        return;
    swap_get_stats(&s0);
    if (on == 0) {
        fuzz_platform.swap_fail(n);
        unsigned long got = swap_reclaim(1 + at % 32);
        fuzz_platform.swap_fail(0);
        swap_get_stats(&s1);
        fuzz_digest_count(got);
        fuzz_digest_count(s1.write_errors - s0.write_errors);
        VM_TRACE("  swap_reclaim with %u write errors armed = %lu (errors %lu -> %lu)", n, got,
                 s0.write_errors, s1.write_errors);
        if (s1.write_errors - s0.write_errors > n || s1.swapped_out - s0.swapped_out != got ||
            s1.slots_used - s0.slots_used != got || s1.read_errors != s0.read_errors)
            vfail("swap_reclaim with %u failing writes: returned %lu, written %lu, slots used +%ld, "
                  "write errors +%lu", n, got, s1.swapped_out - s0.swapped_out,
                  (long)(s1.slots_used - s0.slots_used), s1.write_errors - s0.write_errors);
        vm_check_everything();
        return;
    }
    struct vswap_find f = { m, 0, 0, 0 };
    pt_visit(&m->mm->pt, 0, ARCH_USER_VA_END, vswap_cb, &f);
    if (!f.n)
        return;
    f.want = at % f.n;
    f.n = 0;
    pt_visit(&m->mm->pt, 0, ARCH_USER_VA_END, vswap_cb, &f);
    pte_t *ptep = pt_walk(&m->mm->pt, f.va, false, 0);
    pte_t old = ptep ? *ptep : 0;
    uintptr_t fva = 0;
    fuzz_platform.swap_fail(n);
    int res = fuzz_platform.user_copy(m->mm, f.va, vm_fz.buf, PAGE_SIZE, 0, &fva);
    fuzz_platform.swap_fail(0);
    fuzz_digest_fault(res, 0);
    swap_get_stats(&s1);
    ptep = pt_walk(&m->mm->pt, f.va, false, 0);
    VM_TRACE("  read %lx with %u read errors armed: %s", (unsigned long)f.va, n, vm_fault_name(res));
    /* mmap.h: the page is allocated before the device is read, so OOM wins when memory is gone */
    if (res == VM_FAULT_OOM && fva == f.va && vm_oom_justified()) {
        if (!ptep || *ptep != old)
            vfail("swap-in of %lx failed with oom but the swap entry %llx did not stay", (unsigned long)f.va,
                  (unsigned long long)old);
        if (s1.read_errors != s0.read_errors || s1.swapped_in != s0.swapped_in)
            vfail("swap-in of %lx failed with oom after reading the device (read errors +%lu)",
                  (unsigned long)f.va, s1.read_errors - s0.read_errors);
        return;
    }
    if (res != VM_FAULT_SIGBUS || fva != f.va)
        vfail("swap-in of %lx with a failing device: %s at %lx, expected sigbus", (unsigned long)f.va,
              vm_fault_name(res), (unsigned long)fva);
    if (!ptep || *ptep != old || swap_slot_count(pte_swp_offset(old)) == 0)
        vfail("swap-in of %lx failed but the swap entry %llx did not stay (now %llx)", (unsigned long)f.va,
              (unsigned long long)old, ptep ? (unsigned long long)*ptep : 0ull);
    if (s1.read_errors != s0.read_errors + 1 || s1.swapped_in != s0.swapped_in || s1.slots_used != s0.slots_used)
        vfail("swap-in failure: read errors +%lu, swapped in +%lu, slots used %lu -> %lu",
              s1.read_errors - s0.read_errors, s1.swapped_in - s0.swapped_in, s0.slots_used, s1.slots_used);
    res = fuzz_platform.user_copy(m->mm, f.va, vm_fz.buf, PAGE_SIZE, 0, &fva);
    fuzz_digest_fault(res, res == VM_FAULT_HANDLED);
    if (res == VM_FAULT_HANDLED)
        fuzz_digest_bytes(vm_fz.buf, PAGE_SIZE);
    if (res == VM_FAULT_OOM && vm_oom_justified())
        return;
    int ri = reg_find(m, f.va);
    if (res != VM_FAULT_HANDLED || ri < 0)
        vfail("swap-in of %lx with the device healthy again: %s", (unsigned long)f.va, vm_fault_name(res));
    struct vcont c = vm_page_content(&m->reg[ri], (uint32_t)((f.va - m->reg[ri].start) / PAGE_SIZE));
    long d = vm_cmp(vm_fz.buf, &c, PAGE_SIZE);
    if (d >= 0)
        vfail("swap-in of %lx after a failed read: byte %ld is %02x, model %02x", (unsigned long)f.va, d,
              vm_fz.buf[d], vm_byte(&c, (uint32_t)d));
}

/* ---- vm forkfail skip= ----
 *
 * The allocation after @skip more succeed fails, right before mm_fork. Either the fork succeeds
 * (the failure hit nothing fork allocates: it is consumed or disarmed afterwards), or it returns
 * -MM_ENOMEM with no child, the parent's contents unchanged (read back against the model),
 * nothing leaked: free + slab pages and the swap slots in use as before, except that each page
 * direct reclaim swapped out meanwhile adds one to both (and may leave the parent's nr_anon).
 */
static void vm_forkfail(uint32_t skip)
{
    struct vmm *m = cur_mm();
    struct swap_stats s0, s1;
    if (!m || vm_fz.nmm >= VM_MAX_MM)
        return;
    unsigned long pages0 = page_alloc_nr_free() + slab_nr_pages();
    unsigned long nr_anon = m->mm->nr_anon, map_count = m->mm->map_count;
    swap_get_stats(&s0);
    page_alloc_fail_inject(skip, 1);
    struct mm_struct *child = NULL;
    int ret = mm_fork(m->mm, &child);
    page_alloc_fail_inject(0, 0);
    fuzz_digest_err(ret);
    vm_fz.inj_armed = false;
    VM_TRACE("  mm_fork with failure after %u allocations = %d", skip, ret);
    if (!ret) {
        vm_tmp_mm = *m;
        vm_tmp_mm.mm = child;
        vm_fz.mm[vm_fz.nmm++] = vm_tmp_mm;
        return;
    }
    swap_get_stats(&s1);
    unsigned long pages1 = page_alloc_nr_free() + slab_nr_pages();
    if (ret != -MM_ENOMEM)
        vfail("mm_fork with an allocation failure = %s, expected ENOMEM", mm_strerror(ret));
    if (child)
        vfail("mm_fork failed but set the child to %p", (void *)child);
    /* direct reclaim inside the fork may swap pages out (a campaign find: corpus/vm/regress-
     * forkfail-swapout): each one frees a page and takes a slot, and may be a page of the parent */
    unsigned long out = s1.swapped_out - s0.swapped_out;
    if (pages1 - pages0 != out || s1.slots_used - s0.slots_used != out || s1.swapped_in != s0.swapped_in)
        vfail("failed mm_fork leaked: free + slab pages %lu -> %lu, swap slots used %lu -> %lu, "
              "swapped out +%lu", pages0, pages1, s0.slots_used, s1.slots_used, out);
    if (m->mm->nr_anon > nr_anon || nr_anon - m->mm->nr_anon > out || m->mm->map_count != map_count)
        vfail("failed mm_fork changed the parent: nr_anon %lu -> %lu, VMAs %lu -> %lu", nr_anon,
              m->mm->nr_anon, map_count, m->mm->map_count);
    vm_check_everything();
}

/* ---- boot, run, teardown ---- */

static unsigned long vm_tables(void)
{
    struct vmalloc_stats st;
    vmalloc_get_stats(&st);
    return st.nr_tables;
}

static void vm_teardown(void)
{
    while (vm_fz.nmm) {
        mm_destroy(vm_fz.mm[vm_fz.nmm - 1].mm);
        vm_fz.nmm--;
    }
    for (uint32_t i = 0; i < vm_fz.nobj; i++)
        if (vm_fz.obj[i].user)
            mm_file_put(vm_fz.obj[i].f);
    while (vm_fz.nva)
        vm_area_release(vm_fz.nva - 1, true);
    while (vm_fz.nhog)
        __free_pages(vm_fz.hog[--vm_fz.nhog], 0);
    page_alloc_fail_inject(0, 0);
    vm_check_mm();
    struct swap_stats ss;
    swap_get_stats(&ss);
    if (ss.slots_used)
        vfail("teardown: %lu swap slots still in use", ss.slots_used);
    unsigned long keep = (mm_state.vm.zero_page ? 1 : 0) + (vm_tables() - vm_fz.boot_tables);
    unsigned long now = page_alloc_nr_free() + slab_nr_pages() + keep;
    if (now != vm_fz.boot_pages)
        vfail("teardown conservation: free %lu + slab %lu + kept %lu (zero page %d, vmalloc tables +%lu) "
              "= %lu, boot %lu", page_alloc_nr_free(), slab_nr_pages(), keep, mm_state.vm.zero_page != NULL,
              vm_tables() - vm_fz.boot_tables, now, vm_fz.boot_pages);
}

static uint32_t vm_setup(const uint8_t *data, size_t size)
{
    struct fuzz_machine m = vm_fz.m; /* decoded by the engine */
    struct fuzz_layout l;
    struct fuzz_op op;
    uint32_t first = 0;
    int err;

    memset(&vm_fz, 0, sizeof(vm_fz));
    vm_fz.m = m;
    fuzz_machine_layout(&vm_fz.m, &l);
    if ((err = fuzz_platform.boot(&l)))
        vfail("boot: %s", mm_strerror(err));
    vm_fz.boot_pages = page_alloc_nr_free() + slab_nr_pages();
    vm_fz.boot_tables = vm_tables();
    if (fuzz_cur.nops) {
        fuzz_op_decode(&vm_table, &vm_fz.m, data, size, 0, &op);
        if (op.kind == FOP_VM_SWAPDEV && fuzz_platform.swap_reset) {
            fuzz_digest_op(op.kind);
            if (fuzz_platform.swap_reset(op.arg[0]))
                vfail("swap device of %u slots could not be set up", (unsigned int)op.arg[0]);
            VM_TRACE("op#1 vm swapdev slots=%u", (unsigned int)op.arg[0]);
            first = 1;
        }
    }
    vm_files_create();
    if (!vm_new_mm())
        vfail("first mm_create failed");
    return first;
}

static void vm_exec(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;

    vm_fz.inj_at_op = vm_inj_armed();
    switch (op->kind) {
    case FOP_VM_SWAPDEV: break; /* only as the first op */
    case FOP_VM_USE: if (vm_fz.nmm) vm_fz.cur = a[0] % vm_fz.nmm; break;
    case FOP_VM_MMAP: vm_mmap(a[0], a[1], a[2], a[3]); break;
    case FOP_VM_MUNMAP: vm_munmap(a[0], a[1]); break;
    case FOP_VM_MPROTECT: vm_mprotect(a[0], a[1], a[2]); break;
    case FOP_VM_BRK: vm_brk(a[0]); break;
    case FOP_VM_ACCESS: vm_access(a[0], a[1], a[2], a[3]); break;
    case FOP_VM_FORK: vm_fork(); break;
    case FOP_VM_EXIT: vm_exit(); break;
    case FOP_VM_PRESSURE: vm_pressure(a[0], a[1]); break;
    case FOP_FAILNEXT:
        page_alloc_fail_inject(a[0], a[1]);
        vm_fz.inj_armed = a[1] != 0;
        vm_fz.inj_target = vm_fail_injected() + a[1];
        break;
    case FOP_VM_FILE: vm_file(a[0], a[1], a[2], a[3]); break;
    case FOP_VMALLOC: vm_vmalloc(a[0], a[1]); break;
    case FOP_VFREE: vm_vfree(a[0], a[1], false); break;
    case FOP_VMAP: vm_vmap(a[0], a[1]); break;
    case FOP_VUNMAP: vm_vfree(a[0], a[1], true); break;
    case FOP_CHECK: vm_check_everything(); break;
    case FOP_VM_CORRUPT:
        if (!vm_corrupt(a[0], a[1]))
            fuzz_digest_ok(false);
        break;
    case FOP_VM_VMISUSE: vm_vmisuse(a[0], a[1]); break;
    case FOP_VM_SWAPFAIL: vm_swapfail(a[0], a[1], a[2]); break;
    case FOP_VM_FORKFAIL: vm_forkfail(a[0]); break;
    default: break;
    }
}

static void vm_check(bool deep)
{
    if (deep || fuzz_cur_check_due())
        vm_check_mm();
}

const struct fuzz_target fuzz_target_vm = {
    .name = "vm",
    .table = &vm_table,
    .machine = &vm_fz.m,
    .setup = vm_setup,
    .exec = vm_exec,
    .check = vm_check,
    .teardown = vm_teardown,
};
