/*
 * test_domains.c - suite "domains": protection domains (mm/protection, memory_protection.h) and
 * their enforcement by protection keys in the hosted software MMU. Hosted only (kt_suites.h):
 * accesses go through machine_mmu_copy on the domain window, with the rights registers the mm
 * loaded on domain entry.
 *
 * Each case boots a small machine (2 CPUs where another CPU's TLB matters), creates domains,
 * touches memory from inside them and checks the outcome (done, or a #PF with the PK bit), the
 * misuse reports, and domain_check / mm_check. The break-the-invariant cases change one PTE or
 * one field by hand and require domain_check to name the invariant.
 */
#include <string.h>

#include "kt_util.h"
#include "ktest.h"
#include "machine_mmu.h"
#include "memory_protection.h"
#include "../mm/internal.h"

static unsigned int dom_stale;
static void dom_tlb_report(const char *msg) { (void)msg; dom_stale++; }

static int dom_boot(unsigned int cpus)
{
    KT_TRY(kt_boot_small(16, cpus, false));
    dom_stale = 0;
    machine_tlb_set_report_hook(dom_tlb_report);
    return 0;
}

static int dom_done(void)
{
    machine_cpu_set(0);
    KT_ASSERT_EQ(dom_stale, 0);
    machine_tlb_set_report_hook(NULL);
    KT_MM_CHECK();
    domain_teardown();
    KT_MM_CHECK();
    KT_TRY(kt_conservation());
    return 0;
}

/* One 8-byte access at @va from inside domain @id (0: none) as user (@user) or supervisor.
 * Returns 0, or the #PF error code (never 0 for a fault: PF_ERR_P or a kind bit is set... a
 * supervisor read of a not-present page has code 0, so it is returned as 0x8000). */
static unsigned int dom_acc(int id, uintptr_t va, bool write, bool user, uint64_t *x)
{
    unsigned int err = 0;
    int prev = domain_enter(id);
    unsigned int acc = (write ? MMU_WRITE : MMU_READ) | (user ? MMU_USER : 0);
    size_t n = machine_mmu_copy(domain_window_root(), va, x, sizeof(*x), acc, NULL, &err);
    domain_enter(prev);
    return n == sizeof(*x) ? 0 : (err ? err : 0x8000u);
}

static unsigned int dom_rd(int id, uintptr_t va, bool user, uint64_t *x)
{
    return dom_acc(id, va, false, user, x);
}

static unsigned int dom_wr(int id, uintptr_t va, bool user, uint64_t v)
{
    return dom_acc(id, va, true, user, &v);
}

static pte_t *dom_pte(uintptr_t va) { return pt_walk(&mm_state.prot.pt, va, false, 0); }

/* Keys: one core, 14 drivers, then -MM_ENOSPC; a destroyed domain's key is recycled. */
static int test_keys_and_limits(void)
{
    KT_TRY(dom_boot(1));
    int core = domain_create(DOMAIN_CORE), drv[14];
    KT_ASSERT_GT(core, 0);
    KT_ASSERT_EQ(domain_create(DOMAIN_CORE), -MM_EEXIST);
    KT_ASSERT_EQ(domain_create((enum domain_kind)9), -MM_EINVAL);
    for (unsigned int i = 0; i < 14; i++) {
        drv[i] = domain_create(DOMAIN_DRIVER);
        KT_ASSERT_GT(drv[i], 0);
    }
    KT_ASSERT_EQ(domain_create(DOMAIN_DRIVER), -MM_ENOSPC); /* 15 supervisor keys in use */
    int u = domain_create(DOMAIN_USER);                      /* the user pool is separate */
    KT_ASSERT_GT(u, 0);
    int key = domain_key(drv[3]);
    uintptr_t va = domain_alloc_pages(drv[3], 0);
    KT_ASSERT_NE(va, 0);
    KT_ASSERT_EQ(pte_pkey(*dom_pte(va)), (unsigned int)key);
    KT_ASSERT_OK(domain_destroy(drv[3]));
    KT_ASSERT_NULL(dom_pte(va)); /* its mapping is gone (tables freed) */
    int again = domain_create(DOMAIN_DRIVER);
    KT_ASSERT_GT(again, drv[13]); /* ids are not reused */
    KT_ASSERT_EQ(domain_key(again), key); /* the key is */
    KT_ASSERT_EQ(domain_key(drv[3]), -MM_ENOENT);
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    KT_ASSERT_EQ(domain_destroy(drv[3]), -MM_ENOENT);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOMAIN, KT_ANY_PFN, before));
    before = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    KT_ASSERT_EQ(domain_enter(drv[3]), -MM_ENOENT); /* a destroyed domain cannot be entered */
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOMAIN, KT_ANY_PFN, before));
    KT_ASSERT_EQ(domain_current(), 0);
    KT_ASSERT_EQ(domain_enter(again), 0); /* and the lock was let go */
    KT_ASSERT_EQ(domain_enter(0), again);
    return dom_done();
}

