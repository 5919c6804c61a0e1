/*
 * test_trace.c - suite "trace": the mm's tracepoints (mm_trace.h). Every event class appears when
 * enabled (at boot or at run time) and never when disabled; nothing is recorded with the mask
 * off; a ring keeps its newest MM_TRACE_RING_EVENTS events in order across wrap-around; CPUs
 * record into their own rings and the merged read is in sequence order; events format as
 * documented; bad arguments are refused.
 *
 * The workload (tr_workload) runs one step per class or two and drains the new events after each
 * step into per-class counts, requiring unbroken sequence numbers (no event lost to the ring).
 * Machines: 8 MiB small machines with 64 swap slots, 2 CPUs.
 */
#include "machine_user.h"
#include "kt_util.h"
#include "ktest.h"
#include "mm_trace.h"
#include "slab.h"
#include "swap.h"
#include "vmalloc.h"

#define TR_RW   (PROT_READ | PROT_WRITE)
#define TR_PRIV (MAP_PRIVATE | MAP_ANONYMOUS)
#define TR_BUF  (MM_TRACE_RING_EVENTS * 2)

static struct mm_trace_event tr_ev[TR_BUF];
static unsigned long tr_count[MM_TRACE_NR_CLASSES];
static uint64_t tr_seen; /* sequence number of the last event drained */
static uint64_t tr_base; /* the last one boot recorded (boot creates caches: slab and page events) */

static int tr_boot(uint32_t mask, unsigned int cpus)
{
    machine_small(&kt_m, KT_MIB(8), cpus);
    kt_m.swap_slots = 64;
    kt_m.trace_mask = mask;
    KT_TRY(kt_boot_current());
    for (unsigned int c = 0; c < MM_TRACE_NR_CLASSES; c++)
        tr_count[c] = 0;
    tr_base = tr_seen = mm_trace_last_seq();
    return 0;
}

/* Count the events recorded since the last drain; every one must be there (no gap). */
static int tr_drain(void)
{
    int n = mm_trace_read_since(tr_seen, tr_ev, TR_BUF);
    KT_ASSERT_GE(n, 0);
    KT_ASSERT_LT(n, TR_BUF);
    for (int i = 0; i < n; i++) {
        KT_ASSERT_MSG(tr_ev[i].seq == tr_seen + 1, "event %d has seq %llu after %llu", i,
                      (unsigned long long)tr_ev[i].seq, (unsigned long long)tr_seen);
        KT_ASSERT_LT(tr_ev[i].cls, MM_TRACE_NR_CLASSES);
        tr_count[tr_ev[i].cls]++;
        tr_seen = tr_ev[i].seq;
    }
    KT_ASSERT_EQ(tr_seen, mm_trace_last_seq());
    return 0;
}

/* One op per step of the workload below, each touching a few classes. */
static int tr_user(struct mm_struct *mm, uintptr_t va, unsigned int access, int want)
{
    uint64_t x = va;
    KT_ASSERT_EQ(machine_user_copy(mm, va, &x, sizeof(x), access, NULL), want);
    return 0;
}

