/*
 * fuzz_target.h - the registry of fuzz targets and the platform door they run through.
 *
 * One replay program, one libFuzzer entry per target, the AFL++ driver and the kernel's corpus
 * replay all find a target here by name and run it with fuzz_run(target, data, size), the one
 * engine (engine.c), which calls the target's callbacks. A target:
 *   - decodes its input with the one decoder of ops.h under its own op table,
 *   - boots a fresh mm instance through fuzz_platform.boot (every input starts from scratch),
 *   - runs every op, checks every invariant after each op, tears down and checks conservation,
 *   - on any violation calls fuzz_fail(): one "FUZZ-FAIL ..." line, then a crash the fuzzer sees.
 *
 *   - feeds the outcome of every op to the digest (digest.h): fuzz_digest_begin() first, then
 *     fuzz_digest_op() per op record and the results of the calls it makes.
 *
 * The platform is chosen at link time, as the mm's environment is: platform_machine.c (shared by
 * both builds, over the machine API of machine.h) plus platform_hosted.c or
 * platform_kernel.c (output, crash, user access). Everything in fuzz/ except replay.c,
 * libfuzzer_main.c, afl_main.c, corpus_pack_tool.c and platform_hosted.c is freestanding-clean.
 */
#ifndef LEAXOS_FUZZ_TARGET_H
#define LEAXOS_FUZZ_TARGET_H

#include "digest.h"
#include "ops.h"

struct lx_req;
struct lx_reply;

/** What a scheduled run did (fuzz_platform.smp_run). */
struct fuzz_smp_stats {
    unsigned long points;       /* preemption points offered */
    unsigned long switches;     /* times another CPU got to run */
    unsigned long waits;        /* points where the running CPU could not go on */
    uint64_t trace;             /* hash of the sequence of CPUs that ran */
};

/** Run fn(cpu, arg) on every CPU, interleaved as @sched says; see struct fuzz_platform.smp_run. */
typedef int (*fuzz_smp_run_fn)(void (*fn)(unsigned int cpu, void *arg), void *arg,
                               const uint8_t *sched, size_t len, bool atomics,
                               struct fuzz_smp_stats *st);

/** What a target needs of the machine it runs on. */
struct fuzz_platform {
    const char *name;
    /**
     * Reset everything and boot a fresh mm on layout @l (memory map, reserves, CPUs, per-CPU
     * list settings and seed from l->m). Returns mm_init's result.
     */
    int (*boot)(const struct fuzz_layout *l);
    /**
     * As boot, but only the early stage (mm_early_init: memblock ready, no struct pages); the
     * memory map is l->xmap when set, else l->map. Returns mm_early_init's result.
     */
    int (*boot_early)(const struct fuzz_layout *l);
    /** Finish a boot_early boot (mm_core_init). Returns its result. */
    int (*core_init)(void);
    /** Make @cpu (< l->m->nr_cpus of the last boot) the current CPU of the caller. */
    void (*cpu_set)(unsigned int cpu);
    /** Write one line of output (no newline in @line). Must work with the mm in any state. */
    void (*write_line)(const char *line);
    /** Silence (true) or restore (false) the mm's own log output. */
    void (*set_quiet)(bool quiet);
    /** Stop with a crash a fuzzer records (abort / trap). Does not return. */
    void (*crash)(void);
    /**
     * User access of @len bytes at @va of @mm (access: 0 read, 1 write, 2 exec) through the MMU
     * with fault-and-retry; returns the vm_fault_result (as int) and *@fault_va. NULL when the
     * platform cannot do user accesses (target vm then skips them).
     */
    int (*user_copy)(void *mm, uintptr_t va, void *buf, size_t len, unsigned int access,
                     uintptr_t *fault_va);
    /** Replace the swap device by @slots page slots (0: none). NULL: no swap device. */
    int (*swap_reset)(unsigned long slots);
    /**
     * Make the next @count swap device reads or writes fail (-MM_EIO); 0 disarms. NULL: the
     * platform cannot inject device errors (target vm then skips "vm swapfail").
     */
    void (*swap_fail)(unsigned long count);
    /**
     * The engine finished an op's exec (before its checks). The hosted machine audits its TLBs
     * here, so a stale-entry report names the op that changed a translation without a flush.
     * NULL: nothing to do.
     */
    void (*op_done)(void);
    /**
     * The scheduled mode: run fn(cpu, arg) once on every CPU of the booted machine, one CPU at a
     * time, the schedule bytes @sched (@len) choosing which runs at each preemption point; the same
     * bytes give the same interleaving; with @atomics every atomic op of the mm is a preemption
     * point too. Returns 0 when every CPU's fn returned and fills *@st.
     * The kernel has no scheduled mode: it runs the CPUs one after the other (zero stats).
     */
    fuzz_smp_run_fn smp_run;
    /**
     * Target linux: run request @rq on the host kernel (linux_host.h; hosted: a persistent child
     * process, linux_child_hosted.c) and fill *@rp. Returns 0, or -1 when there is no host to ask
     * (the kernel) or the child could not be started or died.
     */
    int (*linux_call)(const struct lx_req *rq, struct lx_reply *rp);
    /**
     * Target domains: one access of @len bytes at @va through the tables at @root on the current
     * CPU, no fault handling (MMU_* @access of machine_mmu.h; the rights registers as the mm set
     * them). Returns the bytes done; *@pf_error the #PF error code when short. Hosted: the
     * software MMU; kernel: the real CPU (ring 3 for MMU_USER, kernel_mmu_copy). (size_t)-1: the
     * platform cannot make the access (a kernel CPU without PKS/PKU), and the target skips it.
     */
    size_t (*mmu_copy)(phys_addr_t root, uintptr_t va, void *buf, size_t len, unsigned int access,
                       unsigned int *pf_error);
};