/* A driver touching core memory faults with the PK bit; each domain reaches its own. */
static int test_driver_touching_core_faults_pk(void)
{
    KT_TRY(dom_boot(1));
    int core = domain_create(DOMAIN_CORE), drv = domain_create(DOMAIN_DRIVER);
    uintptr_t c = domain_alloc_pages(core, 1), d = domain_vmalloc(drv, 3 * PAGE_SIZE);
    uint64_t x = 0;
    KT_ASSERT_NE(c, 0);
    KT_ASSERT_NE(d, 0);
    KT_ASSERT_EQ(dom_wr(core, c + PAGE_SIZE + 8, false, 0x1111), 0);
    KT_ASSERT_EQ(dom_wr(drv, d + 2 * PAGE_SIZE, false, 0x2222), 0);
    unsigned int e = dom_rd(drv, c + PAGE_SIZE + 8, false, &x);
    KT_ASSERT_EQ(e, PF_ERR_P | PF_ERR_PK);
    KT_ASSERT_EQ(dom_wr(drv, c, false, 1), PF_ERR_P | PF_ERR_PK | PF_ERR_W);
    KT_ASSERT_EQ(dom_rd(core, d + 2 * PAGE_SIZE, false, &x), PF_ERR_P | PF_ERR_PK);
    KT_ASSERT_EQ(dom_rd(core, c + PAGE_SIZE + 8, false, &x), 0);
    KT_ASSERT_EQ(x, 0x1111);
    KT_ASSERT_EQ(dom_rd(0, d + 2 * PAGE_SIZE, false, &x), 0); /* outside domains: keys open */
    KT_ASSERT_EQ(x, 0x2222);
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    domain_enter(drv);
    KT_ASSERT_EQ(domain_report_fault(c + 8, PF_ERR_P | PF_ERR_PK), -MM_EACCES);
    domain_enter(0);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOMAIN, KT_ANY_PFN, before));
    uint32_t pkrs, pkru;
    domain_enter(drv);
    machine_pkey_rights(0, &pkrs, &pkru);
    domain_enter(0);
    KT_ASSERT_EQ(pkrs & (PKR_AD(domain_key(drv)) | PKR_WD(domain_key(drv))), 0);
    KT_ASSERT_NE(pkrs & PKR_AD(domain_key(core)), 0);
    return dom_done();
}

