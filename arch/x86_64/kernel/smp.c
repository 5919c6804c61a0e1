/*
 * smp.c - the kernel's CPUs: the ACPI MADT, the local APICs, the start of the application
 * processors (APs), per-CPU data, cross-CPU calls by IPI and concurrent runs (kernel_smp.h).
 *
 * Boot (kmain calls, in this order):
 *   smp_init_boot_cpu   GS base -> percpu[0] (env_cpu_id works from here on);
 *   smp_read_acpi       RSDP (EBDA, then 0xe0000..0xfffff), RSDT or XSDT, the MADT: the LAPIC
 *                       address and the APIC ids of the enabled CPUs; the legacy PIC is masked
 *                       (its timer would arrive as vector 8 once interrupts are on);
 *   smp_reserve_stacks  per AP one memblock allocation of the boot mm (so no later allocation of
 *                       the boot instance can hand it out): [guard | stack | guard | #DF stack];
 *   paging_build        maps the LAPIC uncached, then smp_unmap_guards drops the guard pages'
 *                       direct-map leaves (a stack overflow faults instead of corrupting);
 *   smp_start_aps       the trampoline (trampoline.S) is copied to SMP_TRAMPOLINE_PA, in the
 *                       machine area, which no mm instance owns until the first machine boots;
 *                       it is used only until the last AP is online. APs start one at a time by
 *                       INIT-SIPI(-SIPI); each loads kernel_pt, its GS base, its own GDT and TSS
 *                       (trap_init_ap), enables its LAPIC and reports online; the boot CPU prints
 *                       "smp: CPU n (APIC id a) online".
 *
 * After boot an AP is parked: `cli; check the run generation; sti; hlt`. kernel_smp_run bumps the
 * generation and wakes the APs by IPI; each flushes its whole TLB (it missed every flush while
 * parked), runs fn with interrupts on, counts itself done and parks again.
 *
 * Cross-CPU calls: two mailboxes per CPU, [0] for env_cpu_call and [1] for TLB flushes. A sender
 * owns a mailbox from taking `busy` to seeing `done`; `pending` is claimed by exchange, so the IPI
 * handler and smp_poll_flush run a posted call exactly once. A CPU that waits with interrupts off
 * (spinning on an mm lock, on a mailbox, on a call's completion) takes posted flushes itself:
 * a flush touches no mm state, so this is safe anywhere, and it breaks the cycle "A holds the lock
 * B spins on with interrupts off, and A waits for B's flush". Generic calls are taken only by the
 * interrupt, so a CPU inside env_irq_save..restore sees its per-CPU data change only through itself.
 *
 * Invariants: percpu[i].index == i; an AP's percpu.cpu == its index; run.n <= nr_online; the
 * trampoline page is written only in smp_start_aps.
 */
#include "arch_cpu.h"
#include "arch_mm.h"
#include "arch_pgtable.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "numa.h"
#include "kernel_smp.h"
#include "mm.h"
#include "mm_env.h"
#include "trap.h"

#define SMP_TRAMPOLINE_PA 0x8000ull
#define SMP_STACK_SIZE (32 * 1024)
#define SMP_DF_STACK_SIZE (8 * 1024)
#define SMP_AREA_SIZE (PAGE_SIZE + SMP_STACK_SIZE + PAGE_SIZE + SMP_DF_STACK_SIZE)

#define MSR_GS_BASE 0xc0000101u
#define LAPIC_DEFAULT_PA 0xfee00000ull
#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_TPR 0x80
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_ICR_BUSY (1u << 12)
#define LAPIC_ICR_INIT 0x4500u   /* INIT, level assert */
#define LAPIC_ICR_SIPI 0x4600u   /* start-up, vector in bits 0..7 */
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)

struct smp_tramp_params {
    uint32_t cr3, efer_or;
    uint64_t entry, stack, cpu;
} __attribute__((packed));

