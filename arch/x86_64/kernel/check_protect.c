/*
 * check_protect.c - boot-time proof that the kernel's protections are real (suite "protect").
 *
 * Each case makes the CPU refuse something and checks how: the page-fault error code and address
 * the hardware reported, through kernel_probe (the fault is expected and recovered from). The
 * cases: W^X over the whole image and vmalloc window, a write to kernel text, an execute from a
 * data page and from the direct map (NX), a kernel touch of a user page outside the SMAP window,
 * a kernel fetch from a user page (SMEP), a write to the guard page under the boot stack, a write
 * past a vmalloc area into its guard page, and the SMAP window itself letting a copy through.
 */
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kt_util.h"
#include "mmap.h"
#include "trap.h"
#include "vmalloc.h"

static uint8_t protect_data_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void protect_call(void *target)
{
    ((void (*)(void))target)();
}

/* Not instrumented: the hardware, not the shadow, must be what refuses these accesses. */
__attribute__((no_sanitize("kernel-address"))) static void protect_write_byte(void *target)
{
    *(volatile uint8_t *)target = 0xcc;
}

__attribute__((no_sanitize("kernel-address"))) static void protect_read_byte(void *target)
{
    (void)*(volatile uint8_t *)target;
}

/* A #PF at @addr whose error code has every bit of @want and none of @refuse. */
static int protect_expect_pf(const struct kernel_fault *f, uint64_t addr, uint64_t want,
                             uint64_t refuse)
{
    KT_ASSERT_EQ(f->vector, 14);
    KT_ASSERT_EQ(f->cr2, addr);
    KT_ASSERT_EQ(f->error_code & want, want);
    KT_ASSERT_EQ(f->error_code & refuse, 0);
    return 0;
}

static int test_no_writable_executable_page(void)
{
    KT_ASSERT_EQ(paging_count_wx((uintptr_t)__kernel_start, (uintptr_t)__bss_end), 0);
    KT_ASSERT_EQ(paging_count_wx(ARCH_VMALLOC_START, ARCH_VMALLOC_START + KERNEL_VMALLOC_SIZE), 0);
    KT_ASSERT_EQ(paging_count_wx(ARCH_DIRECT_MAP_BASE, ARCH_DIRECT_MAP_BASE + kernel_boot.ram_end), 0);
    /* the text really is executable and read-only, data really is NX */
    uint64_t text = paging_lookup((uintptr_t)test_no_writable_executable_page);
    KT_ASSERT(text & PTE_P);
    KT_ASSERT_FALSE(text & (PTE_RW | PTE_NX));
    KT_ASSERT(paging_lookup((uintptr_t)protect_data_page) & PTE_NX);
    return 0;
}

static int test_text_write_faults(void)
{
    struct kernel_fault f;
    void *target = (void *)(uintptr_t)protect_call;

    KT_ASSERT_TRUE(kernel_probe(protect_write_byte, target, &f));
    return protect_expect_pf(&f, (uintptr_t)target, PF_ERR_P | PF_ERR_W, PF_ERR_U);
}

static int test_exec_data_page_faults(void)
{
    struct kernel_fault f;

    KT_ASSERT_TRUE(kernel_cpu.nx);
    protect_data_page[0] = 0xc3; /* ret: would return at once if the fetch were allowed */
    KT_ASSERT_TRUE(kernel_probe(protect_call, protect_data_page, &f));
    return protect_expect_pf(&f, (uintptr_t)protect_data_page, PF_ERR_P | PF_ERR_I, PF_ERR_W);
}

static int test_exec_direct_map_faults(void)
{
    struct kernel_fault f;
    uint8_t *alias = env_phys_to_virt(KERNEL_V2P(protect_data_page));

    KT_ASSERT_TRUE(kernel_probe(protect_call, alias, &f));
    return protect_expect_pf(&f, (uintptr_t)alias, PF_ERR_P | PF_ERR_I, 0);
}

static int test_stack_guard_page_faults(void)
{
    struct kernel_fault f;
    uint8_t *below = (uint8_t *)boot_stack_bottom - 8;

    KT_ASSERT_TRUE(kernel_probe(protect_write_byte, below, &f));
    KT_TRY(protect_expect_pf(&f, (uintptr_t)below, PF_ERR_W, PF_ERR_P));
    KT_ASSERT(ktest_strstr(kernel_describe_addr(f.cr2), "stack overflow"));
    return 0;
}