/* PKU: user pages of a user domain; a driver (supervisor access) is refused by PKRU. */
static int test_user_domain_pku(void)
{
    KT_TRY(dom_boot(1));
    int u = domain_create(DOMAIN_USER), drv = domain_create(DOMAIN_DRIVER);
    int u2 = domain_create(DOMAIN_USER);
    uintptr_t a = domain_alloc_pages(u, 0), dv = domain_alloc_pages(drv, 0);
    uint64_t x = 0;
    KT_ASSERT_TRUE(a < DOMAIN_KWIN);
    KT_ASSERT_NE(*dom_pte(a) & PTE_US, 0);
    KT_ASSERT_EQ(dom_wr(u, a, true, 7), 0);
    KT_ASSERT_EQ(dom_rd(u2, a, true, &x), PF_ERR_P | PF_ERR_PK | PF_ERR_U);
    KT_ASSERT_EQ(dom_rd(drv, a, false, &x), PF_ERR_P | PF_ERR_PK);
    /* a user access to a supervisor page fails the paging check; PKRS does not apply */
    KT_ASSERT_EQ(dom_rd(u, dv, true, &x), PF_ERR_P | PF_ERR_U);
    return dom_done();
}

/* A cached translation does not bypass the key: the register is checked on every access. */
static int test_tlb_hit_checks_key(void)
{
    KT_TRY(dom_boot(1));
    int core = domain_create(DOMAIN_CORE), drv = domain_create(DOMAIN_DRIVER);
    uintptr_t c = domain_alloc_pages(core, 0);
    uint64_t x;
    KT_ASSERT_EQ(dom_rd(core, c, false, &x), 0);
    KT_ASSERT_TRUE(machine_tlb_holds(0, domain_window_root(), c));
    KT_ASSERT_EQ(dom_rd(drv, c, false, &x), PF_ERR_P | PF_ERR_PK);
    return dom_done();
}

/* Grants: read grant reads, refuses writes; rw grant writes; revoke removes access on every CPU. */
static int test_grant_and_revoke(void)
{
    KT_TRY(dom_boot(2));
    int core = domain_create(DOMAIN_CORE), drv = domain_create(DOMAIN_DRIVER);
    int other = domain_create(DOMAIN_DRIVER);
    uintptr_t c = domain_alloc_pages(core, 0), gr = 0, gw = 0;
    uint64_t x = 0;
    KT_ASSERT_EQ(dom_wr(core, c, false, 0xabc), 0);
    KT_ASSERT_OK(domain_grant(core, c, drv, DOMAIN_GRANT_READ, &gr));
    KT_ASSERT_EQ(pte_pkey(*dom_pte(gr)), (unsigned int)domain_key(drv));
    KT_ASSERT_EQ(dom_rd(drv, gr, false, &x), 0);
    KT_ASSERT_EQ(x, 0xabc);
    KT_ASSERT_EQ(dom_wr(drv, gr, false, 1), PF_ERR_P | PF_ERR_W); /* read-only: no PK */
    KT_ASSERT_EQ(dom_rd(other, gr, false, &x), PF_ERR_P | PF_ERR_PK);
    KT_ASSERT_OK(domain_grant(core, c, other, DOMAIN_GRANT_RW, &gw));
    KT_ASSERT_EQ(dom_wr(other, gw + 8, false, 0x55), 0);
    KT_ASSERT_EQ(dom_rd(core, c + 8, false, &x), 0);
    KT_ASSERT_EQ(x, 0x55);
    /* CPU 1 caches the read grant, CPU 0 revokes: CPU 1 faults, no stale entry */
    machine_cpu_set(1);
    KT_ASSERT_EQ(dom_rd(drv, gr, false, &x), 0);
    machine_cpu_set(0);
    KT_ASSERT_OK(domain_revoke(core, gr));
    KT_ASSERT_FALSE(machine_tlb_holds(1, domain_window_root(), gr));
    machine_cpu_set(1);
    KT_ASSERT_EQ(dom_rd(drv, gr, false, &x), 0x8000u); /* not present */
    machine_cpu_set(0);
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    domain_enter(drv);
    KT_ASSERT_EQ(domain_report_fault(gr, 0), -MM_EACCES);
    domain_enter(0);
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOMAIN, KT_ANY_PFN, before));
    before = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    KT_ASSERT_EQ(domain_revoke(core, gr), -MM_EINVAL);         /* revoked already */
    KT_ASSERT_EQ(domain_revoke(drv, gw), -MM_EACCES);          /* not the owner */
    KT_ASSERT_EQ(domain_grant(drv, c, other, DOMAIN_GRANT_READ, NULL), -MM_EACCES);
    KT_ASSERT_EQ(domain_grant(core, c, core, DOMAIN_GRANT_READ, NULL), -MM_EINVAL);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_DOMAIN), before + 4);
    return dom_done();
}

