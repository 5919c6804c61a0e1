/*
 * trap.c - descriptor tables, the exception dispatcher, kernel-fault reports and probes.
 *
 * Owns the GDTs (kernel code/data, user code/data, a TSS whose IST1 is the double-fault stack; one
 * GDT and TSS per CPU), the IDT shared by every CPU (vectors 0..31, the IPI vector and the LAPIC
 * spurious vector -> entry.S stubs -> trap_dispatch) and the probe state.
 *
 * Dispatch order for an exception: an armed probe takes it (the probed code expected a fault);
 * a #PF inside uaccess_copy goes to the mm's fault handler (uaccess.c); anything else is a kernel
 * crash: a report with the registers, the vector and error code decoded, the faulting address and
 * what lies there (stack guard page = stack overflow, vmalloc hole = buffer overflow, ...), then
 * a post-mortem of the mm and an exit with the failure code.
 */
#include "arch_cpu.h"
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "mm.h"
#include "mm_dump.h"
#include "mm_env.h"
#include "mm_trace.h"
#include "mmap.h"
#include "page_alloc.h"
#include "slab.h"
#include "trap.h"
#include "kernel_smp.h"

struct kernel_cpu_features kernel_cpu;

/* ---- descriptor tables ---- */

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t off_lo, selector;
    uint8_t ist, type_attr;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_TSS   0x28

/* [0]: the boot CPU's; [i]: AP i's (each CPU its own TSS: a TSS is busy while loaded) */
static uint64_t gdt[KERNEL_SMP_MAX_CPUS][7] __attribute__((aligned(16)));
static struct tss64 tss[KERNEL_SMP_MAX_CPUS] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const uint64_t trap_stub_table[32];
extern char trap_stub_239[], trap_stub_240[], trap_stub_255[];

static void trap_set_gate(unsigned int v, uint64_t handler, unsigned int ist)
{
    idt[v].off_lo = (uint16_t)handler;
    idt[v].selector = GDT_KCODE;
    idt[v].ist = (uint8_t)ist;
    idt[v].type_attr = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
    idt[v].off_mid = (uint16_t)(handler >> 16);
    idt[v].off_hi = (uint32_t)(handler >> 32);
    idt[v].zero = 0;
}

static void trap_load_tables(unsigned int cpu)
{
    struct desc_ptr g = { sizeof(gdt[cpu]) - 1, (uint64_t)(uintptr_t)gdt[cpu] };
    struct desc_ptr i = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

    __asm__ __volatile__("lgdt %0\n\t"
                         "pushq %1\n\t"
                         "leaq 1f(%%rip), %%rax\n\t"
                         "pushq %%rax\n\t"
                         "lretq\n"
                         "1:\n\t"
                         "movw %w2, %%ax\n\t"
                         "movw %%ax, %%ds\n\t"
                         "movw %%ax, %%es\n\t"
                         "movw %%ax, %%ss\n\t"
                         "ltr %w3\n\t"
                         "lidt %4"
                         : : "m"(g), "i"(GDT_KCODE), "r"(GDT_KDATA), "r"(GDT_TSS), "m"(i)
                         : "rax", "memory");
}

/* CPU @cpu's GDT: kernel and user segments and its TSS (rsp0 = @rsp0, IST1 = @df_top). */
static void trap_build_gdt(unsigned int cpu, uintptr_t rsp0, uintptr_t df_top)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss[cpu], limit = sizeof(tss[cpu]) - 1;
    uint64_t *g = gdt[cpu];

    g[0] = 0;
    g[1] = 0x00af9a000000ffffull; /* kernel code 64 */
    g[2] = 0x00cf92000000ffffull; /* kernel data */
    g[3] = 0x00cff2000000ffffull; /* user data (DPL 3) */
    g[4] = 0x00affa000000ffffull; /* user code 64 (DPL 3) */
    g[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    g[6] = base >> 32;
    tss[cpu].rsp[0] = rsp0;
    tss[cpu].ist[0] = df_top;
    tss[cpu].iomap_base = sizeof(tss[cpu]);
}

void trap_init(void)
{
    /* ring 3 -> 0 lands on the user-trap stack: never the boot stack */
    trap_build_gdt(0, (uintptr_t)user_trap_stack_top, (uintptr_t)df_stack_top);
    for (unsigned int v = 0; v < 32; v++)
        trap_set_gate(v, trap_stub_table[v], v == 8 ? 1 : 0);
    trap_set_gate(KERNEL_TIMER_VECTOR, (uint64_t)(uintptr_t)trap_stub_239, 0);
    trap_set_gate(KERNEL_IPI_VECTOR, (uint64_t)(uintptr_t)trap_stub_240, 0);
    trap_set_gate(KERNEL_SPURIOUS_VECTOR, (uint64_t)(uintptr_t)trap_stub_255, 0);
    trap_load_tables(0);
}