struct smp_mailbox {
    unsigned int busy;     /* a sender owns the mailbox (xchg acquire / store release) */
    unsigned int sender;   /* the owner's index: kicked when done */
    unsigned int pending;  /* fn/arg posted, not yet claimed (release / xchg) */
    void (*fn)(void *arg); /* written before pending is published */
    void *arg;
    unsigned int done;     /* the call returned (release / acquire) */
} MM_CACHE_ALIGNED;

extern char smp_tramp_start[], smp_tramp_end[], smp_tramp_params[], smp_ap_entry64[];
extern char boot_pml4[];

static struct kernel_percpu percpu[KERNEL_SMP_MAX_CPUS];
static struct smp_mailbox mbox[KERNEL_SMP_MAX_CPUS][2];
static uint32_t madt_apic_ids[KERNEL_SMP_MAX_CPUS];
static unsigned int nr_listed, nr_online;
static uint64_t lapic_pa = LAPIC_DEFAULT_PA;
static uintptr_t ap_area[KERNEL_SMP_MAX_CPUS]; /* direct-map VA of each AP's stack area */
static unsigned long ipi_count, shootdown_count;
uint64_t smp_ap_cr3;          /* kernel_pt's root, for smp_ap_entry64 */
static uint64_t smp_cr4;      /* the boot CPU's CR4 (SMEP, SMAP), copied by every AP */
static unsigned int ap_online_flag;
bool smp_skip_shootdown;

static struct {
    unsigned int gen;   /* bumped to start a run (release) */
    unsigned int n;     /* CPUs taking part */
    unsigned int done;  /* APs that returned from fn */
    bool active;
    void (*fn)(unsigned int cpu, void *arg);
    void *arg;
} run;
static unsigned int ap_seen_gen[KERNEL_SMP_MAX_CPUS];
static struct { unsigned int count, sense; } barrier;
static unsigned int barrier_local[KERNEL_SMP_MAX_CPUS];
static unsigned int cpu_sleeping[KERNEL_SMP_MAX_CPUS]; /* in hlt in a sleeping wait (seq_cst) */
static const volatile unsigned int *cpu_lock_wait[KERNEL_SMP_MAX_CPUS]; /* the lock word it sleeps on */

/* ---- small hardware helpers ---- */

static inline uint8_t smp_inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void smp_wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static volatile uint32_t *lapic_reg(unsigned int off)
{
    return (volatile uint32_t *)(uintptr_t)(ARCH_DIRECT_MAP_BASE + lapic_pa + off);
}

static uint32_t lapic_read(unsigned int off) { return *lapic_reg(off); }
static void lapic_write(unsigned int off, uint32_t v) { *lapic_reg(off) = v; }

/* Busy-wait @us microseconds on PIT channel 2 (mode 0, gate through port 0x61). us <= 50000. */
static void pit_delay_us(unsigned int us)
{
    unsigned int count = (unsigned int)((uint64_t)us * 1193182u / 1000000u);

    arch_outb(0x61, (uint8_t)((smp_inb(0x61) & ~0x02) | 0x01));
    arch_outb(0x43, 0xb0);
    arch_outb(0x42, (uint8_t)count);
    arch_outb(0x42, (uint8_t)(count >> 8));
    while (!(smp_inb(0x61) & 0x20))
        arch_cpu_relax();
}

static unsigned int smp_self(void) { return KERNEL_PERCPU_READ(index); }

/* ---- per-CPU data ---- */

static void smp_percpu_load(unsigned int i)
{
    percpu[i].self = &percpu[i];
    percpu[i].index = i;
    percpu[i].cpu = i;
    smp_wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu[i]);
}

void smp_init_boot_cpu(void) { smp_percpu_load(0); }

/* ---- ACPI: RSDP, RSDT/XSDT, MADT ---- */

struct acpi_sdt {
    char sig[4];
    uint32_t len;
    uint8_t rev, csum;
    char oem[6], oem_table[8];
    uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static bool acpi_sum_ok(const void *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + ((const uint8_t *)p)[i]);
    return s == 0;
}

static const uint8_t *acpi_find_rsdp_in(uint64_t pa, uint64_t len)
{
    for (uint64_t off = 0; off + 20 <= len; off += 16) {
        const uint8_t *p = env_phys_to_virt(pa + off);
        if (memcmp(p, "RSD PTR ", 8) == 0 && acpi_sum_ok(p, 20))
            return p;
    }
    return NULL;
}