/* Objects of two domains never share a slab page; misuse of domain_kfree is reported. */
static int test_slab_pages_per_domain(void)
{
    KT_TRY(dom_boot(1));
    int a = domain_create(DOMAIN_DRIVER), b = domain_create(DOMAIN_DRIVER);
    uintptr_t a1 = domain_kmalloc(a, 100), a2 = domain_kmalloc(a, 128), b1 = domain_kmalloc(b, 100);
    KT_ASSERT_NE(a1, 0);
    KT_ASSERT_EQ(a2, a1 + 128); /* same domain, same class: same page */
    KT_ASSERT_NE(pte_addr(*dom_pte(a1)), pte_addr(*dom_pte(b1)));
    uint64_t x;
    KT_ASSERT_EQ(dom_rd(b, a1, false, &x), PF_ERR_P | PF_ERR_PK);
    unsigned long before = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    KT_ASSERT_EQ(domain_kfree(b, a1), -MM_EACCES); /* another domain's object */
    KT_TRY(kt_expect_misuse(MM_MISUSE_DOMAIN, KT_ANY_PFN, before));
    KT_ASSERT_EQ(domain_kfree(a, a1 + 8), -MM_EINVAL);
    KT_ASSERT_OK(domain_kfree(a, a1));
    KT_ASSERT_EQ(domain_kfree(a, a1), -MM_EINVAL); /* double free */
    KT_ASSERT_EQ(domain_kmalloc(a, DOMAIN_OBJ_MAX + 1), 0);
    KT_ASSERT_EQ(domain_alloc_pages(a, DOMAIN_MAX_ORDER + 1), 0);
    KT_ASSERT_EQ(domain_vmalloc(a, 0), 0);
    return dom_done();
}

/* A freed domain page is zero before the page allocator hands it to anyone else. */
static int test_free_scrubs(void)
{
    KT_TRY(dom_boot(1));
    int a = domain_create(DOMAIN_DRIVER);
    uintptr_t va = domain_alloc_pages(a, 0);
    for (unsigned int off = 0; off < PAGE_SIZE; off += 512)
        KT_ASSERT_EQ(dom_wr(a, va + off, false, 0xa5a5a5a5a5a5a5a5ull), 0);
    phys_addr_t pa = pte_addr(*dom_pte(va));
    KT_ASSERT_OK(domain_free(a, va));
    struct page *p = alloc_pages(GFP_KERNEL, 0); /* per-CPU list, LIFO: the page just freed */
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(page_to_phys(p), pa);
    const uint64_t *w = page_address(p);
    for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
        KT_ASSERT_EQ(w[i], 0);
    __free_pages(p, 0);
    return dom_done();
}

