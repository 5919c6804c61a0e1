/*
 * target_vm.c - fuzz target "vm", its op executor: address spaces (mmap / munmap / mprotect /
 * brk / faults / fork / exit), the page cache of in-memory files, swap, failure injection and
 * vmalloc / vmap, against a reference model of what every user page must contain (ASan+UBSan).
 * This file decodes each op's arguments, predicts the result from the model, makes the mm call,
 * judges it and updates the model; it owns setup, teardown and the struct fuzz_target. The
 * model and the checks are vm_model.c, the corruption and misuse ops vm_corrupt.c (vm_model.h
 * is what the three share; the state is vm_fz, defined here).
 *
 * Machine: the header's machine; "vm swapdev slots=" as the FIRST op (after the topology record,
 * when there is one) gives it a swap device
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
 * (vm_addr decodes at; the reference model that predicts every result is vm_model.c, whose head
 * comment describes it.) do_mmap / do_munmap / do_mprotect / do_brk / mm_fork results are
 * predicted (EINVAL, ENOMEM holes, EEXIST, EACCES, hint placement, free range).
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
 * "vm forkfail skip=" (vm_forkfail) and "vm mlock lock|unlock pages= at=" (vm_mlock, appended
 * to both op tables); each one's contract is in the comment above it.
 *
 * Digest (digest.h): the error or success of every mmap / munmap / mprotect / brk / fork / file
 * write / vfree / vunmap, whether mm_create / vmalloc / vmap returned memory, every user access's
 * fault result and completed pages plus the bytes each read brought back (accesses, "check",
 * swapfail), the bytes mm_file_read returned, reclaim / swap counts, the pages a hog got, the
 * invariant a corruption was named by, every vmalloc misuse's result and report kind. Never a
 * user, vmalloc or physical address (brk is digested as "moved to the request" or "stayed").
 */
#include "vm_model.h"
#include "mm_leak.h"
#include "checker.h"

#define VM_KINDS \
    FOP_VM_SWAPDEV, FOP_VM_USE, FOP_VM_USE, \
    FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, FOP_VM_MMAP, \
    FOP_VM_MUNMAP, FOP_VM_MUNMAP, FOP_VM_MPROTECT, FOP_VM_MPROTECT, FOP_VM_BRK, \
    FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, FOP_VM_ACCESS, \
    FOP_VM_FORK, FOP_VM_FORK, FOP_VM_EXIT, FOP_VM_PRESSURE, FOP_VM_PRESSURE, FOP_FAILNEXT, \
    FOP_VM_FILE, FOP_VM_FILE, FOP_VMALLOC, FOP_VFREE, FOP_VMAP, FOP_VUNMAP, FOP_CHECK, \
    /* appended: corruption, vmalloc misuse, swap device errors, fork under failure injection */ \
    FOP_VM_CORRUPT, FOP_VM_CORRUPT, FOP_VM_VMISUSE, FOP_VM_SWAPFAIL, FOP_VM_FORKFAIL, \
    /* appended: page migration */ \
    FOP_VM_MIGRATE, FOP_VM_MIGRATE
/* appended after both tables' own ops (so neither table's earlier indices move): mlock */
#define VM_KINDS_MLOCK FOP_VM_MLOCK, FOP_VM_MLOCK

static const uint8_t vm_kinds[] = { VM_KINDS, VM_KINDS_MLOCK };

/* Inputs with a topology record (ops.h): the same ops and the memory-policy ones. */
static const uint8_t vm_numa_kinds[] = {
    VM_KINDS,
    FOP_VM_MBIND, FOP_VM_MBIND, FOP_VM_MBIND, FOP_VM_SET_MEMPOLICY, FOP_VM_MOVE_NODE,
    FOP_VM_MOVE_NODE,
    /* appended: automatic NUMA balancing, then mlock */
    FOP_VM_NUMA_SCAN, FOP_VM_NUMA_SCAN, VM_KINDS_MLOCK,
};

static const struct fuzz_op_table vm_numa_table = { vm_numa_kinds, MM_ARRAY_SIZE(vm_numa_kinds), 0,
                                                    NULL };
static const struct fuzz_op_table vm_table = { vm_kinds, MM_ARRAY_SIZE(vm_kinds), 0, &vm_numa_table };

struct vm_fz_state vm_fz;

static struct vmm vm_tmp_mm; /* scratch for fork */

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
            return vm_reg_end(&m->reg[(r & 63) % n]) + (uintptr_t)((r >> 6) % 4) * PAGE_SIZE;
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

/*
 * An ENOMEM judged as the mm met it. The pages the failed op held were not evictable then: a
 * migration's page (pinned while its target is allocated; regression:
 * corpus/vm/regress-migrate-range-pinned-node, a bound node whose only reclaimable page was the
 * one being moved), a COW break's source page (fault_wp pins it while the copy is allocated;
 * corpus/vm/regress-cow-pinned-bound-node), an mlock's range (locked then, unlocked by the
 * failure). A plain probe would evict them (swap-out) and call the failure unjustified, so they
 * are pinned (a reference beyond the mappings: swap-out skips them) for the probe: @meta kernel
 * pages and a user page, from @nodes unless it is ~0. Released by a reference drop, as fault_wp
 * drops its pin: a page cache page refuses __free_pages (corpus/vm/regress-mlock-pin-shared-page).
 */
#define VM_PIN_MAX 96 /* an op spans at most 80 pages (+1 unaligned) */

static bool vm_oom_justified_held(struct vmm *m, uintptr_t start, uintptr_t end, unsigned int meta,
                                  uint32_t nodes)
{
    static struct page *pinned[VM_PIN_MAX];
    unsigned int n = 0;
    for (uintptr_t va = start; va < end && n < VM_PIN_MAX; va += PAGE_SIZE) {
        pte_t e = vm_pte_now(m->mm, va);
        if (pte_present(e) && !(e & PTE_SW_ZERO)) {
            pinned[n] = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
            get_page(pinned[n++]);
        }
    }
    bool justified = nodes == ~0u ? vm_oom_justified_need(meta, 1, GFP_HIGHUSER)
                                  : vm_oom_justified_nodes(nodes);
    while (n)
        env_atomic_sub(&pinned[--n]->refcount, 1);
    return justified;
}

