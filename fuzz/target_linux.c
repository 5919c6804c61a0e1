/*
 * target_linux.c - fuzz target "linux": the differential of mmap / munmap / mprotect and user
 * accesses. Every op runs on the mm (one hosted address space, software MMU) and on the host
 * Linux kernel (a child process, linux_child_hosted.c, over fuzz_platform.linux_call) in a zone
 * of LX_ZONE_PAGES pages that both sides address by offset (linux_host.h), and the two must agree
 * on: each call's result and errno, where a mapping went (the same zone offset, or "elsewhere"
 * on both sides), whether each page of an access faults and how (SEGV_MAPERR = VM_FAULT_SIGSEGV,
 * SEGV_ACCERR = VM_FAULT_ACCESS), the bytes every read returns, and after every op the zone's
 * mappings: /proc/self/maps of the child against the mm's VMA list, both normalised alike
 * (lx_ranges_normalise: implied read, adjacent equal ranges merged).
 * In build.mk's HOSTED_ONLY_TARGETS (the kernel has no host kernel to compare with; corpus/linux
 * stays out of the kernel's pack, as corpus/smp) and SHORT_SMOKE_TARGETS (./build.sh test: 5 s of
 * libFuzzer, no AFL++; its corpus replays).
 *
 * Ops (at = zone page 0..127, or 128: page 3 + 123 bytes, unaligned; pages 0..32, or 33: 2^47
 * bytes, past the end of user space, or 34: ~0 - 100 bytes, wrapping; ranges are clipped to the
 * zone):
 *   lx mmap HOW prot= pages= at=   anonymous mmap; HOW (lx_hows) picks the flags and whether
 *                                  zone + at is passed as the address (fixed, noreplace, hint)
 *                                  or NULL ("any"); prot (lx_prots) includes PROT_SEM and an
 *                                  unknown bit
 *   lx munmap pages= at=           lx mprotect prot= pages= at=
 *   lx access read|write pages=1..4 at=   a write stores lx_pattern(token, page, byte)
 *   lx mlock lock|unlock pages= at=   mlock / munlock (the child calls the syscalls directly: the
 *                                  sanitizers' mlock interceptor would return 0)
 * Each input starts with an empty zone on both sides and a freshly booted mm (the header's
 * machine; no failure injection, so the mm never runs out of memory for a zone of 128 pages).
 *
 * A disagreement is a FUZZ-FAIL "linux-diff op#N [op]: <what>: mm <result>, linux <result>".
 * The known differences are the table lx_differences, the one place they are listed, each with
 * its reason; a comparison may pass over a difference only by naming an entry (lx_excuse), and
 * each entry says what the comparison does then. Everything else is a failure.
 *
 * Also checked: mm_check() (every op at cadence 1, as every target), and at teardown that every
 * page came back (free + slab pages + the shared zero page == the boot value).
 * Digest: every call's errno (after an excused retry: the retry's), each access's fault and
 * completed pages and a hash of the bytes each read returned; never an address.
 */
#include "fuzz_target.h"
#include "linux_host.h"
#include "mmap.h"
#include "../mm/internal.h"

/* ---- the documented differences: the only exclusions the comparison knows ---- */

struct lx_difference {
    const char *name;
    const char *reason;     /* why the mm differs, and what the comparison does about it */
};

