/*
 * check_pkeys.c - boot-time proof that protection domains (memory_protection.h) are enforced by
 * the CPU's protection keys (suite "pkeys"; QEMU TCG -cpu max has PKS and PKU).
 *
 * Each case builds domains in a fresh mm instance, then touches domain memory from inside a
 * domain with CR3 = the kernel's table plus the domain window's two top-level entries (kernel
 * half slot of DOMAIN_KWIN, user half slot of DOMAIN_UWIN), through kernel_probe: a refusal is a
 * real #PF whose error code must carry PF_ERR_PK (supervisor pages: PKRS, loaded by domain_enter
 * with WRMSR 0x6E1; user pages: PKRU, WRPKRU, here for supervisor accesses inside SMAP's window).
 * The ring-3 cases run user-mode code (kernel_ring3_run, ring3.c): a CPL 3 access to a user
 * domain's page under another domain's PKRU faults with PF_ERR_PK | PF_ERR_U, the owner's passes,
 * and WRPKRU executed at CPL 3 changes what the next user access may do.
 * Without PKS (CPUID.7.0:ECX bit 31) / PKU (bit 3) the cases skip: the keys are in the PTEs but
 * nothing enforces them.
 */
#include "kernel_arch.h"
#include "kernel_boot.h"
#include "kernel_smp.h"
#include "kt_util.h"
#include "machine_mmu.h"
#include "memory_protection.h"
#include "trap.h"

static volatile uint64_t pk_value; /* what the last pk_read read */

/* Not instrumented: the hardware, not the shadow, must refuse these accesses. */
__attribute__((no_sanitize("kernel-address"))) static void pk_read(void *target)
{
    pk_value = *(volatile uint64_t *)target;
}

__attribute__((no_sanitize("kernel-address"))) static void pk_write(void *target)
{
    *(volatile uint64_t *)target = 0x5a5a;
}

struct pk_touch {
    uintptr_t va;
    void (*fn)(void *);
    bool user_page; /* open the SMAP window (stac) around the access: PKRU must refuse it */
};

/* A top-level table: the kernel's entries plus the domain window's two; its physical address. */
static uint64_t pk_window_cr3(void)
{
    static uint64_t root[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
    const uint64_t *win = env_phys_to_virt(domain_window_root());
    const uint64_t *kern = env_phys_to_virt(kernel_pt.root);

    for (unsigned int i = 0; i < PT_ENTRIES; i++)
        root[i] = kern[i];
    root[PT_INDEX(DOMAIN_KWIN, 3)] = win[PT_INDEX(DOMAIN_KWIN, 3)];
    root[PT_INDEX(DOMAIN_UWIN, 3)] = win[PT_INDEX(DOMAIN_UWIN, 3)];
    return KERNEL_V2P(root);
}

/* Run t->fn(t->va) with the window visible (kernel_probe puts CR3 back when it faults). */
static void pk_touch_in_window(void *arg)
{
    struct pk_touch *t = arg;
    uint64_t saved = cpu_read_cr3();

    cpu_write_cr3(pk_window_cr3());
    if (t->user_page)
        uaccess_window_open();
    t->fn((void *)t->va);
    if (t->user_page)
        uaccess_window_close();
    cpu_write_cr3(saved);
}

/* Touch @va from inside domain @id; true when it faulted (then *f says how). */
static bool pk_touch(int id, uintptr_t va, void (*fn)(void *), struct kernel_fault *f)
{
    struct pk_touch t = { .va = va, .fn = fn, .user_page = va < DOMAIN_KWIN };
    int prev = domain_enter(id);
    bool faulted = kernel_probe(pk_touch_in_window, &t, f);
    if (t.user_page)
        uaccess_window_close(); /* a fault skipped the close above */
    domain_enter(prev);
    return faulted;
}

static int pk_setup(int *core, int *drv)
{
    if (!kernel_cpu.pks)
        KT_SKIP("the CPU has no PKS (CPUID.7.0:ECX bit 31): keys are recorded, not enforced");
    KT_ASSERT_NE(cpu_read_cr4() & CR4_PKS, 0);
    KT_ASSERT_OK(kt_boot_pc(64, 1));
    *core = domain_create(DOMAIN_CORE);
    *drv = domain_create(DOMAIN_DRIVER);
    KT_ASSERT_GT(*core, 0);
    KT_ASSERT_GT(*drv, 0);
    return 0;
}

static int pk_done(void)
{
    KT_MM_CHECK();
    domain_teardown();
    return 0;
}

/* A driver touching core memory faults with the PK bit; the core itself and no domain do not. */
static int test_driver_touching_core_faults_pk(void)
{
    int core, drv;
    struct kernel_fault f;
    KT_TRY(pk_setup(&core, &drv));
    uintptr_t c = domain_alloc_pages(core, 0);
    KT_ASSERT_NE(c, 0);
    KT_ASSERT_FALSE(pk_touch(core, c + 64, pk_write, &f));
    KT_ASSERT_TRUE(pk_touch(drv, c + 64, pk_read, &f));
    KT_ASSERT_EQ(f.vector, 14);
    KT_ASSERT_EQ(f.cr2, c + 64);
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_W | PF_ERR_U),
                 PF_ERR_PK | PF_ERR_P);
    KT_ASSERT_TRUE(pk_touch(drv, c, pk_write, &f));
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_W), PF_ERR_PK | PF_ERR_W);
    KT_ASSERT_FALSE(pk_touch(0, c + 64, pk_read, &f)); /* outside domains every key is open */
    KT_ASSERT_EQ(pk_value, 0x5a5a);                    /* the core's write landed */
    KT_ASSERT_FALSE(pk_touch(core, c, pk_read, &f));
    KT_ASSERT_EQ(pk_value, 0);                          /* the driver's did not */
    return pk_done();
}