static const uint8_t *acpi_find_rsdp(void)
{
    uint64_t ebda = (uint64_t)*(const uint16_t *)env_phys_to_virt(0x40e) << 4;
    const uint8_t *r = ebda >= 0x80000 && ebda < 0xa0000 ? acpi_find_rsdp_in(ebda, 1024) : NULL;
    return r ? r : acpi_find_rsdp_in(0xe0000, 0x20000);
}

/* Table @sig through the XSDT (revision >= 2) or the RSDT; NULL when absent or corrupt. */
static const struct acpi_sdt *acpi_find_table(const uint8_t *rsdp, const char *sig)
{
    uint64_t root = *(const uint32_t *)(rsdp + 16);
    unsigned int esz = 4;
    if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24)) {
        root = *(const uint64_t *)(rsdp + 24);
        esz = 8;
    }
    const struct acpi_sdt *t = env_phys_to_virt(root);
    if (!acpi_sum_ok(t, t->len))
        return NULL;
    for (uint32_t off = sizeof(*t); off + esz <= t->len; off += esz) {
        const uint8_t *e = (const uint8_t *)t + off;
        uint64_t pa = esz == 8 ? *(const uint64_t *)e : *(const uint32_t *)e;
        const struct acpi_sdt *s = env_phys_to_virt(pa);
        if (memcmp(s->sig, sig, 4) == 0 && acpi_sum_ok(s, s->len))
            return s;
    }
    return NULL;
}

/* MADT entries: type 0 = processor local APIC, 5 = LAPIC address override. */
static void acpi_parse_madt(const struct acpi_sdt *madt)
{
    const uint8_t *p = (const uint8_t *)madt;
    lapic_pa = *(const uint32_t *)(p + sizeof(*madt));
    for (uint32_t off = sizeof(*madt) + 8; off + 2 <= madt->len && p[off + 1] >= 2;
         off += p[off + 1]) {
        const uint8_t *e = p + off;
        if (e[0] == 0 && (*(const uint32_t *)(e + 4) & 1) && nr_listed < KERNEL_SMP_MAX_CPUS)
            madt_apic_ids[nr_listed++] = e[3];
        else if (e[0] == 5)
            lapic_pa = *(const uint64_t *)(e + 4);
    }
}

/* ---- ACPI: SRAT and SLIT, the NUMA topology (numa.h) ---- */

static struct mm_numa_topology acpi_numa;
static bool acpi_numa_valid;

/* SRAT type 0 (processor local APIC affinity, enabled): the node of the CPU with that APIC id. */
static void acpi_srat_cpu(const uint8_t *e)
{
    uint32_t dom = e[2] | (uint32_t)e[9] << 8 | (uint32_t)e[10] << 16 | (uint32_t)e[11] << 24;
    for (unsigned int i = 0; i < nr_listed && i < MM_MAX_CPUS; i++)
        if (madt_apic_ids[i] == e[3])
            acpi_numa.cpu_node[i] = (uint8_t)(dom < 255 ? dom : 255);
}

/* SRAT type 1 (memory affinity, enabled): the lowest base of each node's memory is its start. */
static bool acpi_srat_mem(const uint8_t *e, bool seen[MM_MAX_NUMNODES])
{
    uint32_t dom = *(const uint32_t *)(e + 2);
    uint64_t base = *(const uint64_t *)(e + 8);
    if (dom >= MM_MAX_NUMNODES)
        return false;
    if (!seen[dom] || base < acpi_numa.node_start[dom])
        acpi_numa.node_start[dom] = base;
    seen[dom] = true;
    acpi_numa.nr_nodes = dom + 1 > acpi_numa.nr_nodes ? dom + 1 : acpi_numa.nr_nodes;
    return true;
}

