/*
 * test_mmu.c - suite "mmu": the hosted software MMU (shims/hosted/mmu.c) over the mm's page
 * tables: permission matrix, accessed/dirty bits, #PF error codes, copies that stop at a fault.
 * Hosted only (kt_suites.h): the kernel runs the real MMU instead, which test_mmap/test_swap reach
 * through machine_user_copy.
 *
 * Every case boots its own small machine (kt_pt_boot) and ends with the free-page count back at
 * its boot value and mm_check clean.
 */
#include "machine_mmu.h"
#include "kt_pt.h"
#include "kt_util.h"
#include "page_table.h"

#define LEAF(pfn, flags) (MM_PFN_PHYS(pfn) | (flags))

#define MMU_VA ((uintptr_t)0x0000000040201000ull)

static struct page *mmu_data[2];

/* Boot, map two user pages at MMU_VA and MMU_VA + PAGE_SIZE with @leaf_flags. */
static int mmu_boot(unsigned long *free0, pte_t leaf_flags)
{
    KT_TRY(kt_pt_boot(free0));
    for (unsigned int i = 0; i < 2; i++) {
        mmu_data[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
        KT_ASSERT_NOT_NULL(mmu_data[i]);
        KT_ASSERT_OK(pt_set(&kt_pt, MMU_VA + i * PAGE_SIZE, page_to_phys(mmu_data[i]) | leaf_flags,
                            GFP_KERNEL));
    }
    machine_mmu_reset_stats();
    return 0;
}

static int mmu_teardown(unsigned long free0)
{
    for (unsigned int i = 0; i < 2; i++)
        KT_ASSERT_OK(__free_page(mmu_data[i]));
    return kt_pt_teardown(free0);
}

/* The tests change entries by hand: like the mm, they flush the TLB afterwards (tlb.c). */
static void mmu_flush(void) { env_tlb_flush_range(MMU_VA, MMU_VA + 2 * PAGE_SIZE); }

/* Clear A and D on all four entries of @va. */
static void mmu_clear_ad(pte_t *ents[PT_LEVELS])
{
    for (unsigned int l = 0; l < PT_LEVELS; l++)
        *ents[l] &= ~(PTE_A | PTE_D);
    mmu_flush();
}

static const char *const mmu_flag_names[] = { "P", "RW", "US", "NX" };

/* What @access should give after the @flag change (0 P, 1 RW, 2 US, 3 NX) at any level. */
static int mmu_expect(unsigned int flag, unsigned int access, unsigned int *code)
{
    unsigned int base = ((access & MMU_WRITE) ? PF_ERR_W : 0) | ((access & MMU_USER) ? PF_ERR_U : 0) |
                        ((access & MMU_EXEC) ? PF_ERR_I : 0);
    bool fault = flag == 0 || (flag == 1 && (access & MMU_WRITE)) ||
                 (flag == 2 && (access & MMU_USER)) || (flag == 3 && (access & MMU_EXEC));

    *code = flag == 0 ? base : base | PF_ERR_P;
    return fault ? -MM_EFAULT : 0;
}

/* One cell of the matrix: change @flag at @level, run @access, compare result and A/D bits. */
static int mmu_check_cell(pte_t *ents[PT_LEVELS], unsigned int level, unsigned int flag,
                          unsigned int access)
{
    static const pte_t bits[] = { PTE_P, PTE_RW, PTE_US, PTE_NX };
    pte_t saved = *ents[level], before[PT_LEVELS];
    unsigned int want_code, code = 0xdead;
    phys_addr_t pa = 0;

    mmu_clear_ad(ents);
    *ents[level] = flag == 3 ? saved | bits[flag] : saved & ~bits[flag];
    mmu_flush();
    for (unsigned int l = 0; l < PT_LEVELS; l++)
        before[l] = *ents[l];
    int want = mmu_expect(flag, access, &want_code);
    int rc = machine_mmu_translate(kt_pt.root, MMU_VA + 0x18, access, &pa, &code);
    KT_ASSERT_MSG(rc == want, "level %u flag %s access 0x%x: rc %d, expected %d", level,
                  mmu_flag_names[flag], access, rc, want);
    if (rc) {
        KT_ASSERT_MSG(code == want_code, "level %u flag %s access 0x%x: code 0x%x, expected 0x%x",
                      level, mmu_flag_names[flag], access, code, want_code);
        for (unsigned int l = 0; l < PT_LEVELS; l++)
            KT_ASSERT_MSG(*ents[l] == before[l], "a faulting access changed level %u", l);
    } else {
        KT_ASSERT_EQ(pa, page_to_phys(mmu_data[0]) + 0x18);
        for (unsigned int l = 0; l < PT_LEVELS; l++)
            KT_ASSERT_MSG(*ents[l] == (before[l] | PTE_A | (l == 0 && (access & MMU_WRITE) ? PTE_D : 0)),
                          "level %u flag %s access 0x%x: A/D at level %u wrong", level,
                          mmu_flag_names[flag], access, l);
    }
    *ents[level] = saved;
    mmu_flush();
    return 0;
}

static int test_permission_matrix(void)
{
    static const unsigned int accesses[] = {
        MMU_READ, MMU_WRITE, MMU_EXEC, MMU_READ | MMU_USER, MMU_WRITE | MMU_USER,
        MMU_EXEC | MMU_USER,
    };
    unsigned long free0;
    pte_t *ents[PT_LEVELS];

    KT_TRY(mmu_boot(&free0, PTE_P | PTE_RW | PTE_US));
    for (unsigned int l = 0; l < PT_LEVELS; l++)
        ents[l] = kt_pt_entry_at(MMU_VA, l);
    for (unsigned int level = 0; level < PT_LEVELS; level++)
        for (unsigned int flag = 0; flag < 4; flag++)
            for (unsigned int a = 0; a < MM_ARRAY_SIZE(accesses); a++)
                KT_TRY(mmu_check_cell(ents, level, flag, accesses[a]));
    struct machine_mmu_stats st;
    machine_mmu_get_stats(&st);
    KT_ASSERT_EQ(st.translations, 4 * 4 * MM_ARRAY_SIZE(accesses));
    /* faults per level: P 6, RW 2, US 3, NX 2 */
    KT_ASSERT_EQ(st.faults, 4 * (6 + 2 + 3 + 2));
    return mmu_teardown(free0);
}

static int test_accessed_dirty_bits(void)
{
    unsigned long free0;
    pte_t *ents[PT_LEVELS];
    phys_addr_t pa;

    KT_TRY(mmu_boot(&free0, PTE_P | PTE_RW | PTE_US | PTE_NX));
    for (unsigned int l = 0; l < PT_LEVELS; l++) {
        ents[l] = kt_pt_entry_at(MMU_VA, l);
        KT_ASSERT_EQ(*ents[l] & (PTE_A | PTE_D), 0);
    }
    KT_ASSERT_OK(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_READ | MMU_USER, &pa, NULL));
    for (unsigned int l = 0; l < PT_LEVELS; l++)
        KT_ASSERT_EQ(*ents[l] & (PTE_A | PTE_D), PTE_A);
    KT_ASSERT_EQ(*pt_walk(&kt_pt, MMU_VA + PAGE_SIZE, false, 0) & PTE_A, 0); /* the neighbour */
    /* a faulting fetch sets nothing, a write sets D on the leaf only */
    mmu_clear_ad(ents);
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_EXEC | MMU_USER, &pa, NULL),
                  MM_EFAULT);
    for (unsigned int l = 0; l < PT_LEVELS; l++)
        KT_ASSERT_EQ(*ents[l] & (PTE_A | PTE_D), 0);
    KT_ASSERT_OK(machine_mmu_translate(kt_pt.root, MMU_VA + 5, MMU_WRITE | MMU_USER, &pa, NULL));
    KT_ASSERT_EQ(pa, page_to_phys(mmu_data[0]) + 5);
    KT_ASSERT_EQ(*ents[0] & (PTE_A | PTE_D), PTE_A | PTE_D);
    for (unsigned int l = 1; l < PT_LEVELS; l++)
        KT_ASSERT_EQ(*ents[l] & (PTE_A | PTE_D), PTE_A);
    /* the A/D bits change no count and keep pt_check happy */
    KT_TRY(kt_pt_ok());
    return mmu_teardown(free0);
}