static void vm_access(uint32_t kind, uint32_t pages, uint32_t at, uint32_t cut)
{
    static const char *const kn[] = { "read", "write", "exec" };
    struct vmm *m = vm_cur_mm();
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
            if (!vm_oom_justified_held(m, pva, pva + PAGE_SIZE, VM_OOM_NEED_OP, ~0u))
                vfail("%s at %lx: VM_FAULT_OOM with memory available and no failure injection armed "
                      "(free %lu)", kn[kind], (unsigned long)pva, page_alloc_nr_free());
        } else if ((int)e != res) {
            vfail("%s at %lx: %s, model expects %s", kn[kind], (unsigned long)pva, vm_fault_name(res),
                  vm_fault_name(e));
        }
        break;
    }
    /* a locked stack that grew is populated; out of memory it loses its lock (fault.c) */
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].locked) {
            vm_lock_judge(m, ARCH_USER_VA_START, ARCH_USER_VA_END, "stack growth", false);
            break;
        }
    vm_reg_compact(m);
}

/* ---- mmap / munmap / mprotect / brk ---- */

/* A free hint ending at @end fits unless the region above it is a stack whose guard gap it
 * reaches (mmap_hint_fits: x86 Linux's vm_start_gap). */
static bool vm_hint_clear_of_stack(struct vmm *m, uintptr_t end)
{
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start >= end) /* regions are in address order: the first one above */
            return !m->reg[i].grows || (m->reg[i].start >= MM_STACK_GUARD_GAP &&
                                        end <= m->reg[i].start - MM_STACK_GUARD_GAP);
    return true;
}

static void vm_mmap(uint32_t what, uint32_t prot, uint32_t how, uint32_t x)
{
    struct vmm *m = vm_cur_mm();
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
    /* the argument checks, in the mm's (Linux's) order: arguments, placement, then the type */
    if (!len || (flags & 0x200000) || (prot & ~0xfu))
        expect = -MM_EINVAL;
    else if (!(flags & MAP_ANONYMOUS) == !file || !MM_IS_ALIGNED(off, PAGE_SIZE))
        expect = -MM_EINVAL;
    else if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr > ARCH_USER_VA_END - len)
            expect = -MM_ENOMEM;
        else if (!vm_range_ok(addr, len))
            expect = -MM_EINVAL;
        else if ((flags & MAP_FIXED_NOREPLACE) && !vm_reg_range_free(m, addr, addr + len))
            expect = -MM_EEXIST;
    }
    if (expect)
        ;
    else if (!!(flags & MAP_SHARED) == !!(flags & MAP_PRIVATE))
        expect = -MM_EINVAL;
    else if (!file && (flags & MAP_SHARED) && (flags & MAP_GROWSDOWN))
        expect = -MM_EINVAL;
    else if (file && (flags & MAP_SHARED) && (prot & PROT_WRITE) && !vm_fz.obj[fo].writable)
        expect = -MM_EACCES;
    uintptr_t hint = MM_ALIGN_DOWN(addr, PAGE_SIZE);
    bool hint_fits = !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && hint && vm_range_ok(hint, len) &&
                     vm_reg_range_free(m, hint, hint + len) && vm_hint_clear_of_stack(m, hint + len);
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
        if ((flags & MAP_FIXED) && !vm_reg_range_free(m, addr, addr + len)) {
            /* the old mapping may be gone (unmapped before the failing allocation) */
            struct vm_area_struct *v = find_vma(m->mm, addr);
            if (!v || v->vm_start >= addr + len)
                vm_reg_unmap(m, addr, addr + len);
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
        vm_reg_unmap(m, a, a + len);
    else if (!vm_reg_range_free(m, a, a + len))
        vfail("do_mmap placed %zu bytes at %lx over an existing mapping", len, (unsigned long)a);
    vm_reg_add(m, a, np, vm_prot_flags(prot), shared, (flags & MAP_GROWSDOWN) != 0, obj,
            (uint32_t)(off >> PAGE_SHIFT));
    vm_reg_compact(m);
}

static bool vm_range_args(uintptr_t addr, uint32_t pages)
{
    return pages && vm_range_ok(addr, (size_t)pages * PAGE_SIZE);
}

static void vm_munmap(uint32_t pages, uint32_t at)
{
    struct vmm *m = vm_cur_mm();
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
        vm_reg_unmap(m, addr, addr + len);
        vm_reg_compact(m);
    }
}