static const struct lx_difference lx_differences[] = {
    { "mmap-unknown-bits",
      "Linux ignores mmap flag bits it does not define (and MAP_32BIT with MAP_FIXED) and every "
      "unknown prot bit of mmap unless MAP_SHARED_VALIDATE; the mm refuses them with EINVAL so that "
      "a typo is not silently another mapping. When the mm says EINVAL, Linux does not and the op "
      "had such bits, the mm call is repeated without them and must then agree" },
    { "mprotect-hole-prefix",
      "A failing mprotect changes nothing in the mm; Linux has already changed the mapped prefix "
      "of [mapped, hole) when it returns ENOMEM. When both say ENOMEM and the start is mapped, the "
      "mm's mapped prefix is given the new protection too (it must succeed) before the maps are "
      "compared" },
    { "vma-merge",
      "Linux keeps apart VMAs of different anon_vmas and of different requested protections that "
      "the hardware cannot tell apart (-w- and rw-); the mm merges them. Both sides' ranges are "
      "normalised (lx_ranges_normalise: implied read, adjacent equal ranges merged) before they "
      "are compared" },
    { "exec-only",
      "On a CPU with protection keys Linux makes a PROT_EXEC-only mapping execute-only (reads "
      "fault); the mm's x86 page tables read it. PROT_EXEC alone is never generated" },
    { "placement",
      "Where a mapping goes when no address or a hint that does not fit is given is each side's "
      "own choice (top-down from different bases): such a mapping is compared as 'elsewhere' "
      "(outside the zone) and unmapped on both sides at once" },
};

#define LX_NR_DIFFS MM_ARRAY_SIZE(lx_differences)

/* ---- state ---- */

static const uint8_t lx_kinds[] = {
    FOP_LX_MMAP, FOP_LX_MMAP, FOP_LX_MMAP, FOP_LX_MUNMAP, FOP_LX_MPROTECT, FOP_LX_MPROTECT,
    FOP_LX_ACCESS, FOP_LX_ACCESS, FOP_LX_ACCESS, FOP_CHECK, FOP_LX_MLOCK,
};

static const struct fuzz_op_table lx_table = { lx_kinds, MM_ARRAY_SIZE(lx_kinds), 0, NULL };

static struct {
    struct fuzz_machine m;
    struct mm_struct *mm;
    unsigned long boot_pages;
    uint32_t tok;
    unsigned long excused[LX_NR_DIFFS]; /* per difference: times it was named (this input) */
    struct lx_req rq;
    struct lx_reply rp;
    struct lx_range mine[LX_ZONE_PAGES];
    uint8_t buf[LX_MAX_ACCESS_PAGES * PAGE_SIZE];
} lx;

#define LX_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

static _Noreturn MM_PRINTF(1, 2) void lx_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fuzz_fail_op(NULL, fmt, ap);
}

/* Pass over a documented difference: only by a name of lx_differences. */
static void lx_excuse(const char *name)
{
    for (unsigned int i = 0; i < LX_NR_DIFFS; i++)
        if (fuzz_streq(lx_differences[i].name, name)) {
            lx.excused[i]++;
            LX_TRACE("  documented difference %s", name);
            return;
        }
    lx_fail("linux-diff: excuse '%s' is not in the table of documented differences", name);
}

/* ---- the host ---- */

static void lx_host(uint32_t kind)
{
    lx.rq.kind = kind;
    memset(&lx.rp, 0, sizeof(lx.rp));
    if (!fuzz_platform.linux_call || fuzz_platform.linux_call(&lx.rq, &lx.rp))
        lx_fail("linux-diff: no host kernel to compare with (the child process could not be started "
                "or died)");
    if (lx.rp.msg[0])
        lx_fail("linux-diff: the host child: %s", lx.rp.msg);
}

/* ---- op arguments ---- */

struct lx_how {
    unsigned int flags;
    bool no_addr;
};

#define LX_PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define LX_SA (MAP_SHARED | MAP_ANONYMOUS)
#define LX_MAP_32BIT 0x40u          /* Linux x86_64; unknown to the mm */
#define LX_MAP_UNKNOWN 0x200000u    /* defined by neither */
#define LX_PROT_UNKNOWN 0x10u

