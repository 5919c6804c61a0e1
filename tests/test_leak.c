/*
 * test_leak.c - mm_leak_scan (mm/checks/leak.c): planted leaks of every kind are each reported
 * exactly once with their address, size, cache and site; what a registered root reaches (also
 * through interior pointers and chains) is not; a cycle nobody holds is two leaks; an object
 * marked not-a-leak keeps what it points to; a clean workload (slab, kmalloc, pages, vmalloc,
 * address spaces with user pages, files) gives no report at any hardening level; the registries
 * refuse bad arguments clearly.
 *
 * Planted leaks are objects whose pointers only live in locals: the scan does not read stacks.
 */
#include "kt_util.h"
#include "mm_leak.h"
#include "mmap.h"
#include "slab.h"
#include "vmalloc.h"

static void *held[16];
static struct mm_leak_result res;

static int leak_boot(unsigned int harden_level)
{
    machine_pc(&kt_m, KT_MIB(64), 2);
    kt_m.slab_hardened = harden_level != 0;
    kt_m.slab_harden_level = harden_level;
    KT_TRY(kt_boot_current());
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(held); i++)
        held[i] = NULL;
    KT_ASSERT_OK(mm_leak_root_add(held, sizeof(held)));
    return 0;
}

/* The record of the leak at @addr, or NULL. */
static const struct mm_leak_record *leak_at(const void *addr)
{
    for (unsigned int i = 0; i < res.nr_records; i++)
        if (res.rec[i].addr == (uintptr_t)addr)
            return &res.rec[i];
    return NULL;
}