/** The platform linked in (hosted or kernel). */
extern const struct fuzz_platform fuzz_platform;

/**
 * A target is a set of callbacks the one engine (fuzz_run) drives; it owns none of the loop.
 * For one input the engine decodes the machine header into *machine, calls setup, check(false),
 * then per op: decode, trace, digest the op kind, exec, check(op is "check"); then teardown.
 * Failures in any callback go through fuzz_fail / fuzz_fail_op and never return.
 */
struct fuzz_target {
    const char *name;
    const struct fuzz_op_table *table;
    /** The target's machine description: the engine decodes the header into it; ops decode by it. */
    struct fuzz_machine *machine;
    /**
     * Reset the target's model and boot a fresh mm for *machine. Returns how many leading ops it
     * consumed itself (vm's "swapdev" must run before the first address space exists), usually 0;
     * it digests those ops itself.
     */
    uint32_t (*setup)(const uint8_t *data, size_t size);
    /** Run one op against the mm and the model. */
    void (*exec)(const struct fuzz_op *op);
    /**
     * The checks after setup and after every op: cheap ones always; the full ones (mm_check, content
     * patterns, statistics) when @deep or fuzz_cur_check_due().
     */
    void (*check)(bool deep);
    /** Release everything and check conservation (NULL: nothing to tear down). */
    void (*teardown)(void);
};

/**
 * Where the engine is in the running input, for every target's failure report and check
 * cadence. opno: 0 during setup, 1..nops for the ops, nops + 1 during teardown. op is op #opno;
 * its text is formatted only when asked (a report, a trace), not per op.
 */
struct fuzz_cursor {
    const struct fuzz_target *target;
    uint32_t opno, nops;
    struct fuzz_op op;
};

extern struct fuzz_cursor fuzz_cur;

/** Run one input through @t: the one engine loop every driver (libFuzzer, AFL++, replay, kernel) uses. */
int fuzz_run(const struct fuzz_target *t, const uint8_t *data, size_t size);

/** The running op as text: "boot" (setup), the op's text form, or "teardown". Formats on each call. */
const char *fuzz_cur_text(void);

extern const struct fuzz_target fuzz_target_page_alloc;
extern const struct fuzz_target fuzz_target_slab;
extern const struct fuzz_target fuzz_target_misuse;
extern const struct fuzz_target fuzz_target_boot;
extern const struct fuzz_target fuzz_target_vm;
extern const struct fuzz_target fuzz_target_smp;
extern const struct fuzz_target fuzz_target_linux;
extern const struct fuzz_target fuzz_target_domains;

/** Every target, NULL-terminated, first = default. */
extern const struct fuzz_target *const fuzz_targets[];

/** @a and @b are equal strings (freestanding strcmp() == 0). */
bool fuzz_streq(const char *a, const char *b);

/** The target called @name, or NULL. */
const struct fuzz_target *fuzz_target_find(const char *name);

/** Knobs set by drivers (replay --trace): print one line per executed op with its outcome. */
extern bool fuzz_trace;