static const struct lx_how lx_hows[] = {
    { LX_PA | MAP_FIXED, false },                                   /* fixed */
    { LX_PA, false },                                               /* hint */
    { LX_PA | MAP_FIXED_NOREPLACE, false },                         /* noreplace */
    { LX_PA, true },                                                /* any */
    { LX_SA | MAP_FIXED, false },                                   /* shared-fixed */
    { LX_SA, false },                                               /* shared-hint */
    { LX_SA | MAP_FIXED_NOREPLACE, false },                         /* shared-noreplace */
    { LX_PA | MAP_FIXED | MAP_POPULATE, false },                    /* fixed-populate */
    { LX_PA | MAP_FIXED | MAP_LOCKED, false },                      /* fixed-locked */
    { LX_PA | MAP_FIXED | MAP_GROWSDOWN, false },                   /* fixed-growsdown */
    { LX_PA | MAP_GROWSDOWN, false },                               /* hint-growsdown */
    { LX_SA | MAP_FIXED | MAP_GROWSDOWN, false },                   /* shared-growsdown */
    { LX_PA | MAP_FIXED | MAP_NORESERVE | MAP_STACK, false },       /* fixed-noreserve-stack */
    { LX_PA | MAP_FIXED | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_SYNC |
      MAP_NONBLOCK | MAP_POPULATE, false },                         /* fixed-misc */
    { LX_PA | MAP_FIXED | LX_MAP_UNKNOWN, false },                  /* fixed-unknown */
    { LX_PA | MAP_FIXED | LX_MAP_32BIT, false },                    /* fixed-32bit */
    { LX_PA | MAP_SHARED | MAP_FIXED, false },                      /* both (MAP_SHARED_VALIDATE) */
    { MAP_ANONYMOUS | MAP_FIXED, false },                           /* neither */
    { MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, false },                 /* noreplace-neither */
};

static const unsigned int lx_prots[] = {
    PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
    PROT_READ | PROT_WRITE | PROT_EXEC, PROT_WRITE | PROT_EXEC, PROT_READ | PROT_SEM,
    PROT_READ | PROT_WRITE | LX_PROT_UNKNOWN,
};

/* Zone byte offset of @at; *@page its page. */
static uint64_t lx_off(uint32_t at, uint32_t *page)
{
    if (at >= LX_ZONE_PAGES) {
        *page = 3;
        return 3 * PAGE_SIZE + 123;
    }
    *page = at;
    return (uint64_t)at * PAGE_SIZE;
}

/* Length in bytes of @pages at zone page @page: clipped to the zone, or one of the two odd ones. */
static uint64_t lx_len(uint32_t pages, uint32_t page)
{
    if (pages == 33)
        return 1ull << 47;
    if (pages == 34)
        return ~0ull - 100;
    if (page + pages > LX_ZONE_PAGES)
        pages = LX_ZONE_PAGES - page;
    return (uint64_t)pages * PAGE_SIZE;
}

/* ---- the mm's side of the maps ---- */

static uint32_t lx_mm_ranges(struct lx_range *r)
{
    uintptr_t zs = LX_MM_BASE, ze = LX_MM_BASE + (uintptr_t)LX_ZONE_PAGES * PAGE_SIZE;
    uint32_t n = 0;
    for (struct vm_area_struct *v = find_vma(lx.mm, zs); v && v->vm_start < ze && n < LX_ZONE_PAGES;
         v = find_vma(lx.mm, v->vm_end)) {
        uintptr_t s = MM_MAX(v->vm_start, zs), e = MM_MIN(v->vm_end, ze);
        r[n].start = (uint32_t)((s - zs) >> PAGE_SHIFT);
        r[n].end = (uint32_t)((e - zs) >> PAGE_SHIFT);
        r[n].bits = ((v->vm_flags & VM_READ) ? LX_R : 0) | ((v->vm_flags & VM_WRITE) ? LX_W : 0) |
                    ((v->vm_flags & VM_EXEC) ? LX_X : 0) | ((v->vm_flags & VM_SHARED) ? LX_S : 0);
        n++;
    }
    return n;
}

static int lx_ranges_format(char *buf, size_t size, const struct lx_range *r, uint32_t n)
{
    int len = 0;
    if (!n)
        return mm_snprintf(buf, size, "(none)");
    for (uint32_t i = 0; i < n && (size_t)len + 24 < size; i++)
        len += mm_snprintf(buf + len, size - (size_t)len, "%s[%u,%u)%s%s%s%s", i ? " " : "", r[i].start,
                           r[i].end, (r[i].bits & LX_R) ? "r" : "-", (r[i].bits & LX_W) ? "w" : "-",
                           (r[i].bits & LX_X) ? "x" : "-", (r[i].bits & LX_S) ? "s" : "p");
    return len;
}