/* Move keeps contents, scrub zeroes them; the source loses access on every CPU; audit kept. */
static int test_migrate_move_and_scrub(void)
{
    KT_TRY(dom_boot(2));
    int core = domain_create(DOMAIN_CORE), drv = domain_create(DOMAIN_DRIVER);
    int u = domain_create(DOMAIN_USER);
    uintptr_t c = domain_alloc_pages(core, 1), to = 0;
    uint64_t x = 0;
    KT_ASSERT_EQ(dom_wr(core, c + PAGE_SIZE, false, 0x77), 0);
    machine_cpu_set(1);
    KT_ASSERT_EQ(dom_rd(core, c + PAGE_SIZE, false, &x), 0); /* CPU 1 caches it */
    machine_cpu_set(0);
    KT_ASSERT_OK(domain_migrate(core, c, drv, DOMAIN_MIGRATE_MOVE, &to));
    KT_ASSERT_EQ(to, c); /* same half: same slot address, new key */
    KT_ASSERT_EQ(pte_pkey(*dom_pte(c)), (unsigned int)domain_key(drv));
    KT_ASSERT_FALSE(machine_tlb_holds(1, domain_window_root(), c + PAGE_SIZE));
    machine_cpu_set(1);
    KT_ASSERT_EQ(dom_rd(core, c + PAGE_SIZE, false, &x), PF_ERR_P | PF_ERR_PK);
    machine_cpu_set(0);
    KT_ASSERT_EQ(dom_rd(drv, c + PAGE_SIZE, false, &x), 0);
    KT_ASSERT_EQ(x, 0x77);
    KT_ASSERT_OK(domain_migrate(drv, c, u, DOMAIN_MIGRATE_SCRUB, &to));
    KT_ASSERT_TRUE(to < DOMAIN_KWIN); /* into the user half */
    KT_ASSERT_NULL(dom_pte(c));
    KT_ASSERT_EQ(dom_rd(u, to + PAGE_SIZE, true, &x), 0);
    KT_ASSERT_EQ(x, 0);
    KT_MM_CHECK();
    /* an object moves by copy */
    uintptr_t o = domain_kmalloc(core, 64), o2 = 0;
    KT_ASSERT_EQ(dom_wr(core, o + 8, false, 0x99), 0);
    KT_ASSERT_OK(domain_migrate(core, o, drv, DOMAIN_MIGRATE_MOVE, &o2));
    KT_ASSERT_EQ(dom_rd(drv, o2 + 8, false, &x), 0);
    KT_ASSERT_EQ(x, 0x99);
    KT_ASSERT_EQ(domain_kfree(core, o), -MM_EINVAL); /* the source slot is gone */
    struct domain_audit au[4];
    unsigned long total = 0;
    KT_ASSERT_EQ(domain_audit_read(au, 4, &total), 3);
    KT_ASSERT_EQ(total, 3);
    KT_ASSERT_EQ(au[0].src, core);
    KT_ASSERT_EQ(au[0].dst, drv);
    KT_ASSERT_EQ(au[0].npages, 2);
    KT_ASSERT_EQ(au[0].mode, DOMAIN_MIGRATE_MOVE);
    KT_ASSERT_NE(au[0].site, 0);
    KT_ASSERT_EQ(au[1].mode, DOMAIN_MIGRATE_SCRUB);
    KT_ASSERT_EQ(au[2].bytes, 64);
    return dom_done();
}