static void vm_mprotect(uint32_t pages, uint32_t prot, uint32_t at)
{
    struct vmm *m = vm_cur_mm();
    if (!m)
        return;
    uintptr_t addr = vm_addr(m, at), end = addr + (uintptr_t)pages * PAGE_SIZE;
    size_t len = (size_t)pages * PAGE_SIZE;
    int expect = 0;
    if (!MM_IS_ALIGNED(addr, PAGE_SIZE))
        expect = -MM_EINVAL; /* Linux's order: alignment, zero length, then the range */
    else if (!pages)
        expect = 0;
    else if (!vm_range_ok(addr, len) || !vm_reg_range_covered(m, addr, end))
        expect = -MM_ENOMEM;
    else if (prot & PROT_WRITE)
        for (uint32_t i = 0; i < m->nreg; i++) {
            struct vreg *r = &m->reg[i];
            if (r->start < end && vm_reg_end(r) > addr && r->shared && r->obj >= 0 && !vm_fz.obj[r->obj].writable)
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
    vm_reg_split_at(m, addr);
    vm_reg_split_at(m, end);
    for (uint32_t i = 0; i < m->nreg; i++)
        if (m->reg[i].start >= addr && vm_reg_end(&m->reg[i]) <= end)
            m->reg[i].prot = vm_prot_flags(prot);
    /* a locked region made accessible is populated; if that fails the range is unlocked */
    if (!vm_lock_populate(m, addr, end, false))
        vm_lock_set(m, addr, end, false);
    vm_lock_judge(m, addr, end, "do_mprotect", false);
    vm_reg_compact(m);
}

static void vm_brk(uint32_t x)
{
    struct vmm *m = vm_cur_mm();
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
        if (!vm_reg_range_free(m, ot, nt))
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
        vm_reg_unmap(m, nt, ot);
    if (grow)
        vm_reg_add(m, ot, (uint32_t)((nt - ot) / PAGE_SIZE), VM_READ | VM_WRITE, false, false, -1, 0);
    m->brk = ret;
    vm_reg_compact(m);
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
 * The reverse map adds kmalloc objects (virtual/rmap.c): the child's anon_vma and one chain per
 * anon_vma the parent chains, plus its own (two more caches, so up to two more slab pages); and
 * the child's range tree takes a node from the tree cache (one more slab page at worst), which
 * only showed once shared pages became evictable and a fork ran closer to the limit.
 */
static unsigned int vm_fork_need(const struct mm_struct *mm)
{
    unsigned long chains = 1;
    const struct list_head *pos;
    list_for_each(pos, &mm->anon_vma_chain)
        chains++;
    return (unsigned int)(mm->pt.nr_tables + 1 + (mm->map_count + 7) / 8 + 3 + (chains + 7) / 8);
}

/* Fork copies policies: the child's, at every region's pages and its own, are the parent's. */
static void vm_fork_check_policies(struct vmm *m, struct mm_struct *child)
{
    for (uint32_t r = 0; r <= m->nreg; r++)
        for (uint32_t k = 0; r < m->nreg ? k < m->reg[r].np : k < 1; k++) {
            uintptr_t va = r < m->nreg ? m->reg[r].start + (uintptr_t)k * PAGE_SIZE : 0;
            unsigned int fl = r < m->nreg ? MPOL_F_ADDR : 0;
            int pm = -1, cm = -2;
            unsigned long pn = 0, cn = 1;
            int pe = mm_get_mempolicy(m->mm, &pm, &pn, 8, va, fl);
            int ce = mm_get_mempolicy(child, &cm, &cn, 8, va, fl);
            if (pe != ce || (!pe && (pm != cm || pn != cn)))
                vfail("fork: policy at %lx is mode %d nodes %lx (%d) in the parent, %d %lx (%d) in the "
                      "child", (unsigned long)va, pm, pn, pe, cm, cn, ce);
        }
}

/* The model of @m's new child @child: its regions, none locked (a child does not inherit mlock;
 * regions the lock kept apart are one again, as the mm merges the child's VMAs). */
static void vm_fork_adopt(const struct vmm *m, struct mm_struct *child)
{
    vm_tmp_mm = *m;
    vm_tmp_mm.mm = child;
    for (uint32_t i = 0; i < vm_tmp_mm.nreg; i++)
        vm_tmp_mm.reg[i].locked = false;
    vm_reg_compact(&vm_tmp_mm);
    vm_fz.mm[vm_fz.nmm++] = vm_tmp_mm;
}

static void vm_fork(void)
{
    struct vmm *m = vm_cur_mm();
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
    vm_fork_check_policies(m, child);
    vm_fork_adopt(m, child);
}

static void vm_exit(void)
{
    struct vmm *m = vm_cur_mm();
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
    vm_check_locked(); /* reclaim never takes a locked page */
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

/* The page at @va of @m, just swapped in and read into vm_fz.buf, against the model (@when: for
 * the report). */
static void vm_swapin_verify(struct vmm *m, uintptr_t va, const char *when)
{
    int ri = vm_reg_find(m, va);
    if (ri < 0)
        vfail("swap-in of %lx %s: no region of the model holds it", (unsigned long)va, when);
    struct vcont c = vm_page_content(&m->reg[ri], (uint32_t)((va - m->reg[ri].start) / PAGE_SIZE));
    long d = vm_cmp(vm_fz.buf, &c, PAGE_SIZE);
    if (d >= 0)
        vfail("swap-in of %lx %s: byte %ld is %02x, model %02x", (unsigned long)va, when, d,
              vm_fz.buf[d], vm_byte(&c, (uint32_t)d));
}

static void vm_swapfail(uint32_t on, uint32_t n, uint32_t at)
{
    struct vmm *m = vm_cur_mm();
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
    /* mmap.h: the page is allocated before the device is read, so OOM wins when memory is gone.
     * The armed errors fail every device access, writes too: when the page's allocation went
     * into direct reclaim and the swap-out it tried used them up (write_errors grew), that OOM is
     * the failing device's, and a probe now - the errors spent, reclaim able to swap - would
     * wrongly find memory (a campaign find: corpus/vm/regress-swapin-reclaim-write-error). */
    bool reclaim_failed = s1.write_errors != s0.write_errors;
    if (res == VM_FAULT_OOM && fva == f.va && (reclaim_failed || vm_oom_justified())) {
        if (!ptep || *ptep != old)
            vfail("swap-in of %lx failed with oom but the swap entry %llx did not stay", (unsigned long)f.va,
                  (unsigned long long)old);
        if (s1.read_errors != s0.read_errors || s1.swapped_in != s0.swapped_in)
            vfail("swap-in of %lx failed with oom after reading the device (read errors +%lu)",
                  (unsigned long)f.va, s1.read_errors - s0.read_errors);
        return;
    }
    /* The same errors spent to the last one by those writes leave the device healthy for the
     * read: the swap-in succeeds, and must give the page's contents (a campaign find:
     * corpus/vm/regress-swapin-errors-spent-on-reclaim). */
    if (res == VM_FAULT_HANDLED && s1.write_errors - s0.write_errors >= n) {
        if (s1.read_errors != s0.read_errors || s1.swapped_in != s0.swapped_in + 1)
            vfail("swap-in of %lx after the armed errors went to swap-out writes: read errors +%lu, "
                  "swapped in +%lu", (unsigned long)f.va, s1.read_errors - s0.read_errors,
                  s1.swapped_in - s0.swapped_in);
        vm_swapin_verify(m, f.va, "after the armed errors went to swap-out writes");
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
    if (res != VM_FAULT_HANDLED)
        vfail("swap-in of %lx with the device healthy again: %s", (unsigned long)f.va, vm_fault_name(res));
    vm_swapin_verify(m, f.va, "after a failed read");
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
    struct vmm *m = vm_cur_mm();
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
        vm_fork_adopt(m, child);
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

/* ---- vm migrate how= pages= at= ----
 *
 * Move the pages of [at, at + pages) of the current mm to new frames: "move" and "move-all" one
 * mm_move_pages call per page (MPOL_MF_MOVE / MPOL_MF_MOVE_ALL), "range" one mm_migrate_range
 * (MOVE_ALL). Each status is judged against the PTE before the call: no model region -> EFAULT,
 * nothing present (untouched, swapped out) -> ENOENT, the zero page -> EFAULT, a page mapped more
 * than once with "move" -> EACCES, otherwise 0, or ENOMEM only when memory is really exhausted
 * (or an injected failure was armed); never EBUSY (the harness pins nothing); the migration
 * counters move with the status (succeeded for 0, failed for ENOMEM / EBUSY). A moved page's PTE
 * names a new frame with the same bits; a failed move changed no bit. Then every page of the
 * range that the model says is readable is read back through the MMU against the model.
 */
static int vm_migrate_expect(struct vmm *m, uintptr_t va, pte_t e, unsigned int flags)
{
    if (vm_reg_find(m, va) < 0)
        return -MM_EFAULT;
    if (!pte_present(e))
        return -MM_ENOENT;
    if (e & PTE_SW_ZERO)
        return -MM_EFAULT;
    if (pfn_to_page(MM_PFN_DOWN(pte_addr(e)))->mapcount > 1 && !(flags & MPOL_MF_MOVE_ALL))
        return -MM_EACCES;
    return 0;
}

static void vm_migrate_one(struct vmm *m, uintptr_t va, unsigned int flags)
{
    pte_t e0 = vm_pte_now(m->mm, va);
    int want = vm_migrate_expect(m, va, e0, flags), st = 1;
    struct migrate_stats s0, s1;
    mm_migrate_get_stats(&s0);
    int ret = mm_move_pages(m->mm, 1, &va, &st, flags);
    mm_migrate_get_stats(&s1);
    if (s1.succeeded - s0.succeeded != (st == 0) ||
        s1.failed - s0.failed != (st == -MM_EBUSY || st == -MM_ENOMEM))
        vfail("mm_move_pages(%lx) = status %s, but the counters moved by %lu succeeded, %lu failed",
              (unsigned long)va, mm_strerror(st), s1.succeeded - s0.succeeded,
              s1.failed - s0.failed);
    fuzz_digest_err(ret);
    fuzz_digest_err(st);
    VM_TRACE("  move_pages %lx = %d, status %d (expected %d)", (unsigned long)va, ret, st, want);
    pte_t e1 = vm_pte_now(m->mm, va);
    if (ret)
        vfail("mm_move_pages(%lx) = %s", (unsigned long)va, mm_strerror(ret));
    if (st == -MM_ENOMEM && !want &&
        (vm_fz.inj_at_op || vm_oom_justified_held(m, va, va + PAGE_SIZE, 0, ~0u)))
        want = -MM_ENOMEM;
    if (st != want)
        vfail("mm_move_pages(%lx): status %s, expected %s", (unsigned long)va, mm_strerror(st),
              mm_strerror(want));
    /* the accessed bit may go: the target's allocation may reclaim, and the LRU's second-chance
     * scan clears A in every mapper (test-and-clear-young), the old page's too */
    pte_t keep = ~(PTE_ADDR_MASK | PTE_A);
    if (!st && (pte_addr(e1) == pte_addr(e0) || (e1 & keep) != (e0 & keep)))
        vfail("mm_move_pages(%lx) moved: PTE %llx -> %llx", (unsigned long)va,
              (unsigned long long)e0, (unsigned long long)e1);
    if (st && (e1 & ~PTE_A) != (e0 & ~PTE_A))
        vfail("mm_move_pages(%lx) failed (%s) but the PTE changed %llx -> %llx", (unsigned long)va,
              mm_strerror(st), (unsigned long long)e0, (unsigned long long)e1);
}

/* Read back every page of [va, va + n pages) inside a model region that the model says is
 * readable (outside regions a read could grow a stack: not this op's business). */
static void vm_migrate_verify(struct vmm *m, uintptr_t va, uint32_t n)
{
    if (!fuzz_platform.user_copy)
        return;
    for (uint32_t i = 0; i < n; i++, va += PAGE_SIZE) {
        int ri;
        uint32_t k;
        if (vm_reg_find(m, va) < 0 || vm_expect(m, va, 0, &ri, &k, false) != VM_FAULT_HANDLED)
            continue;
        uintptr_t fva = 0;
        int res = fuzz_platform.user_copy(m->mm, va, vm_fz.buf, PAGE_SIZE, 0, &fva);
        fuzz_digest_fault(res, res == VM_FAULT_HANDLED);
        if (res == VM_FAULT_OOM && vm_oom_justified())
            continue;
        if (res != VM_FAULT_HANDLED)
            vfail("read of %lx after migration: %s", (unsigned long)va, vm_fault_name(res));
        struct vcont c = vm_page_content(&m->reg[ri], k);
        long d = vm_cmp(vm_fz.buf, &c, PAGE_SIZE);
        if (d >= 0)
            vfail("after migration page %lx byte %ld is %02x, model %02x", (unsigned long)va, d,
                  vm_fz.buf[d], vm_byte(&c, (uint32_t)d));
    }
}

/* The current address space and the start of @pages pages at @at in it (NULL: no address
 * space, or the range leaves user space). */
static struct vmm *vm_range_mm(uint32_t at, uint32_t pages, uintptr_t *va)
{
    struct vmm *m = vm_cur_mm();
    if (!m)
        return NULL;
    *va = vm_addr(m, at) & PAGE_MASK;
    if (*va >= ARCH_USER_VA_END || ARCH_USER_VA_END - *va < (uintptr_t)pages * PAGE_SIZE)
        return NULL;
    return m;
}

static void vm_migrate(uint32_t how, uint32_t pages, uint32_t at)
{
    uintptr_t va;
    struct vmm *m = vm_range_mm(at, pages, &va);
    if (!m)
        return;
    if (how < 2) {
        for (uint32_t i = 0; i < pages; i++)
            vm_migrate_one(m, va + (uintptr_t)i * PAGE_SIZE, how ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE);
    } else {
        long left = mm_migrate_range(m->mm, va, (size_t)pages * PAGE_SIZE, MPOL_MF_MOVE_ALL);
        fuzz_digest_count((unsigned long)left);
        VM_TRACE("  migrate_range %lx +%u pages = %ld", (unsigned long)va, pages, left);
        if (left < 0 || left > (long)pages ||
            (left && !vm_fz.inj_at_op &&
             !vm_oom_justified_held(m, va, va + (uintptr_t)pages * PAGE_SIZE, 0, ~0u)))
            vfail("mm_migrate_range = %ld of %u pages not moved", left, pages);
    }
    vm_migrate_verify(m, va, pages);
}

/* ---- memory policies (numa table) ---- */

/* Nodes with memory now (a memoryless node has no managed pages). */
static uint32_t vm_memory_nodes(void)
{
    static struct page_alloc_stats st;
    page_alloc_get_stats(&st);
    uint32_t m = 0;
    for (unsigned int n = 0; n < mm_nr_nodes(); n++)
        m |= st.node[n].managed ? 1u << n : 0;
    return m;
}

/* The policy mode= argument: MPOL_* in bits 0-2 (5-7 invalid), MPOL_F_STATIC_NODES by bit 3. */
static int vm_mpol_mode(uint32_t a) { return (int)(a & 7) | ((a & 8) ? MPOL_F_STATIC_NODES : 0); }

/* Linux's verdict on a mode and mask, written from the man page: 0 or -MM_EINVAL. */
static int vm_mpol_expect(uint32_t a, uint32_t nodes)
{
    uint32_t m = a & 7;
    bool flag = a & 8;
    if (m >= MPOL_MAX || (m == MPOL_DEFAULT && nodes) || (m == MPOL_LOCAL && nodes))
        return -MM_EINVAL;
    if (!nodes)
        return (m == MPOL_DEFAULT || ((m == MPOL_PREFERRED || m == MPOL_LOCAL) && !flag)) ? 0
                                                                                      : -MM_EINVAL;
    return (nodes & vm_memory_nodes()) ? 0 : -MM_EINVAL;
}

/* An anonymous page at @va of @m's mm outside @nodes: 0 none, 1 one that mbind's @move flags
 * could move (mapped once, or MOVE_ALL), 2 one they cannot. */
static int vm_page_outside(struct vmm *m, uintptr_t va, uint32_t nodes, unsigned int move)
{
    pte_t e = vm_pte_now(m->mm, va);
    if (!pte_present(e) || (e & PTE_SW_ZERO))
        return 0;
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(e)));
    if ((p->flags & PG_cache) || (nodes >> page_to_nid(p) & 1))
        return 0;
    return move && (p->mapcount == 1 || (move & MPOL_MF_MOVE_ALL)) ? 1 : 2;
}

static void vm_set_mempolicy(uint32_t mode, uint32_t nodes)
{
    struct vmm *m = vm_cur_mm();
    if (!m)
        return;
    unsigned long mask = nodes;
    int want = vm_mpol_expect(mode, nodes);
    int ret = mm_set_mempolicy(m->mm, vm_mpol_mode(mode), &mask, 8);
    fuzz_digest_err(ret);
    VM_TRACE("  set_mempolicy mode %d nodes %x = %d", vm_mpol_mode(mode), nodes, ret);
    if (ret != want)
        vfail("set_mempolicy(mode %d, nodes %x) = %s, expected %s", vm_mpol_mode(mode), nodes,
              mm_strerror(ret), mm_strerror(want));
    if (!ret && (mode & 7) == MPOL_BIND)
        vm_note_bind(nodes);
}

/* mbind over model pages [va, va + pages): the range must be mapped (else EFAULT). */
static void vm_mbind(uint32_t mode, uint32_t nodes, uint32_t fl, uint32_t at)
{
    uint32_t pages = 1 + ((fl >> 4) & 3);
    unsigned int flags = (fl & 7) | ((fl & 8) ? 1u << 3 : 0);
    uintptr_t va;
    struct vmm *m = vm_range_mm(at, pages, &va);
    if (!m)
        return;
    int want = vm_mpol_expect(mode, nodes);
    if (fl & 8)
        want = -MM_EINVAL;
    for (uint32_t i = 0; !want && i < pages; i++)
        if (vm_reg_find(m, va + (uintptr_t)i * PAGE_SIZE) < 0)
            want = -MM_EFAULT;
    unsigned long mask = nodes;
    int ret = mm_mbind(m->mm, va, (size_t)pages * PAGE_SIZE, vm_mpol_mode(mode), &mask, 8, flags);
    fuzz_digest_err(ret);
    VM_TRACE("  mbind %lx +%u mode %d nodes %x flags %x = %d (expected %d)", (unsigned long)va,
             pages, vm_mpol_mode(mode), nodes, flags, ret, want);
    bool strict = (flags & MPOL_MF_STRICT) && (mode & 7) != MPOL_DEFAULT;
    uint32_t pol_nodes = nodes & vm_memory_nodes();
    if ((mode & 7) == MPOL_PREFERRED && pol_nodes)
        pol_nodes &= -pol_nodes;
    unsigned int move = flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL);
    int outside = 0;
    for (uint32_t i = 0; i < pages; i++)
        outside = MM_MAX(outside, vm_page_outside(m, va + (uintptr_t)i * PAGE_SIZE, pol_nodes, move));
    if (ret == -MM_ENOMEM && !want && vm_oom_justified_need(2, 0, 0))
        want = ret; /* a split found no memory */
    /* a page stayed outside the new mask: one MOVE may not move (shared, or no MOVE), or a
     * movable one whose target allocation failed (a bind target: every node of the mask full,
     * while other nodes may have memory) */
    if (ret == -MM_EIO && !want && strict &&
        (outside == 2 || (outside == 1 && vm_oom_justified_need(0, 1, GFP_HIGHUSER)) ||
         (outside == 1 && (mode & 7) == MPOL_BIND && vm_oom_justified_nodes(pol_nodes))))
        want = ret;
    if (ret != want)
        vfail("mbind(%lx, %u pages, mode %d, nodes %x, flags %x) = %s, expected %s",
              (unsigned long)va, pages, vm_mpol_mode(mode), nodes, flags, mm_strerror(ret),
              mm_strerror(want));
    if (!ret && strict && outside && (mode & 7) == MPOL_BIND) /* others may fall back */
        vfail("mbind(%lx, STRICT) = 0 with a page outside nodes %x", (unsigned long)va, pol_nodes);
    /* EIO (STRICT: a page stayed outside) is reported after the policy was applied */
    if ((!ret || ret == -MM_EIO) && (mode & 7) == MPOL_BIND)
        vm_note_bind(pol_nodes);
    vm_migrate_verify(m, va, pages);
}

/* move_pages with a node for each page: status = the node, ENODEV for a bad node. */
static void vm_move_node(uint32_t node, uint32_t pages, uint32_t at)
{
    uintptr_t va;
    struct vmm *m = vm_range_mm(at, pages, &va);
    if (!m)
        return;
    int nid = node == 4 ? -1 : node == 5 ? 4 : (int)node;
    bool bad = nid < 0 || (unsigned int)nid >= mm_nr_nodes() || !(vm_memory_nodes() >> nid & 1);
    for (uint32_t i = 0; i < pages; i++) {
        uintptr_t a = va + (uintptr_t)i * PAGE_SIZE;
        pte_t e0 = vm_pte_now(m->mm, a);
        int want = vm_migrate_expect(m, a, e0, MPOL_MF_MOVE), st = 99;
        int ret = mm_move_pages_node(m->mm, 1, &a, &nid, &st, MPOL_MF_MOVE);
        fuzz_digest_err(ret);
        fuzz_digest_err(st);
        VM_TRACE("  move_pages %lx -> node %d = %d, status %d", (unsigned long)a, nid, ret, st);
        if (bad) {
            if (ret != -MM_ENODEV || st != 99)
                vfail("move_pages(%lx, node %d) = %s status %d, expected ENODEV", (unsigned long)a,
                      nid, mm_strerror(ret), st);
            continue;
        }
        if (!want || (want == -MM_EACCES && pfn_to_page(MM_PFN_DOWN(pte_addr(e0)))->node == nid))
            want = nid; /* Linux: a page already on its node is done before the shared test */
        if (st == -MM_ENOMEM && want == nid && pfn_to_page(MM_PFN_DOWN(pte_addr(e0)))->node != nid &&
            vm_oom_justified_held(m, a, a + PAGE_SIZE, 0, 1u << nid))
            want = st; /* the target node is full (the model does not count per node: probed) */
        if (ret || st != want)
            vfail("move_pages(%lx, node %d) = %s status %d, expected %d", (unsigned long)a, nid,
                  mm_strerror(ret), st, want);
        pte_t e1 = vm_pte_now(m->mm, a);
        if (st == nid && pfn_to_page(MM_PFN_DOWN(pte_addr(e1)))->node != nid)
            vfail("move_pages(%lx, node %d): the page is on node %d", (unsigned long)a, nid,
                  pfn_to_page(MM_PFN_DOWN(pte_addr(e1)))->node);
    }
    vm_migrate_verify(m, va, pages);
}

/* ---- automatic NUMA balancing (numa table) ---- */

/*
 * vm numa-scan pages= cpu= rounds=: each round one mm_numa_scan of the current address space,
 * then a read from CPU cpu of every page it made a hinting entry (the model's contents checked),
 * then CPU 0 again. Judged: the PTEs that changed are exactly the return value's count, each a
 * present anonymous PTE of an accessible VMA without a file that kept every bit but the user bit
 * and gained PTE_SW_NUMA; after its read the entry has its old rights back and the page its
 * reader's node as last_nid; the page moved (to the reader's node, counted) exactly when the
 * two-stage filter and the policy say so, or that move failed and was counted (the model does
 * not track free memory per node); local hinting faults are counted as local.
 */
#define VM_NB_MAX 1024u

static struct { uintptr_t va; pte_t e; } vm_nb_snap[VM_NB_MAX];
static uint32_t vm_nb_n;

static int vm_nb_save(void *arg, uintptr_t va, pte_t *ptep)
{
    (void)arg;
    if (vm_nb_n == VM_NB_MAX)
        return 1;
    vm_nb_snap[vm_nb_n].va = va;
    vm_nb_snap[vm_nb_n++].e = *ptep;
    return 0;
}

/* Is the change @e0 -> @e1 at @va what a scan may do? */
static bool vm_nb_hinted_ok(struct mm_struct *mm, uintptr_t va, pte_t e0, pte_t e1)
{
    struct vm_area_struct *v = find_vma(mm, va);
    return v && v->vm_start <= va && !v->vm_file && (v->vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) &&
           pte_present(e0) && !(e0 & (PTE_SW_ZERO | PTE_SW_NUMA)) && (e0 & PTE_US) &&
           e1 == ((e0 & ~PTE_US) | PTE_SW_NUMA);
}

/* One scan; the hinted PTEs' indexes in vm_nb_snap go to @hinted. Returns their count. */
static uint32_t vm_nb_scan(struct vmm *m, uint32_t pages, uint32_t *hinted)
{
    vm_nb_n = 0;
    bool all = !pt_visit(&m->mm->pt, 0, ARCH_USER_VA_END, vm_nb_save, NULL);
    struct migrate_stats s0, s1;
    mm_migrate_get_stats(&s0);
    long n = mm_numa_scan(m->mm, pages);
    mm_migrate_get_stats(&s1);
    fuzz_digest_count((uint64_t)n);
    VM_TRACE("  mm_numa_scan(%u pages) = %ld, next at %lx", pages, n,
             (unsigned long)m->mm->numa_scan_offset);
    if (n < 0 || n > (long)pages || s1.numa_pte_updates - s0.numa_pte_updates != (unsigned long)n)
        vfail("mm_numa_scan(%u) = %ld, numa_pte_updates moved by %lu", pages, n,
              s1.numa_pte_updates - s0.numa_pte_updates);
    uint32_t k = 0;
    for (uint32_t i = 0; i < vm_nb_n; i++) {
        pte_t e1 = vm_pte_now(m->mm, vm_nb_snap[i].va);
        if (e1 == vm_nb_snap[i].e)
            continue;
        if (!vm_nb_hinted_ok(m->mm, vm_nb_snap[i].va, vm_nb_snap[i].e, e1))
            vfail("mm_numa_scan: PTE at %lx %llx -> %llx", (unsigned long)vm_nb_snap[i].va,
                  (unsigned long long)vm_nb_snap[i].e, (unsigned long long)e1);
        hinted[k++] = i;
    }
    if (all && k != (uint32_t)n)
        vfail("mm_numa_scan = %ld, but %u PTEs changed", n, k);
    return k;
}

/* Does a hinting fault from node @here move the page at @va (on node @nid, last @last)? */
static bool vm_nb_should_move(struct vmm *m, uintptr_t va, int nid, int last, int here)
{
    struct vm_area_struct *v = find_vma(m->mm, va);
    const struct mempolicy *pol = v->vm_policy.mode != MPOL_DEFAULT ? &v->vm_policy : &m->mm->policy;
    bool allowed = pol->mode == MPOL_DEFAULT || pol->mode == MPOL_LOCAL ||
                   (pol->mode == MPOL_BIND && (pol->nodes >> here & 1));
    return nid != here && last == here && allowed && (vm_memory_nodes() >> here & 1);
}

/* Read hinted page @va from the current CPU (node @here) and judge the fault's effects. */
static void vm_nb_touch(struct vmm *m, uintptr_t va, pte_t e0, int here)
{
    pte_t eh = vm_pte_now(m->mm, va);
    if (!pte_present(eh) || !(eh & PTE_SW_NUMA))
        return; /* swapped out by the reclaim of an earlier page's move */
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(eh)));
    int nid = page_to_nid(p), last = p->last_nid;
    bool move = vm_nb_should_move(m, va, nid, last, here);
    struct migrate_stats s0, s1;
    mm_migrate_get_stats(&s0);
    vm_migrate_verify(m, va, 1);
    mm_migrate_get_stats(&s1);
    pte_t e1 = vm_pte_now(m->mm, va);
    if (!pte_present(e1) || (e1 & PTE_SW_NUMA))
        return; /* not read (the model says it is not readable), or swapped out under reclaim */
    struct page *q = pfn_to_page(MM_PFN_DOWN(pte_addr(e1)));
    bool moved = q != p, failed = s1.failed != s0.failed;
    fuzz_digest_ok(moved);
    VM_TRACE("  hinting fault %lx from node %d: page on node %d, last %d: %s", (unsigned long)va,
             here, nid, last, moved ? "moved" : failed ? "move failed" : "stays");
    if ((e1 & ~(PTE_ADDR_MASK | PTE_A | PTE_D)) != (e0 & ~(PTE_ADDR_MASK | PTE_A | PTE_D)))
        vfail("hinting fault at %lx: PTE %llx before the scan, %llx after", (unsigned long)va,
              (unsigned long long)e0, (unsigned long long)e1);
    if (q->last_nid != here || s1.numa_hint_faults - s0.numa_hint_faults != 1 ||
        s1.numa_hint_faults_local - s0.numa_hint_faults_local != (nid == here))
        vfail("hinting fault at %lx from node %d (page on %d): last_nid %u, %lu faults, %lu local",
              (unsigned long)va, here, nid, q->last_nid, s1.numa_hint_faults - s0.numa_hint_faults,
              s1.numa_hint_faults_local - s0.numa_hint_faults_local);
    if (moved != (move && !failed) || (moved && page_to_nid(q) != here) ||
        s1.numa_pages_migrated - s0.numa_pages_migrated != moved || (failed && !move))
        vfail("hinting fault at %lx from node %d: page on node %d, last %d: %s to node %d, "
              "expected %s", (unsigned long)va, here, nid, last, moved ? "moved" : "stayed",
              page_to_nid(q), move ? "a move" : "none");
}