static bool acpi_parse_srat(const struct acpi_sdt *srat)
{
    const uint8_t *p = (const uint8_t *)srat;
    bool seen[MM_MAX_NUMNODES] = { false }, ok = true;
    for (uint32_t off = sizeof(*srat) + 12; off + 2 <= srat->len && p[off + 1] >= 2;
         off += p[off + 1]) {
        const uint8_t *e = p + off;
        if (e[0] == 0 && e[1] >= 16 && (*(const uint32_t *)(e + 4) & 1))
            acpi_srat_cpu(e);
        else if (e[0] == 1 && e[1] >= 40 && (*(const uint32_t *)(e + 28) & 1) &&
                 *(const uint64_t *)(e + 16))
            ok &= acpi_srat_mem(e, seen);
    }
    for (unsigned int i = 1; i < acpi_numa.nr_nodes; i++) /* a node without memory: empty */
        if (!seen[i])
            acpi_numa.node_start[i] = acpi_numa.node_start[i - 1];
    acpi_numa.node_start[0] = 0; /* node 0 owns everything below its first range */
    return ok && acpi_numa.nr_nodes > 0;
}

static void acpi_parse_slit(const struct acpi_sdt *slit)
{
    const uint8_t *p = (const uint8_t *)slit;
    uint64_t n = *(const uint64_t *)(p + sizeof(*slit));
    if (n != acpi_numa.nr_nodes || sizeof(*slit) + 8 + n * n > slit->len)
        return;
    for (unsigned int i = 0; i < n; i++)
        for (unsigned int j = 0; j < n; j++)
            acpi_numa.distance[i][j] = p[sizeof(*slit) + 8 + i * n + j];
}

static void acpi_read_numa(const uint8_t *rsdp)
{
    const struct acpi_sdt *srat = rsdp ? acpi_find_table(rsdp, "SRAT") : NULL;
    const struct acpi_sdt *slit = rsdp ? acpi_find_table(rsdp, "SLIT") : NULL;
    if (!srat || !acpi_parse_srat(srat)) {
        env_log(ENV_LOG_INFO, "numa: no usable SRAT: one node\n");
        return;
    }
    if (slit)
        acpi_parse_slit(slit);
    acpi_numa_valid = mm_numa_topology_validate(&acpi_numa, nr_listed ? nr_listed : 1) == 0;
    env_log(ENV_LOG_INFO, "numa: SRAT %u nodes%s, SLIT %s, topology %s\n", acpi_numa.nr_nodes,
            acpi_numa.nr_nodes > 1 ? "" : " (one)", slit ? "found" : "absent",
            acpi_numa_valid ? "used" : "refused (one node)");
    for (unsigned int i = 0; acpi_numa_valid && i < acpi_numa.nr_nodes; i++)
        env_log(ENV_LOG_INFO, "numa: node %u from 0x%llx, distances %u %u %u %u\n", i,
                (unsigned long long)acpi_numa.node_start[i], acpi_numa.distance[i][0],
                acpi_numa.distance[i][1], acpi_numa.distance[i][2], acpi_numa.distance[i][3]);
}

const struct mm_numa_topology *smp_numa_topology(void)
{
    return acpi_numa_valid ? &acpi_numa : NULL;
}

void smp_read_acpi(void)
{
    const uint8_t *rsdp = acpi_find_rsdp();
    const struct acpi_sdt *madt = rsdp ? acpi_find_table(rsdp, "APIC") : NULL;

    arch_outb(0x21, 0xff); /* mask both 8259s: only LAPIC interrupts from here on */
    arch_outb(0xa1, 0xff);
    if (madt)
        acpi_parse_madt(madt);
    env_log(ENV_LOG_INFO, "smp: ACPI %s, MADT lists %u CPUs, LAPIC at 0x%llx\n",
            rsdp ? "found" : "absent", nr_listed, (unsigned long long)lapic_pa);
    acpi_read_numa(rsdp);
}

uint64_t smp_lapic_phys(void) { return lapic_pa; }
unsigned int smp_nr_online(void) { return nr_online ? nr_online : 1; }
unsigned int smp_nr_listed(void) { return nr_listed; }

/* ---- stacks (boot mm memblock) ---- */