static int test_planted_leaks_reported(void)
{
    KT_TRY(leak_boot(MM_SLAB_HARDEN_FULL));
    struct kmem_cache *c = kmem_cache_create("leak_test", 48, 0, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    held[0] = kmalloc(100, GFP_KERNEL);               /* held: no report */
    char *k = kmalloc(100, GFP_KERNEL);                /* leaked kmalloc object */
    void *o = kmem_cache_alloc(c, GFP_KERNEL);         /* leaked cache object */
    struct page *pg = alloc_pages(GFP_KERNEL, 1);      /* leaked page block */
    char *v = vmalloc(3 * PAGE_SIZE);                  /* leaked vmalloc area */
    char *l = kmalloc(3 * PAGE_SIZE, GFP_KERNEL);      /* leaked large kmalloc */
    KT_ASSERT(k && o && pg && v && l && held[0]);
    unsigned long before = mm_leak_count();
    KT_ASSERT_EQ(mm_leak_scan(&res), 5);
    KT_ASSERT_EQ(res.leaks, 5);
    KT_ASSERT_EQ(mm_leak_count(), before + 5);
    KT_ASSERT_EQ(res.objects, res.reached + 5);
    KT_ASSERT_STREQ(res.rep.invariant, res.rec[0].name);
    const struct mm_leak_record *r = leak_at(k);
    KT_ASSERT_NOT_NULL(r);
    KT_ASSERT_STREQ(r->name, "leak.kmalloc");
    KT_ASSERT_STREQ(r->cache, "kmalloc-128");
    KT_ASSERT_EQ(r->size, 100);
    KT_ASSERT(r->site != 0); /* hardened slab objects record their site */
    KT_ASSERT_NOT_NULL(r = leak_at(o));
    KT_ASSERT_STREQ(r->name, "leak.slab");
    KT_ASSERT_STREQ(r->cache, "leak_test");
    KT_ASSERT_EQ(r->size, 48);
    KT_ASSERT_NOT_NULL(r = leak_at(page_address(pg)));
    KT_ASSERT_STREQ(r->name, "leak.pages");
    KT_ASSERT_EQ(r->size, 2 * PAGE_SIZE);
    KT_ASSERT_EQ(r->pfn, page_to_pfn(pg));
    KT_ASSERT(r->site != 0);
    KT_ASSERT_NOT_NULL(r = leak_at(v));
    KT_ASSERT_STREQ(r->name, "leak.vmalloc");
    KT_ASSERT_EQ(r->size, 3 * PAGE_SIZE);
    KT_ASSERT(r->site != 0);
    KT_ASSERT_NOT_NULL(r = leak_at(l));
    KT_ASSERT_STREQ(r->name, "leak.large");
    KT_ASSERT_EQ(r->size, 3 * PAGE_SIZE);
    /* the result names the leaks without holding them, even inside a registered root */
    KT_ASSERT_OK(mm_leak_root_add(&res, sizeof(res)));
    KT_ASSERT_EQ(mm_leak_scan(&res), 5);
    KT_ASSERT_OK(mm_leak_root_remove(&res));
    /* holding each one (interior pointers will do) removes exactly its report */
    held[1] = k + 99;
    held[2] = o;
    held[3] = pg;                   /* a struct page pointer holds its block */
    held[4] = v + 2 * PAGE_SIZE + 7;
    held[5] = l + PAGE_SIZE;
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    KT_ASSERT_NULL(res.rep.invariant);
    kfree(held[0]);
    kfree(k);
    kmem_cache_free(c, o);
    KT_ASSERT_OK(__free_pages(pg, 1));
    KT_ASSERT_OK(vfree(v));
    kfree(l);
    kmem_cache_destroy(c);
    KT_MM_CHECK();
    return 0;
}

static int test_interior_pointer_chain_not_leak(void)
{
    KT_TRY(leak_boot(0));
    char **a = kmalloc(64, GFP_KERNEL);
    char **b = kmalloc(200, GFP_KERNEL);
    char *c = vmalloc(PAGE_SIZE);
    KT_ASSERT(a && b && c);
    held[0] = (char *)a + 40;      /* interior pointer into a */
    a[0] = (char *)b + 150;        /* a -> inside b */
    b[0] = c + 100;                /* b -> inside the vmalloc area */
    a[1] = NULL;
    b[1] = NULL;
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    KT_ASSERT_EQ(res.reached, res.objects);
    held[0] = NULL;                /* now the whole chain is unreferenced */
    KT_ASSERT_EQ(mm_leak_scan(&res), 3);
    KT_ASSERT_NOT_NULL(leak_at(a));
    KT_ASSERT_NOT_NULL(leak_at(b));
    KT_ASSERT_NOT_NULL(leak_at(c));
    kfree(a);
    kfree(b);
    KT_ASSERT_OK(vfree(c));
    return 0;
}

/* What a vmalloc area holds is read through the pages its page table maps (leak_scan_window):
 * a pointer on its second page keeps an object, one at the last word of the area too, and the
 * guard page after the area is not read. */
static int test_vmalloc_contents_reach(void)
{
    KT_TRY(leak_boot(0));
    char **v = vmalloc(2 * PAGE_SIZE);
    char *a = kmalloc(64, GFP_KERNEL), *b = kmalloc(64, GFP_KERNEL);
    KT_ASSERT(v && a && b);
    held[0] = v;
    const size_t words = 2 * PAGE_SIZE / sizeof(char *);
    v[words / 2 + 3] = a + 8;   /* second page, interior pointer */
    v[words - 1] = b;           /* the area's last word */
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    KT_ASSERT_EQ(res.reached, res.objects);
    v[words / 2 + 3] = NULL;
    KT_ASSERT_EQ(mm_leak_scan(&res), 1);
    KT_ASSERT_NOT_NULL(leak_at(a));
    v[words - 1] = NULL;
    KT_ASSERT_EQ(mm_leak_scan(&res), 2);
    KT_ASSERT_NOT_NULL(leak_at(b));
    kfree(a);
    kfree(b);
    KT_ASSERT_OK(vfree(v));
    return 0;
}

static int test_cycle_is_two_leaks(void)
{
    KT_TRY(leak_boot(MM_SLAB_HARDEN_CHEAP));
    void **x = kzalloc(32, GFP_KERNEL);
    void **y = kzalloc(32, GFP_KERNEL);
    KT_ASSERT(x && y);
    x[0] = y;
    y[0] = x;
    KT_ASSERT_EQ(mm_leak_scan(&res), 2);
    KT_ASSERT_NOT_NULL(leak_at(x));
    KT_ASSERT_NOT_NULL(leak_at(y));
    held[0] = y;                   /* one reached: both are */
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    kfree(x);
    kfree(y);
    return 0;
}

static int test_ignored_object_not_reported(void)
{
    KT_TRY(leak_boot(MM_SLAB_HARDEN_FULL));
    void **z = kzalloc(64, GFP_KERNEL);
    void *w = kmalloc(16, GFP_KERNEL);
    KT_ASSERT(z && w);
    z[2] = w;                      /* reached only through the ignored object */
    KT_ASSERT_EQ(mm_leak_scan(&res), 2);
    KT_ASSERT_OK(mm_leak_ignore(z));
    KT_ASSERT_ERR(mm_leak_ignore(z), MM_EEXIST);
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    kfree(z);                      /* the mark goes with its object at the next scan */
    KT_ASSERT_EQ(mm_leak_scan(&res), 1);
    KT_ASSERT_NOT_NULL(leak_at(w));
    void **again = kzalloc(64, GFP_KERNEL); /* may reuse z's slot: must not inherit the mark */
    KT_ASSERT_NOT_NULL(again);
    KT_ASSERT_EQ(mm_leak_scan(&res), 2);
    kfree(again);
    kfree(w);
    return 0;
}

/* Every kind of allocation, all reachable from the root (a list through kmalloc'd nodes), plus
 * address spaces with user pages, a fork, a file and swap-free teardown: no report. */
static int clean_workload(unsigned int level)
{
    KT_TRY(leak_boot(level));
    struct kmem_cache *c = kmem_cache_create("leak_clean", 200, 64, 0, NULL);
    KT_ASSERT_NOT_NULL(c);
    void **list = NULL; /* nodes: [0] next, [1] the object, [2] its kind (0 cache, 1 pages, 2 large) */
    for (unsigned int i = 0; i < 300; i++) {
        void **n = kmalloc(24 + (i * 37) % 3000, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(n);
        n[0] = list;
        n[2] = (void *)(uintptr_t)(i % 3);
        n[1] = i % 3 == 0 ? kmem_cache_alloc(c, GFP_KERNEL)
               : i % 3 == 1 ? (void *)alloc_pages(GFP_KERNEL, i % 4) : kmalloc(9000, GFP_KERNEL);
        KT_ASSERT_NOT_NULL(n[1]);
        list = n;
    }
    held[0] = list;
    held[1] = vzalloc(5 * PAGE_SIZE);
    held[2] = krealloc(kmalloc(10, GFP_KERNEL), 500, GFP_KERNEL);
    KT_ASSERT(held[1] && held[2]);
    struct mm_struct *mm = mm_create();
    struct mm_file *f = mm_file_create(4 * PAGE_SIZE, true);
    KT_ASSERT(mm && f);
    held[3] = mm;
    held[4] = f;
    static const char msg[] = "backing store page";
    KT_ASSERT_OK(mm_file_write(f, PAGE_SIZE + 5, msg, sizeof(msg))); /* a store page */
    long a = do_mmap(mm, 0, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, NULL, 0);
    long b = do_mmap(mm, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, f, 0);
    KT_ASSERT(a > 0 && b > 0);
    struct mm_struct *child = NULL;
    KT_ASSERT_OK(mm_fork(mm, &child));
    held[5] = child;
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    KT_ASSERT_NULL(res.rep.invariant);
    KT_ASSERT(res.objects > 600 && res.reached == res.objects);
    mm_destroy(child);
    mm_destroy(mm);
    mm_file_put(f);
    for (unsigned int i = 0; list; i++) {
        void **n = list;
        list = n[0];
        uintptr_t kind = (uintptr_t)n[2];
        if (kind == 0)
            kmem_cache_free(c, n[1]);
        else if (kind == 1)
            KT_ASSERT_OK(__free_pages(n[1], (299 - i) % 4));
        else
            kfree(n[1]);
        kfree(n);
    }
    held[0] = held[3] = held[4] = held[5] = NULL;
    KT_ASSERT_OK(vfree(held[1]));
    kfree(held[2]);
    held[1] = held[2] = NULL;
    kmem_cache_destroy(c);
    KT_ASSERT_EQ(mm_leak_scan(&res), 0);
    KT_MM_CHECK();
    return 0;
}

static int test_clean_workload_no_report(void) { return clean_workload(0); }
static int test_clean_workload_no_report_hardened(void) { return clean_workload(MM_SLAB_HARDEN_FULL); }

static int test_bad_arguments(void)
{
    KT_TRY(leak_boot(0));
    KT_ASSERT_STREQ(mm_leak_kind_label(MM_LEAK_KMALLOC), "kmalloc");
    KT_ASSERT_STREQ(mm_leak_kind_label(MM_LEAK_VMALLOC), "vmalloc");
    KT_ASSERT_STREQ(mm_leak_kind_label((enum mm_leak_kind)0), "?");
    KT_ASSERT_STREQ(mm_leak_kind_label((enum mm_leak_kind)99), "?");
    unsigned long bad = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_ERR(mm_leak_root_add(NULL, 8), MM_EINVAL);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, bad));
    KT_ASSERT_ERR(mm_leak_root_add(held, 0), MM_EINVAL);
    KT_ASSERT_ERR(mm_leak_root_add((void *)~0xfful, 0x1000), MM_EINVAL); /* wraps */
    KT_ASSERT_ERR(mm_leak_root_add(held, sizeof(held)), MM_EEXIST);
    static uintptr_t many[MM_LEAK_MAX_ROOTS];
    for (unsigned int i = 1; i < MM_LEAK_MAX_ROOTS; i++) /* the table holds `held` already */
        KT_ASSERT_OK(mm_leak_root_add(&many[i], sizeof(many[i])));
    KT_ASSERT_ERR(mm_leak_root_add(&many[0], sizeof(many[0])), MM_ENOSPC);
    KT_ASSERT_OK(mm_leak_root_remove(&many[5]));
    KT_ASSERT_OK(mm_leak_root_add(&many[0], sizeof(many[0])));
    bad = mm_misuse_count_kind(MM_MISUSE_BAD_ARGUMENT);
    KT_ASSERT_ERR(mm_leak_root_remove(&many[5]), MM_ENOENT);
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ARGUMENT, KT_ANY_PFN, bad));
    KT_ASSERT_ERR(mm_leak_ignore(NULL), MM_EINVAL);
    unsigned long addr = mm_misuse_count_kind(MM_MISUSE_BAD_ADDRESS);
    KT_ASSERT_ERR(mm_leak_ignore(&many[0]), MM_EFAULT); /* not memory of the mm */
    KT_TRY(kt_expect_misuse(MM_MISUSE_BAD_ADDRESS, KT_ANY_PFN, addr));
    char *p = kmalloc(MM_LEAK_MAX_IGNORED + 1, GFP_KERNEL);
    KT_ASSERT_NOT_NULL(p);
    for (unsigned int i = 0; i < MM_LEAK_MAX_IGNORED; i++)
        KT_ASSERT_OK(mm_leak_ignore(p + i));
    KT_ASSERT_ERR(mm_leak_ignore(p + MM_LEAK_MAX_IGNORED), MM_ENOSPC);
    KT_ASSERT_EQ(mm_leak_scan(&res), 0); /* ignored: reached */
    KT_ASSERT_EQ(mm_leak_scan(NULL), 0);
    kfree(p);
    KT_MM_CHECK();
    return 0;
}