/* A read grant lets the driver read, not write; revoked, the access is gone. */
static int test_grant_then_revoke(void)
{
    int core, drv;
    struct kernel_fault f;
    uintptr_t g = 0;
    KT_TRY(pk_setup(&core, &drv));
    uintptr_t c = domain_alloc_pages(core, 0);
    KT_ASSERT_OK(domain_grant(core, c, drv, DOMAIN_GRANT_READ, &g));
    KT_ASSERT_FALSE(pk_touch(drv, g, pk_read, &f));
    KT_ASSERT_TRUE(pk_touch(drv, g, pk_write, &f));
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_W), PF_ERR_P | PF_ERR_W);
    KT_ASSERT_OK(domain_revoke(core, g));
    KT_ASSERT_TRUE(pk_touch(drv, g, pk_read, &f));
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P), 0); /* not present */
    return pk_done();
}

/* After a migration the old owner faults with the PK bit and the new one reads the contents. */
static int test_migration_rekeys(void)
{
    int core, drv;
    struct kernel_fault f;
    KT_TRY(pk_setup(&core, &drv));
    uintptr_t c = domain_alloc_pages(core, 0), to = 0;
    KT_ASSERT_FALSE(pk_touch(core, c, pk_write, &f));
    KT_ASSERT_FALSE(pk_touch(core, c, pk_read, &f)); /* cached in this CPU's TLB */
    KT_ASSERT_OK(domain_migrate(core, c, drv, DOMAIN_MIGRATE_MOVE, &to));
    KT_ASSERT_TRUE(pk_touch(core, to, pk_read, &f));
    KT_ASSERT_EQ(f.error_code & PF_ERR_PK, PF_ERR_PK);
    KT_ASSERT_FALSE(pk_touch(drv, to, pk_read, &f));
    KT_ASSERT_EQ(pk_value, 0x5a5a); /* moved with its contents */
    return pk_done();
}

/* PKU: a driver's supervisor access to a user domain's page, with SMAP's window open, is refused
 * by PKRU (the driver's view closes every user key but 0); the user domain's own view opens it. */
static int test_driver_touching_user_domain_faults_pku(void)
{
    int core, drv;
    struct kernel_fault f;
    if (!kernel_cpu.pku)
        KT_SKIP("the CPU has no PKU (CPUID.7.0:ECX bit 3)");
    KT_TRY(pk_setup(&core, &drv));
    int u = domain_create(DOMAIN_USER);
    uintptr_t a = domain_alloc_pages(u, 0);
    KT_ASSERT_TRUE(a != 0 && a < DOMAIN_KWIN);
    KT_ASSERT_FALSE(pk_touch(u, a, pk_write, &f));
    KT_ASSERT_TRUE(pk_touch(drv, a, pk_read, &f));
    KT_ASSERT_EQ(f.cr2, a);
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_U), PF_ERR_PK | PF_ERR_P);
    KT_ASSERT_FALSE(pk_touch(u, a, pk_read, &f));
    KT_ASSERT_EQ(pk_value, 0x5a5a);
    return pk_done();
}

/* ---- ring 3: user-mode accesses and WRPKRU (kernel_ring3_run, ring3.c) ---- */

/* A ring-3 copy of 8 bytes at @va (read into the scratch page, or write @v) from inside domain
 * @id; true when it faulted (*@f says how), else the value read is in *@v. */
