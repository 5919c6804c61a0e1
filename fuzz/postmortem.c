/*
 * postmortem.c - the offline post-mortem tool (./build.sh postmortem DUMP): loads a dump written by
 * mm_dump_write (mm_dump.h) - a file from `replay --dump`, or a serial log of the kernel holding
 * one between MM-DUMP markers - into this process's own mm instance and runs the mm's real code
 * over it: mm_check, buddyinfo and slabinfo, every address space's VMAs, the leak scan, the last
 * trace events per CPU and mm_describe_addr; an SVG of the physical memory map and of the
 * fragmentation of each zone beside the text.
 *
 *   postmortem [--addr 0xADDR]... [--svg FILE | --no-svg] [--events N] DUMP
 *       --addr: what is at that address of the dumped machine (mm_describe_addr); --svg: where
 *       the picture goes (default DUMP.svg); --events: trace events per CPU (default 16).
 *       Exit status 0 when mm_check passes on the dump, 1 when it names a broken invariant, 2
 *       when the dump cannot be loaded.
 *
 * Loading (hosted, UBSan build): the arena becomes the dumped machine's physical memory (every
 * dumped page at its physical address, the rest zero), mm_state and the trace rings are copied
 * into this process's. Pointers of the dumping machine are relocated: every aligned word of the
 * dumped pages, of mm_state and of the leak roots that falls in one of the dumping machine's
 * windows (direct map, mm_state, trace rings) is moved to this process's window. The vmalloc and
 * KFENCE range cannot move (page tables index it by address): it is reserved at the dumped
 * address when that is a free user address (a hosted dump) and its present leaves are aliased
 * again (env_kernel_map); a kernel dump's range is not addressable here, which the leak scan
 * does not need (it reads vmalloc areas and KFENCE objects through the direct map of the pages
 * their page tables map); it still runs under a fault probe, for a damaged pointer. Hardened slab freelist links are stored as next ^ secret ^ slot address, so they are
 * decoded with the old addresses and encoded again with the new ones. Every lock is cleared (a crash may have held
 * one). Addresses printed are the dumping machine's (--addr takes one of those too). The trace
 * rings are not relocated: events show the dumping machine's addresses.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mm/internal.h"
#include "machine.h"
#include "mm_describe.h"
#include "mm_dump.h"
#include "mm_leak.h"
#include "mm_trace.h"
#include "mmap.h"

struct pm_window {
    uint64_t old, len; /* [old, old + len] (the end itself too: one-past pointers) */
    uint64_t new_base;
    const char *name;
};

struct pm_root {
    uint64_t old;
    size_t len;
    uint8_t *buf;
};

static struct pm_window pm_win[4];
static unsigned int pm_nr_win;
static struct pm_root pm_roots[MM_LEAK_MAX_ROOTS];
static unsigned int pm_nr_roots;
static struct mm_dump_layout pm_lay;
static uint8_t *pm_arena;
static bool pm_vmalloc_ok; /* the vmalloc range is reserved at the dumped addresses here */

static _Noreturn void pm_die(const char *msg)
{
    fprintf(stderr, "postmortem: %s\n", msg);
    exit(2);
}

/* ---- input: a raw dump, or the base64 block of a serial log ---- */

static uint8_t *pm_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *size = n;
    return buf;
}

static int pm_b64(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode the base64 between "MM-DUMP BEGIN" and "MM-DUMP END" lines in place; the decoded size,
 * or 0 when the text has no such block. Characters outside the alphabet are skipped. */
static size_t pm_extract_serial(uint8_t *buf, size_t size)
{
    char *text = memmem(buf, size, "MM-DUMP BEGIN", 13);
    if (!text)
        return 0;
    char *p = memchr(text, '\n', size - (size_t)((uint8_t *)text - buf));
    char *end = p ? memmem(p, size - (size_t)((uint8_t *)p - buf), "MM-DUMP END", 11) : NULL;
    if (!end)
        pm_die("serial log: MM-DUMP BEGIN without MM-DUMP END (truncated log?)");
    size_t out = 0;
    uint32_t acc = 0;
    unsigned int bits = 0;
    for (; p < end; p++) {
        int v = pm_b64((unsigned char)*p);
        if (v < 0)
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[out++] = (uint8_t)(acc >> bits);
        }
    }
    return out;
}

/* ---- relocation ---- */

static void pm_window_add(uint64_t old, uint64_t len, uint64_t new_base, const char *name)
{
    if (old && len)
        pm_win[pm_nr_win++] = (struct pm_window){ old, len, new_base, name };
}