/* The zone's mappings must be the same on both sides (after normalising both). */
static FUZZ_VERIFY_FN void lx_compare_maps(void)
{
    lx_host(LX_REQ_MAPS);
    if (lx.rp.err)
        lx_fail("linux-diff: reading /proc/self/maps in the child: errno %d", lx.rp.err);
    uint32_t nl = lx_ranges_normalise(lx.rp.r, lx.rp.nr);
    uint32_t nm = lx_ranges_normalise(lx.mine, lx_mm_ranges(lx.mine));
    bool same = nl == nm;
    for (uint32_t i = 0; same && i < nm; i++)
        same = lx.mine[i].start == lx.rp.r[i].start && lx.mine[i].end == lx.rp.r[i].end &&
               lx.mine[i].bits == lx.rp.r[i].bits;
    if (same)
        return;
    char a[160], b[160];
    lx_ranges_format(a, sizeof(a), lx.mine, nm);
    lx_ranges_format(b, sizeof(b), lx.rp.r, nl);
    lx_fail("linux-diff: zone mappings (pages, normalised): mm %s, linux %s", a, b);
}

/* ---- mmap ---- */

struct lx_result {
    int err;            /* errno, 0: success */
    long off;           /* on success: zone byte offset, or LX_ELSEWHERE */
};

static const char *lx_result_text(const struct lx_result *r, char *buf, size_t size)
{
    if (r->err)
        mm_snprintf(buf, size, "%s", mm_strerror(-r->err));
    else if (r->off == LX_ELSEWHERE)
        mm_snprintf(buf, size, "mapped elsewhere");
    else
        mm_snprintf(buf, size, "mapped at +0x%lx", (unsigned long)r->off);
    return buf;
}

/* do_mmap in the zone's terms; a mapping outside the zone is unmapped again. */
static struct lx_result lx_mm_mmap(uint64_t off, uint64_t len, unsigned int prot, unsigned int flags,
                                   bool no_addr)
{
    uintptr_t zs = LX_MM_BASE, ze = LX_MM_BASE + (uintptr_t)LX_ZONE_PAGES * PAGE_SIZE;
    long r = do_mmap(lx.mm, no_addr ? 0 : zs + off, (size_t)len, prot, flags, NULL, 0);
    if (r < 0)
        return (struct lx_result){ (int)-r, 0 };
    if ((uintptr_t)r >= zs && (uintptr_t)r < ze)
        return (struct lx_result){ 0, (long)((uintptr_t)r - zs) };
    int err = do_munmap(lx.mm, (uintptr_t)r, (size_t)len);
    if (err)
        lx_fail("linux-diff: do_munmap of a mapping placed elsewhere (%lx) = %s", (unsigned long)r,
                mm_strerror(err));
    return (struct lx_result){ 0, LX_ELSEWHERE };
}

static bool lx_result_eq(const struct lx_result *a, const struct lx_result *b)
{
    return a->err == b->err && (a->err || a->off == b->off);
}

