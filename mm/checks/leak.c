/*
 * leak.c - mm_leak_scan, kmemleak-style: collect every allocated object of the live mm into a
 * fixed table, mark what the roots reach, transitively, and report the rest (see mm_leak.h for
 * what counts as an object, a root and a reference). Also the root and not-a-leak registries
 * (mm_state.leak), and mm_alloc_sites, which groups the same object table by allocation site.
 *
 * Owns: mm_state.leak and the scan's scratch (leak_objs, leak_stack: static, so a scan never
 * allocates from the mm it scans and never changes what it finds). Invariants of a scan:
 *   - leak_objs[0, nr_direct) are direct-map objects in ascending address order (pfn walk, slots
 *     in slab order), [nr_direct, nr_objs) vmalloc areas in ascending order (the area list),
 *     then the live KFENCE objects (their window lies above every area);
 *     objects never overlap, so a word finds its object by binary search;
 *   - an object is pushed on leak_stack once, when it is first reached, so the stack never holds
 *     more than MM_LEAK_MAX_OBJECTS entries and the work is bounded by the bytes of the objects;
 *   - only bytes an owner may touch are read: requested bytes of objects, whole page blocks and
 *     vmalloc areas; slab metadata and freelists with the slot opened, as the slab checker does;
 *     vmalloc areas and KFENCE objects through the direct map of the pages their page table maps
 *     (leak_scan_window), never through the window, so a guard page is skipped, not faulted on.
 * Takes no lock: quiescence, as mm_check.
 */
#include "../heap/slab_internal.h"
#include "../virtual/vmalloc_internal.h"
#include "mm_leak.h"

enum leak_flags {
    LEAK_REACHED = 1u << 0, /* reached from a root (or ignored) */
    LEAK_NOSCAN  = 1u << 1, /* a cache descriptor: describes other objects, holds none */
    LEAK_META    = 1u << 2, /* mm metadata (SLAB_MM_INTERNAL): its vmalloc words hold nothing */
    LEAK_OWNED   = 1u << 3, /* a page of a vmalloc area: belongs to the area, never reported */
};

struct leak_obj {
    uintptr_t start;
    uint32_t len;       /* bytes scanned and matched (>= 1) */
    uint8_t kind;       /* enum mm_leak_kind */
    uint8_t flags;      /* enum leak_flags */
    const void *owner;  /* kmem_cache, struct page (block head) or vmap_area */
    uintptr_t site;
    unsigned long seq;  /* its mm_state.core.alloc_seq stamp, 0 when not recorded */
};

static struct leak_obj leak_objs[MM_LEAK_MAX_OBJECTS];
static uint32_t leak_stack[MM_LEAK_MAX_OBJECTS];

struct leak_scan {
    unsigned int nr_objs, nr_direct, sp;
    uintptr_t direct_end;       /* end of the last direct-map object */
    bool overflow;
    struct mm_leak_result *res;
};

/* ---- registries ---- */

int mm_leak_root_add(const void *start, size_t len)
{
    struct mm_leak_state *l = &mm_state.leak;
    uintptr_t s = (uintptr_t)start;
    if (!start || len == 0 || s + len < s)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, s, ~0ul,
                                "root %p length %zu: NULL, empty or wrapping", start, len);
    for (unsigned int i = 0; i < l->nr_roots; i++)
        if (l->roots[i].start == s)
            return -MM_EEXIST;
    if (l->nr_roots >= MM_LEAK_MAX_ROOTS)
        return -MM_ENOSPC;
    l->roots[l->nr_roots++] = (struct mm_leak_root){ .start = s, .len = len };
    return 0;
}

int mm_leak_root_remove(const void *start)
{
    struct mm_leak_state *l = &mm_state.leak;
    for (unsigned int i = 0; i < l->nr_roots; i++) {
        if (l->roots[i].start == (uintptr_t)start) {
            l->roots[i] = l->roots[--l->nr_roots];
            return 0;
        }
    }
    return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_ENOENT, __func__, (uintptr_t)start, ~0ul,
                            "%p is not a registered root", start);
}