/* mm_alloc_sites: three kmalloc objects from one call site form one group; a page block and a
 * vmalloc area (whose pages are not counted again) their own; groups come largest first. */
static struct mm_alloc_site sites[MM_ALLOC_SITE_GROUPS];

static const struct mm_alloc_site *site_find(unsigned int n, enum mm_leak_kind kind, const char *cache,
                                             unsigned long min_count)
{
    for (unsigned int i = 0; i < n; i++)
        if (sites[i].kind == kind && sites[i].count >= min_count &&
            (!cache || ktest_strcmp(sites[i].cache, cache) == 0))
            return &sites[i];
    return NULL;
}

/* One call site for every object (not inlined, no tail call: an unrolled loop in the test would
 * make three sites of one). */
static MM_NOINLINE void *alloc_n(size_t n)
{
    void *p = kmalloc(n, GFP_KERNEL);
    __asm__ volatile("" ::: "memory");
    return p;
}

static int test_alloc_sites_grouped(void)
{
    KT_TRY(leak_boot(MM_SLAB_HARDEN_FULL));
    for (unsigned int i = 0; i < 3; i++)
        held[i] = alloc_n(1000);
    held[3] = alloc_pages(GFP_KERNEL, 3);
    held[4] = vmalloc(5 * PAGE_SIZE);
    KT_ASSERT(held[0] && held[1] && held[2] && held[3] && held[4]);
    int n = mm_alloc_sites(sites, MM_ALLOC_SITE_GROUPS);
    KT_ASSERT(n > 3 && n <= (int)MM_ALLOC_SITE_GROUPS);
    const struct mm_alloc_site *k = site_find((unsigned int)n, MM_LEAK_KMALLOC, "kmalloc-1k", 3);
    KT_ASSERT_NOT_NULL(k);
    KT_ASSERT_EQ(k->count, 3);
    KT_ASSERT_EQ(k->bytes, 3000);
    KT_ASSERT(k->site != 0);
    const struct mm_alloc_site *p = site_find((unsigned int)n, MM_LEAK_PAGES, NULL, 1);
    KT_ASSERT_NOT_NULL(p);
    KT_ASSERT_EQ(p->site, ((struct page *)held[3])->alloc_site);
    KT_ASSERT_EQ(p->bytes, 8 * PAGE_SIZE);
    const struct mm_alloc_site *v = site_find((unsigned int)n, MM_LEAK_VMALLOC, NULL, 1);
    KT_ASSERT_NOT_NULL(v);
    KT_ASSERT_EQ(v->bytes, 5 * PAGE_SIZE);  /* its 5 pages are not a pages group of their own */
    KT_ASSERT_NULL(site_find((unsigned int)n, MM_LEAK_PAGES, NULL, 5));
    for (int i = 1; i < n; i++)
        KT_ASSERT(sites[i - 1].bytes >= sites[i].bytes);
    struct mm_alloc_site top[2];
    KT_ASSERT_EQ(mm_alloc_sites(top, 2), n); /* the top 2 of the same ordering */
    KT_ASSERT_EQ(top[0].bytes, sites[0].bytes);
    KT_ASSERT_EQ(top[1].bytes, sites[1].bytes);
    KT_ASSERT_ERR(mm_alloc_sites(NULL, 1), MM_EINVAL);
    for (unsigned int i = 0; i < 3; i++)
        kfree(held[i]);
    KT_ASSERT_OK(__free_pages(held[3], 3));
    KT_ASSERT_OK(vfree(held[4]));
    KT_ASSERT_NULL(site_find((unsigned int)mm_alloc_sites(sites, MM_ALLOC_SITE_GROUPS),
                             MM_LEAK_KMALLOC, "kmalloc-1k", 3));
    return 0;
}

