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
 * every page, writes give a fresh token. do_mmap / do_munmap / do_mprotect / do_brk / mm_fork
 * results are predicted (EINVAL, ENOMEM holes, EEXIST, EACCES, hint placement, free range).
 *
 * After every op: mm_check(). On "check": every readable page of every address space, every
 * file and shared anonymous object through mm_file_read, every vmalloc / vmap area.
 * Teardown: every address space, file, vmalloc / vmap area and held page is released; then
 * no swap slot in use, and page_alloc_nr_free() + slab_nr_pages() + kept pages == boot value,
 * where the mm legitimately keeps (1) the shared zero page once allocated and (2) page-table
 * pages the kernel page table of the vmalloc range grew (vmalloc_stats.nr_tables - boot value).
 * The swap slot map is a small kmalloc: it lives in slab pages, which the sum already counts.
 */
#include "fuzz_target.h"
#include "mmap.h"
#include "swap.h"
#include "vmalloc.h"
#include "../mm/internal.h"

static const uint8_t vm_kinds[] = {
    FOP_VM_SWAPDEV, FOP_VM_USE, FOP_VM_USE,
    FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP,
    FOP_VM_MUNMAP, FOP_VM_MUNMAP, FOP_VM_MPROTECT, FOP_VM_MPROTECT, FOP_VM_BRK,
    FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS,
    FOP_VM_FORK, FOP_VM_FORK, FOP_VM_EXIT, FOP_VM_PRESSURE, FOP_VM_PRESSURE, FOP_FAILNEXT,
    FOP_VM_FILE, FOP_VM_FILE, FOP_VMALLOC, FOP_VFREE, FOP_VMAP, FOP_VUNMAP, FOP_CHECK,
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
    uint32_t opno;
    char optext[FUZZ_LINE_MAX];
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
} V;

static struct vmm vm_tmp_mm; /* scratch for fork */

#define VM_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

#define vfail(fmt, ...) fuzz_fail("vm op#%u [%s]: " fmt, (unsigned int)V.opno, V.optext, ##__VA_ARGS__)

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

static void vm_fill(uint8_t *p, const struct vcont *c)
{
    for (uint32_t w = 0; w < PAGE_SIZE / 8; w++) {
        uint64_t x = vm_word(w * 8 < c->split ? c->a : c->b, w);
        memcpy(p + w * 8, &x, 8);
    }
}

/* First differing offset of @p against @c over [0, len), or -1. */
static long vm_cmp(const uint8_t *p, const struct vcont *c, uint32_t len)
{
    for (uint32_t w = 0; w < PAGE_SIZE / 8 && w * 8 < len; w++) {
        uint64_t x = vm_word(w * 8 < c->split ? c->a : c->b, w), y;
        memcpy(&y, p + w * 8, 8);
        if (x != y)
            for (uint32_t i = w * 8; i < w * 8 + 8 && i < len; i++)
                if (p[i] != vm_byte(c, i))
                    return (long)i;
    }
    return -1;
}

static struct vcont vm_uniform(uint32_t tok)
{
    struct vcont c = { tok, tok, PAGE_SIZE };
    return c;
}

static uint32_t vm_new_tok(uint32_t salt)
{
    uint64_t s = ((uint64_t)V.m.seed << 32) ^ (++V.next_tok * 0x9e37u) ^ salt;
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
    if (V.inj_armed && vm_fail_injected() >= V.inj_target)
        V.inj_armed = false;
    return V.inj_armed;
}

/* An allocation failure is legitimate: injection armed, or memory really is exhausted. */
static bool vm_oom_justified(void)
{
    if (V.inj_at_op || vm_inj_armed())
        return true;
    struct page *a = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
    struct page *b = alloc_pages(GFP_HIGHUSER | __GFP_NOWARN, 0);
    bool exhausted = !a || !b;
    if (a)
        __free_pages(a, 0);
    if (b)
        __free_pages(b, 0);
    if (!exhausted)
        VM_TRACE("  oom not justified: free=%lu", page_alloc_nr_free());
    return exhausted;
}