static bool pk_user_touch(int id, uintptr_t va, bool write, uint64_t *v, struct kernel_fault *f)
{
    uintptr_t scratch = RING3_CODE_VA + PAGE_SIZE;
    uint64_t *buf = kernel_ring3_scratch();
    struct ring3_regs r = { .rcx = 8, .rsi = write ? scratch : va, .rdi = write ? va : scratch };
    *buf = write ? *v : 0;
    int prev = domain_enter(id);
    int err = kernel_ring3_run(domain_window_root(), kernel_ring3_entry(RING3_COPY), &r, f);
    domain_enter(prev);
    if (err || (f->vector != 6 && f->vector != 14))
        return true;
    if (f->vector == 6 && !write)
        *v = *buf;
    return f->vector == 14;
}

/* WRPKRU of @pkru in ring 3 (RDPKRU's value after it goes to the scratch page): returns it. */
static uint32_t pk_user_wrpkru(uint32_t pkru, struct kernel_fault *f)
{
    uint32_t *buf = kernel_ring3_scratch();
    struct ring3_regs r = { .rax = pkru, .rdi = RING3_CODE_VA + PAGE_SIZE };
    *buf = ~pkru;
    if (kernel_ring3_run(domain_window_root(), kernel_ring3_entry(RING3_PKRU), &r, f))
        return ~pkru;
    return *buf;
}

static uint32_t pk_rdpkru(void)
{
    uint32_t eax, edx;
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0u));
    return eax;
}

static int pk_user_setup(int *u, int *u2, uintptr_t *a)
{
    if (!kernel_cpu.pku)
        KT_SKIP("the CPU has no PKU (CPUID.7.0:ECX bit 3)");
    KT_ASSERT_NE(cpu_read_cr4() & CR4_PKE, 0);
    KT_ASSERT_OK(kt_boot_pc(64, 1));
    *u = domain_create(DOMAIN_USER);
    *u2 = domain_create(DOMAIN_USER);
    KT_ASSERT_GT(*u, 0);
    KT_ASSERT_GT(*u2, 0);
    *a = domain_alloc_pages(*u, 0);
    KT_ASSERT_TRUE(*a != 0 && *a < DOMAIN_KWIN);
    return 0;
}

/* CPL 3: the owner's key is open in its PKRU view (the write lands, the read returns it);
 * another user domain's view closes it: #PF with P|U|PK (and W for a write), CR2 the address. */
static int test_user_mode_access_checked_by_pkru(void)
{
    int u, u2;
    uintptr_t a;
    uint64_t v = 0x1234abcd5678ef00ull;
    struct kernel_fault f;
    KT_TRY(pk_user_setup(&u, &u2, &a));
    KT_ASSERT_FALSE(pk_user_touch(u, a + 8, true, &v, &f));
    KT_ASSERT_EQ(f.vector, 6); /* the routine's ud2: it ran to its end in ring 3 */
    KT_ASSERT_EQ(f.rip, kernel_ring3_entry(RING3_COPY) + 2);
    v = 0;
    KT_ASSERT_FALSE(pk_user_touch(u, a + 8, false, &v, &f));
    KT_ASSERT_EQ(v, 0x1234abcd5678ef00ull);
    KT_ASSERT_TRUE(pk_user_touch(u2, a + 8, false, &v, &f));
    KT_ASSERT_EQ(f.vector, 14);
    KT_ASSERT_EQ(f.cr2, a + 8);
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_W | PF_ERR_U),
                 PF_ERR_PK | PF_ERR_P | PF_ERR_U);
    KT_ASSERT_TRUE(pk_user_touch(u2, a, true, &v, &f));
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_W | PF_ERR_U),
                 PF_ERR_PK | PF_ERR_P | PF_ERR_W | PF_ERR_U);
    /* a user access to a supervisor page fails the paging check: no PK bit */
    int core = domain_create(DOMAIN_CORE);
    uintptr_t c = domain_alloc_pages(core, 0);
    KT_ASSERT_TRUE(pk_user_touch(u, c, false, &v, &f));
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_U), PF_ERR_P | PF_ERR_U);
    return pk_done();
}

/* WRPKRU at CPL 3 changes the rights of the very next user access: closing the domain's own
 * key makes its read fault with PK, opening it again lets it through; RDPKRU in ring 3 and in
 * ring 0 see the value written. */