int mm_leak_ignore(const void *ptr)
{
    struct mm_leak_state *l = &mm_state.leak;
    if (!ptr)
        return mm_report_misuse(MM_MISUSE_BAD_ARGUMENT, -MM_EINVAL, __func__, 0, ~0ul,
                                "NULL object");
    if (!mm_state.phys.ready || (!in_vmalloc_range(ptr) && !virt_to_page(ptr)))
        return mm_report_misuse(MM_MISUSE_BAD_ADDRESS, -MM_EFAULT, __func__, (uintptr_t)ptr,
                                ~0ul, "%p is not memory of the mm", ptr);
    for (unsigned int i = 0; i < l->nr_ignored; i++)
        if (l->ignored[i] == (uintptr_t)ptr)
            return -MM_EEXIST;
    if (l->nr_ignored >= MM_LEAK_MAX_IGNORED)
        return -MM_ENOSPC;
    l->ignored[l->nr_ignored++] = (uintptr_t)ptr;
    return 0;
}

unsigned long mm_leak_count(void)
{
    return mm_state.report.leaks;
}

/* ---- collecting objects ---- */

static void leak_add(struct leak_scan *x, uintptr_t start, size_t len, enum mm_leak_kind kind,
                     unsigned int flags, const void *owner, uintptr_t site, unsigned long seq)
{
    if (x->nr_objs >= MM_LEAK_MAX_OBJECTS) {
        x->overflow = true;
        return;
    }
    if (len == 0)
        len = 1;
    leak_objs[x->nr_objs++] = (struct leak_obj){
        .start = start, .len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len),
        .kind = (uint8_t)kind, .flags = (uint8_t)flags, .owner = owner, .site = site,
        .seq = seq,
    };
}

/* Every allocated object of slab @slab: the ones on neither its freelist nor its CPU's, nor in a
 * remote-free buffer (free, not yet returned). */
static void leak_collect_slab(struct leak_scan *x, struct page *slab)
{
    struct kmem_cache *c = slab->slab_cache;
    if (!c || c->magic != KMEM_CACHE_MAGIC || c->objects == 0 || c->objects > SLAB_MAX_OBJECTS)
        return;
    uint64_t free[SLAB_MAX_OBJECTS / 64] = { 0 };
    void *bad; /* a damaged freelist is mm_check's to report: the walk just stops there */
    slab_freelist_mark(c, slab, slab->freelist, free, &bad);
    if ((slab->flags & PG_frozen) && slab->cpu < mm_nr_cpus() && c->cpu[slab->cpu].slab == slab)
        slab_freelist_mark(c, slab, c->cpu[slab->cpu].freelist, free, &bad);
    slab_rfree_mark(c, slab, -1, free, &bad);
    unsigned int flags = c == mm_state.heap.cache_cache ? LEAK_NOSCAN
                         : (c->flags & SLAB_MM_INTERNAL) ? LEAK_META : 0;
    enum mm_leak_kind kind = c->kmalloc ? MM_LEAK_KMALLOC : MM_LEAK_SLAB;
    char *base = slab_obj_base(c, slab);
    for (unsigned int i = 0; i < c->objects; i++) {
        if (free[i / 64] & (1ull << (i % 64)))
            continue;
        char *obj = base + (size_t)i * c->size + c->obj_offset;
        void *slot = slab_slot_of(c, obj);
        slab_slot_open(c, slot);
        uintptr_t site = 0;
        unsigned long seq = 0;
        if (c->hardened) {
            site = slab_meta_of(c, obj)->site;
            seq = slab_meta_of(c, obj)->next;
        } else if (c->owner) { /* slab_owner: the slab's track array */
            slab_owner_get(c, slab, i, &site, &seq);
        }
        slab_slot_close(c, slot, true);
        leak_add(x, (uintptr_t)obj, slab_obj_req(c, obj), kind, flags, c, site, seq);
    }
}

/* One allocated block head: a slab, a large kmalloc, or plain pages nobody maps. */
static void leak_collect_block(struct leak_scan *x, struct page *head)
{
    uintptr_t addr = (uintptr_t)page_address(head);
    if (head->flags & PG_slab)
        leak_collect_slab(x, head);
    else if (head->flags & PG_large)
        leak_add(x, addr, head->private_data, MM_LEAK_LARGE, 0, head, head->alloc_site,
                 head->alloc_seq);
    else if (!(head->flags & (PG_pgtable | PG_cache)) && head->mapcount == 0)
        leak_add(x, addr, PAGE_SIZE << head->order, MM_LEAK_PAGES, 0, head, head->alloc_site,
                 head->alloc_seq);
}