/**
 * Knobs set by drivers for the mm's trace events (trace_view.c): fuzz_trace_mask, the classes
 * the machine boots with (mm_trace.h; 0: none); with fuzz_trace set, each op's events are
 * printed after it; fuzz_trace_tail N > 0 prints the last N events when the run crashes.
 */
extern uint32_t fuzz_trace_mask;
extern unsigned int fuzz_trace_tail;
/** The engine's hooks: after setup (start), after setup and every op (events), at a crash. */
void fuzz_trace_start(void);
void fuzz_trace_events(void);
void fuzz_trace_print_tail(void);

/** Knob set by drivers (replay --sites N): before teardown, print the N allocation-site groups
 * with the most outstanding bytes (mm_alloc_sites; at most FUZZ_SITES_MAX), 0 = off. */
extern unsigned int fuzz_sites_top;
#define FUZZ_SITES_MAX 32u

/** Hook set by drivers (replay --dump FILE): called once with "crash" when a run crashes
 * (fuzz_crash) and with "end of input" before a clean run's teardown, to write a post-mortem
 * dump (mm_dump.h). NULL: none. Cleared before it is called at a crash (no recursion). */
extern void (*fuzz_dump_hook)(const char *why);

/**
 * Full-check cadence, set by drivers: the targets run mm_check() and their other whole-state
 * checks (content patterns, statistics) after op #k only when fuzz_check_due(k, n) holds, and
 * always at the start, after the last op and at teardown; the cheap checks (conservation counts,
 * misuse counter) run after every op. 1 (the default: replay, triage, repro, the corpus, the
 * kernel, the regression programs) checks after every op, so a report names the first bad op.
 * The fuzz engines' mains set FUZZ_CHECK_EVERY_DEFAULT (FUZZ_CHECK_EVERY_OP=1 or
 * FUZZ_CHECK_EVERY=N in the environment override it). Checks feed no digest, so digests do
 * not depend on it. Ops that corrupt state on purpose run their own mm_check regardless.
 */
extern unsigned int fuzz_check_every;

/**
 * Marks a verification or model function that fuzz/coverage.ignore names: kept out of line,
 * because the ignorelist applies to the function a body ends up in after inlining (inlined
 * into an op it would get that op's coverage and compare hooks).
 */
#define FUZZ_VERIFY_FN __attribute__((noinline))
#define FUZZ_CHECK_EVERY_DEFAULT 16

/**
 * Whether the full check is due after op #@opno (1-based; 0: right after setup) of an input of
 * @nops ops. At a cadence above 1 the freshly booted state is not checked in full (a boot is the
 * boot target's subject, and every input starts with one): the first full check is after op
 * #fuzz_check_every or the last op.
 */
static inline bool fuzz_check_due(uint32_t opno, uint32_t nops)
{
    return fuzz_check_every <= 1 || (opno && opno % fuzz_check_every == 0) || opno >= nops;
}

/** Whether the full check is due after the running op (fuzz_cur). */
static inline bool fuzz_cur_check_due(void)
{
    return fuzz_check_due(fuzz_cur.opno, fuzz_cur.nops);
}

/** Format one line and write it through the platform. */
void fuzz_log(const char *fmt, ...) MM_PRINTF(1, 2);

/**
 * Run @t on @data under a guard: returns 0 when the run completed, -1 when it failed and the
 * platform's crash came back here through fuzz_guard_escape() (the kernel does; the mm instance
 * the run left behind is abandoned, the next boot resets it). Hosted, a failure aborts.
 */
int fuzz_run_guarded(const struct fuzz_target *t, const uint8_t *data, size_t size);

/** Jump back into the innermost fuzz_run_guarded() if one is running; else return. */
void fuzz_guard_escape(void);

/** Write "FUZZ-FAIL <formatted>" and crash. Never returns. */
_Noreturn void fuzz_fail(const char *fmt, ...) MM_PRINTF(1, 2);

/**
 * Fail the running op (fuzz_cur) with a message @fmt that reads "head: detail": write
 * "FUZZ-FAIL head op#N [op text]: detail", let @show (may be NULL) print the mm state it concerns
 * (e.g. page_alloc_show) at warning level, write the line again and crash.
 */
_Noreturn void fuzz_fail_op(void (*show)(int level), const char *fmt, va_list ap);

/** Crash after an already-written failure line (for targets that dump state in between). */
_Noreturn void fuzz_crash(void);

#endif /* LEAXOS_FUZZ_TARGET_H */