static int test_fault_error_codes(void)
{
    unsigned long free0;
    unsigned int code = 0;

    KT_TRY(mmu_boot(&free0, PTE_P | PTE_US | PTE_NX)); /* read-only, no exec */
    uintptr_t none = MMU_VA + 2 * PAGE_SIZE;
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, none, MMU_READ, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, 0);
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, none, MMU_WRITE | MMU_USER, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, 0x6);
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_WRITE | MMU_USER, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, 0x7);
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_EXEC | MMU_USER, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, 0x15);
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_WRITE, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, 0x3); /* CR0.WP: supervisor writes obey RW */
    KT_ASSERT_OK(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_READ | MMU_USER, NULL, &code));
    /* non-canonical, no root: not present */
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, (uintptr_t)ARCH_USER_VA_END, MMU_READ | MMU_USER,
                                       NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, PF_ERR_U);
    KT_ASSERT_ERR(machine_mmu_translate(0, MMU_VA, MMU_READ, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, 0);
    /* a leaf beyond memory and a large-page bit: reserved-bit faults, nothing read */
    pte_t old = pt_update(&kt_pt, MMU_VA, LEAF(mm_max_pfn + 10, PTE_P | PTE_US));
    mmu_flush();
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_READ | MMU_USER, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, PF_ERR_RSVD | PF_ERR_P | PF_ERR_U);
    pt_update(&kt_pt, MMU_VA, old);
    pte_t *pde = kt_pt_entry_at(MMU_VA, 1);
    *pde |= PTE_PS;
    mmu_flush();
    KT_ASSERT_ERR(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_READ, NULL, &code), MM_EFAULT);
    KT_ASSERT_EQ(code, PF_ERR_RSVD | PF_ERR_P);
    *pde &= ~PTE_PS;
    mmu_flush();
    KT_ASSERT_OK(machine_mmu_translate(kt_pt.root, MMU_VA, MMU_READ, NULL, &code));
    return mmu_teardown(free0);
}