static void lx_mmap(uint32_t how, uint32_t prot_i, uint32_t pages, uint32_t at)
{
    const struct lx_how *h = &lx_hows[how % MM_ARRAY_SIZE(lx_hows)];
    unsigned int prot = lx_prots[prot_i % MM_ARRAY_SIZE(lx_prots)], flags = h->flags;
    uint32_t page;
    uint64_t off = lx_off(at, &page), len = lx_len(pages, page);

    lx.rq = (struct lx_req){ .prot = prot, .flags = flags, .no_addr = h->no_addr, .off = off, .len = len };
    lx_host(LX_REQ_MMAP);
    struct lx_result lr = { lx.rp.err, lx.rp.err ? 0 : (long)lx.rp.ret };
    struct lx_result mr = lx_mm_mmap(off, len, prot, flags, h->no_addr);
    if (!lx_result_eq(&mr, &lr) && mr.err == MM_EINVAL) {
        /* one retry without every bit a documented difference names (an op may have several) */
        unsigned int unknown = flags & (LX_MAP_UNKNOWN | LX_MAP_32BIT), rflags = flags, rprot = prot;
        if (unknown || (prot & LX_PROT_UNKNOWN)) {
            lx_excuse("mmap-unknown-bits");
            rflags &= ~unknown;
            rprot &= ~LX_PROT_UNKNOWN;
        }
        if (rflags != flags || rprot != prot)
            mr = lx_mm_mmap(off, len, rprot, rflags, h->no_addr);
    }
    fuzz_digest_err(-mr.err);
    fuzz_digest_count(mr.err ? 0 : mr.off == LX_ELSEWHERE ? 1 : 2 + (uint64_t)mr.off);
    char a[48], b[48];
    LX_TRACE("  mmap(+0x%lx, 0x%lx, prot 0x%x, flags 0x%x): mm %s, linux %s", (unsigned long)off,
             (unsigned long)len, prot, flags, lx_result_text(&mr, a, sizeof(a)),
             lx_result_text(&lr, b, sizeof(b)));
    if (!lx_result_eq(&mr, &lr))
        lx_fail("linux-diff: mmap(zone+0x%lx, 0x%lx, prot 0x%x, flags 0x%x): mm %s, linux %s",
                (unsigned long)off, (unsigned long)len, prot, flags, lx_result_text(&mr, a, sizeof(a)),
                lx_result_text(&lr, b, sizeof(b)));
}

/* ---- munmap / mprotect ---- */

static void lx_munmap(uint32_t pages, uint32_t at)
{
    uint32_t page;
    uint64_t off = lx_off(at, &page), len = lx_len(pages, page);

    lx.rq = (struct lx_req){ .off = off, .len = len };
    lx_host(LX_REQ_MUNMAP);
    int me = -do_munmap(lx.mm, LX_MM_BASE + off, (size_t)len);
    fuzz_digest_err(-me);
    LX_TRACE("  munmap(+0x%lx, 0x%lx): mm %d, linux %d", (unsigned long)off, (unsigned long)len, me,
             lx.rp.err);
    if (me != lx.rp.err)
        lx_fail("linux-diff: munmap(zone+0x%lx, 0x%lx): mm %s, linux %s", (unsigned long)off,
                (unsigned long)len, mm_strerror(-me), mm_strerror(-lx.rp.err));
}

/* End of the mapped run from @addr (no further than @end): where the first hole starts. */
static uintptr_t lx_mm_mapped_until(uintptr_t addr, uintptr_t end)
{
    uintptr_t at = addr;
    for (struct vm_area_struct *v = find_vma(lx.mm, at); v && v->vm_start <= at && at < end;
         v = find_vma(lx.mm, at))
        at = v->vm_end;
    return MM_MIN(at, end);
}

static void lx_mprotect(uint32_t prot_i, uint32_t pages, uint32_t at)
{
    unsigned int prot = lx_prots[prot_i % MM_ARRAY_SIZE(lx_prots)];
    uint32_t page;
    uint64_t off = lx_off(at, &page), len = lx_len(pages, page);
    uintptr_t addr = LX_MM_BASE + off;

    lx.rq = (struct lx_req){ .prot = prot, .off = off, .len = len };
    lx_host(LX_REQ_MPROTECT);
    int me = -do_mprotect(lx.mm, addr, (size_t)len, prot);
    LX_TRACE("  mprotect(+0x%lx, 0x%lx, 0x%x): mm %d, linux %d", (unsigned long)off, (unsigned long)len,
             prot, me, lx.rp.err);
    if (me != lx.rp.err)
        lx_fail("linux-diff: mprotect(zone+0x%lx, 0x%lx, prot 0x%x): mm %s, linux %s", (unsigned long)off,
                (unsigned long)len, prot, mm_strerror(-me), mm_strerror(-lx.rp.err));
    uintptr_t end = addr + MM_ALIGN_UP(len, PAGE_SIZE);
    if (me == MM_ENOMEM && MM_IS_ALIGNED(addr, PAGE_SIZE) && end > addr) {
        uintptr_t until = lx_mm_mapped_until(addr, end);
        if (until > addr) {
            lx_excuse("mprotect-hole-prefix");
            int err = do_mprotect(lx.mm, addr, until - addr, prot);
            if (err)
                lx_fail("linux-diff: mprotect of the mapped prefix [+0x%lx, +0x%lx) = %s",
                        (unsigned long)off, (unsigned long)(until - LX_MM_BASE), mm_strerror(err));
        }
    }
    fuzz_digest_err(-me);
}