static void vm_numa_scan(uint32_t pages, uint32_t cpu, uint32_t rounds)
{
    struct vmm *m = vm_cur_mm();
    static uint32_t hinted[VM_NB_MAX];
    if (!m || !fuzz_platform.user_copy)
        return;
    cpu %= vm_fz.m.nr_cpus;
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t k = vm_nb_scan(m, pages, hinted);
        fuzz_platform.cpu_set(cpu);
        for (uint32_t i = 0; i < k; i++)
            vm_nb_touch(m, vm_nb_snap[hinted[i]].va, vm_nb_snap[hinted[i]].e, cpu_to_node(cpu));
        fuzz_platform.cpu_set(0);
    }
}

/* ---- vm mlock lock|unlock pages= at= ----
 *
 * do_mlock / do_munlock of pages pages at the address selector at (unaligned ones too: the mm
 * locks [addr & PAGE_MASK, PAGE_ALIGN(addr + len)), with Linux's wrapping arithmetic). Predicted:
 * a wrapping range EINVAL, an empty one 0, a range outside user space or with a hole ENOMEM;
 * mlock then sets VM_LOCKED on the range's regions and populates them in the mm's order (a
 * PROT_NONE region or a page past the end of a file: ENOMEM and the whole range unlocked, pages
 * populated before it stay); munlock clears it. ENOMEM with memory exhausted (a split, a fault)
 * is accepted and the model takes the mm's locks (vm_lock_judge). Afterwards (and after every
 * pressure op and check) every locked accessible page must be present (vm_check_locked).
 */