static int test_copy_stops_at_fault(void)
{
    static char buf[3 * 4096], back[3 * 4096];
    unsigned long free0;
    uintptr_t fva = 1;
    unsigned int code = 0xdead;

    KT_TRY(mmu_boot(&free0, PTE_P | PTE_RW | PTE_US | PTE_NX));
    for (unsigned int i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7 + 1);
    /* both pages mapped: a copy across the boundary completes */
    KT_ASSERT_EQ(machine_mmu_copy(kt_pt.root, MMU_VA + 100, buf, 6000, MMU_WRITE | MMU_USER, &fva,
                                 &code), 6000);
    KT_ASSERT_EQ(fva, 0);
    KT_ASSERT_EQ(code, 0);
    KT_ASSERT_EQ(machine_mmu_copy(kt_pt.root, MMU_VA + 100, back, 6000, MMU_READ | MMU_USER, &fva,
                                 &code), 6000);
    KT_ASSERT_OK(memcmp(buf, back, 6000));
    KT_ASSERT_OK(memcmp((char *)page_address(mmu_data[1]), buf + PAGE_SIZE - 100, 6000 - (PAGE_SIZE - 100)));
    /* the second page unmapped: the copy stops at its first byte */
    KT_ASSERT_EQ(pt_unmap(&kt_pt, MMU_VA + PAGE_SIZE, MMU_VA + 2 * PAGE_SIZE, NULL, NULL), 1);
    mmu_flush();
    KT_ASSERT_EQ(machine_mmu_copy(kt_pt.root, MMU_VA + PAGE_SIZE - 40, buf, 100,
                                 MMU_WRITE | MMU_USER, &fva, &code), 40);
    KT_ASSERT_EQ(fva, MMU_VA + PAGE_SIZE);
    KT_ASSERT_EQ(code, PF_ERR_W | PF_ERR_U);
    KT_ASSERT_EQ(machine_mmu_copy(kt_pt.root, MMU_VA + PAGE_SIZE - 40, back, 100,
                                 MMU_READ | MMU_USER, &fva, &code), 40);
    KT_ASSERT_OK(memcmp(buf, back, 40));
    KT_ASSERT_EQ(code, PF_ERR_U);
    /* a protection fault on the first page: nothing copied; fetches obey NX */
    KT_ASSERT_EQ(machine_mmu_copy(kt_pt.root, MMU_VA + 8, back, 16, MMU_EXEC | MMU_USER, &fva, &code), 0);
    KT_ASSERT_EQ(fva, MMU_VA + 8);
    KT_ASSERT_EQ(code, PF_ERR_P | PF_ERR_U | PF_ERR_I);
    KT_ASSERT_EQ(machine_mmu_copy(kt_pt.root, MMU_VA, back, 0, MMU_READ, &fva, &code), 0);
    KT_ASSERT_EQ(fva, 0);
    struct machine_mmu_stats st;
    machine_mmu_get_stats(&st);
    KT_ASSERT_EQ(st.copies, 6);
    KT_ASSERT_EQ(st.translations, 2 + 2 + 2 + 2 + 1);
    KT_ASSERT_EQ(st.faults, 3);
    return mmu_teardown(free0);
}

static const struct ktest_case mmu_cases[] = {
    KT_CASE(permission_matrix),
    KT_CASE(accessed_dirty_bits),
    KT_CASE(fault_error_codes),
    KT_CASE(copy_stops_at_fault),
};
KT_SUITE(mmu, mmu_cases);