static bool pm_reloc(uint64_t v, uint64_t *out)
{
    /* The vmalloc and KFENCE range never moves, its end included: the end of a vmalloc area may
     * equal the start of the direct map when the two were adjacent mappings. */
    if (v >= pm_lay.vmalloc_start && v <= MM_MAX(pm_lay.vmalloc_end, pm_lay.kfence_end)) {
        *out = v;
        return true;
    }
    for (unsigned int i = 0; i < pm_nr_win; i++)
        if (v >= pm_win[i].old && v - pm_win[i].old <= pm_win[i].len) {
            *out = pm_win[i].new_base + (v - pm_win[i].old);
            return true;
        }
    return false;
}

/* The dumping machine's address of this process's @v (for printing), or @v. */
static uint64_t pm_unreloc(uint64_t v)
{
    for (unsigned int i = 0; i < pm_nr_win; i++)
        if (v >= pm_win[i].new_base && v - pm_win[i].new_base <= pm_win[i].len)
            return pm_win[i].old + (v - pm_win[i].new_base);
    return v;
}

static void pm_reloc_range(void *p, size_t len)
{
    uint64_t *w = p;
    for (size_t i = 0; i < len / 8; i++)
        pm_reloc(w[i], &w[i]);
}

/* ---- loading ---- */

struct pm_reader {
    const uint8_t *buf;
    size_t size, off;
};

static const struct mm_dump_rec *pm_next(struct pm_reader *r, const uint8_t **data)
{
    if (r->off + sizeof(struct mm_dump_rec) > r->size)
        pm_die("dump truncated (no END record)");
    const struct mm_dump_rec *rec = (const void *)(r->buf + r->off);
    if (rec->len > r->size - r->off - sizeof(*rec))
        pm_die("dump truncated inside a record");
    *data = r->buf + r->off + sizeof(*rec);
    r->off += sizeof(*rec) + ((rec->len + 7) & ~7ull);
    return rec;
}

static void pm_check_header(const uint8_t *buf, size_t size)
{
    const struct mm_dump_header *h = (const void *)buf;
    if (size < sizeof(*h) || memcmp(h->magic, MM_DUMP_MAGIC, 8))
        pm_die("not an mm dump (no LXMMDUMP magic, no MM-DUMP block)");
    if (h->version != MM_DUMP_VERSION)
        pm_die("dump version differs from this tool's");
    if (h->header_size != sizeof(*h) || h->page_size != PAGE_SIZE || h->ptr_size != 8 ||
        h->struct_page_size != sizeof(struct page) || h->state_size != sizeof(struct mm_state) ||
        h->max_cpus != MM_MAX_CPUS || h->abi != mm_dump_abi())
        pm_die("dump written by a build with another struct layout (rebuild the tool from the "
               "same sources)");
}

/* Verify the END record's checksum (FNV-1a 64 of everything before it). */
static void pm_check_sum(const uint8_t *buf, size_t end_off, uint64_t want)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < end_off; i++)
        h = (h ^ buf[i]) * 0x100000001b3ull;
    if (h != want)
        pm_die("dump checksum mismatch (garbled or truncated transfer)");
}

static void pm_load_records(const uint8_t *buf, size_t size, uint8_t *state)
{
    struct pm_reader r = { buf, size, sizeof(struct mm_dump_header) };
    const uint8_t *d;
    bool have_state = false;

    for (;;) {
        size_t at = r.off;
        const struct mm_dump_rec *rec = pm_next(&r, &d);
        if (rec->type == MM_DUMP_REC_END) {
            pm_check_sum(buf, at, rec->addr);
            break;
        }
        if (rec->type == MM_DUMP_REC_STATE && rec->len == sizeof(struct mm_state)) {
            memcpy(state, d, rec->len);
            have_state = true;
        } else if (rec->type == MM_DUMP_REC_TRACE) {
            uintptr_t ts, te;
            mm_trace_storage(&ts, &te);
            if (rec->len == te - ts)
                memcpy((void *)ts, d, rec->len);
        } else if (rec->type == MM_DUMP_REC_PHYS) {
            if (rec->addr > pm_lay.phys_end || rec->len > pm_lay.phys_end - rec->addr)
                pm_die("PHYS record beyond the machine's end");
            memcpy(pm_arena + rec->addr, d, rec->len);
        } else if (rec->type == MM_DUMP_REC_ROOT && pm_nr_roots < MM_LEAK_MAX_ROOTS) {
            struct pm_root *rt = &pm_roots[pm_nr_roots++];
            rt->old = rec->addr;
            rt->len = rec->len;
            rt->buf = malloc(rec->len + 8);
            memcpy(rt->buf, d, rec->len);
        }
    }
    if (!have_state)
        pm_die("dump has no STATE record");
}