static void vm_mlock(uint32_t unlock, uint32_t pages, uint32_t at)
{
    struct vmm *m = vm_cur_mm();
    if (!m)
        return;
    uintptr_t addr = vm_addr(m, at), start = MM_ALIGN_DOWN(addr, PAGE_SIZE);
    size_t len = (size_t)pages * PAGE_SIZE;
    uintptr_t end = start + MM_ALIGN_UP(len + (addr - start), (size_t)PAGE_SIZE);
    int expect = 0;
    if (end < start)
        expect = -MM_EINVAL;
    else if (end != start && (start < ARCH_USER_VA_START || end > ARCH_USER_VA_END ||
                              !vm_reg_range_covered(m, start, end)))
        expect = -MM_ENOMEM;
    if (!expect && end != start && m->nreg + 2 > VM_MAX_REG)
        return;
    int ret = unlock ? do_munlock(m->mm, addr, len) : do_mlock(m->mm, addr, len, 0);
    fuzz_digest_err(ret);
    VM_TRACE("  do_m%slock(%lx, %u pages) = %d", unlock ? "un" : "", (unsigned long)addr, pages, ret);
    if (expect || end == start) {
        if (ret != expect)
            vfail("do_m%slock(%lx, %zu) = %s, expected %s", unlock ? "un" : "", (unsigned long)addr,
                  len, mm_strerror(ret), mm_strerror(expect));
        return;
    }
    vm_reg_split_at(m, start);
    vm_reg_split_at(m, end);
    vm_lock_set(m, start, end, !unlock);
    if (!unlock && !vm_lock_populate(m, start, end, true)) {
        expect = -MM_ENOMEM;
        vm_lock_set(m, start, end, false);
    }
    bool oom = ret == -MM_ENOMEM && ret != expect &&
               vm_oom_justified_held(m, start, end, VM_OOM_NEED_OP, ~0u);
    if (ret != expect && !oom)
        vfail("do_m%slock(%lx, %zu) = %s, expected %s", unlock ? "un" : "", (unsigned long)addr,
              len, mm_strerror(ret), mm_strerror(expect));
    vm_lock_judge(m, start, end, unlock ? "do_munlock" : "do_mlock", oom);
    vm_reg_compact(m);
    vm_check_locked();
}