/* Pinned, under I/O, mapped by a third domain: refused, and nothing changes. */
static int test_migrate_refused(void)
{
    KT_TRY(dom_boot(1));
    int a = domain_create(DOMAIN_DRIVER), b = domain_create(DOMAIN_DRIVER);
    int c = domain_create(DOMAIN_DRIVER);
    uintptr_t va = domain_alloc_pages(a, 0), g = 0;
    uint64_t x = 0;
    KT_ASSERT_EQ(dom_wr(a, va, false, 0x42), 0);
    pte_t before_pte = *dom_pte(va);
    unsigned long mis = mm_misuse_count_kind(MM_MISUSE_DOMAIN);
    KT_ASSERT_OK(domain_pin(a, va, true));
    KT_ASSERT_EQ(domain_migrate(a, va, b, DOMAIN_MIGRATE_MOVE, NULL), -MM_EBUSY);
    KT_ASSERT_EQ(domain_free(a, va), -MM_EBUSY);
    KT_ASSERT_EQ(domain_destroy(a), -MM_EBUSY);
    KT_ASSERT_OK(domain_pin(a, va, false));
    KT_ASSERT_OK(domain_io(a, va, true));
    KT_ASSERT_EQ(domain_migrate(a, va, b, DOMAIN_MIGRATE_SCRUB, NULL), -MM_EBUSY);
    KT_ASSERT_OK(domain_io(a, va, false));
    KT_ASSERT_OK(domain_grant(a, va, c, DOMAIN_GRANT_READ, &g));
    KT_ASSERT_EQ(domain_migrate(a, va, b, DOMAIN_MIGRATE_MOVE, NULL), -MM_EBUSY);
    KT_ASSERT_EQ(domain_migrate(b, va, c, DOMAIN_MIGRATE_MOVE, NULL), -MM_EACCES);
    KT_ASSERT_EQ(domain_migrate(a, va, a, DOMAIN_MIGRATE_MOVE, NULL), -MM_EINVAL);
    KT_ASSERT_EQ(domain_migrate(a, va + 8, b, DOMAIN_MIGRATE_MOVE, NULL), -MM_EINVAL);
    KT_ASSERT_EQ(mm_misuse_count_kind(MM_MISUSE_DOMAIN), mis + 8);
    KT_ASSERT_EQ(*dom_pte(va) & ~(PTE_A | PTE_D), before_pte & ~(PTE_A | PTE_D));
    KT_ASSERT_EQ(dom_rd(a, va, false, &x), 0);
    KT_ASSERT_EQ(x, 0x42);
    KT_ASSERT_EQ(dom_rd(c, g, false, &x), 0);
    unsigned long total = 1;
    KT_ASSERT_EQ(domain_audit_read(NULL, 0, &total), 0);
    KT_ASSERT_EQ(total, 0);
    /* a grant to the destination itself is dropped by the migration */
    KT_ASSERT_OK(domain_revoke(a, g));
    KT_ASSERT_OK(domain_grant(a, va, b, DOMAIN_GRANT_RW, &g));
    KT_ASSERT_OK(domain_migrate(a, va, b, DOMAIN_MIGRATE_MOVE, NULL));
    KT_ASSERT_NULL(dom_pte(g));
    return dom_done();
}

/* Regression (fuzz target domains, corpus/domains seed 4): a page written only through a grant
 * stayed marked scrubbed after the grant went, and domain.scrub fired on its bytes. */
static int test_grant_write_survives_revoke(void)
{
    KT_TRY(dom_boot(1));
    int a = domain_create(DOMAIN_CORE), u = domain_create(DOMAIN_USER);
    uintptr_t va = domain_vmalloc(a, 2 * PAGE_SIZE), g = 0;
    KT_ASSERT_OK(domain_grant(a, va, u, DOMAIN_GRANT_RW, &g));
    KT_ASSERT_EQ(dom_wr(u, g + PAGE_SIZE + 64, true, 0x1234), 0);
    KT_ASSERT_OK(domain_revoke(a, g));
    KT_MM_CHECK();
    KT_ASSERT_OK(domain_grant(a, va, u, DOMAIN_GRANT_RW, &g));
    KT_ASSERT_EQ(dom_wr(u, g + 64, true, 0x1234), 0);
    KT_ASSERT_OK(domain_destroy(u)); /* grants to a destroyed domain go too */
    KT_MM_CHECK();
    return dom_done();
}

/* domain_check fails naming @inv. */
static int dom_check_fails(const char *inv)
{
    struct mm_check_report rep;
    memset(&rep, 0, sizeof(rep));
    KT_ASSERT_ERR(domain_check(&rep), MM_ECORRUPT);
    KT_ASSERT_NOT_NULL(rep.invariant);
    KT_ASSERT_MSG(ktest_strcmp(rep.invariant, inv) == 0, "caught %s, expected %s: %s",
                  rep.invariant, inv, rep.detail);
    KT_ASSERT_ERR(mm_check(NULL), MM_ECORRUPT);
    if (ktest_verbose)
        ktest_note("caught: %s: %s", rep.invariant, rep.detail);
    return 0;
}