void trap_init_ap(unsigned int i, uintptr_t stack_top, uintptr_t df_top)
{
    trap_build_gdt(i, stack_top, df_top);
    trap_load_tables(i);
}

/* ---- probes ---- */

static struct {
    bool active;
    struct kernel_fault *out;
    void *jmp[5];
} probe;

static void __attribute__((noreturn, used)) probe_land(void)
{
    __builtin_longjmp(probe.jmp, 1);
}

/* Kept out of line: __builtin_setjmp needs its own frame, and the probed call must not be moved. */
static __attribute__((noinline, returns_twice)) bool probe_run(void (*fn)(void *), void *arg)
{
    if (__builtin_setjmp(probe.jmp))
        return true;
    fn(arg);
    return false;
}

void user_run_enter(uint64_t rip, const struct ring3_regs *r, uint64_t rflags);

/* One instruction at @rip in ring 3: TF set (#DB after it), IF clear, every register zero. */
static void probe_user_enter(void *rip)
{
    static const struct ring3_regs zero;
    user_run_enter((uint64_t)(uintptr_t)rip, &zero, 0x102);
}

bool kernel_probe_user_exec(uintptr_t va, struct kernel_fault *f)
{
    return kernel_probe(probe_user_enter, (void *)va, f);
}

/* machine_kernel_probe's kernel side (kernel_probe_set). */
bool kernel_probe_addr(void (*fn)(void *arg), void *arg, uintptr_t *addr)
{
    struct kernel_fault f;
    bool faulted = kernel_probe(fn, arg, &f);
    if (faulted && addr)
        *addr = f.cr2;
    return faulted;
}

bool kernel_probe(void (*fn)(void *arg), void *arg, struct kernel_fault *f)
{
    struct kernel_fault scratch;

    uint64_t cr3 = cpu_read_cr3();

    probe.out = f ? f : &scratch;
    probe.active = true;
    bool faulted = probe_run(fn, arg);
    probe.active = false;
    if (faulted)
        cpu_write_cr3(cr3); /* the probed code may have switched address spaces */
    return faulted;
}

static bool trap_take_probe(struct trap_frame *f)
{
    if (!probe.active)
        return false;
    probe.active = false;
    probe.out->vector = (unsigned int)f->vector;
    probe.out->error_code = f->error_code;
    probe.out->cr2 = f->vector == 14 || f->vector == 8 ? cpu_read_cr2() : 0;
    probe.out->rip = f->rip;
    f->rip = (uint64_t)(uintptr_t)probe_land;
    f->rsp = (uint64_t)(uintptr_t)probe_stack_top - 8;
    f->cs = GDT_KCODE;
    f->ss = GDT_KDATA;
    f->rflags &= ~(1ull << 18 | 1ull << 8); /* AC, TF */
    return true;
}

/* ---- reports ---- */

static const char *const trap_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27", "reserved 28", "reserved 29",
    "reserved 30", "reserved 31",
};

static void trap_print_pf(uint64_t err, uint64_t cr2)
{
    env_log(ENV_LOG_EMERG, "  fault address 0x%llx: %s\n", (unsigned long long)cr2,
            kernel_describe_addr(cr2));
    env_log(ENV_LOG_EMERG, "  error code 0x%llx: %s, %s, %s mode%s%s\n", (unsigned long long)err,
            (err & PF_ERR_P) ? "protection violation" : "page not present",
            (err & PF_ERR_I) ? "instruction fetch" : (err & PF_ERR_W) ? "write" : "read",
            (err & PF_ERR_U) ? "user" : "kernel", (err & 8) ? ", reserved bit set" : "",
            (err & 0x20) ? ", protection key" : "");
}