/* ---- boot, run, teardown ---- */

static unsigned long vm_tables(void)
{
    struct vmalloc_stats st;
    vmalloc_get_stats(&st);
    return st.nr_tables;
}

/*
 * Leak scan before the teardown frees anything: vm_fz (address spaces, files, vmalloc/vmap areas
 * and their pages, hogged pages) is the root. As in the slab target, every input in replay and
 * 1 in VM_LEAK_EVERY (by op count) in the engines. With it, a cycle of the incremental checker
 * (mm_check_step) over the final state must pass as mm_check does, and the allocation-site
 * groups must agree with the caches' and vmalloc's counters (fz_check_sites).
 */
#define VM_LEAK_EVERY 8u

static void vm_fail_fn(const char *what) { vfail("%s", what); }

static void vm_leak_check(void)
{
    static struct mm_leak_result r;
    if (fuzz_check_every > 1 && fuzz_cur.nops % VM_LEAK_EVERY != 0)
        return;
    int n = mm_leak_scan(&r);
    if (n != 0)
        vfail("invariant=%s leaks=%d objects=%lu: %s", r.rep.invariant ? r.rep.invariant : "?", n,
              r.objects, r.rep.detail);
    const char *step = fz_step_disagrees(NULL, NULL, 0); /* where mm_check passes, so must it */
    if (step)
        vfail("%s", step);
    fz_check_sites(vm_fail_fn); /* the site groups agree with the cache and vmalloc counters */
}