static void vm_check_mm(void)
{
    struct mm_check_report rep;
    int err = mm_check(&rep);
    if (err)
        vfail("mm_check: %s %s (pfn %lx): %s", mm_strerror(err), rep.invariant ? rep.invariant : "?",
              rep.pfn, rep.detail);
}

/* ---- model objects ---- */

static int vm_obj_new(uint64_t size, bool user, bool writable)
{
    uint32_t np = (uint32_t)MM_PFN_UP(size);
    if (V.nobj >= VM_MAX_OBJ || V.pool_used + np > VM_OBJ_POOL)
        return -1;
    struct vobj *o = &V.obj[V.nobj];
    memset(o, 0, sizeof(*o));
    o->user = user;
    o->writable = writable;
    o->size = size;
    o->npages = np;
    o->pg = &V.pool[V.pool_used];
    V.pool_used += np;
    for (uint32_t i = 0; i < np; i++)
        o->pg[i] = vm_uniform(0);
    return (int)V.nobj++;
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

static struct vmm *cur_mm(void) { return V.nmm ? &V.mm[V.cur] : NULL; }

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
        uint64_t size = vm_file_sizes[(V.m.seed >> (4 * i)) & 7];
        bool writable = (i & 1) == 0 || ((V.m.seed >> 20) & (1u << i));
        int o = vm_obj_new(size, true, writable);
        struct vobj *ob = &V.obj[o];
        ob->f = mm_file_create(size, writable);
        if (!ob->f)
            vfail("mm_file_create(%lu) failed at start", (unsigned long)size);
        for (uint32_t p = 0; p < ob->npages; p++) {
            uint32_t tok = vm_new_tok(0xf11e0000u | i);
            uint32_t len = (uint32_t)MM_MIN((uint64_t)PAGE_SIZE, size - (uint64_t)p * PAGE_SIZE);
            vm_fill(V.buf, &(struct vcont){ tok, tok, PAGE_SIZE });
            int err = mm_file_write(ob->f, (uint64_t)p * PAGE_SIZE, V.buf, len);
            if (err)
                vfail("mm_file_write at start: %s", mm_strerror(err));
            vm_obj_write(ob, p, tok, len);
        }
    }
}

/* The mm_file behind object @o (user file, or an anonymous object found through a mapping). */
static struct mm_file *vm_obj_file(int o)
{
    if (V.obj[o].user)
        return V.obj[o].f;
    for (uint32_t k = 0; k < V.nmm; k++)
        for (uint32_t i = 0; i < V.mm[k].nreg; i++)
            if (V.mm[k].reg[i].obj == o) {
                struct vm_area_struct *v = find_vma(V.mm[k].mm, V.mm[k].reg[i].start);
                if (!v || v->vm_start > V.mm[k].reg[i].start)
                    vfail("no VMA at %lx (model region of object %d)",
                          (unsigned long)V.mm[k].reg[i].start, o);
                return v->vm_file;
            }
    return NULL;
}

static void vm_check_obj(int o)
{
    struct vobj *ob = &V.obj[o];
    struct mm_file *f = vm_obj_file(o);
    if (!f)
        return;
    if (mm_file_size(f) != ob->size)
        vfail("object %d: mm_file_size %lu, model %lu", o, (unsigned long)mm_file_size(f),
              (unsigned long)ob->size);
    for (uint32_t p = 0; p < ob->npages; p++) {
        uint32_t len = (uint32_t)MM_MIN((uint64_t)PAGE_SIZE, ob->size - (uint64_t)p * PAGE_SIZE);
        int err = mm_file_read(f, (uint64_t)p * PAGE_SIZE, V.buf, len);
        if (err)
            vfail("mm_file_read object %d page %u: %s", o, p, mm_strerror(err));
        long d = vm_cmp(V.buf, &ob->pg[p], len);
        if (d >= 0)
            vfail("object %d (%s) page %u byte %ld: mm_file_read gives %02x, model %02x (tokens %x/%x split %u)",
                  o, ob->user ? "file" : "anon-shared", p, d, V.buf[d], vm_byte(&ob->pg[p], (uint32_t)d),
                  ob->pg[p].a, ob->pg[p].b, ob->pg[p].split);
    }
}