static const struct mm_dump_layout *pm_find_layout(const uint8_t *buf, size_t size)
{
    struct pm_reader r = { buf, size, sizeof(struct mm_dump_header) };
    const uint8_t *d;
    const struct mm_dump_rec *rec = pm_next(&r, &d);
    if (rec->type != MM_DUMP_REC_LAYOUT || rec->len != sizeof(struct mm_dump_layout))
        pm_die("dump does not start with a LAYOUT record");
    return (const void *)d;
}

/* Relocate every dumped page (pages not dumped are zero: nothing to move). */
static void pm_reloc_phys(const uint8_t *buf, size_t size)
{
    struct pm_reader r = { buf, size, sizeof(struct mm_dump_header) };
    const uint8_t *d;
    for (;;) {
        const struct mm_dump_rec *rec = pm_next(&r, &d);
        if (rec->type == MM_DUMP_REC_END)
            return;
        if (rec->type == MM_DUMP_REC_PHYS)
            pm_reloc_range(pm_arena + rec->addr, rec->len);
    }
}

/* Hardened freelist links: next ^ secret ^ where, with the old next and where. */
static void pm_fix_slab(struct kmem_cache *c, struct page *slab)
{
    uint64_t delta = (uint64_t)(uintptr_t)pm_arena - pm_lay.direct_map;
    uint8_t *base = (uint8_t *)page_address(slab);
    uint64_t old_lo = (uint64_t)(uintptr_t)base - delta, old_hi = old_lo + (PAGE_SIZE << c->order);

    for (unsigned int i = 0; i < c->objects; i++) {
        uint8_t *slot = base + slab->colour + (size_t)i * c->size;
        if (slot + MM_MAX(c->fp_offset, c->meta_offset) + sizeof(struct slab_meta) >
            base + (PAGE_SIZE << c->order))
            return;
        uint32_t state = slab_meta_of(c, slot + c->obj_offset)->state;
        if (state == SLAB_STATE_ALLOC || state == SLAB_STATE_RFREE)
            continue; /* next holds the allocation's stamp, not a link (RFREE: not linked yet) */
        uintptr_t *where = (uintptr_t *)(slot + c->fp_offset);
        uint64_t where_old = (uint64_t)(uintptr_t)where - delta;
        uint64_t next_old = *where ^ c->secret ^ where_old;
        if (next_old && (next_old < old_lo || next_old >= old_hi))
            continue; /* not a link (an allocated object's stale word, or damage: left as is) */
        uint64_t next_new = next_old ? next_old + delta : 0;
        *where = (uintptr_t)(next_new ^ c->secret ^ (uint64_t)(uintptr_t)where);
    }
}

static bool pm_is_cache(const struct kmem_cache *c)
{
    uint64_t a = (uint64_t)(uintptr_t)c;
    return a >= (uint64_t)(uintptr_t)pm_arena && a - (uint64_t)(uintptr_t)pm_arena < pm_lay.phys_end &&
           c->magic == KMEM_CACHE_MAGIC;
}

static void pm_fix_freelists(void)
{
    for (unsigned long pfn = 0; pfn < mm_max_pfn; pfn++) {
        struct page *p = pfn_to_page(pfn);
        if ((p->flags & (PG_head | PG_slab)) != (PG_head | PG_slab) || !pm_is_cache(p->slab_cache))
            continue;
        if (p->slab_cache->hardened)
            pm_fix_slab(p->slab_cache, p);
    }
}

/* A crash may have held any lock: clear every lock of the state and of every cache. */
static void pm_clear_locks(void)
{
    struct list_head *pos;
    unsigned int n = 0;

    for (unsigned int n = 0; n < MM_MAX_NUMNODES; n++)
        for (unsigned int z = 0; z < MM_NR_ZONES; z++)
            mm_state.phys.node[n].zones[z].lock = (env_spinlock_t){ 0 };
    mm_state.phys.shrink_lock = (env_spinlock_t){ 0 };
    mm_state.heap.lock = (env_spinlock_t){ 0 };
    mm_state.vm.lock = (env_spinlock_t){ 0 };
    mm_state.vm.lock_depth = 0;
    mm_state.vmalloc.lock = (env_spinlock_t){ 0 };
    mm_state.vmalloc.kfence.lock = (env_spinlock_t){ 0 };
    mm_state.report.lock = (env_spinlock_t){ 0 };
    if (!mm_state.heap.caches.next)
        return;
    list_for_each(pos, &mm_state.heap.caches) {
        struct kmem_cache *c = list_entry(pos, struct kmem_cache, list);
        if (!pm_is_cache(c) || ++n > 4096)
            break;
        c->lock = (env_spinlock_t){ 0 };
    }
}