static void leak_collect_direct(struct leak_scan *x)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn;) {
        struct page *p = pfn_to_page(pfn);
        unsigned int order = p->order <= MM_MAX_ORDER ? p->order : 0;
        if (p->flags & PG_head)
            leak_collect_block(x, p);
        pfn += (p->flags & (PG_head | PG_buddy)) ? 1ul << order : 1;
    }
    x->nr_direct = x->nr_objs;
    if (x->nr_direct)
        x->direct_end = leak_objs[x->nr_direct - 1].start + leak_objs[x->nr_direct - 1].len;
}

/* Index of the object holding @a among [lo, hi), or -1 (binary search on start). */
static long leak_find(unsigned int lo, unsigned int hi, uintptr_t a)
{
    unsigned int first = lo;
    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;
        if (leak_objs[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == first)
        return -1;
    const struct leak_obj *o = &leak_objs[lo - 1];
    return a - o->start < o->len ? (long)(lo - 1) : -1;
}

/* Live KFENCE objects, after the vmalloc areas: the pool's window lies above them, and its slots
 * ascend with their index. The pool's pages are one block of the mm's own: owned, never reported
 * and not scanned as a whole, so only what a reached sampled object holds is reached through it. */
static void leak_collect_kfence(struct leak_scan *x)
{
    const struct mm_kfence_state *kf = &mm_state.vmalloc.kfence;
    if (!kf->pages || !mm_state.heap.kfence_start)
        return;
    long pool = leak_find(0, x->nr_direct, (uintptr_t)page_address(kf->pages));
    if (pool >= 0 && leak_objs[pool].kind == MM_LEAK_PAGES)
        leak_objs[pool].flags |= LEAK_OWNED | LEAK_REACHED | LEAK_NOSCAN;
    for (unsigned int i = 0; i < KFENCE_NR_OBJECTS; i++) {
        const struct kfence_slot *s = &kf->slot[i];
        const struct kmem_cache *c = s->cache;
        if (s->state != KFENCE_LIVE || !c || c->magic != KMEM_CACHE_MAGIC)
            continue; /* a damaged slot is kfence_check's to report */
        leak_add(x, s->addr, s->size, c->kmalloc ? MM_LEAK_KMALLOC : MM_LEAK_SLAB,
                 (c->flags & SLAB_MM_INTERNAL) ? LEAK_META : 0, c, s->site, s->seq);
    }
}

/* vmalloc areas; the pages of an allocating area are flagged as the area's. Then KFENCE's objects. */
static void leak_collect_vmalloc(struct leak_scan *x)
{
    struct mm_vmalloc_state *v = &mm_state.vmalloc;
    if (!v->ready) {
        leak_collect_kfence(x);
        return;
    }
    unsigned long n = 0;
    struct list_head *pos;
    list_for_each(pos, &v->areas) {
        if (n++ >= v->nr_areas)
            break; /* a looping list is vmalloc_check's to report */
        struct vmap_area *va = list_entry(pos, struct vmap_area, list);
        leak_add(x, va->start, va->size, MM_LEAK_VMALLOC, 0, va, va->alloc_site, va->alloc_seq);
        if (va->kind != VMAP_AREA_ALLOC)
            continue;
        unsigned long k = 0;
        struct list_head *pp;
        list_for_each(pp, &va->pages) {
            if (k++ >= va->nr_pages)
                break;
            struct page *pg = list_entry(pp, struct page, lru);
            long i = leak_find(0, x->nr_direct, (uintptr_t)page_address(pg));
            if (i >= 0 && leak_objs[i].kind == MM_LEAK_PAGES)
                leak_objs[i].flags |= LEAK_OWNED | LEAK_REACHED;
        }
    }
    leak_collect_kfence(x);
}

/* ---- marking ---- */

static void leak_reach(struct leak_scan *x, long i)
{
    if (i < 0 || (leak_objs[i].flags & LEAK_REACHED))
        return;
    leak_objs[i].flags |= LEAK_REACHED;
    if (!(leak_objs[i].flags & LEAK_NOSCAN))
        leak_stack[x->sp++] = (uint32_t)i;
}

/* The object word @w points into, or -1. @meta: the word is the mm's own metadata. */
static long leak_lookup(const struct leak_scan *x, uintptr_t w, bool meta)
{
    if (in_vmalloc_range((const void *)w) || in_kfence_window((const void *)w))
        return meta ? -1 : leak_find(x->nr_direct, x->nr_objs, w);
    uintptr_t map = (uintptr_t)mm_mem_map;
    if (w >= map && w - map < mm_max_pfn * sizeof(struct page)) {
        struct page *pg = pfn_to_page((w - map) / sizeof(struct page));
        long i = leak_find(0, x->nr_direct, (uintptr_t)page_address(pg));
        return i >= 0 && (leak_objs[i].kind == MM_LEAK_PAGES || leak_objs[i].kind == MM_LEAK_LARGE)
                   ? i : -1;
    }
    if (x->nr_direct == 0 || w < leak_objs[0].start || w >= x->direct_end)
        return -1;
    return leak_find(0, x->nr_direct, w);
}

/* Every aligned word of [start, start + len). */
static void leak_scan_range(struct leak_scan *x, uintptr_t start, size_t len, bool meta)
{
    uintptr_t a = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t end = start + len;
    for (; a + sizeof(uintptr_t) <= end && a >= start; a += sizeof(uintptr_t))
        leak_reach(x, leak_lookup(x, *(const uintptr_t *)a, meta));
    x->res->scanned_bytes += len;
}

/* The word at @a of a page the scan reaches through the direct map on behalf of a vmalloc or
 * KFENCE object: the sanitizers see that copy as the mm's own (the owner's is the window's). */
__attribute__((no_sanitize("address", "kernel-address"))) static uintptr_t
leak_word_unchecked(const volatile uintptr_t *a)
{
    return *a;
}

/*
 * The bytes [start, start + len) of a vmalloc area or a KFENCE object, read page by page through
 * the direct map of the page its window's page table maps there, never through the window: an
 * unmapped page (a guard, a damaged entry) has nothing to scan, and a dump loaded where the
 * window's addresses cannot be mapped (a kernel's, read by the post-mortem tool in a user process)
 * is scanned like a live mm.
 */
static void leak_scan_window(struct leak_scan *x, uintptr_t start, size_t len, bool meta)
{
    struct page_table *pt = in_kfence_window((const void *)start) ? &mm_state.vmalloc.kfence.pt
                                                                   : &mm_state.vmalloc.pt;
    uintptr_t a = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t end = start + len;

    while (a < end && a >= start) {
        uintptr_t page_end = MM_MIN((a & PAGE_MASK) + PAGE_SIZE, end);
        const pte_t *ep = pt->root ? pt_walk(pt, a & PAGE_MASK, false, 0) : NULL;
        pte_t e = ep ? *ep : 0;
        if (pte_present(e) && pfn_valid(MM_PFN_DOWN(pte_addr(e)))) {
            const uint8_t *base = env_phys_to_virt(pte_addr(e));
            for (; a + sizeof(uintptr_t) <= page_end; a += sizeof(uintptr_t))
                leak_reach(x, leak_lookup(x, leak_word_unchecked((const void *)(base + (a & ~PAGE_MASK))),
                                          meta));
        }
        a = page_end;
    }
    x->res->scanned_bytes += len;
}

/*
 * A registered root, minus what is never a root even inside one (a kernel registers its whole
 * data and bss): mm_state (scanned as the mm's own state, with its rules), the scan's scratch,
 * the trace rings and the caller's result (they name objects without holding them).
 */
static void leak_scan_root(struct leak_scan *x, uintptr_t start, size_t len)
{
    uintptr_t trace_start, trace_end;
    mm_trace_storage(&trace_start, &trace_end);
    const uintptr_t skip[][2] = {
        { trace_start, trace_end },
        { (uintptr_t)&mm_state, (uintptr_t)(&mm_state + 1) },
        { (uintptr_t)leak_objs, (uintptr_t)(leak_objs + MM_LEAK_MAX_OBJECTS) },
        { (uintptr_t)leak_stack, (uintptr_t)(leak_stack + MM_LEAK_MAX_OBJECTS) },
        { (uintptr_t)x->res, (uintptr_t)(x->res + 1) },
    };
    uintptr_t cur = start, end = start + len;
    while (cur < end) {
        const uintptr_t *next = NULL; /* the first excluded range still ahead of cur */
        for (unsigned int i = 0; i < MM_ARRAY_SIZE(skip); i++)
            if (skip[i][1] > cur && skip[i][0] < end && (!next || skip[i][0] < next[0]))
                next = skip[i];
        uintptr_t stop = next ? MM_MAX(next[0], cur) : end;
        if (stop > cur)
            leak_scan_range(x, cur, stop - cur, false);
        cur = next ? next[1] : end;
    }
}

#define LEAK_SCAN_FIELD_RANGE(x, from, to) \
    leak_scan_range((x), (uintptr_t)(from), (uintptr_t)(to) - (uintptr_t)(from), true)

/* The mm's own state: every part but the misuse report and the leak registries (they name
 * objects without holding them), and vmalloc minus its recently-freed addresses. */
static void leak_scan_mm_state(struct leak_scan *x)
{
    struct mm_state *s = &mm_state;
    leak_scan_range(x, (uintptr_t)&s->core, sizeof(s->core), true);
    leak_scan_range(x, (uintptr_t)&s->phys, sizeof(s->phys), true);
    leak_scan_range(x, (uintptr_t)&s->heap, sizeof(s->heap), true);
    leak_scan_range(x, (uintptr_t)&s->vm, sizeof(s->vm), true);
    LEAK_SCAN_FIELD_RANGE(x, &s->vmalloc, &s->vmalloc.freed);
    LEAK_SCAN_FIELD_RANGE(x, &s->vmalloc.freed_next, &s->vmalloc + 1);
    leak_scan_range(x, (uintptr_t)&s->swap, sizeof(s->swap), true);
}

/* Every cache on the list is held by the mm (its descriptor is not scanned: see LEAK_NOSCAN). */
static void leak_reach_caches(struct leak_scan *x)
{
    unsigned long n = 0;
    struct list_head *pos;
    list_for_each(pos, &mm_state.heap.caches) {
        if (n++ > mm_state.heap.nr_created + 2ul * KMALLOC_NR_CLASSES + 8)
            break; /* a looping list is slab.cache's to report */
        leak_reach(x, leak_lookup(x, (uintptr_t)list_entry(pos, struct kmem_cache, list), false));
    }
}

/* Registered roots (and the objects they lie in), then objects marked not-a-leak. */
static void leak_scan_roots(struct leak_scan *x)
{
    struct mm_leak_state *l = &mm_state.leak;
    for (unsigned int i = 0; i < l->nr_roots; i++) {
        leak_reach(x, leak_lookup(x, l->roots[i].start, false));
        leak_scan_root(x, l->roots[i].start, l->roots[i].len);
    }
    for (unsigned int i = 0; i < l->nr_ignored;) {
        long o = leak_lookup(x, l->ignored[i], false);
        if (o < 0) {
            l->ignored[i] = l->ignored[--l->nr_ignored]; /* its object is gone */
            continue;
        }
        leak_reach(x, o);
        i++;
    }
}

static void leak_propagate(struct leak_scan *x)
{
    while (x->sp > 0) {
        const struct leak_obj *o = &leak_objs[leak_stack[--x->sp]];
        if (in_vmalloc_range((const void *)o->start) || in_kfence_window((const void *)o->start))
            leak_scan_window(x, o->start, o->len, o->flags & LEAK_META);
        else
            leak_scan_range(x, o->start, o->len, o->flags & LEAK_META);
    }
}

/* ---- reporting ---- */

static const char *leak_kind_name(const struct leak_obj *o);

static const char *const leak_names[] = {
    [MM_LEAK_SLAB] = "leak.slab", [MM_LEAK_KMALLOC] = "leak.kmalloc",
    [MM_LEAK_LARGE] = "leak.large", [MM_LEAK_PAGES] = "leak.pages",
    [MM_LEAK_VMALLOC] = "leak.vmalloc",
};

const char *mm_leak_kind_label(enum mm_leak_kind kind)
{
    if ((unsigned int)kind >= MM_ARRAY_SIZE(leak_names) || !leak_names[kind])
        return "?";
    return leak_names[kind] + sizeof("leak.") - 1;
}

/* Allocations stamped after @o (MM_LEAK_AGE_UNKNOWN when it has no stamp). */
static unsigned long leak_age(const struct leak_obj *o)
{
    unsigned long now = env_atomic_load(&mm_state.core.alloc_seq);
    return o->seq && o->seq <= now ? now - o->seq : MM_LEAK_AGE_UNKNOWN;
}

static void leak_report_one(struct leak_scan *x, const struct leak_obj *o)
{
    struct mm_leak_result *r = x->res;
    struct mm_leak_record rec = {
        .kind = (enum mm_leak_kind)o->kind, .name = leak_names[o->kind], .addr = o->start,
        .size = o->len, .site = o->site, .age = leak_age(o),
        .cache = leak_kind_name(o),
        .pfn = o->kind == MM_LEAK_VMALLOC ? ~0ul
               : page_to_pfn(virt_to_page((const void *)o->start)),
    };
    if (r->leaks == 0)
        mm_check_fail(&r->rep, rec.name, rec.pfn, "%s %p size %zu (%s) allocated at %p is not "
                      "referenced", rec.name, (void *)rec.addr, rec.size, rec.cache,
                      (void *)rec.site);
    if (r->nr_records < MM_LEAK_MAX_RECORDS)
        r->rec[r->nr_records++] = rec;
    r->leaks++;
    mm_report_leak(rec.name, rec.addr, rec.size, rec.cache, rec.site, rec.age);
}

static const char *leak_kind_name(const struct leak_obj *o)
{
    bool slab = o->kind == MM_LEAK_SLAB || o->kind == MM_LEAK_KMALLOC;
    return slab ? ((const struct kmem_cache *)o->owner)->name
           : o->kind == MM_LEAK_VMALLOC ? "vmalloc"
           : o->kind == MM_LEAK_LARGE ? "large kmalloc" : "pages";
}

int mm_leak_scan(struct mm_leak_result *res)
{
    static struct mm_leak_result scratch;
    if (!res)
        res = &scratch;
    *res = (struct mm_leak_result){ .rep.pfn = ~0ul };
    if (!mm_state.phys.ready || !mm_mem_map)
        return mm_report_misuse(MM_MISUSE_NOT_READY, -MM_EINVAL, __func__, 0, ~0ul,
                                "the mm is not booted");
    struct leak_scan x = { .res = res };
    leak_collect_direct(&x);
    leak_collect_vmalloc(&x);
    res->objects = x.nr_objs;
    if (x.overflow) {
        mm_check_fail(&res->rep, "leak.table", ~0ul, "more than %u objects: not scanned",
                      MM_LEAK_MAX_OBJECTS);
        return -MM_ENOSPC;
    }
    leak_scan_mm_state(&x);
    leak_reach_caches(&x);
    leak_scan_roots(&x);
    leak_propagate(&x);
    for (unsigned int i = 0; i < x.nr_objs; i++) {
        if (leak_objs[i].flags & LEAK_REACHED)
            res->reached++;
        else
            leak_report_one(&x, &leak_objs[i]);
    }
    return (int)res->leaks; /* at most MM_LEAK_MAX_OBJECTS */
}

/* ---- allocation-site accounting ---- */

static struct mm_alloc_site site_groups[MM_ALLOC_SITE_GROUPS];

/* Add object @o to its group among the first *@n; false if a new group does not fit. */
static bool sites_add(const struct leak_obj *o, unsigned int *n)
{
    const char *name = leak_kind_name(o);
    for (unsigned int g = 0; g < *n; g++) {
        struct mm_alloc_site *s = &site_groups[g];
        if (s->kind == (enum mm_leak_kind)o->kind && s->site == o->site && s->cache == name) {
            unsigned long age = leak_age(o);
            s->count++;
            s->bytes += o->len;
            if (age != MM_LEAK_AGE_UNKNOWN && (s->oldest == MM_LEAK_AGE_UNKNOWN || age > s->oldest))
                s->oldest = age;
            return true;
        }
    }
    if (*n >= MM_ALLOC_SITE_GROUPS)
        return false;
    site_groups[(*n)++] = (struct mm_alloc_site){ .kind = (enum mm_leak_kind)o->kind,
                                                  .site = o->site, .cache = name, .count = 1,
                                                  .bytes = o->len, .oldest = leak_age(o) };
    return true;
}

int mm_alloc_sites(struct mm_alloc_site *out, unsigned int max)
{
    static struct mm_leak_result scratch;
    if ((!out && max) || !mm_state.phys.ready || !mm_mem_map)
        return -MM_EINVAL;
    struct leak_scan x = { .res = &scratch };
    leak_collect_direct(&x);
    leak_collect_vmalloc(&x);
    if (x.overflow)
        return -MM_ENOSPC;
    unsigned int n = 0;
    for (unsigned int i = 0; i < x.nr_objs; i++)
        if (!(leak_objs[i].flags & LEAK_OWNED) && !sites_add(&leak_objs[i], &n))
            return -MM_ENOSPC;
    for (unsigned int k = 0; k < max && k < n; k++) { /* selection: the top @max by bytes */
        unsigned int best = k;
        for (unsigned int g = k + 1; g < n; g++)
            if (site_groups[g].bytes > site_groups[best].bytes)
                best = g;
        struct mm_alloc_site t = site_groups[k];
        site_groups[k] = site_groups[best];
        site_groups[best] = t;
        out[k] = site_groups[k];
    }
    return (int)n;
}