/* ---- the content of a model page ---- */

/* What page @k of region @r holds now. */
static struct vcont vm_page_content(const struct vreg *r, uint32_t k)
{
    if (r->obj >= 0 && (r->shared || !r->own[k])) {
        const struct vobj *o = &V.obj[r->obj];
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
    if (r->obj >= 0 && (r->shared || !r->own[*k]) && r->pgoff + *k >= V.obj[r->obj].npages)
        return VM_FAULT_SIGBUS;
    return VM_FAULT_HANDLED;
}

static void vm_access(uint32_t kind, uint32_t pages, uint32_t at)
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
    uint32_t toks[3];
    if (kind == 1)
        for (uint32_t p = 0; p < pages; p++) {
            toks[p] = vm_new_tok(0xacce55u);
            vm_fill(V.buf + p * PAGE_SIZE, &(struct vcont){ toks[p], toks[p], PAGE_SIZE });
        }
    uintptr_t fva = 0;
    int res = fuzz_platform.user_copy(m->mm, va, V.buf, (size_t)pages * PAGE_SIZE, kind, &fva);
    uint32_t done = res == VM_FAULT_HANDLED ? pages : (uint32_t)((MM_ALIGN_DOWN(fva, PAGE_SIZE) - va) / PAGE_SIZE);
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
        enum vm_fault_result e = vm_expect(m, pva, kind, &ri, &k, p <= done && res != VM_FAULT_SIGSEGV);
        if (p < done) {
            if (e != VM_FAULT_HANDLED)
                vfail("%s at %lx succeeded, model expects %s", kn[kind], (unsigned long)pva, vm_fault_name(e));
            struct vreg *r = &m->reg[ri];
            if (kind == 1) {
                struct vcont c = vm_uniform(toks[p]);
                if (r->shared)
                    V.obj[r->obj].pg[r->pgoff + k] = c;
                else {
                    r->own[k] = 1;
                    r->pg[k] = c;
                }
            } else {
                struct vcont c = vm_page_content(r, k);
                long d = vm_cmp(V.buf + p * PAGE_SIZE, &c, PAGE_SIZE);
                if (d >= 0)
                    vfail("%s at %lx byte %ld: got %02x, model %02x (%s%s region %lx+%u pages, tokens %x/%x split %u)",
                          kn[kind], (unsigned long)pva, d, V.buf[p * PAGE_SIZE + d], vm_byte(&c, (uint32_t)d),
                          r->shared ? "shared" : "private", r->obj >= 0 ? " file" : " anon",
                          (unsigned long)r->start, r->np, c.a, c.b, c.split);
            }
            continue;
        }
        if (!last)
            break;
        if (res == VM_FAULT_OOM) {
            if (e != VM_FAULT_HANDLED)
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
        file = V.obj[fo].f;
    }
    switch (how) {
    case 0: addr = 0; break;
    case 1: break;
    case 2: flags |= MAP_FIXED; break;
    case 3: flags |= MAP_FIXED_NOREPLACE; break;
    case 4: if (what == 0) flags |= MAP_GROWSDOWN; break;
    case 5: flags |= MAP_FIXED | (what == 0 ? MAP_GROWSDOWN : 0); break;
    case 6: flags |= 0x4000; break;
    case 7: flags |= MAP_SHARED | MAP_PRIVATE; break;
    case 8: flags &= ~(MAP_SHARED | MAP_PRIVATE); break;
    case 9: len = 0; break;
    case 10: off += 100; break;
    case 11: if (fo < 0) file = V.obj[0].f; else flags |= MAP_ANONYMOUS; break;
    default: prot |= 0x8; break;
    }
    /* the argument checks, in the mm's order */
    if (!len || (flags & 0x4000) || (prot & ~7u))
        expect = -MM_EINVAL;
    else if (!!(flags & MAP_SHARED) == !!(flags & MAP_PRIVATE))
        expect = -MM_EINVAL;
    else if (!(flags & MAP_ANONYMOUS) == !file || !MM_IS_ALIGNED(off, PAGE_SIZE))
        expect = -MM_EINVAL;
    else if (file && (flags & MAP_SHARED) && (prot & PROT_WRITE) && !V.obj[fo].writable)
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
            V.nobj--, V.pool_used -= np;
        return;
    }
    long ret = do_mmap(m->mm, addr, len, prot, flags, file, off);
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
            V.nobj--, V.pool_used -= np;
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
    if (!vm_range_args(addr, pages))
        expect = -MM_EINVAL;
    else if (!reg_range_covered(m, addr, end))
        expect = -MM_ENOMEM;
    else if (prot & PROT_WRITE)
        for (uint32_t i = 0; i < m->nreg; i++) {
            struct vreg *r = &m->reg[i];
            if (r->start < end && reg_end(r) > addr && r->shared && r->obj >= 0 && !V.obj[r->obj].writable)
                expect = -MM_EACCES;
        }
    if (!expect && m->nreg + 2 > VM_MAX_REG)
        return;
    int ret = do_mprotect(m->mm, addr, len, prot);
    VM_TRACE("  do_mprotect(%lx, %u pages, %x) = %d", (unsigned long)addr, pages, prot, ret);
    if (ret == -MM_ENOMEM && !expect && vm_oom_justified())
        return;
    if (ret != expect)
        vfail("do_mprotect(%lx, %zu, %x) = %s, expected %s", (unsigned long)addr, len, prot,
              mm_strerror(ret), mm_strerror(expect));
    if (ret)
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
    uintptr_t ret = do_brk(m->mm, nb);
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
    if (V.nmm >= VM_MAX_MM)
        return false;
    struct mm_struct *mm = mm_create();
    if (!mm) {
        if (!vm_oom_justified())
            vfail("mm_create failed with memory available");
        return false;
    }
    struct vmm *m = &V.mm[V.nmm];
    m->mm = mm;
    m->brk = VM_BRK_START;
    m->nreg = 0;
    V.cur = V.nmm++;
    return true;
}