static int pm_alias_vmalloc(void *arg, uintptr_t va, pte_t *ptep)
{
    (void)arg;
    if ((*ptep & PTE_P) && pte_addr(*ptep) < pm_lay.phys_end)
        env_kernel_map(va, pte_addr(*ptep), PAGE_SIZE, true);
    return 0;
}

/* The leak roots of the dump, relocated, replace the registered ones. */
static void pm_load_roots(void)
{
    mm_state.leak.nr_roots = 0;
    for (unsigned int i = 0; i < pm_nr_roots; i++) {
        pm_reloc_range(pm_roots[i].buf, pm_roots[i].len & ~7ul);
        mm_leak_root_add(pm_roots[i].buf, pm_roots[i].len);
    }
}

/* A hosted dump's vmalloc range is a user address this process may already use (a library
 * mapped there): run again, once, in a fresh address-space layout. */
static char **pm_argv;
static void pm_retry_if_taken(void)
{
    if (pm_vmalloc_ok || pm_lay.vmalloc_start >= (1ull << 47) || getenv("LEAXOS_PM_RETRIED"))
        return;
    setenv("LEAXOS_PM_RETRIED", "1", 1);
    execv("/proc/self/exe", pm_argv);
}

static void pm_load(uint8_t *buf, size_t size)
{
    size_t n = pm_extract_serial(buf, size);
    if (n)
        size = n;
    pm_check_header(buf, size);
    pm_lay = *pm_find_layout(buf, size);
    if (!pm_lay.phys_end || pm_lay.nr_cpus > MM_MAX_CPUS)
        pm_die("LAYOUT: no physical memory or too many CPUs");
    if (machine_arena_load(pm_lay.phys_end, pm_lay.nr_cpus, pm_lay.vmalloc_start, &pm_vmalloc_ok))
        pm_die("cannot map an arena as large as the dumped machine");
    pm_retry_if_taken();
    pm_arena = machine_arena_base();
    memset(pm_arena, 0, pm_lay.phys_end);

    uintptr_t ts, te;
    mm_trace_storage(&ts, &te);
    pm_window_add(pm_lay.direct_map, pm_lay.phys_end, (uintptr_t)pm_arena, "direct map");
    pm_window_add(pm_lay.state_addr, sizeof(struct mm_state), (uintptr_t)&mm_state, "mm_state");
    pm_window_add(pm_lay.trace_start, pm_lay.trace_end - pm_lay.trace_start, ts, "trace");

    static uint8_t state[sizeof(struct mm_state)];
    pm_load_records(buf, size, state);
    pm_reloc_phys(buf, size);
    pm_reloc_range(state, sizeof(state));
    memcpy(&mm_state, state, sizeof(state));
    uint64_t mm_map;
    if (!pm_reloc(pm_lay.mem_map, &mm_map))
        pm_die("LAYOUT: the struct page array is outside the direct map");
    mm_mem_map = (struct page *)(uintptr_t)mm_map;
    mm_max_pfn = (unsigned long)pm_lay.max_pfn;
    pm_clear_locks();
    pm_fix_freelists();
    if (pm_vmalloc_ok && mm_state.vmalloc.ready)
        pt_visit(&mm_state.vmalloc.pt, mm_state.core.vmalloc_start, mm_state.core.vmalloc_end,
                 pm_alias_vmalloc, NULL);
    if (pm_vmalloc_ok && mm_state.heap.kfence_end)
        pt_visit(&mm_state.vmalloc.kfence.pt, mm_state.heap.kfence_start, mm_state.heap.kfence_end,
                 pm_alias_vmalloc, NULL);
    pm_load_roots();
}

/* ---- reports ---- */