static int test_user_wrpkru_changes_rights(void)
{
    int u, u2;
    uintptr_t a;
    struct kernel_fault f;
    KT_TRY(pk_user_setup(&u, &u2, &a));
    int key = domain_key(u);
    KT_ASSERT_GT(key, 0);
    int prev = domain_enter(u);
    uint32_t open = pk_rdpkru();
    KT_ASSERT_EQ(open & PKR_AD((unsigned int)key), 0);
    uint32_t closed = open | PKR_AD((unsigned int)key);
    KT_ASSERT_EQ(pk_user_wrpkru(closed, &f), closed);
    KT_ASSERT_EQ(f.vector, 6);
    KT_ASSERT_EQ(pk_rdpkru(), closed);
    uintptr_t scratch = RING3_CODE_VA + PAGE_SIZE;
    struct ring3_regs r = { .rcx = 8, .rsi = a, .rdi = scratch };
    KT_ASSERT_OK(kernel_ring3_run(domain_window_root(), kernel_ring3_entry(RING3_COPY), &r, &f));
    KT_ASSERT_EQ(f.vector, 14);
    KT_ASSERT_EQ(f.error_code & (PF_ERR_PK | PF_ERR_P | PF_ERR_U), PF_ERR_PK | PF_ERR_P | PF_ERR_U);
    KT_ASSERT_EQ(pk_user_wrpkru(open, &f), open);
    KT_ASSERT_EQ(pk_rdpkru(), open);
    KT_ASSERT_OK(kernel_ring3_run(domain_window_root(), kernel_ring3_entry(RING3_COPY), &r, &f));
    KT_ASSERT_EQ(f.vector, 6);
    domain_enter(prev);
    return pk_done();
}

static int pk_ring3_ap_result;

static void pk_ring3_on_ap(unsigned int cpu, void *arg)
{
    struct ring3_regs r = { 0 };
    struct kernel_fault f;
    (void)arg;
    if (cpu == 1)
        pk_ring3_ap_result = kernel_ring3_run(0, kernel_ring3_entry(RING3_COPY), &r, &f);
}

/* What kernel_ring3_run and kernel_mmu_copy refuse: code outside the code page, no registers, a
 * table that uses the code page's slot or differs from the kernel in an upper slot it uses, a
 * fetch, an AP (its rsp0 is its live stack); nothing runs, and a valid call still does. */