static void trap_print_regs(const struct trap_frame *f)
{
    env_log(ENV_LOG_EMERG, "  RIP: %04llx:[<%016llx>] RFLAGS: %08llx\n",
            (unsigned long long)f->cs, (unsigned long long)f->rip, (unsigned long long)f->rflags);
    env_log(ENV_LOG_EMERG, "  RSP: %04llx:%016llx CR3: %016llx\n", (unsigned long long)f->ss,
            (unsigned long long)f->rsp, (unsigned long long)cpu_read_cr3());
    env_log(ENV_LOG_EMERG, "  RAX: %016llx RBX: %016llx RCX: %016llx\n",
            (unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx);
    env_log(ENV_LOG_EMERG, "  RDX: %016llx RSI: %016llx RDI: %016llx\n",
            (unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi);
    env_log(ENV_LOG_EMERG, "  RBP: %016llx R8:  %016llx R9:  %016llx\n",
            (unsigned long long)f->rbp, (unsigned long long)f->r8, (unsigned long long)f->r9);
    env_log(ENV_LOG_EMERG, "  R10: %016llx R11: %016llx R12: %016llx\n",
            (unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
    env_log(ENV_LOG_EMERG, "  R13: %016llx R14: %016llx R15: %016llx\n",
            (unsigned long long)f->r13, (unsigned long long)f->r14, (unsigned long long)f->r15);
}

static void trap_print_backtrace(uint64_t rbp)
{
    for (unsigned int depth = 0; depth < 16 && rbp >= (uint64_t)(uintptr_t)__kernel_start &&
                                 rbp < (uint64_t)(uintptr_t)__bss_end && (rbp & 7) == 0;
         depth++) {
        const uint64_t *fp = (const uint64_t *)(uintptr_t)rbp;
        env_log(ENV_LOG_EMERG, "  caller [<%016llx>]\n", (unsigned long long)fp[1]);
        rbp = fp[0];
    }
}

static _Noreturn void trap_crash(struct trap_frame *f)
{
    uint64_t cr2 = cpu_read_cr2();

    env_log(ENV_LOG_EMERG, "KERNEL CRASH: %s (vector %llu)\n", trap_names[f->vector & 31],
            (unsigned long long)f->vector);
    if (f->vector == 14) {
        trap_print_pf(f->error_code, cr2);
    } else if (f->vector == 8) {
        env_log(ENV_LOG_EMERG, "  last fault address 0x%llx: %s\n", (unsigned long long)cr2,
                kernel_describe_addr(cr2));
    }
    trap_print_regs(f);
    trap_print_backtrace(f->rbp);
    kernel_post_mortem();
    kernel_exit(KERNEL_EXIT_FAIL);
}

void trap_dispatch(struct trap_frame *f)
{
    if (kernel_cpu.smap)
        __asm__ __volatile__("clac" ::: "memory");
    if (f->vector == KERNEL_IPI_VECTOR) {
        smp_ipi_handle();
        return;
    }
    if (f->vector == KERNEL_TIMER_VECTOR) {
        smp_timer_handle();
        return;
    }
    if (f->vector == KERNEL_SPURIOUS_VECTOR)
        return; /* a spurious LAPIC interrupt takes no EOI */
    if (f->vector == 14 && !(f->error_code & PF_ERR_U)) /* a KFENCE fault: report it first */
        (void)kfence_handle_fault(cpu_read_cr2(), (f->error_code & PF_ERR_W) != 0);
    if (trap_take_probe(f))
        return;
    if (f->vector == 14 && uaccess_handle_fault(f, cpu_read_cr2()))
        return;
    trap_crash(f);
}

/* ---- post-mortem ---- */

struct mm_struct *kernel_uaccess_last_mm(void);

static void postmortem_show_vmas(struct mm_struct *mm)
{
    uintptr_t addr = 0;
    unsigned int n = 0;
    struct vm_area_struct *v;

    env_log(ENV_LOG_EMERG, "address space %p (last used by a user access):\n", (void *)mm);
    while (n < 64 && (v = find_vma(mm, addr)) != NULL) {
        env_log(ENV_LOG_EMERG, "  %012lx-%012lx %c%c%c %s pgoff %llu\n", (unsigned long)v->vm_start,
                (unsigned long)v->vm_end, (v->vm_flags & VM_READ) ? 'r' : '-',
                (v->vm_flags & VM_WRITE) ? 'w' : '-', (v->vm_flags & VM_EXEC) ? 'x' : '-',
                v->vm_file ? "file" : "anon", (unsigned long long)v->vm_pgoff);
        addr = v->vm_end;
        n++;
    }
    if (!n)
        env_log(ENV_LOG_EMERG, "  (no VMAs)\n");
}

/* The last POSTMORTEM_EVENTS trace events of every CPU of the instance, oldest first. */
#define POSTMORTEM_EVENTS 8
static void postmortem_show_trace(void)
{
    static struct mm_trace_event ev[POSTMORTEM_EVENTS];
    char line[200];

    env_log(ENV_LOG_EMERG, "trace: mask 0x%x, %llu events since boot\n", mm_trace_get_mask(),
            (unsigned long long)mm_trace_last_seq());
    for (unsigned int cpu = 0; cpu < mm_nr_cpus(); cpu++) {
        int n = mm_trace_read_cpu(cpu, ev, POSTMORTEM_EVENTS);
        env_log(ENV_LOG_EMERG, "trace: cpu%u, last %d events:\n", cpu, n < 0 ? 0 : n);
        for (int i = 0; i < n; i++) {
            mm_trace_format(&ev[i], line, sizeof(line));
            env_log(ENV_LOG_EMERG, "  %s\n", line);
        }
    }
}

/* ---- the dump over the serial line: base64, 76 characters a line, between markers ---- */

bool kernel_pm_dump;

struct pm_b64 {
    uint8_t in[3];
    unsigned int nin;
    char line[80];
    unsigned int nline;
    uint64_t bytes;
};

static void pm_b64_flush_line(struct pm_b64 *b)
{
    if (!b->nline)
        return;
    b->line[b->nline] = 0;
    env_log(ENV_LOG_EMERG, "%s\n", b->line);
    b->nline = 0;
}

static void pm_b64_group(struct pm_b64 *b, unsigned int n)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t v = (uint32_t)b->in[0] << 16 | (uint32_t)(n > 1 ? b->in[1] : 0) << 8 |
                 (n > 2 ? b->in[2] : 0);
    for (unsigned int i = 0; i < 4; i++)
        b->line[b->nline++] = i <= n ? alpha[(v >> (18 - 6 * i)) & 63] : '=';
    if (b->nline >= 76)
        pm_b64_flush_line(b);
}

static int pm_b64_emit(void *ctx, const void *buf, size_t len)
{
    struct pm_b64 *b = ctx;
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        b->in[b->nin++] = p[i];
        if (b->nin == 3) {
            pm_b64_group(b, 3);
            b->nin = 0;
        }
    }
    b->bytes += len;
    return 0;
}

/* The mm's dump (mm_dump.h) as base64 lines between "MM-DUMP BEGIN" and "MM-DUMP END". */
static void postmortem_dump(const char *why)
{
    static struct pm_b64 b;

    b = (struct pm_b64){ .nin = 0 };
    env_log(ENV_LOG_EMERG, "MM-DUMP BEGIN v%u base64\n", MM_DUMP_VERSION);
    int rc = mm_dump_write(pm_b64_emit, &b, why);
    if (b.nin)
        pm_b64_group(&b, b.nin);
    pm_b64_flush_line(&b);
    env_log(ENV_LOG_EMERG, "MM-DUMP END bytes=%llu rc=%d\n", (unsigned long long)b.bytes, rc);
}

void kernel_post_mortem(void)
{
    static bool busy;
    struct mm_struct *mm = kernel_uaccess_last_mm();

    if (busy) /* a crash inside the dump itself */
        return;
    busy = true;
    env_log(ENV_LOG_EMERG, "---- post-mortem: mm state ----\n");
    if (!mm_ready()) {
        env_log(ENV_LOG_EMERG, "mm instance not initialised\n");
    } else {
        page_alloc_show(ENV_LOG_EMERG);
        slab_show(ENV_LOG_EMERG);
        if (mm)
            postmortem_show_vmas(mm);
        postmortem_show_trace();
        if (kernel_pm_dump)
            postmortem_dump("kernel crash");
    }
    env_log(ENV_LOG_EMERG, "---- end of post-mortem ----\n");
    busy = false;
}

/* A failure the boot survives (a corpus input's FUZZ-FAIL, a test's mm_check): the dump of the
 * mm as it is now, the first one of a boot only (each is a megabyte or two of serial log; the
 * first failure is the one to read), then the caller reports the failure as it always did. */
void kernel_pm_dump_failure(const char *why)
{
    static unsigned int dumped;

    if (!kernel_pm_dump || !mm_ready())
        return;
    if (dumped++) {
        env_log(ENV_LOG_EMERG, "MM-DUMP skipped (one per boot): %s\n", why);
        return;
    }
    env_log(ENV_LOG_EMERG, "---- post-mortem dump: %s ----\n", why);
    postmortem_dump(why);
}

_Noreturn void kernel_exit(int code)
{
    __asm__ __volatile__("outl %0, %1" : : "a"((uint32_t)code), "Nd"((uint16_t)0xf4));
    for (;;)
        arch_halt();
}