static void pm_show_vmas(void)
{
    struct list_head *pos;
    unsigned int n = 0;

    if (!mm_state.vm.mms.next) { /* never initialised: no address space was ever created */
        printf("ADDRESS-SPACES count=0\n");
        return;
    }
    list_for_each(pos, &mm_state.vm.mms) {
        struct mm_struct *mm = list_entry(pos, struct mm_struct, list_all);
        struct list_head *v;
        unsigned int k = 0;
        if (++n > 256)
            break;
        printf("address space id=%u map_count=%lu brk=[%#lx, %#lx) anon=%lu\n", mm->id,
               mm->map_count, (unsigned long)mm->start_brk, (unsigned long)mm->brk, mm->nr_anon);
        list_for_each(v, &mm->vmas) {
            struct vm_area_struct *vma = list_entry(v, struct vm_area_struct, vm_list);
            if (++k > 4096)
                break;
            printf("  %012lx-%012lx %c%c%c%c %s pgoff %llu\n", (unsigned long)vma->vm_start,
                   (unsigned long)vma->vm_end, (vma->vm_flags & VM_READ) ? 'r' : '-',
                   (vma->vm_flags & VM_WRITE) ? 'w' : '-', (vma->vm_flags & VM_EXEC) ? 'x' : '-',
                   (vma->vm_flags & VM_SHARED) ? 's' : 'p', vma->vm_file ? "file" : "anon",
                   (unsigned long long)vma->vm_pgoff);
        }
        if (!k)
            printf("  (no VMAs)\n");
    }
    printf("ADDRESS-SPACES count=%u\n", n);
}

static void pm_show_trace(unsigned int want)
{
    static struct mm_trace_event ev[MM_TRACE_RING_EVENTS];
    char line[200];

    printf("trace: mask %#x, %llu events since boot\n", pm_lay.trace_mask,
           (unsigned long long)pm_lay.trace_seq);
    for (unsigned int cpu = 0; cpu < pm_lay.nr_cpus; cpu++) {
        int n = mm_trace_read_cpu(cpu, ev, MM_MIN(want, MM_TRACE_RING_EVENTS));
        printf("trace: cpu%u, last %d events:\n", cpu, n < 0 ? 0 : n);
        for (int i = 0; i < n; i++) {
            mm_trace_format(&ev[i], line, sizeof(line));
            printf("  %s\n", line);
        }
    }
}

static struct mm_leak_result pm_leak_res;
static int pm_leak_rc;

static void pm_leak_run(void *arg)
{
    (void)arg;
    pm_leak_rc = mm_leak_scan(&pm_leak_res);
}

static void pm_show_leaks(void)
{
    const struct mm_leak_result *res = &pm_leak_res;
    uintptr_t fault = 0;

    machine_set_log_level(-1); /* the mm logs each leak with this process's addresses */
    bool faulted = machine_kernel_probe(pm_leak_run, NULL, &fault);
    machine_set_log_level(ENV_LOG_INFO);
    if (faulted) {
        printf("LEAKS scan faulted at %#lx (a damaged pointer)\n", (unsigned long)fault);
        return;
    }
    if (pm_leak_rc < 0) {
        printf("LEAKS scan failed: %s %s\n", res->rep.invariant ? res->rep.invariant : "?",
               res->rep.detail);
        return;
    }
    printf("LEAKS objects=%lu reached=%lu leaks=%lu roots=%u\n", res->objects, res->reached,
           res->leaks, pm_nr_roots);
    for (unsigned int i = 0; i < res->nr_records; i++)
        printf("LEAK %s addr=%#llx size=%zu cache=%s site=%#lx age=%ld\n", res->rec[i].name,
               (unsigned long long)pm_unreloc(res->rec[i].addr), res->rec[i].size,
               res->rec[i].cache ? res->rec[i].cache : "-", (unsigned long)res->rec[i].site,
               res->rec[i].age == MM_LEAK_AGE_UNKNOWN ? -1l : (long)res->rec[i].age);
}

static const char *pm_obj_state(enum mm_obj_state s)
{
    static const char *const names[] = { "unknown", "allocated", "free", "freed",
                                         "never-allocated" };
    return (unsigned int)s < MM_ARRAY_SIZE(names) ? names[s] : "?";
}

static const char *pm_slab_part(enum mm_slab_part p)
{
    static const char *const names[] = { "object", "left-redzone", "right-redzone", "metadata",
                                         "padding" };
    return (unsigned int)p < MM_ARRAY_SIZE(names) ? names[p] : "?";
}