/* Break each invariant by hand; domain_check names it; restored, it passes again. */
static int test_check_catches_breaks(void)
{
    KT_TRY(dom_boot(1));
    int a = domain_create(DOMAIN_DRIVER), b = domain_create(DOMAIN_DRIVER);
    uintptr_t va = domain_alloc_pages(a, 0), vb = domain_alloc_pages(b, 0), g = 0;
    KT_ASSERT_OK(domain_check(NULL));
    pte_t *p = dom_pte(va), saved = *p;
    *p = (saved & ~PTE_PKEY_MASK) | pte_mk_pkey((unsigned int)domain_key(b)); /* wrong key */
    KT_TRY(dom_check_fails("domain.key"));
    *p = saved;
    KT_ASSERT_OK(domain_grant(a, va, b, DOMAIN_GRANT_READ, &g));
    pte_t *gp = dom_pte(g), gsaved = *gp;
    *gp = gsaved | PTE_RW; /* a read grant made writable */
    KT_TRY(dom_check_fails("domain.grant"));
    *gp = gsaved;
    mm_state.prot.grant[0].live = false; /* a mapping with no live grant */
    KT_TRY(dom_check_fails("domain.grant"));
    mm_state.prot.grant[0].live = true;
    unsigned int rb = (unsigned int)((vb - DOMAIN_KWIN) / DOMAIN_SLOT_SPAN);
    struct page *pb = mm_state.prot.reg[rb].pages[0];
    pte_t *pbp = dom_pte(vb), pbsaved = *pbp;
    mm_state.prot.reg[rb].pages[0] = mm_state.prot.reg[0].pages[0];
    KT_TRY(dom_check_fails("domain.pte")); /* the slot's PTE maps another frame */
    *pbp = (pbsaved & ~PTE_ADDR_MASK) | page_to_phys(mm_state.prot.reg[0].pages[0]);
    KT_TRY(dom_check_fails("domain.owner")); /* and with the PTE along: owned twice */
    mm_state.prot.reg[rb].pages[0] = pb;
    *pbp = pbsaved;
    char *kp = page_address(pb); /* scrubbed, never written through a PTE */
    kp[100] = 1;
    KT_TRY(dom_check_fails("domain.scrub"));
    kp[100] = 0;
    mm_state.prot.reg[rb].scrubbed |= 2; /* a page beyond the region's one */
    KT_TRY(dom_check_fails("domain.scrub"));
    mm_state.prot.reg[rb].scrubbed &= 1;
    mm_state.prot.dom[0].nr_regions++;
    KT_TRY(dom_check_fails("domain.count"));
    mm_state.prot.dom[0].nr_regions--;
    uintptr_t far = DOMAIN_UWIN; /* tables nothing maps through (no user domain here) */
    KT_ASSERT_NOT_NULL(pt_walk(&mm_state.prot.pt, far, true, GFP_KERNEL));
    KT_TRY(dom_check_fails("domain.tables"));
    pt_unmap(&mm_state.prot.pt, far, far + PAGE_SIZE, NULL, NULL);
    KT_ASSERT_OK(domain_check(NULL));
    return dom_done();
}

static const struct ktest_case domains_cases[] = {
    KT_CASE(keys_and_limits),
    KT_CASE(driver_touching_core_faults_pk),
    KT_CASE(user_domain_pku),
    KT_CASE(tlb_hit_checks_key),
    KT_CASE(grant_and_revoke),
    KT_CASE(slab_pages_per_domain),
    KT_CASE(free_scrubs),
    KT_CASE(migrate_move_and_scrub),
    KT_CASE(migrate_refused),
    KT_CASE(check_catches_breaks),
    KT_CASE(grant_write_survives_revoke),
};
KT_SUITE(domains, domains_cases);