/* Age in operations: every hardened slab allocation and vmalloc area takes the next stamp; a
 * group's oldest is its first allocation's age, a leak record shows its own age, and page blocks
 * have none. Exact differences: nothing else stamps between the calls below (vmalloc stamps its
 * descriptor, the area and tree nodes: the area is only known to be younger than held[6]). */
static int test_alloc_ages_in_ops(void)
{
    KT_TRY(leak_boot(MM_SLAB_HARDEN_FULL));
    held[0] = alloc_n(1000);              /* stamp s */
    for (unsigned int i = 1; i <= 4; i++)
        held[i] = alloc_n(32);            /* s + 1 .. s + 4 */
    held[5] = alloc_n(1000);              /* s + 5 */
    volatile uintptr_t lost = (uintptr_t)alloc_n(32); /* s + 6: the leak */
    held[6] = alloc_n(32);                /* s + 7 */
    held[7] = alloc_pages(GFP_KERNEL, 0); /* no stamp */
    held[8] = vmalloc(PAGE_SIZE);         /* s + 8 ... */
    KT_ASSERT(held[0] && held[5] && held[6] && held[7] && held[8] && lost);
    int n = mm_alloc_sites(sites, MM_ALLOC_SITE_GROUPS);
    KT_ASSERT(n > 0);
    const struct mm_alloc_site *k = site_find((unsigned int)n, MM_LEAK_KMALLOC, "kmalloc-1k", 2);
    const struct mm_alloc_site *s32 = site_find((unsigned int)n, MM_LEAK_KMALLOC, "kmalloc-32", 6);
    const struct mm_alloc_site *p = site_find((unsigned int)n, MM_LEAK_PAGES, NULL, 1);
    const struct mm_alloc_site *v = site_find((unsigned int)n, MM_LEAK_VMALLOC, NULL, 1);
    KT_ASSERT(k && s32 && p && v);
    KT_ASSERT_NE(k->oldest, MM_LEAK_AGE_UNKNOWN);
    KT_ASSERT(k->oldest >= 9);            /* now - s, now >= s + 9 */
    KT_ASSERT_EQ(s32->oldest, k->oldest - 1);
    KT_ASSERT_NE(v->oldest, MM_LEAK_AGE_UNKNOWN);
    KT_ASSERT(v->oldest < k->oldest - 7); /* younger than held[6] */
    KT_ASSERT_EQ(p->oldest, MM_LEAK_AGE_UNKNOWN);
    KT_ASSERT_EQ(mm_leak_scan(&res), 1);
    const struct mm_leak_record *r = leak_at((void *)lost);
    KT_ASSERT_NOT_NULL(r);
    KT_ASSERT_EQ(r->age, k->oldest - 6);
    kfree((void *)lost);
    for (unsigned int i = 0; i <= 6; i++)
        kfree(held[i]);
    KT_ASSERT_OK(__free_pages(held[7], 0));
    KT_ASSERT_OK(vfree(held[8]));
    for (unsigned int i = 0; i <= 8; i++)
        held[i] = NULL;
    return 0;
}