static void pm_show_addr(uint64_t old)
{
    struct mm_addr_desc d;
    uint64_t a;

    if (!pm_reloc(old, &a) || !mm_describe_addr((const void *)(uintptr_t)a, &d)) {
        printf("ADDR %#llx: not memory of the dumped mm\n", (unsigned long long)old);
        return;
    }
    printf("ADDR %#llx: %s", (unsigned long long)old, mm_addr_owner_name(d.owner));
    if (d.pfn != ~0ul)
        printf(" pfn=%#lx", d.pfn);
    if (d.block)
        printf(" block=%#llx order=%u", (unsigned long long)pm_unreloc(d.block), d.order);
    if (d.cache)
        printf(" cache=%s object=%#llx offset=%ld size=%zu slot=%zu part=%s state=%s",
               d.cache, (unsigned long long)pm_unreloc(d.object), d.offset, d.object_size,
               d.slot_size, pm_slab_part(d.part), pm_obj_state(d.state));
    else if (d.object)
        printf(" object=%#llx size=%zu", (unsigned long long)pm_unreloc(d.object), d.object_size);
    if (d.alloc_site)
        printf(" site=%#lx", (unsigned long)d.alloc_site);
    printf("\n");
}

void pm_write_svg(const char *path);

static struct mm_check_report *pm_check_rep;
static int pm_check_rc;

static void pm_check_run(void *arg)
{
    (void)arg;
    pm_check_rc = mm_check(pm_check_rep);
}

/* mm_check over the loaded state ("CHECK ok" or the broken invariant); its result. */
static int pm_show_check(void)
{
    struct mm_check_report rep;
    uintptr_t fault = 0;

    memset(&rep, 0, sizeof(rep));
    pm_check_rep = &rep;
    if (machine_kernel_probe(pm_check_run, NULL, &fault)) {
        printf("CHECK faulted at %#lx\n", (unsigned long)fault);
        pm_check_rc = -MM_ECORRUPT;
    }
    if (pm_check_rc && rep.invariant)
        printf("CHECK FAILED invariant=%s pfn=%#lx: %s\n", rep.invariant, rep.pfn, rep.detail);
    else if (!pm_check_rc)
        printf("CHECK ok\n");
    return pm_check_rc;
}

static void pm_usage(void)
{
    fprintf(stderr, "usage: postmortem [--addr 0xADDR]... [--svg FILE | --no-svg] [--events N] DUMP\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t addrs[32];
    unsigned int nr_addrs = 0, events = 16;
    const char *svg = NULL, *path = NULL;
    bool no_svg = false;
    static char svg_default[4096];

    pm_argv = argv;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--addr") && i + 1 < argc && nr_addrs < 32)
            addrs[nr_addrs++] = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--svg") && i + 1 < argc)
            svg = argv[++i];
        else if (!strcmp(argv[i], "--no-svg"))
            no_svg = true;
        else if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = (unsigned int)atoi(argv[++i]);
        else if (argv[i][0] == '-' || path)
            pm_usage();
        else
            path = argv[i];
    }
    if (!path)
        pm_usage();
    if (!svg && !no_svg) {
        snprintf(svg_default, sizeof(svg_default), "%s.svg", path);
        svg = svg_default;
    }
    if (no_svg)
        svg = NULL;
    size_t size;
    uint8_t *buf = pm_read_file(path, &size);
    if (!buf)
        pm_die("cannot read the dump");
    /* one stream: the mm's own tables (buddyinfo, slabinfo, leak lines) go to stderr */
    setvbuf(stdout, NULL, _IOLBF, 0);
    dup2(STDOUT_FILENO, STDERR_FILENO);
    machine_set_log_level(ENV_LOG_INFO);
    pm_load(buf, size);
    printf("DUMP %s: why=\"%s\" cpus=%u max_pfn=%#llx pages=%llu direct_map=%#llx\n", path,
           pm_lay.why, pm_lay.nr_cpus, (unsigned long long)pm_lay.max_pfn,
           (unsigned long long)pm_lay.pages_dumped, (unsigned long long)pm_lay.direct_map);

    int rc = pm_show_check();
    printf("---- buddyinfo ----\n");
    page_alloc_show(ENV_LOG_WARN);
    printf("---- slabinfo ----\n");
    slab_show(ENV_LOG_WARN);
    printf("---- address spaces ----\n");
    pm_show_vmas();
    printf("---- leak scan ----\n");
    pm_show_leaks();
    printf("---- trace ----\n");
    pm_show_trace(events);
    for (unsigned int i = 0; i < nr_addrs; i++)
        pm_show_addr(addrs[i]);
    if (svg) {
        pm_write_svg(svg);
        printf("SVG %s\n", svg);
    }
    return rc ? 1 : 0;
}
