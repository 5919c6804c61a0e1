/*
 * numa_tick.c - automatic NUMA balancing driven by a real timer (suite "numa_tick"): the boot
 * CPU's LAPIC timer ticks every millisecond; each tick asks for one scan step, and the test loop
 * runs mm_numa_scan for it at its next "return to user" point, then reads every page of the
 * address space through the real MMU (kernel_user_copy) from a simulated CPU of node 1. The pages,
 * written from node 0, must end on node 1 (two hinting faults in a row from node 1 each) with
 * their contents, after as many scans as ticks asked for.
 *
 * As Linux (task_numa_work is queued by the tick and runs in task context), the interrupt only
 * counts: the scan takes the address-space lock, which the interrupted code may hold.
 */
#include "arch_cpu.h"
#include "kernel_smp.h"
#include "kt_util.h"
#include "machine_user.h"
#include "mmap.h"
#include "numa.h"

#define NT_TICK_COUNT 62500u /* 1 ms at QEMU's 1 GHz APIC bus clock / 16 */
#define NT_PAGES      8u
#define NT_WINDOW     3ul    /* pages per scan: a pass takes three ticks and wraps mid-window */
#define NT_MAX_TICKS  200ul

static volatile unsigned long nt_ticks;

static void nt_tick(void) { nt_ticks = nt_ticks + 1; }

/* 16 MiB, node 0 [0, 8 MiB) with CPU 0, node 1 [8, 16) with CPU 1. */
static struct mm_struct *nt_boot(void)
{
    machine_small(&kt_m, KT_MIB(16), 2);
    kt_m.numa.nr_nodes = 2;
    kt_m.numa.node_start[1] = KT_MIB(8);
    kt_m.numa.cpu_node[1] = 1;
    if (kt_boot_current())
        return NULL;
    return mm_create();
}

static bool nt_all_on(struct mm_struct *mm, uintptr_t va, int nid)
{
    for (unsigned int i = 0; i < NT_PAGES; i++) {
        pte_t *ep = pt_walk(&mm->pt, va + i * PAGE_SIZE, false, 0);
        if (!ep || !pte_present(*ep) || page_to_nid(pfn_to_page(MM_PFN_DOWN(pte_addr(*ep)))) != nid)
            return false;
    }
    return true;
}

/* Wait for the next tick (interrupts on), then one scan for each tick that came. */
static unsigned long nt_scan_pending(struct mm_struct *mm, unsigned long *seen)
{
    while (nt_ticks == *seen)
        arch_cpu_relax();
    unsigned long now = nt_ticks, scans = 0;
    for (; *seen != now; (*seen)++, scans++)
        if (mm_numa_scan(mm, NT_WINDOW) < 0)
            return 0;
    return scans;
}

static int nt_read_all(struct mm_struct *mm, uintptr_t va)
{
    for (unsigned int i = 0; i < NT_PAGES; i++) {
        uint64_t got = 0;
        KT_ASSERT_EQ(machine_user_copy(mm, va + i * PAGE_SIZE, &got, sizeof(got), MMU_READ, NULL),
                     VM_FAULT_HANDLED);
        KT_ASSERT_EQ(got, 0x5eed0000u + i);
    }
    return 0;
}

static int test_timer_driven_balancing(void)
{
    struct mm_struct *mm = nt_boot();
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, NT_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
    KT_ASSERT_GT(a, 0);
    uintptr_t va = (uintptr_t)a;
    for (unsigned int i = 0; i < NT_PAGES; i++) {
        uint64_t tag = 0x5eed0000u + i;
        KT_ASSERT_EQ(machine_user_copy(mm, va + i * PAGE_SIZE, &tag, sizeof(tag), MMU_WRITE, NULL),
                     VM_FAULT_HANDLED);
    }
    KT_ASSERT(nt_all_on(mm, va, 0));
    struct migrate_stats s0, s1;
    mm_migrate_get_stats(&s0);
    unsigned long seen = nt_ticks = 0, scans = 0;
    int err = 0;
    machine_cpu_set(1);
    unsigned long irq = arch_irq_save();
    smp_timer_start(NT_TICK_COUNT, nt_tick);
    __asm__ __volatile__("sti" ::: "memory");
    while (!err && seen < NT_MAX_TICKS && !nt_all_on(mm, va, 1)) {
        scans += nt_scan_pending(mm, &seen);
        err = nt_read_all(mm, va);
    }
    smp_timer_stop();
    arch_irq_restore(irq);
    machine_cpu_set(0);
    KT_ASSERT_OK(err);
    mm_migrate_get_stats(&s1);
    ktest_printf("        # %lu timer ticks, %lu scans: %lu PTEs hinted, %lu hinting faults, "
                 "%lu pages migrated\n", seen, scans, s1.numa_pte_updates - s0.numa_pte_updates,
                 s1.numa_hint_faults - s0.numa_hint_faults,
                 s1.numa_pages_migrated - s0.numa_pages_migrated);
    KT_ASSERT(nt_all_on(mm, va, 1));
    KT_ASSERT_EQ(scans, seen); /* one scan per tick */
    KT_ASSERT_EQ(s1.numa_pages_migrated - s0.numa_pages_migrated, NT_PAGES);
    KT_ASSERT_GE(s1.numa_hint_faults - s0.numa_hint_faults, 2 * NT_PAGES);
    KT_TRY(nt_read_all(mm, va));
    KT_MM_CHECK();
    mm_destroy(mm);
    return 0;
}

static const struct ktest_case numa_tick_cases[] = {
    KT_CASE(timer_driven_balancing),
};
KT_SUITE(numa_tick, numa_tick_cases);