/* The unhardened 64 MiB machine with the owner boot parameters given, held[] empty and a root. */
static int owner_boot(bool page_owner, bool slab_owner)
{
    machine_pc(&kt_m, KT_MIB(64), 2);
    kt_m.page_owner = page_owner;
    kt_m.slab_owner = slab_owner;
    KT_TRY(kt_boot_current());
    for (unsigned int i = 0; i < MM_ARRAY_SIZE(held); i++)
        held[i] = NULL;
    KT_ASSERT_OK(mm_leak_root_add(held, sizeof(held)));
    return 0;
}

/* page_owner (boot parameter): page blocks and large kmallocs get stamps like slab objects, so
 * their groups and leak records have ages; without it (test above) they have none. */
static int test_page_owner_ages(void)
{
    KT_TRY(owner_boot(true, false));
    held[0] = alloc_pages(GFP_KERNEL, 0); /* stamp s */
    held[1] = alloc_pages(GFP_KERNEL, 0); /* s + 1 */
    volatile uintptr_t lost = (uintptr_t)kmalloc(3 * PAGE_SIZE, GFP_KERNEL); /* large: s + 2 */
    held[2] = alloc_pages(GFP_KERNEL, 1); /* s + 3 */
    KT_ASSERT(held[0] && held[1] && held[2] && lost);
    int n = mm_alloc_sites(sites, MM_ALLOC_SITE_GROUPS);
    KT_ASSERT(n > 0);
    unsigned long oldest_pages = 0;
    for (int g = 0; g < n; g++) {
        if (sites[g].kind != MM_LEAK_PAGES && sites[g].kind != MM_LEAK_LARGE)
            continue;
        KT_ASSERT_NE(sites[g].oldest, MM_LEAK_AGE_UNKNOWN);
        KT_ASSERT(sites[g].oldest + 1 >= sites[g].count);
        oldest_pages = sites[g].oldest > oldest_pages ? sites[g].oldest : oldest_pages;
    }
    KT_ASSERT(oldest_pages >= 3); /* held[0] is at least 3 stamps older than held[2] */
    KT_ASSERT_EQ(mm_leak_scan(&res), 1);
    const struct mm_leak_record *r = leak_at((void *)lost);
    KT_ASSERT_NOT_NULL(r);
    KT_ASSERT_EQ(r->kind, MM_LEAK_LARGE);
    KT_ASSERT_NE(r->age, MM_LEAK_AGE_UNKNOWN);
    KT_ASSERT(r->age + 2 <= oldest_pages); /* younger than held[0] and held[1] */
    KT_ASSERT_OK(kfree((void *)lost));
    KT_ASSERT_OK(__free_pages(held[0], 0));
    KT_ASSERT_OK(__free_pages(held[1], 0));
    KT_ASSERT_OK(__free_pages(held[2], 1));
    for (unsigned int i = 0; i < 3; i++)
        held[i] = NULL;
    KT_ASSERT_OK(mm_leak_root_remove(held));
    return 0;
}