static void vm_fork(void)
{
    struct vmm *m = cur_mm();
    if (!m) {
        vm_new_mm();
        return;
    }
    if (V.nmm >= VM_MAX_MM)
        return;
    struct mm_struct *child = NULL;
    int ret = mm_fork(m->mm, &child);
    VM_TRACE("  mm_fork = %d", ret);
    if (ret) {
        if (ret != -MM_ENOMEM || !vm_oom_justified())
            vfail("mm_fork = %s, expected 0", mm_strerror(ret));
        return;
    }
    vm_tmp_mm = *m;
    vm_tmp_mm.mm = child;
    V.mm[V.nmm++] = vm_tmp_mm;
}

static void vm_exit(void)
{
    struct vmm *m = cur_mm();
    if (!m)
        return;
    mm_destroy(m->mm);
    memmove(&V.mm[V.cur], &V.mm[V.cur + 1], (V.nmm - V.cur - 1) * sizeof(V.mm[0]));
    V.nmm--;
    V.cur = V.nmm ? V.cur % V.nmm : 0;
    if (!V.nmm)
        vm_new_mm();
}

/* ---- pressure, files ---- */

static void vm_pressure(uint32_t how, uint32_t n)
{
    switch (how) {
    case 0: VM_TRACE("  page_reclaim = %lu", page_reclaim(GFP_KERNEL, n)); break;
    case 1: VM_TRACE("  swap_reclaim = %lu", swap_reclaim(n)); break;
    case 2: VM_TRACE("  kswapd = %lu", page_reclaim_background()); break;
    case 3:
        for (uint32_t i = 0; i < n && V.nhog < VM_MAX_HOG; i++) {
            struct page *p = alloc_pages(GFP_HIGHUSER | __GFP_NOWARN, 0);
            if (!p)
                break;
            V.hog[V.nhog++] = p;
        }
        VM_TRACE("  holding %u pages, free %lu", V.nhog, page_alloc_nr_free());
        break;
    default:
        for (uint32_t i = 0; i < n + 1 && V.nhog; i++)
            __free_pages(V.hog[--V.nhog], 0);
        break;
    }
}