void smp_reserve_stacks(void)
{
    for (unsigned int i = 1; i < nr_listed; i++) {
        phys_addr_t pa = memblock_alloc(SMP_AREA_SIZE, PAGE_SIZE);
        if (!pa)
            env_panic("smp: no memory for the stack of CPU %u", i);
        ap_area[i] = (uintptr_t)env_phys_to_virt(pa);
    }
}

void smp_unmap_guards(void)
{
    for (unsigned int i = 1; i < nr_listed; i++) {
        paging_unmap_page(ap_area[i]);
        paging_unmap_page(ap_area[i] + PAGE_SIZE + SMP_STACK_SIZE);
    }
}

const char *smp_describe_addr(uint64_t va)
{
    for (unsigned int i = 1; i < nr_listed; i++) {
        if (va >= ap_area[i] && va < ap_area[i] + PAGE_SIZE)
            return "guard page under an AP stack: kernel stack overflow";
        if (va >= ap_area[i] + PAGE_SIZE + SMP_STACK_SIZE &&
            va < ap_area[i] + 2 * PAGE_SIZE + SMP_STACK_SIZE)
            return "guard page under an AP double-fault stack: kernel stack overflow";
    }
    return NULL;
}

/* ---- LAPIC ---- */

static void lapic_enable(void)
{
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, 0x100u | KERNEL_SPURIOUS_VECTOR);
}

static void lapic_icr_wait(void)
{
    while (lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_BUSY)
        arch_cpu_relax();
}

/* Send ICR command @lo to APIC id @apic; interrupts off so no handler's IPI splits hi/lo. */
static void lapic_send(uint32_t apic, uint32_t lo)
{
    unsigned long flags = arch_irq_save();
    lapic_icr_wait();
    lapic_write(LAPIC_ICR_HI, apic << 24);
    lapic_write(LAPIC_ICR_LO, lo);
    lapic_icr_wait();
    arch_irq_restore(flags);
}

/* ---- AP start ---- */

static _Noreturn void smp_ap_park(unsigned int i);
void smp_ap_main(unsigned int i);

void __attribute__((used)) smp_ap_main(unsigned int i)
{
    uintptr_t area = ap_area[i];

    smp_percpu_load(i);
    cpu_write_cr4(smp_cr4);
    trap_init_ap(i, area + PAGE_SIZE + SMP_STACK_SIZE, area + SMP_AREA_SIZE);
    lapic_enable();
    percpu[i].apic_id = lapic_read(LAPIC_ID) >> 24;
    __atomic_store_n(&ap_online_flag, 1u, __ATOMIC_RELEASE);
    smp_ap_park(i);
}

static bool smp_wait_online(unsigned int ms)
{
    for (unsigned int t = 0; t < ms; t++) {
        if (__atomic_load_n(&ap_online_flag, __ATOMIC_ACQUIRE))
            return true;
        pit_delay_us(1000);
    }
    return __atomic_load_n(&ap_online_flag, __ATOMIC_ACQUIRE) != 0;
}

static bool smp_start_one(unsigned int i, uint32_t apic)
{
    struct smp_tramp_params *p =
        env_phys_to_virt(SMP_TRAMPOLINE_PA + (uint64_t)(smp_tramp_params - smp_tramp_start));

    p->stack = ap_area[i] + PAGE_SIZE + SMP_STACK_SIZE;
    p->cpu = i;
    __atomic_store_n(&ap_online_flag, 0u, __ATOMIC_RELEASE);
    lapic_send(apic, LAPIC_ICR_INIT);
    pit_delay_us(10000);
    lapic_send(apic, LAPIC_ICR_SIPI | (uint32_t)(SMP_TRAMPOLINE_PA >> 12));
    if (!smp_wait_online(10)) {
        lapic_send(apic, LAPIC_ICR_SIPI | (uint32_t)(SMP_TRAMPOLINE_PA >> 12));
        if (!smp_wait_online(1000))
            return false;
    }
    return true;
}