static int tr_heap_steps(void)
{
    struct page *p = alloc_pages(GFP_KERNEL, 1);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_OK(__free_pages(p, 1));
    KT_TRY(tr_drain());
    void *o = kmalloc(40, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT_OK(kfree(o));
    KT_TRY(tr_drain());
    void *v = vmalloc(3 * PAGE_SIZE);
    KT_ASSERT_NOT_NULL(v);
    KT_ASSERT_OK(vfree(v));
    KT_TRY(tr_drain());
    KT_ASSERT_ERR(__free_pages(NULL, 0), MM_EFAULT); /* misuse */
    KT_TRY(tr_drain());
    page_reclaim(GFP_KERNEL, 1);
    return tr_drain();
}

static int tr_vm_steps(void)
{
    struct mm_struct *mm = mm_create(), *child = NULL;
    KT_ASSERT_NOT_NULL(mm);
    long a = do_mmap(mm, 0, 4 * PAGE_SIZE, TR_RW, TR_PRIV, NULL, 0);
    KT_ASSERT_GT(a, 0);
    KT_TRY(tr_drain());
    for (unsigned int i = 0; i < 4; i++)
        KT_TRY(tr_user(mm, (uintptr_t)a + i * PAGE_SIZE, MMU_WRITE, VM_FAULT_HANDLED));
    KT_TRY(tr_drain());
    KT_ASSERT_EQ(swap_reclaim(4), 4);
    KT_TRY(tr_drain());
    KT_TRY(tr_user(mm, (uintptr_t)a, MMU_READ, VM_FAULT_HANDLED)); /* swap-in */
    KT_TRY(tr_drain());
    KT_ASSERT_OK(do_mprotect(mm, (uintptr_t)a, PAGE_SIZE, PROT_READ));
    KT_ASSERT_OK(do_munmap(mm, (uintptr_t)a + 3 * PAGE_SIZE, PAGE_SIZE));
    KT_TRY(tr_drain());
    do_brk(mm, mm->brk + PAGE_SIZE);
    KT_ASSERT_OK(mm_fork(mm, &child));
    KT_TRY(tr_drain());
    mm_destroy(child);
    KT_TRY(tr_drain());
    mm_destroy(mm);
    return tr_drain();
}

/* Every class at least once, draining after each step. */
static int tr_workload(void)
{
    KT_TRY(tr_drain());
    KT_TRY(tr_heap_steps());
    KT_TRY(tr_vm_steps());
    machine_cpu_set(1);
    void *o = kmalloc(16, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT_OK(kfree(o));
    machine_cpu_set(0);
    KT_TRY(tr_drain());
    KT_MM_CHECK();
    return 0;
}

static int test_each_class_when_enabled_at_boot(void)
{
    for (unsigned int c = 0; c < MM_TRACE_NR_CLASSES; c++) {
        KT_TRY(tr_boot(MM_TRACE_BIT(c), 2));
        KT_ASSERT_EQ(mm_trace_get_mask(), MM_TRACE_BIT(c));
        KT_TRY(tr_workload());
        KT_ASSERT_MSG(tr_count[c] > 0, "class %s recorded nothing", mm_trace_class_name(c));
        for (unsigned int o = 0; o < MM_TRACE_NR_CLASSES; o++)
            KT_ASSERT_MSG(o == c || tr_count[o] == 0, "mask %s: %lu events of %s",
                          mm_trace_class_name(c), tr_count[o], mm_trace_class_name(o));
    }
    return 0;
}

static int test_each_class_absent_when_disabled_at_run_time(void)
{
    for (unsigned int c = 0; c < MM_TRACE_NR_CLASSES; c++) {
        KT_TRY(tr_boot(0, 2));
        KT_ASSERT_OK(mm_trace_set_mask(MM_TRACE_ALL & ~MM_TRACE_BIT(c)));
        KT_ASSERT_EQ(mm_trace_get_mask(), MM_TRACE_ALL & ~MM_TRACE_BIT(c));
        KT_TRY(tr_workload());
        KT_ASSERT_MSG(tr_count[c] == 0, "disabled class %s recorded %lu events",
                      mm_trace_class_name(c), tr_count[c]);
        for (unsigned int o = 0; o < MM_TRACE_NR_CLASSES; o++)
            KT_ASSERT_MSG(o == c || tr_count[o] > 0, "enabled class %s recorded nothing",
                          mm_trace_class_name(o));
    }
    return 0;
}

static int test_off_records_nothing(void)
{
    KT_TRY(tr_boot(0, 2));
    KT_ASSERT_EQ(tr_base, 0);
    KT_TRY(tr_workload());
    KT_ASSERT_EQ(mm_trace_last_seq(), 0);
    KT_ASSERT_EQ(mm_trace_read_since(0, tr_ev, TR_BUF), 0);
    for (unsigned int cpu = 0; cpu < 2; cpu++)
        KT_ASSERT_EQ(mm_trace_read_cpu(cpu, tr_ev, TR_BUF), 0);
    /* enabled, then disabled again at run time: what was recorded stays, nothing more comes */
    KT_ASSERT_OK(mm_trace_set_mask(MM_TRACE_ALL));
    KT_ASSERT_NOT_NULL(alloc_pages(GFP_KERNEL, 0));
    uint64_t last = mm_trace_last_seq();
    KT_ASSERT_GT(last, 0);
    KT_ASSERT_OK(mm_trace_set_mask(0));
    KT_TRY(tr_workload());
    KT_ASSERT_EQ(mm_trace_last_seq(), last);
    return 0;
}

/* @n order-0 alloc+free pairs on CPU 0: the ring holds the newest events, oldest first. */
static int tr_wrap_case(unsigned int n)
{
    static unsigned long pfns[2 * MM_TRACE_RING_EVENTS];
    KT_TRY(tr_boot(MM_TRACE_BIT(MM_TRACE_PAGE_ALLOC) | MM_TRACE_BIT(MM_TRACE_PAGE_FREE), 2));
    for (unsigned int i = 0; i < n; i++) {
        struct page *p = alloc_pages(GFP_KERNEL, 0);
        KT_ASSERT_NOT_NULL(p);
        pfns[i % MM_ARRAY_SIZE(pfns)] = page_to_pfn(p);
        KT_ASSERT_OK(__free_pages(p, 0));
    }
    uint64_t total = tr_base + 2ull * n, held = MM_MIN(2ull * n, (uint64_t)MM_TRACE_RING_EVENTS);
    KT_ASSERT_EQ(mm_trace_last_seq(), total);
    KT_ASSERT_EQ(mm_trace_read_cpu(0, tr_ev, TR_BUF), MM_MIN(total, (uint64_t)MM_TRACE_RING_EVENTS));
    KT_ASSERT_EQ(mm_trace_read_cpu(0, tr_ev, (unsigned int)held), held);
    for (uint64_t k = 0; k < held; k++) {
        uint64_t seq = total - held + 1 + k; /* pair (seq - base - 1) / 2, the alloc first */
        unsigned int pair = (unsigned int)((seq - tr_base - 1) / 2);
        KT_ASSERT_EQ(tr_ev[k].seq, seq);
        KT_ASSERT_EQ(tr_ev[k].cpu, 0);
        KT_ASSERT_EQ(tr_ev[k].cls, ((seq - tr_base) & 1) ? MM_TRACE_PAGE_ALLOC : MM_TRACE_PAGE_FREE);
        KT_ASSERT_EQ(tr_ev[k].arg[0], pfns[pair % MM_ARRAY_SIZE(pfns)]);
    }
    /* a smaller buffer gets the newest events */
    if (held >= 5) {
        KT_ASSERT_EQ(mm_trace_read_cpu(0, tr_ev, 5), 5);
        KT_ASSERT_EQ(tr_ev[0].seq, total - 4);
        KT_ASSERT_EQ(tr_ev[4].seq, total);
        KT_ASSERT_EQ(mm_trace_read_since(total - 3, tr_ev, TR_BUF), 3);
        KT_ASSERT_EQ(tr_ev[0].seq, total - 2);
    }
    return 0;
}

static int test_ring_wraps_keeping_newest_in_order(void)
{
    static const unsigned int counts[] = { 1, MM_TRACE_RING_EVENTS / 2 - 1,
                                            MM_TRACE_RING_EVENTS / 2, MM_TRACE_RING_EVENTS / 2 + 1,
                                            MM_TRACE_RING_EVENTS, 3 * MM_TRACE_RING_EVENTS + 7 };
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(counts); i++)
        KT_TRY(tr_wrap_case(counts[i]));
    return 0;
}

static int test_per_cpu_rings(void)
{
    KT_TRY(tr_boot(MM_TRACE_BIT(MM_TRACE_SLAB_ALLOC) | MM_TRACE_BIT(MM_TRACE_SLAB_FREE), 3));
    void *o[6];
    for (unsigned int i = 0; i < 6; i++) { /* CPU 0, 2, 0, 2, ...: CPU 1 stays idle */
        machine_cpu_set((i & 1) * 2);
        o[i] = kmalloc(24 + i, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(o[i]);
    }
    machine_cpu_set(2);
    KT_ASSERT_OK(kfree(o[0])); /* freed on CPU 2: recorded there */
    machine_cpu_set(0);
    KT_ASSERT_EQ(mm_trace_read_cpu(1, tr_ev, TR_BUF), 0);
    KT_ASSERT_EQ(mm_trace_read_cpu(2, tr_ev, TR_BUF), 4); /* boot ran on CPU 0 only */
    for (unsigned int cpu = 0; cpu <= 2; cpu += 2) {
        KT_ASSERT_EQ(mm_trace_read_cpu(cpu, tr_ev, cpu ? 4 : 3), cpu ? 4 : 3);
        for (int k = 0; k < 3; k++) {
            KT_ASSERT_EQ(tr_ev[k].cpu, cpu);
            KT_ASSERT_EQ(tr_ev[k].cls, MM_TRACE_SLAB_ALLOC);
            KT_ASSERT_EQ(tr_ev[k].arg[0], (uintptr_t)o[2 * k + cpu / 2]);
            KT_ASSERT_EQ(tr_ev[k].arg[2], 24 + 2 * k + cpu / 2);
        }
    }
    KT_ASSERT_EQ(tr_ev[3].cls, MM_TRACE_SLAB_FREE);
    KT_ASSERT_EQ(tr_ev[3].arg[0], (uintptr_t)o[0]);
    KT_ASSERT_EQ(mm_trace_read_since(tr_base, tr_ev, TR_BUF), 7); /* merged: in sequence order */
    for (int k = 0; k < 7; k++) {
        KT_ASSERT_EQ(tr_ev[k].seq, tr_base + k + 1);
        KT_ASSERT_EQ(tr_ev[k].cpu, k < 6 ? (k & 1) * 2 : 2);
    }
    KT_ASSERT_EQ(mm_trace_read_since(tr_base, tr_ev, 2), 2); /* the newest two */
    KT_ASSERT_EQ(tr_ev[0].seq, tr_base + 6);
    for (unsigned int i = 1; i < 6; i++)
        KT_ASSERT_OK(kfree(o[i]));
    return 0;
}

/* mm_trace_format of @ev must be exactly @want. */
static int tr_format_is(const struct mm_trace_event *ev, const char *want)
{
    char buf[160];
    int n = mm_trace_format(ev, buf, sizeof(buf));
    KT_ASSERT_STREQ(buf, want);
    long long len = 0;
    while (want[len])
        len++;
    KT_ASSERT_EQ(n, len);
    return 0;
}

static int test_format(void)
{
    struct mm_trace_event e = { .seq = 12, .cls = MM_TRACE_PAGE_ALLOC, .cpu = 1,
                                .arg = { 0x1a2, 3, 0xc0, 0 } };
    KT_TRY(tr_format_is(&e, "#12 cpu1 page_alloc pfn=0x1a2 order=3 gfp=0xc0 err=OK"));
    e.arg[0] = ~0ull;
    e.arg[3] = (uint64_t)-MM_ENOMEM;
    KT_TRY(tr_format_is(&e, "#12 cpu1 page_alloc pfn=0xffffffffffffffff order=3 gfp=0xc0 "
                            "err=ENOMEM"));
    e = (struct mm_trace_event){ .seq = 7, .cls = MM_TRACE_FAULT, .arg = { 2, 0x400000, 6, 3 } };
    KT_TRY(tr_format_is(&e, "#7 cpu0 fault mm=2 va=0x400000 error=0x6 result=access"));
    e = (struct mm_trace_event){ .seq = 8, .cls = MM_TRACE_MMAP,
                                 .arg = { 1, 0, 0x2000, 3, 0x22, 0x7f0000000000 } };
    KT_TRY(tr_format_is(&e, "#8 cpu0 mmap mm=1 addr=0x0 len=0x2000 prot=0x3 flags=0x22 "
                            "result=0x7f0000000000"));
    e.arg[5] = (uint64_t)-MM_EINVAL;
    KT_TRY(tr_format_is(&e, "#8 cpu0 mmap mm=1 addr=0x0 len=0x2000 prot=0x3 flags=0x22 "
                            "result=EINVAL"));
    e = (struct mm_trace_event){ .seq = 9, .cls = MM_TRACE_MISUSE, .cpu = 3,
                                 .arg = { MM_MISUSE_DOUBLE_FREE, (uint64_t)-MM_EINVAL, 0x1000, 1 } };
    KT_TRY(tr_format_is(&e, "#9 cpu3 misuse kind=double-free err=EINVAL addr=0x1000 pfn=0x1"));
    e = (struct mm_trace_event){ .seq = 1, .cls = MM_TRACE_EXIT, .arg = { 4, 10, 2 } };
    KT_TRY(tr_format_is(&e, "#1 cpu0 exit mm=4 anon=10 vmas=2"));
    for (unsigned int c = 0; c < MM_TRACE_NR_CLASSES; c++) { /* every class has a name and formats */
        char buf[200];
        e = (struct mm_trace_event){ .seq = 5, .cls = (uint16_t)c };
        KT_ASSERT_NOT_NULL(mm_trace_class_name(c));
        KT_ASSERT_GT(mm_trace_format(&e, buf, sizeof(buf)), 10);
    }
    /* truncation: NUL-terminated, the length written */
    char small[10];
    e = (struct mm_trace_event){ .seq = 12, .cls = MM_TRACE_PAGE_FREE, .cpu = 1 };
    KT_ASSERT_EQ(mm_trace_format(&e, small, sizeof(small)), 9);
    KT_ASSERT_STREQ(small, "#12 cpu1 ");
    KT_ASSERT_EQ(mm_trace_format(&e, small, 1), 0);
    KT_ASSERT_STREQ(small, "");
    return 0;
}

static int test_bad_arguments(void)
{
    struct mm_trace_event e = { .cls = MM_TRACE_NR_CLASSES };
    char buf[32] = "x";
    uint32_t m = 0x55;

    KT_TRY(tr_boot(MM_TRACE_BIT(MM_TRACE_FAULT), 2));
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_ERR(mm_trace_set_mask(MM_TRACE_ALL + 1), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, ~0ul, before));
    KT_ASSERT_EQ(mm_trace_get_mask(), MM_TRACE_BIT(MM_TRACE_FAULT)); /* unchanged */
    KT_ASSERT_ERR(mm_trace_read_cpu(MM_MAX_CPUS, tr_ev, 1), MM_EINVAL);
    KT_ASSERT_ERR(mm_trace_read_cpu(0, NULL, 1), MM_EINVAL);
    KT_ASSERT_EQ(mm_trace_read_cpu(0, NULL, 0), 0);
    KT_ASSERT_ERR(mm_trace_read_since(0, NULL, 1), MM_EINVAL);
    KT_ASSERT_ERR(mm_trace_format(&e, buf, sizeof(buf)), MM_EINVAL); /* unknown class */
    KT_ASSERT_STREQ(buf, "");
    KT_ASSERT_ERR(mm_trace_format(NULL, buf, sizeof(buf)), MM_EINVAL);
    e.cls = MM_TRACE_BRK;
    KT_ASSERT_ERR(mm_trace_format(&e, NULL, 8), MM_EINVAL);
    KT_ASSERT_ERR(mm_trace_format(&e, buf, 0), MM_EINVAL);
    KT_ASSERT_NULL(mm_trace_class_name(MM_TRACE_NR_CLASSES));
    /* class lists */
    KT_ASSERT_OK(mm_trace_parse_mask("fault,page_free", &m));
    KT_ASSERT_EQ(m, MM_TRACE_BIT(MM_TRACE_FAULT) | MM_TRACE_BIT(MM_TRACE_PAGE_FREE));
    KT_ASSERT_OK(mm_trace_parse_mask("all", &m));
    KT_ASSERT_EQ(m, MM_TRACE_ALL);
    KT_ASSERT_OK(mm_trace_parse_mask("none", &m));
    KT_ASSERT_EQ(m, 0);
    m = 0x55;
    KT_ASSERT_ERR(mm_trace_parse_mask("fault,pagefree", &m), MM_EINVAL);
    KT_ASSERT_ERR(mm_trace_parse_mask("fault,", &m), MM_EINVAL);
    KT_ASSERT_ERR(mm_trace_parse_mask("faults", &m), MM_EINVAL);
    KT_ASSERT_EQ(m, 0x55);
    KT_ASSERT_ERR(mm_trace_parse_mask(NULL, &m), MM_EINVAL);
    KT_ASSERT_ERR(mm_trace_parse_mask("all", NULL), MM_EINVAL);
    /* a boot mask beyond the classes is refused by mm_init */
    machine_small(&kt_m, KT_MIB(8), 1);
    kt_m.trace_mask = MM_TRACE_ALL + 1;
    KT_ASSERT_ERR(machine_boot(&kt_m), MM_EINVAL);
    return 0;
}

/* KFENCE-sampled objects (interval 1: every allocation the pool can take) are traced as the
 * caches' own: one slab alloc event naming the object, its cache and size, one free event. */
static int test_kfence_objects_traced(void)
{
    machine_small(&kt_m, KT_MIB(8), 1);
    kt_m.kfence_interval = 1;
    kt_m.trace_mask = MM_TRACE_BIT(MM_TRACE_SLAB_ALLOC) | MM_TRACE_BIT(MM_TRACE_SLAB_FREE);
    KT_TRY(kt_boot_current());
    tr_seen = mm_trace_last_seq();
    void *o = kmalloc(40, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(o);
    KT_ASSERT(is_kfence_address(o));
    KT_ASSERT_OK(kfree(o));
    int n = mm_trace_read_since(tr_seen, tr_ev, TR_BUF);
    KT_ASSERT_EQ(n, 2);
    KT_ASSERT_EQ(tr_ev[0].cls, MM_TRACE_SLAB_ALLOC);
    KT_ASSERT_EQ(tr_ev[0].arg[0], (uint64_t)(uintptr_t)o);
    KT_ASSERT_NE(tr_ev[0].arg[1], 0);
    KT_ASSERT_EQ(tr_ev[0].arg[2], 40);
    KT_ASSERT_EQ(tr_ev[1].cls, MM_TRACE_SLAB_FREE);
    KT_ASSERT_EQ(tr_ev[1].arg[0], (uint64_t)(uintptr_t)o);
    KT_ASSERT_EQ(tr_ev[1].arg[1], tr_ev[0].arg[1]);
    KT_MM_CHECK();
    return 0;
}

static const struct ktest_case trace_cases[] = {
    KT_CASE(each_class_when_enabled_at_boot),
    KT_CASE(each_class_absent_when_disabled_at_run_time),
    KT_CASE(off_records_nothing),
    KT_CASE(ring_wraps_keeping_newest_in_order),
    KT_CASE(per_cpu_rings),
    KT_CASE(format),
    KT_CASE(bad_arguments),
    KT_CASE(kfence_objects_traced),
};
KT_SUITE(trace, trace_cases);