static void vm_file(uint32_t op, uint32_t fi, uint32_t page, uint32_t tok)
{
    struct vobj *o = &V.obj[fi];
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
        vm_fill(V.buf, &(struct vcont){ tok, tok, PAGE_SIZE });
        ret = mm_file_write(o->f, off, V.buf, len);
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
        ret = mm_file_read(o->f, o->size, V.buf, 1);
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
        vm_fill(V.buf, &c);
        memcpy(p + i, V.buf, MM_MIN((size_t)PAGE_SIZE, a->size - i));
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
    if (V.nva >= VM_MAX_VAREA)
        return;
    void *p;
    switch (fn) {
    case 0: p = vmalloc(size); break;
    case 1: p = vzalloc(size); break;
    case 2: p = __vmalloc(size, GFP_KERNEL | __GFP_HIGHMEM); break;
    default: p = __vmalloc(size, GFP_KERNEL | __GFP_ZERO); break;
    }
    VM_TRACE("  vmalloc(%u) = %p", size, p);
    if (!size) {
        if (p)
            vfail("vmalloc(0) returned %p, expected NULL", p);
        return;
    }
    if (!p) {
        if (!vm_oom_justified())
            vfail("vmalloc(%u) failed with memory available", size);
        return;
    }
    uintptr_t s;
    size_t sz;
    if (!is_vmalloc_addr(p) || !MM_IS_ALIGNED((uintptr_t)p, PAGE_SIZE) || !vmalloc_area_of(p, &s, &sz) ||
        s != (uintptr_t)p || sz != MM_ALIGN_UP(size, PAGE_SIZE))
        vfail("vmalloc(%u) = %p: not an area of the rounded size", size, p);
    for (uint32_t i = 0; i < V.nva; i++) {
        uintptr_t o = (uintptr_t)V.va[i].addr;
        if ((uintptr_t)p < o + MM_ALIGN_UP(V.va[i].size, PAGE_SIZE) + PAGE_SIZE &&
            o < (uintptr_t)p + sz + PAGE_SIZE)
            vfail("vmalloc area %p overlaps area %p (or its guard page)", p, V.va[i].addr);
    }
    if (fn == 1 || fn == 3)
        for (size_t i = 0; i < size; i++)
            if (((uint8_t *)p)[i])
                vfail("vzalloc(%u) byte %zu is %02x", size, i, ((uint8_t *)p)[i]);
    struct varea *a = &V.va[V.nva++];
    memset(a, 0, sizeof(*a));
    a->addr = p;
    a->size = size;
    a->tok = vm_new_tok(0xa11c);
    vm_area_fill(a);
}

static void vm_vmap(uint32_t n, uint32_t ro)
{
    if (V.nva >= VM_MAX_VAREA)
        return;
    struct varea *a = &V.va[V.nva];
    memset(a, 0, sizeof(*a));
    a->vmap = true;
    a->n = n;
    a->size = (size_t)n * PAGE_SIZE;
    a->tok = vm_new_tok(0x3a9);
    for (uint32_t i = 0; i < n; i++) {
        a->pages[i] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0);
        if (!a->pages[i]) {
            while (i)
                __free_pages(a->pages[--i], 0);
            if (!vm_oom_justified())
                vfail("alloc_pages for vmap failed with memory available");
            return;
        }
        struct vcont c = vm_uniform(a->tok + i);
        vm_fill(page_address(a->pages[i]), &c);
    }
    a->addr = vmap(a->pages, n, ro ? VMALLOC_PROT_KERNEL_RO : VMALLOC_PROT_KERNEL);
    VM_TRACE("  vmap(%u pages) = %p", n, a->addr);
    if (!a->addr) {
        for (uint32_t i = 0; i < n; i++)
            __free_pages(a->pages[i], 0);
        if (!vm_oom_justified())
            vfail("vmap(%u) failed with memory available", n);
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
    V.nva++;
}