unsigned int smp_start_aps(unsigned int want)
{
    struct smp_tramp_params *p =
        env_phys_to_virt(SMP_TRAMPOLINE_PA + (uint64_t)(smp_tramp_params - smp_tramp_start));
    uint32_t me;

    lapic_enable();
    me = lapic_read(LAPIC_ID) >> 24;
    percpu[0].apic_id = me;
    nr_online = 1;
    if (want == 0 || want > nr_listed)
        want = nr_listed;
    memcpy(env_phys_to_virt(SMP_TRAMPOLINE_PA), smp_tramp_start,
           (size_t)(smp_tramp_end - smp_tramp_start));
    smp_ap_cr3 = kernel_pt.root;
    smp_cr4 = cpu_read_cr4();
    p->cr3 = (uint32_t)KERNEL_V2P(boot_pml4);
    p->efer_or = (1u << 8) | (kernel_cpu.nx ? (uint32_t)X86_EFER_NXE : 0);
    p->entry = (uint64_t)(uintptr_t)smp_ap_entry64;
    for (unsigned int k = 0; k < nr_listed && nr_online < want; k++) {
        if (madt_apic_ids[k] == me)
            continue;
        unsigned int i = nr_online;
        if (!smp_start_one(i, madt_apic_ids[k])) {
            env_log(ENV_LOG_ERR, "smp: CPU with APIC id %u did not come online\n", madt_apic_ids[k]);
            continue;
        }
        nr_online++;
        env_log(ENV_LOG_INFO, "smp: CPU %u (APIC id %u) online\n", i, percpu[i].apic_id);
    }
    env_log(ENV_LOG_INFO, "smp: %u of %u CPUs online\n", nr_online, nr_listed ? nr_listed : 1);
    return nr_online;
}

/* ---- cross-CPU calls ---- */

/*
 * Sleeping waits. Under TCG with more vCPUs than host cores a spinning vCPU takes host time from
 * the one it waits for, so a CPU waiting with interrupts on sleeps in hlt, and whoever changes
 * the word it waits on kicks it with an IPI (the IPI vector; its handler just finds no call).
 * Dekker with seq_cst: either the waiter sees the new value, or the writer sees it asleep.
 */
static void smp_kick(unsigned int cpu)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&cpu_sleeping[cpu], __ATOMIC_SEQ_CST))
        lapic_send(percpu[cpu].apic_id, KERNEL_IPI_VECTOR);
}

static void smp_wait_relax(void);

/* Wait until *@w == @want: asleep between checks when interrupts are on, else spinning. */
static void smp_wait_word(const unsigned int *w, unsigned int want)
{
    unsigned int me = smp_self();

    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != want) {
        unsigned long flags = arch_irq_save();
        if (!(flags & X86_EFLAGS_IF)) {
            smp_wait_relax();
            continue;
        }
        __atomic_store_n(&cpu_sleeping[me], 1u, __ATOMIC_SEQ_CST);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(w, __ATOMIC_SEQ_CST) != want)
            __asm__ __volatile__("sti; hlt" ::: "memory"); /* the kick lands in hlt */
        else
            __asm__ __volatile__("sti" ::: "memory");
        __atomic_store_n(&cpu_sleeping[me], 0u, __ATOMIC_RELAXED);
    }
}

/*
 * A contended spinlock taken with interrupts on: sleep in hlt while *@word stays set, until the
 * holder's release kicks (smp_lock_released) or any interrupt arrives; the caller tries the lock
 * again either way. Spinning here took the host core the holder's vCPU needed. Dekker as in
 * smp_wait_word, on cpu_sleeping and the lock word.
 */
void smp_lock_sleep(const volatile unsigned int *word)
{
    unsigned int me = smp_self();

    arch_irq_save();
    __atomic_store_n(&cpu_lock_wait[me], word, __ATOMIC_SEQ_CST);
    __atomic_store_n(&cpu_sleeping[me], 1u, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST))
        __asm__ __volatile__("sti; hlt" ::: "memory"); /* the kick lands in hlt */
    else
        __asm__ __volatile__("sti" ::: "memory");
    __atomic_store_n(&cpu_sleeping[me], 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&cpu_lock_wait[me], NULL, __ATOMIC_RELAXED);
}