static int test_vmalloc_guard_page_faults(void)
{
    struct kernel_fault f;

    KT_ASSERT_OK(kt_boot_pc(64, 1));
    uint8_t *p = vmalloc(PAGE_SIZE);
    KT_ASSERT_NOT_NULL(p);
    p[0] = 1;
    p[PAGE_SIZE - 1] = 2; /* the area itself is mapped and writable */
    KT_ASSERT_TRUE(kernel_probe(protect_write_byte, p + PAGE_SIZE, &f));
    KT_TRY(protect_expect_pf(&f, (uintptr_t)(p + PAGE_SIZE), PF_ERR_W, PF_ERR_P));
    KT_ASSERT(ktest_strstr(kernel_describe_addr(f.cr2), "buffer overflow"));
    vfree(p);
    KT_ASSERT_TRUE(kernel_probe(protect_read_byte, p, &f)); /* and freed areas are gone */
    KT_ASSERT_EQ(f.cr2, (uintptr_t)p);
    return 0;
}

/* A user page of a fresh address space, faulted in through the window; *va gets its address. */
static int protect_user_page(struct mm_struct **mm, uintptr_t *va)
{
    uint8_t byte = 0xc3;

    KT_ASSERT_OK(kt_boot_pc(64, 1));
    *mm = mm_create();
    KT_ASSERT_NOT_NULL(*mm);
    long addr = do_mmap(*mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    KT_ASSERT_GT(addr, 0);
    *va = (uintptr_t)addr;
    KT_ASSERT_EQ(kernel_user_copy(*mm, *va, &byte, 1, KUA_WRITE, NULL), VM_FAULT_HANDLED);
    byte = 0;
    KT_ASSERT_EQ(kernel_user_copy(*mm, *va, &byte, 1, KUA_READ, NULL), VM_FAULT_HANDLED);
    KT_ASSERT_EQ(byte, 0xc3);
    return 0;
}

struct protect_user_touch {
    struct mm_struct *mm;
    uintptr_t va;
    void (*fn)(void *);
};

/* Run t->fn(t->va) with CR3 = the address space (kernel half included) but outside the window;
 * when it faults, kernel_probe puts CR3 back. */
static void protect_touch_in_mm(void *arg)
{
    struct protect_user_touch *t = arg;
    static uint64_t root[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
    const uint64_t *user = env_phys_to_virt(t->mm->pt.root);
    const uint64_t *kern = env_phys_to_virt(kernel_pt.root);
    uint64_t saved = cpu_read_cr3();

    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        root[i] = i < PT_ENTRIES / 2 ? user[i] : kern[i];
    cpu_write_cr3(KERNEL_V2P(root));
    t->fn((void *)t->va);
    cpu_write_cr3(saved);
}

static int test_smap_blocks_user_read(void)
{
    struct protect_user_touch t = { .fn = protect_read_byte };
    struct kernel_fault f;

    KT_ASSERT_TRUE(kernel_cpu.smap);
    KT_TRY(protect_user_page(&t.mm, &t.va));
    KT_ASSERT_TRUE(kernel_probe(protect_touch_in_mm, &t, &f));
    KT_TRY(protect_expect_pf(&f, t.va, PF_ERR_P, PF_ERR_W | PF_ERR_U | PF_ERR_I));
    mm_destroy(t.mm);
    return 0;
}

static int test_smep_blocks_user_exec(void)
{
    struct protect_user_touch t = { .fn = protect_call };
    struct kernel_fault f;

    KT_ASSERT_TRUE(kernel_cpu.smep);
    KT_TRY(protect_user_page(&t.mm, &t.va)); /* the page holds a ret and is mapped executable */
    KT_ASSERT_TRUE(kernel_probe(protect_touch_in_mm, &t, &f));
    KT_TRY(protect_expect_pf(&f, t.va, PF_ERR_P | PF_ERR_I, PF_ERR_U));
    mm_destroy(t.mm);
    return 0;
}

static const struct ktest_case protect_cases[] = {
    KT_CASE(no_writable_executable_page),
    KT_CASE(text_write_faults),
    KT_CASE(exec_data_page_faults),
    KT_CASE(exec_direct_map_faults),
    KT_CASE(stack_guard_page_faults),
    KT_CASE(vmalloc_guard_page_faults),
    KT_CASE(smap_blocks_user_read),
    KT_CASE(smep_blocks_user_exec),
};
KT_SUITE(protect, protect_cases);