static void vm_teardown(void)
{
    vm_leak_check();
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
    if ((err = mm_leak_root_add(&vm_fz, sizeof(vm_fz))))
        vfail("leak root: %s", mm_strerror(err));
    /* the swap device op is the first op after the topology record, when there is one */
    uint32_t at = vm_fz.m.nr_nodes ? 1 : 0;
    if (fuzz_cur.nops > at) {
        fuzz_op_decode(&vm_table, &vm_fz.m, data, size, at, &op);
        if (op.kind == FOP_VM_SWAPDEV && fuzz_platform.swap_reset) {
            fuzz_digest_op(op.kind);
            if (fuzz_platform.swap_reset(op.arg[0]))
                vfail("swap device of %u slots could not be set up", (unsigned int)op.arg[0]);
            VM_TRACE("op#%u vm swapdev slots=%u", at + 1, (unsigned int)op.arg[0]);
            first = at + 1;
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
    case FOP_VM_MIGRATE: vm_migrate(a[0], a[1], a[2]); break;
    case FOP_VM_MBIND: vm_mbind(a[0], a[1], a[2], a[3]); break;
    case FOP_VM_SET_MEMPOLICY: vm_set_mempolicy(a[0], a[1]); break;
    case FOP_VM_MOVE_NODE: vm_move_node(a[0], a[1], a[2]); break;
    case FOP_VM_NUMA_SCAN: vm_numa_scan(a[0], a[1], a[2]); break;
    case FOP_VM_MLOCK: vm_mlock(a[0], a[1], a[2]); break;
    default: break;
    }
}

static void vm_check(bool deep)
{
    if (deep || fuzz_cur_check_due()) {
        vm_check_mm();
        vm_check_locked();
    }
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