/* ---- mlock / munlock (the host's lock limit: the zone is far below RLIMIT_MEMLOCK) ---- */

static void lx_mlock(uint32_t kind, uint32_t pages, uint32_t at)
{
    uint32_t page;
    uint64_t off = lx_off(at, &page), len = lx_len(pages, page);
    uintptr_t addr = LX_MM_BASE + off;

    lx.rq = (struct lx_req){ .access = kind, .off = off, .len = len };
    lx_host(LX_REQ_MLOCK);
    int me = -(kind ? do_munlock(lx.mm, addr, (size_t)len) : do_mlock(lx.mm, addr, (size_t)len, 0));
    LX_TRACE("  %s(+0x%lx, 0x%lx): mm %d, linux %d", kind ? "munlock" : "mlock",
             (unsigned long)off, (unsigned long)len, me, lx.rp.err);
    if (me != lx.rp.err)
        lx_fail("linux-diff: %s(zone+0x%lx, 0x%lx): mm %s, linux %s", kind ? "munlock" : "mlock",
                (unsigned long)off, (unsigned long)len, mm_strerror(-me), mm_strerror(-lx.rp.err));
    fuzz_digest_err(-me);
}

/* ---- accesses ---- */

static int lx_fault_of(int res)
{
    switch (res) {
    case VM_FAULT_HANDLED: return LX_FAULT_NONE;
    case VM_FAULT_SIGSEGV: return LX_FAULT_MAPERR;
    case VM_FAULT_ACCESS: return LX_FAULT_ACCERR;
    default: return LX_FAULT_OTHER;
    }
}

static const char *const lx_fault_names[] = { "none", "SEGV_MAPERR", "SEGV_ACCERR", "other" };

static void lx_access(uint32_t kind, uint32_t pages, uint32_t at)
{
    uint32_t page;
    uint64_t off = lx_off(at, &page);
    uintptr_t va = LX_MM_BASE + off, fva = 0;
    pages = MM_MIN(pages, LX_ZONE_PAGES - page);
    uint32_t tok = ++lx.tok;

    lx.rq = (struct lx_req){ .access = kind, .pages = pages, .tok = tok, .off = off };
    lx_host(LX_REQ_ACCESS);
    if (kind)
        for (uint32_t p = 0; p < pages; p++)
            for (uint32_t i = 0; i < PAGE_SIZE; i++)
                lx.buf[p * PAGE_SIZE + i] = lx_pattern(tok, p, i);
    int res = fuzz_platform.user_copy(lx.mm, va, lx.buf, (size_t)pages * PAGE_SIZE, kind, &fva);
    uint32_t done = res == VM_FAULT_HANDLED ? pages : (uint32_t)((MM_ALIGN_DOWN(fva, PAGE_SIZE) - va) / PAGE_SIZE);
    int fault = lx_fault_of(res);
    fuzz_digest_fault(res, done);
    LX_TRACE("  %s +0x%lx x%u: mm %u done, %s; linux %u done, %s", kind ? "write" : "read",
             (unsigned long)off, pages, done, lx_fault_names[fault], lx.rp.done,
             lx_fault_names[lx.rp.fault & 3]);
    if (done != lx.rp.done || fault != lx.rp.fault)
        lx_fail("linux-diff: %s of %u pages at zone+0x%lx: mm %u pages then %s (%s), linux %u pages then %s",
                kind ? "write" : "read", pages, (unsigned long)off, done, lx_fault_names[fault],
                vm_fault_name(res), lx.rp.done, lx_fault_names[lx.rp.fault & 3]);
    if (kind)
        return;
    for (uint32_t p = 0; p < done; p++) {
        uint64_t h = LX_HASH_INIT;
        for (uint32_t i = 0; i < PAGE_SIZE; i++)
            h = lx_hash_step(h, lx.buf[p * PAGE_SIZE + i]);
        fuzz_digest_count(h);
        if (h != lx.rp.hash[p])
            lx_fail("linux-diff: read of zone page %u: mm bytes hash %016llx (first bytes %02x %02x %02x %02x), "
                    "linux %016llx", page + p, (unsigned long long)h, lx.buf[p * PAGE_SIZE],
                    lx.buf[p * PAGE_SIZE + 1], lx.buf[p * PAGE_SIZE + 2], lx.buf[p * PAGE_SIZE + 3],
                    (unsigned long long)lx.rp.hash[p]);
    }
}