static void vm_area_release(uint32_t h, bool check)
{
    struct varea *a = &V.va[h];
    if (check)
        vm_area_check(a);
    int ret = a->vmap ? vunmap(a->addr) : vfree(a->addr);
    if (ret)
        vfail("%s(%p) = %s", a->vmap ? "vunmap" : "vfree", a->addr, mm_strerror(ret));
    for (uint32_t i = 0; a->vmap && i < a->n; i++)
        __free_pages(a->pages[i], 0);
    memmove(&V.va[h], &V.va[h + 1], (V.nva - h - 1) * sizeof(V.va[0]));
    V.nva--;
}

static void vm_vfree(uint32_t h, uint32_t via, bool is_vunmap_op)
{
    if (!is_vunmap_op && via == 2) {
        int ret = vfree(NULL);
        if (ret)
            vfail("vfree(NULL) = %s", mm_strerror(ret));
        return;
    }
    if (!V.nva)
        return;
    h %= V.nva;
    struct varea *a = &V.va[h];
    bool wrong = via == 1;
    if (!wrong && a->vmap != is_vunmap_op) {
        /* the op names the other kind: use the right call (the wrong one is via=) */
        vm_area_release(h, true);
        return;
    }
    if (wrong) {
        unsigned long mis = mm_misuse_count();
        int ret = a->vmap ? vfree(a->addr) : vunmap(a->addr);
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

static void vm_check_everything(void)
{
    vm_check_swap();
    for (int o = 0; o < (int)V.nobj; o++)
        vm_check_obj(o);
    for (uint32_t i = 0; i < V.nva; i++)
        vm_area_check(&V.va[i]);
    if (!fuzz_platform.user_copy)
        return;
    for (uint32_t k = 0; k < V.nmm; k++) {
        struct vmm *m = &V.mm[k];
        for (uint32_t i = 0; i < m->nreg; i++) {
            struct vreg *r = &m->reg[i];
            for (uint32_t p = 0; p < r->np; p++) {
                int ri;
                uint32_t kk;
                uintptr_t va = r->start + (uintptr_t)p * PAGE_SIZE;
                if (vm_expect(m, va, 0, &ri, &kk, false) != VM_FAULT_HANDLED)
                    continue;
                uintptr_t fva = 0;
                int res = fuzz_platform.user_copy(m->mm, va, V.buf, PAGE_SIZE, 0, &fva);
                if (res == VM_FAULT_OOM && vm_oom_justified())
                    continue;
                if (res != VM_FAULT_HANDLED)
                    vfail("check: read at %lx of mm %u: %s, model expects success", (unsigned long)va, k,
                          vm_fault_name(res));
                struct vcont c = vm_page_content(r, p);
                long d = vm_cmp(V.buf, &c, PAGE_SIZE);
                if (d >= 0)
                    vfail("check: mm %u page %lx byte %ld: got %02x, model %02x (%s%s, tokens %x/%x split %u)",
                          k, (unsigned long)va, d, V.buf[d], vm_byte(&c, (uint32_t)d),
                          r->shared ? "shared" : "private", r->obj >= 0 ? " file" : " anon", c.a, c.b,
                          c.split);
            }
        }
    }
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
    while (V.nmm) {
        mm_destroy(V.mm[V.nmm - 1].mm);
        V.nmm--;
    }
    for (uint32_t i = 0; i < V.nobj; i++)
        if (V.obj[i].user)
            mm_file_put(V.obj[i].f);
    while (V.nva)
        vm_area_release(V.nva - 1, true);
    while (V.nhog)
        __free_pages(V.hog[--V.nhog], 0);
    page_alloc_fail_inject(0, 0);
    vm_check_mm();
    struct swap_stats ss;
    swap_get_stats(&ss);
    if (ss.slots_used)
        vfail("teardown: %lu swap slots still in use", ss.slots_used);
    unsigned long keep = (mm_state.zero_page ? 1 : 0) + (vm_tables() - V.boot_tables);
    unsigned long now = page_alloc_nr_free() + slab_nr_pages() + keep;
    if (now != V.boot_pages)
        vfail("teardown conservation: free %lu + slab %lu + kept %lu (zero page %d, vmalloc tables +%lu) "
              "= %lu, boot %lu", page_alloc_nr_free(), slab_nr_pages(), keep, mm_state.zero_page != NULL,
              vm_tables() - V.boot_tables, now, V.boot_pages);
}

static int vm_run(const uint8_t *data, size_t size)
{
    uint32_t i, n = fuzz_nr_ops(size);
    struct fuzz_layout l;
    struct fuzz_op op;
    int err;

    memset(&V, 0, sizeof(V));
    fuzz_machine_decode(data, size, &V.m);
    fuzz_machine_layout(&V.m, &l);
    V.opno = 0;
    mm_snprintf(V.optext, sizeof(V.optext), "boot");
    if ((err = fuzz_platform.boot(&l)))
        vfail("boot: %s", mm_strerror(err));
    V.boot_pages = page_alloc_nr_free() + slab_nr_pages();
    V.boot_tables = vm_tables();
    i = 0;
    if (n) {
        fuzz_op_decode(&vm_table, &V.m, data, size, 0, &op);
        if (op.kind == FOP_VM_SWAPDEV && fuzz_platform.swap_reset) {
            if (fuzz_platform.swap_reset(op.arg[0]))
                vfail("swap device of %u slots could not be set up", (unsigned int)op.arg[0]);
            VM_TRACE("op#1 vm swapdev slots=%u", (unsigned int)op.arg[0]);
            i = 1;
        }
    }
    vm_files_create();
    if (!vm_new_mm())
        vfail("first mm_create failed");
    vm_check_mm();
    for (; i < n; i++) {
        fuzz_op_decode(&vm_table, &V.m, data, size, i, &op);
        V.opno = i + 1;
        fuzz_op_format(V.optext, sizeof(V.optext), &op);
        VM_TRACE("op#%u %s", (unsigned int)V.opno, V.optext);
        V.inj_at_op = vm_inj_armed();
        uint32_t *a = op.arg;
        switch (op.kind) {
        case FOP_VM_SWAPDEV: break; /* only as the first op */
        case FOP_VM_USE: if (V.nmm) V.cur = a[0] % V.nmm; break;
        case FOP_VM_MMAP: vm_mmap(a[0], a[1], a[2], a[3]); break;
        case FOP_VM_MUNMAP: vm_munmap(a[0], a[1]); break;
        case FOP_VM_MPROTECT: vm_mprotect(a[0], a[1], a[2]); break;
        case FOP_VM_BRK: vm_brk(a[0]); break;
        case FOP_VM_ACCESS: vm_access(a[0], a[1], a[2]); break;
        case FOP_VM_FORK: vm_fork(); break;
        case FOP_VM_EXIT: vm_exit(); break;
        case FOP_VM_PRESSURE: vm_pressure(a[0], a[1]); break;
        case FOP_FAILNEXT:
            page_alloc_fail_inject(a[0], a[1]);
            V.inj_armed = a[1] != 0;
            V.inj_target = vm_fail_injected() + a[1];
            break;
        case FOP_VM_FILE: vm_file(a[0], a[1], a[2], a[3]); break;
        case FOP_VMALLOC: vm_vmalloc(a[0], a[1]); break;
        case FOP_VFREE: vm_vfree(a[0], a[1], false); break;
        case FOP_VMAP: vm_vmap(a[0], a[1]); break;
        case FOP_VUNMAP: vm_vfree(a[0], a[1], true); break;
        case FOP_CHECK: vm_check_everything(); break;
        default: break;
        }
        vm_check_mm();
    }
    V.opno = n + 1;
    mm_snprintf(V.optext, sizeof(V.optext), "teardown");
    vm_teardown();
    return 0;
}

const struct fuzz_target fuzz_target_vm = {
    .name = "vm",
    .table = &vm_table,
    .run = vm_run,
};