static int test_ring3_run_refuses_misuse(void)
{
    static pte_t fake[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
    struct ring3_regs r = { 0 };
    struct kernel_fault f = { .vector = 99 };
    unsigned int pf = 0;
    uint64_t v = 0;
    if (!kernel_cpu.pks || !kernel_cpu.pku)
        KT_SKIP("no PKS or PKU: kernel_mmu_copy refuses every access");
    KT_ASSERT_EQ(kernel_ring3_run(0, RING3_CODE_VA + PAGE_SIZE, &r, &f), -1);
    KT_ASSERT_EQ(kernel_ring3_run(0, RING3_CODE_VA - 16, &r, &f), -1);
    KT_ASSERT_EQ(kernel_ring3_run(0, kernel_ring3_entry(RING3_COPY), NULL, &f), -1);
    KT_ASSERT_EQ(f.vector, 99);
    fake[PT_INDEX(RING3_CODE_VA, 3)] = KERNEL_V2P(fake) | PTE_P;
    KT_ASSERT_EQ(kernel_ring3_run(KERNEL_V2P(fake), kernel_ring3_entry(RING3_COPY), &r, &f), -1);
    fake[PT_INDEX(RING3_CODE_VA, 3)] = 0;
    const pte_t *kern = env_phys_to_virt(kernel_pt.root);
    fake[PT_ENTRIES - 1] = kern[PT_ENTRIES - 1] ^ (1ull << 10); /* a bit the CPU ignores */
    KT_ASSERT_EQ(kernel_ring3_run(KERNEL_V2P(fake), kernel_ring3_entry(RING3_COPY), &r, &f), -1);
    KT_ASSERT_EQ(kernel_mmu_copy(KERNEL_V2P(fake), RING3_CODE_VA, &v, 8, MMU_READ, &pf),
                 (size_t)-1);
    fake[PT_ENTRIES - 1] = 0;
    KT_ASSERT_EQ(f.vector, 99);
    KT_ASSERT_EQ(kernel_mmu_copy(0, RING3_CODE_VA, &v, 8, MMU_READ | MMU_EXEC, &pf), (size_t)-1);
    if (smp_nr_online() >= 2) {
        pk_ring3_ap_result = 0;
        kernel_smp_run(2, pk_ring3_on_ap, NULL);
        KT_ASSERT_EQ(pk_ring3_ap_result, -1);
    }
    KT_ASSERT_OK(kernel_ring3_run(KERNEL_V2P(fake), kernel_ring3_entry(RING3_COPY), &r, &f));
    KT_ASSERT_EQ(f.vector, 6); /* rcx 0: rep movsb does nothing, ud2 */
    return 0;
}

/* ---- every CPU: revocation and migration reach another CPU's TLB ---- */

static struct {
    int core, drv;
    uintptr_t g, c, to;
    uint64_t cr3;
    bool before_g, before_c, after_g, after_c; /* CPU 1's probes: faulted? */
    struct kernel_fault fg, fc;
    int err_revoke, err_migrate;
} pk_smp;

/* CPU 1 stays in the window's CR3 and in the driver's domain from its first read to its last: a
 * CR3 write would flush its TLB, and so does a rights-register write under QEMU TCG (its softmmu
 * TLB caches the key check), either would hide a missing shootdown. CPU 0 revokes the grant and
 * migrates the driver's page to the core in between. */
static void pk_smp_main(unsigned int cpu, void *arg)
{
    uint64_t saved = 0;
    struct kernel_fault f;
    (void)arg;
    if (cpu == 1) {
        saved = cpu_read_cr3();
        cpu_write_cr3(pk_smp.cr3);
        domain_enter(pk_smp.drv);
        pk_smp.before_g = kernel_probe(pk_read, (void *)pk_smp.g, &f); /* both now cached */
        pk_smp.before_c = kernel_probe(pk_read, (void *)pk_smp.c, &f);
    }
    kernel_smp_barrier();
    if (cpu == 0) {
        pk_smp.err_revoke = domain_revoke(pk_smp.core, pk_smp.g);
        pk_smp.err_migrate = domain_migrate(pk_smp.drv, pk_smp.c, pk_smp.core,
                                            DOMAIN_MIGRATE_MOVE, &pk_smp.to);
    }
    kernel_smp_barrier();
    if (cpu == 1) {
        pk_smp.after_g = kernel_probe(pk_read, (void *)pk_smp.g, &pk_smp.fg);
        pk_smp.after_c = kernel_probe(pk_read, (void *)pk_smp.c, &pk_smp.fc);
        domain_enter(0);
        cpu_write_cr3(saved);
    }
}

static int test_revoke_and_migrate_reach_every_cpu(void)
{
    unsigned int n = smp_nr_online();
    if (n < 2)
        KT_SKIP("one CPU (./build.sh qemu --smp N runs it)");
    if (!kernel_cpu.pks)
        KT_SKIP("the CPU has no PKS");
    KT_ASSERT_OK(kt_boot_small(16, n, false));
    pk_smp = (typeof(pk_smp)){ .core = domain_create(DOMAIN_CORE),
                               .drv = domain_create(DOMAIN_DRIVER) };
    pk_smp.c = domain_alloc_pages(pk_smp.drv, 0);
    uintptr_t c2 = domain_alloc_pages(pk_smp.core, 0);
    KT_ASSERT_OK(domain_grant(pk_smp.core, c2, pk_smp.drv, DOMAIN_GRANT_READ, &pk_smp.g));
    pk_smp.cr3 = pk_window_cr3();
    unsigned long downs = smp_shootdown_count();
    kernel_smp_run(n, pk_smp_main, NULL);
    KT_ASSERT_OK(pk_smp.err_revoke);
    KT_ASSERT_OK(pk_smp.err_migrate);
    KT_ASSERT_FALSE(pk_smp.before_g);
    KT_ASSERT_FALSE(pk_smp.before_c);
    KT_ASSERT_MSG(pk_smp.after_g, "CPU 1 still read the revoked grant through its TLB");
    KT_ASSERT_EQ(pk_smp.fg.error_code & (PF_ERR_P | PF_ERR_PK), 0);
    KT_ASSERT_MSG(pk_smp.after_c, "CPU 1 still read the page its domain gave away");
    KT_ASSERT_EQ(pk_smp.fc.error_code & PF_ERR_PK, PF_ERR_PK);
    KT_ASSERT(smp_shootdown_count() > downs);
    return pk_done();
}

static const struct ktest_case pkeys_cases[] = {
    KT_CASE(driver_touching_core_faults_pk),
    KT_CASE(grant_then_revoke),
    KT_CASE(migration_rekeys),
    KT_CASE(driver_touching_user_domain_faults_pku),
    KT_CASE(revoke_and_migrate_reach_every_cpu),
    KT_CASE(user_mode_access_checked_by_pkru),
    KT_CASE(user_wrpkru_changes_rights),
    KT_CASE(ring3_run_refuses_misuse),
};
KT_SUITE(pkeys, pkeys_cases);