void smp_lock_released(const volatile unsigned int *word)
{
    unsigned int me = smp_self();

    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (unsigned int cpu = 0; cpu < run.n; cpu++)
        if (cpu != me && __atomic_load_n(&cpu_sleeping[cpu], __ATOMIC_SEQ_CST) &&
            __atomic_load_n(&cpu_lock_wait[cpu], __ATOMIC_SEQ_CST) == word)
            lapic_send(percpu[cpu].apic_id, KERNEL_IPI_VECTOR);
}

/* Run the call posted in @m, if one is and nobody claimed it yet; kick its sender. */
static void smp_mailbox_take(struct smp_mailbox *m)
{
    if (!__atomic_exchange_n(&m->pending, 0u, __ATOMIC_ACQUIRE))
        return;
    unsigned int sender = m->sender;
    KERNEL_PERCPU_WRITE(in_call, KERNEL_PERCPU_READ(in_call) + 1);
    m->fn(m->arg);
    KERNEL_PERCPU_WRITE(in_call, KERNEL_PERCPU_READ(in_call) - 1);
    __atomic_store_n(&m->done, 1u, __ATOMIC_RELEASE);
    smp_kick(sender);
}

void smp_poll_flush(void)
{
    if (__atomic_load_n(&run.active, __ATOMIC_RELAXED))
        smp_mailbox_take(&mbox[smp_self()][1]);
}

static void smp_wait_relax(void)
{
    smp_poll_flush();
    arch_cpu_relax();
}

void smp_ipi_handle(void)
{
    unsigned int me = smp_self();

    smp_mailbox_take(&mbox[me][1]);
    smp_mailbox_take(&mbox[me][0]);
    lapic_write(LAPIC_EOI, 0);
}

/* ---- the boot CPU's LAPIC timer ---- */

static void (*volatile timer_tick)(void);

void smp_timer_start(uint32_t count, void (*tick)(void))
{
    if (smp_self() != 0 || !tick || !count)
        env_panic("smp_timer_start(%u, %p) on CPU %u", count, (void *)tick, smp_self());
    timer_tick = tick;
    lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | KERNEL_TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, count);
}

void smp_timer_stop(void)
{
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | KERNEL_TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 0);
    timer_tick = NULL;
}

void smp_timer_handle(void)
{
    void (*tick)(void) = timer_tick;
    if (tick)
        tick();
    lapic_write(LAPIC_EOI, 0);
}

void smp_call(unsigned int cpu, void (*fn)(void *arg), void *arg, bool flush)
{
    struct smp_mailbox *m = &mbox[cpu][flush ? 1 : 0];

    if (cpu >= run.n || cpu == smp_self())
        env_panic("smp_call to CPU %u from CPU %u (%u running)", cpu, smp_self(), run.n);
    while (__atomic_exchange_n(&m->busy, 1u, __ATOMIC_ACQUIRE))
        smp_wait_relax();
    m->fn = fn;
    m->arg = arg;
    m->sender = smp_self();
    __atomic_store_n(&m->done, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&m->pending, 1u, __ATOMIC_RELEASE);
    lapic_send(percpu[cpu].apic_id, KERNEL_IPI_VECTOR);
    smp_wait_word(&m->done, 1u);
    __atomic_store_n(&m->busy, 0u, __ATOMIC_RELEASE);
    __atomic_add_fetch(&ipi_count, 1ul, __ATOMIC_RELAXED);
}

struct smp_range {
    uintptr_t start, end;
};

void smp_tlb_shootdown(uintptr_t start, uintptr_t end, void (*flush)(void *range))
{
    struct smp_range r = { start, end };
    unsigned int me;

    if (!__atomic_load_n(&run.active, __ATOMIC_ACQUIRE))
        return;
    me = smp_self();
    for (unsigned int cpu = 0; cpu < run.n; cpu++) {
        if (cpu == me || smp_skip_shootdown)
            continue;
        smp_call(cpu, flush, &r, true);
        __atomic_add_fetch(&shootdown_count, 1ul, __ATOMIC_RELAXED);
    }
}