/* ---- boot, run, teardown ---- */

static void lx_check_mm(void)
{
    struct mm_check_report rep;
    int err = mm_check(&rep);
    if (err) /* the format every target uses, so triage types the crash by the invariant */
        fuzz_fail("invariant=%s pfn=%lx op#%u [%s]: %s (%s)", rep.invariant ? rep.invariant : "?",
                  rep.pfn, (unsigned int)fuzz_cur.opno, fuzz_cur_text(), rep.detail, mm_strerror(err));
}

static uint32_t lx_setup(const uint8_t *data, size_t size)
{
    struct fuzz_machine m = lx.m; /* decoded by the engine */
    struct fuzz_layout l;
    int err;
    (void)data;
    (void)size;
    memset(&lx, 0, sizeof(lx));
    lx.m = m;
    fuzz_machine_layout(&lx.m, &l);
    if ((err = fuzz_platform.boot(&l)))
        fuzz_fail("boot: %s", mm_strerror(err));
    lx.boot_pages = page_alloc_nr_free() + slab_nr_pages();
    lx.mm = mm_create();
    if (!lx.mm)
        fuzz_fail("linux-diff: mm_create failed at start");
    lx.rq = (struct lx_req){ 0 };
    lx_host(LX_REQ_RESET);
    if (lx.rp.err)
        lx_fail("linux-diff: emptying the host zone: errno %d", lx.rp.err);
    return 0;
}

static void lx_exec(const struct fuzz_op *op)
{
    const uint32_t *a = op->arg;
    switch (op->kind) {
    case FOP_LX_MMAP: lx_mmap(a[0], a[1], a[2], a[3]); break;
    case FOP_LX_MUNMAP: lx_munmap(a[0], a[1]); break;
    case FOP_LX_MPROTECT: lx_mprotect(a[0], a[1], a[2]); break;
    case FOP_LX_ACCESS: lx_access(a[0], a[1], a[2]); break;
    case FOP_LX_MLOCK: lx_mlock(a[0], a[1], a[2]); break;
    default: break; /* check: the maps below and mm_check */
    }
    lx_compare_maps();
}

static void lx_check(bool deep)
{
    if (deep || fuzz_cur_check_due())
        lx_check_mm();
}

static void lx_teardown(void)
{
    if (fuzz_trace)
        for (unsigned int i = 0; i < LX_NR_DIFFS; i++)
            if (lx.excused[i])
                fuzz_log("documented difference %s: %lu times", lx_differences[i].name, lx.excused[i]);
    mm_destroy(lx.mm);
    lx.mm = NULL;
    lx_check_mm();
    unsigned long now = page_alloc_nr_free() + slab_nr_pages() + (mm_state.vm.zero_page ? 1 : 0);
    if (now != lx.boot_pages)
        fuzz_fail("linux-diff teardown conservation: free %lu + slab %lu + zero page %d = %lu, boot %lu",
                  page_alloc_nr_free(), slab_nr_pages(), mm_state.vm.zero_page != NULL, now, lx.boot_pages);
}

const struct fuzz_target fuzz_target_linux = {
    .name = "linux",
    .table = &lx_table,
    .machine = &lx.m,
    .setup = lx_setup,
    .exec = lx_exec,
    .check = lx_check,
    .teardown = lx_teardown,
};
