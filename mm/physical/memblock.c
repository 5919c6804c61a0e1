/*
 * memblock.c - the early (boot-time) allocator, the first allocator of mm/physical: init builds it
 * from the memory map, the heap takes its cache of caches from it, the struct page array comes
 * from it, and the buddy allocator inherits what it leaves free. State: mm_state.phys.memblock.
 *
 * Two sorted region arrays, as in a kernel's memblock:
 *
 *   memory:   [====usable====]    [=======usable=======]        (holes between)
 *   reserved:   [fw]                  [kern]  [memmap]
 *   free  =  memory minus reserved
 *
 * Invariants: each array is sorted by base, its regions are disjoint and non-adjacent (adjacent
 * ranges are merged), every memory region is page aligned. Allocations are carved top-down from
 * free space and recorded in `reserved`. Once mm_core_init hands the free ranges to the buddy
 * allocator the early allocator retires; later calls are reported as misuse.
 */
#include "phys_internal.h"

void memblock_reset(phys_addr_t limit)
{
    memset(&mm_state.phys.memblock, 0, sizeof(mm_state.phys.memblock));
    mm_state.phys.memblock.limit = limit;
}

static void memblock_remove_at(struct memblock_type *t, unsigned int i)
{
    memmove(&t->r[i], &t->r[i + 1], (t->cnt - i - 1) * sizeof(t->r[0]));
    t->cnt--;
}

/* Merge region i with following regions that overlap or touch it. */
static void memblock_merge_from(struct memblock_type *t, unsigned int i)
{
    while (i + 1 < t->cnt) {
        uint64_t end = t->r[i].base + t->r[i].size;
        struct mm_mem_region *n = &t->r[i + 1];
        if (n->base > end)
            break;
        uint64_t nend = n->base + n->size;
        if (nend > end)
            t->r[i].size = nend - t->r[i].base;
        memblock_remove_at(t, i + 1);
    }
}

/**
 * Add [base, base+size) to @t, merging with neighbours. Returns 0, -MM_EINVAL for an empty or
 * wrapping range, -MM_ENOSPC when the array is full.
 */
int memblock_add_range(struct memblock_type *t, phys_addr_t base, uint64_t size)
{
    if (size == 0 || base + size < base)
        return -MM_EINVAL;
    unsigned int i = 0;
    while (i < t->cnt && t->r[i].base + t->r[i].size < base)
        i++;
    if (i < t->cnt && t->r[i].base <= base + size) {
        /* overlaps or touches region i: grow it */
        uint64_t end = MM_MAX(t->r[i].base + t->r[i].size, base + size);
        t->r[i].base = MM_MIN(t->r[i].base, base);
        t->r[i].size = end - t->r[i].base;
        memblock_merge_from(t, i);
        return 0;
    }
    if (t->cnt == MM_MAX_MEM_REGIONS)
        return -MM_ENOSPC;
    memmove(&t->r[i + 1], &t->r[i], (t->cnt - i) * sizeof(t->r[0]));
    t->r[i] = (struct mm_mem_region){ .base = base, .size = size, .type = MM_MEM_USABLE };
    t->cnt++;
    return 0;
}

/** Remove [base, base+size) from @t, splitting a region if needed. Returns 0, -MM_EINVAL, -MM_ENOSPC. */
int memblock_remove_range(struct memblock_type *t, phys_addr_t base, uint64_t size)
{
    if (size == 0 || base + size < base)
        return -MM_EINVAL;
    uint64_t end = base + size;
    for (unsigned int i = 0; i < t->cnt;) {
        uint64_t rs = t->r[i].base, re = rs + t->r[i].size;
        if (re <= base || rs >= end) {
            i++;
            continue;
        }
        if (rs < base && re > end) { /* hole punched in the middle: split */
            if (t->cnt == MM_MAX_MEM_REGIONS)
                return -MM_ENOSPC;
            memmove(&t->r[i + 1], &t->r[i], (t->cnt - i) * sizeof(t->r[0]));
            t->cnt++;
            t->r[i].size = base - rs;
            t->r[i + 1].base = end;
            t->r[i + 1].size = re - end;
            return 0;
        }
        if (rs < base) {
            t->r[i].size = base - rs;
            i++;
        } else if (re > end) {
            t->r[i].base = end;
            t->r[i].size = re - end;
            i++;
        } else {
            memblock_remove_at(t, i);
        }
    }
    return 0;
}

static bool memblock_usable(const char *func, uintptr_t addr)
{
    if (mm_state.phys.early_ready && !mm_state.phys.memblock_retired)
        return true;
    mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, func, addr, ~0ul,
                     mm_state.phys.memblock_retired ? "early allocator retired after hand-off to buddy"
                                               : "early allocator not initialised");
    return false;
}

/* Highest aligned start of a @size gap inside [lo, hi) that no reserved region covers, or 0. */
static phys_addr_t memblock_find_top_down(uint64_t size, uint64_t align, phys_addr_t lo,
                                          phys_addr_t hi)
{
    const struct memblock_type *mem = &mm_state.phys.memblock.memory;
    const struct memblock_type *res = &mm_state.phys.memblock.reserved;
    for (int i = (int)mem->cnt - 1; i >= 0; i--) {
        phys_addr_t ms = MM_MAX(mem->r[i].base, lo);
        phys_addr_t top = MM_MIN(mem->r[i].base + mem->r[i].size, hi);
        for (int j = (int)res->cnt - 1; j >= -1 && top > ms; j--) {
            if (j >= 0 && res->r[j].base >= top)
                continue;
            phys_addr_t gap_lo = j >= 0 ? MM_MAX(ms, res->r[j].base + res->r[j].size) : ms;
            if (top > gap_lo && top - gap_lo >= size) {
                phys_addr_t cand = MM_ALIGN_DOWN(top - size, align);
                if (cand >= gap_lo && cand != 0)
                    return cand;
            }
            if (j >= 0)
                top = MM_MIN(top, res->r[j].base);
        }
    }
    return 0;
}