unsigned long smp_ipi_count(void) { return __atomic_load_n(&ipi_count, __ATOMIC_RELAXED); }
unsigned long smp_shootdown_count(void) { return __atomic_load_n(&shootdown_count, __ATOMIC_RELAXED); }
bool smp_active(void) { return __atomic_load_n(&run.active, __ATOMIC_ACQUIRE); }

/* ---- concurrent runs ---- */

/* Drop every TLB entry, global ones included (CR4.PGE toggle, or a CR3 reload without PGE). */
static void smp_flush_tlb_all(void)
{
    uint64_t cr4 = cpu_read_cr4();
    if (cr4 & (1ull << 7)) {
        cpu_write_cr4(cr4 & ~(1ull << 7));
        cpu_write_cr4(cr4);
    } else {
        cpu_write_cr3(cpu_read_cr3());
    }
}

static void smp_ap_run_one(unsigned int i)
{
    smp_flush_tlb_all();
    __asm__ __volatile__("sti" ::: "memory");
    run.fn(i, run.arg);
    __asm__ __volatile__("cli" ::: "memory");
    __atomic_add_fetch(&run.done, 1u, __ATOMIC_RELEASE);
    smp_kick(0);
}

/* An AP between runs: interrupts on only inside hlt, so a wake-up between check and hlt is kept. */
static _Noreturn void smp_ap_park(unsigned int i)
{
    for (;;) {
        __asm__ __volatile__("cli" ::: "memory");
        unsigned int gen = __atomic_load_n(&run.gen, __ATOMIC_ACQUIRE);
        if (gen != ap_seen_gen[i]) {
            ap_seen_gen[i] = gen;
            if (i < run.n)
                smp_ap_run_one(i);
            continue;
        }
        __asm__ __volatile__("sti; hlt" ::: "memory");
    }
}

void kernel_smp_run(unsigned int n, void (*fn)(unsigned int cpu, void *arg), void *arg)
{
    unsigned int saved = KERNEL_PERCPU_READ(cpu);

    if (n == 0 || n > smp_nr_online() || smp_self() != 0)
        env_panic("kernel_smp_run: %u CPUs asked, %u online", n, smp_nr_online());
    run.fn = fn;
    run.arg = arg;
    run.n = n;
    __atomic_store_n(&run.done, 0u, __ATOMIC_RELAXED);
    barrier.count = 0;
    barrier.sense = 0;
    for (unsigned int i = 0; i < KERNEL_SMP_MAX_CPUS; i++)
        barrier_local[i] = 0;
    KERNEL_PERCPU_WRITE(cpu, 0);
    __atomic_store_n(&run.active, true, __ATOMIC_RELEASE);
    __atomic_add_fetch(&run.gen, 1u, __ATOMIC_RELEASE);
    for (unsigned int i = 1; i < nr_online; i++)
        lapic_send(percpu[i].apic_id, KERNEL_IPI_VECTOR); /* wake from hlt */
    unsigned long flags = arch_irq_save();
    __asm__ __volatile__("sti" ::: "memory");
    fn(0, arg);
    smp_wait_word(&run.done, n - 1);
    __atomic_store_n(&run.active, false, __ATOMIC_RELEASE);
    __asm__ __volatile__("cli" ::: "memory");
    arch_irq_restore(flags);
    KERNEL_PERCPU_WRITE(cpu, saved);
}

/* Sense-reversing: the last arrival resets the count and flips the sense the others wait on. */
void kernel_smp_barrier(void)
{
    unsigned int me = smp_self(), sense = !barrier_local[me];

    barrier_local[me] = sense;
    if (__atomic_add_fetch(&barrier.count, 1u, __ATOMIC_ACQ_REL) == run.n) {
        __atomic_store_n(&barrier.count, 0u, __ATOMIC_RELAXED);
        __atomic_store_n(&barrier.sense, sense, __ATOMIC_RELEASE);
        for (unsigned int i = 0; i < run.n; i++)
            if (i != me)
                smp_kick(i);
        return;
    }
    smp_wait_word(&barrier.sense, sense);
}