static void owner_ctor(void *obj)
{
    memset(obj, 0x5a, 24);
}

/* One call site for the constructed cache's objects (as alloc_n for kmalloc). */
static MM_NOINLINE void *owner_alloc(struct kmem_cache *c)
{
    void *p = kmem_cache_alloc(c, GFP_KERNEL);
    __asm__ volatile("" ::: "memory");
    return p;
}

/* Cache @name's slots are @slot bytes and its slabs hold as many as fit with @track bytes more
 * per object (its slab_owner track at the slab's end); false also when there is no such cache. */
static bool owner_layout(const char *name, size_t slot, size_t track)
{
    static struct slab_cache_stats st[64];
    unsigned int n = slab_get_stats(st, MM_ARRAY_SIZE(st));
    for (unsigned int i = 0; i < n && i < MM_ARRAY_SIZE(st); i++)
        if (!ktest_strcmp(st[i].name, name))
            return st[i].slot_size == slot &&
                   st[i].objs_per_slab == ((size_t)PAGE_SIZE << st[i].order) / (slot + track);
    return false;
}

/* slab_owner (boot parameter): unhardened caches reserve a track of 16 bytes per object at the
 * end of each slab, and only then (the slots keep their size and alignment; a slab holds fewer);
 * their objects get a site and a stamp like hardened ones, so groups and leak records have ages.
 * Without it (@on false) the same workload has neither, and the slabs hold as many as fit. */