phys_addr_t memblock_alloc(uint64_t size, uint64_t align)
{
    if (!memblock_usable(__func__, (uintptr_t)size))
        return 0;
    if (size == 0 || size > (1ull << ARCH_PHYS_BITS) || align < 8 || (align & (align - 1)) ||
        align > (1ull << 30)) {
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, (uintptr_t)size, ~0ul,
                         "size %llu align %llu", (unsigned long long)size,
                         (unsigned long long)align);
        return 0;
    }
    size = MM_ALIGN_UP(size, 8);
    phys_addr_t pa = memblock_find_top_down(size, align, PAGE_SIZE, mm_state.phys.memblock.limit);
    if (!pa)
        pa = memblock_find_top_down(size, align, PAGE_SIZE, ~0ull);
    if (!pa || memblock_add_range(&mm_state.phys.memblock.reserved, pa, size))
        return 0;
    env_unpoison(env_phys_to_virt(pa), size);
    return pa;
}

int memblock_reserve(phys_addr_t base, uint64_t size)
{
    if (!memblock_usable(__func__, (uintptr_t)base))
        return -MM_EINVAL;
    int err = memblock_add_range(&mm_state.phys.memblock.reserved, base, size);
    if (err == -MM_EINVAL)
        mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, err, __func__, (uintptr_t)base, ~0ul,
                         "empty or wrapping range size %llu", (unsigned long long)size);
    return err;
}

static bool memblock_covers(const struct memblock_type *t, phys_addr_t base, uint64_t size)
{
    for (unsigned int i = 0; i < t->cnt; i++)
        if (t->r[i].base <= base && base + size <= t->r[i].base + t->r[i].size)
            return true;
    return false;
}

int memblock_free(phys_addr_t base, uint64_t size)
{
    if (!memblock_usable(__func__, (uintptr_t)base))
        return -MM_EINVAL;
    size = MM_ALIGN_UP(size, 8);
    if (size == 0 || base + size < base || !memblock_covers(&mm_state.phys.memblock.reserved, base, size))
        return mm_report_misuse(MM_MISUSE_NOT_ALLOCATED, -MM_EINVAL, __func__, (uintptr_t)base,
                                ~0ul, "range 0x%llx+%llu is not reserved",
                                (unsigned long long)base, (unsigned long long)size);
    if (base < PAGE_SIZE) /* pfn 0 is the mm's own reservation (mm_early_init), never a caller's */
        return mm_report_misuse(MM_MISUSE_NOT_ALLOCATED, -MM_EINVAL, __func__, (uintptr_t)base,
                                0, "range 0x%llx+%llu covers page 0, which the mm keeps reserved",
                                (unsigned long long)base, (unsigned long long)size);
    env_poison(env_phys_to_virt(base), size, ENV_POISON_UNUSED);
    return memblock_remove_range(&mm_state.phys.memblock.reserved, base, size);
}

static uint64_t memblock_total(const struct memblock_type *t)
{
    uint64_t sum = 0;
    for (unsigned int i = 0; i < t->cnt; i++)
        sum += t->r[i].size;
    return sum;
}

uint64_t memblock_usable_bytes(void) { return memblock_total(&mm_state.phys.memblock.memory); }
uint64_t memblock_reserved_bytes(void) { return memblock_total(&mm_state.phys.memblock.reserved); }

unsigned long memblock_end_pfn(void)
{
    const struct memblock_type *m = &mm_state.phys.memblock.memory;
    return m->cnt ? MM_PFN_DOWN(m->r[m->cnt - 1].base + m->r[m->cnt - 1].size) : 0;
}

bool memblock_is_memory_pfn(unsigned long pfn)
{
    return memblock_covers(&mm_state.phys.memblock.memory, MM_PFN_PHYS(pfn), PAGE_SIZE);
}

void memblock_for_each_free_range(void (*fn)(unsigned long spfn, unsigned long epfn))
{
    const struct memblock_type *mem = &mm_state.phys.memblock.memory;
    const struct memblock_type *res = &mm_state.phys.memblock.reserved;
    unsigned int j = 0;
    for (unsigned int i = 0; i < mem->cnt; i++) {
        phys_addr_t cur = mem->r[i].base, end = cur + mem->r[i].size;
        while (j < res->cnt && res->r[j].base + res->r[j].size <= cur)
            j++;
        for (unsigned int k = j; k < res->cnt && res->r[k].base < end; k++) {
            if (res->r[k].base > cur && MM_PFN_UP(cur) < MM_PFN_DOWN(res->r[k].base))
                fn(MM_PFN_UP(cur), MM_PFN_DOWN(res->r[k].base));
            cur = MM_MAX(cur, res->r[k].base + res->r[k].size);
        }
        if (cur < end && MM_PFN_UP(cur) < MM_PFN_DOWN(end))
            fn(MM_PFN_UP(cur), MM_PFN_DOWN(end));
    }
}