static int owner_run(bool on)
{
    KT_TRY(owner_boot(false, on));
    struct kmem_cache *c = kmem_cache_create("owner_ctor", 24, 0, 0, owner_ctor);
    KT_ASSERT_NOT_NULL(c);
    KT_ASSERT_TRUE(owner_layout("kmalloc-64", 64, on ? 16 : 0));
    KT_ASSERT_TRUE(owner_layout("owner_ctor", 32, on ? 16 : 0)); /* 24 + the freelist word */
    held[0] = alloc_n(64);                              /* stamp s */
    held[1] = owner_alloc(c);                           /* s + 1 */
    held[2] = alloc_n(64);                              /* s + 2 */
    volatile uintptr_t lost = (uintptr_t)alloc_n(64);   /* s + 3: the leak */
    held[3] = owner_alloc(c);                           /* s + 4 */
    KT_ASSERT(held[0] && held[1] && held[2] && held[3] && lost);
    memset(held[0], 0, 64); /* an unhardened object's first word is its old freelist link: */
    memset(held[2], 0, 64); /* held[2]'s would name lost, its successor on the freelist */
    KT_ASSERT_EQ(((unsigned char *)held[3])[23], 0x5a); /* the track did not touch the object */
    int n = mm_alloc_sites(sites, MM_ALLOC_SITE_GROUPS);
    KT_ASSERT(n > 0);
    const struct mm_alloc_site *k = site_find((unsigned int)n, MM_LEAK_KMALLOC, "kmalloc-64", 3);
    const struct mm_alloc_site *o = site_find((unsigned int)n, MM_LEAK_SLAB, "owner_ctor", 2);
    KT_ASSERT(k && o);
    KT_ASSERT_EQ(mm_leak_scan(&res), 1);
    const struct mm_leak_record *r = leak_at((void *)lost);
    KT_ASSERT_NOT_NULL(r);
    if (on) {
        KT_ASSERT(k->site && o->site && k->site != o->site);
        KT_ASSERT_NE(k->oldest, MM_LEAK_AGE_UNKNOWN);
        KT_ASSERT_EQ(o->oldest, k->oldest - 1);
        KT_ASSERT_EQ(r->age, k->oldest - 3);
        KT_ASSERT_EQ(r->site, k->site);
    } else {
        KT_ASSERT(!k->site && !o->site);
        KT_ASSERT_EQ(k->oldest, MM_LEAK_AGE_UNKNOWN);
        KT_ASSERT_EQ(o->oldest, MM_LEAK_AGE_UNKNOWN);
        KT_ASSERT_EQ(r->age, MM_LEAK_AGE_UNKNOWN);
    }
    kfree((void *)lost);
    kfree(held[0]);
    kfree(held[2]);
    kmem_cache_free(c, held[1]);
    kmem_cache_free(c, held[3]);
    for (unsigned int i = 0; i < 4; i++)
        held[i] = NULL;
    KT_MM_CHECK();
    kmem_cache_destroy(c);
    KT_ASSERT_OK(mm_leak_root_remove(held));
    return 0;
}

static int test_slab_owner_ages(void)
{
    KT_TRY(owner_run(false));
    return owner_run(true);
}

static const struct ktest_case leak_cases[] = {
    KT_CASE(slab_owner_ages),
    KT_CASE(page_owner_ages),
    KT_CASE(planted_leaks_reported),
    KT_CASE(interior_pointer_chain_not_leak),
    KT_CASE(vmalloc_contents_reach),
    KT_CASE(cycle_is_two_leaks),
    KT_CASE(ignored_object_not_reported),
    KT_CASE(clean_workload_no_report),
    KT_CASE(clean_workload_no_report_hardened),
    KT_CASE(bad_arguments),
    KT_CASE(alloc_sites_grouped),
    KT_CASE(alloc_ages_in_ops),
};
KT_SUITE(leak, leak_cases);
