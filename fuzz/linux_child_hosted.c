/*
 * linux_child_hosted.c - the host side of target linux (libc allowed): a persistent child process
 * that runs mmap / munmap / mprotect and user accesses on the host kernel inside its zone
 * (linux_host.h) and answers each request over a pipe. fuzz_machine_linux_call is its one entry.
 *
 * Lifetime: the first request of a process forks the child (a forked replay run gets its own:
 * the owner pid is checked on every call). The child dies with its owner (PR_SET_PDEATHSIG, and
 * EOF on the request pipe) and never returns into the fuzzer: it leaves with _exit.
 *
 * Invariants: the child touches nothing outside [zone - 1 page, zone end + 1 page) except its own
 * stack and the maps buffer (requests are clipped to the zone by the target, and the one page on
 * either side is checked free at start, so an mprotect running past the zone stops at a hole);
 * a mapping placed outside the zone (no hint, or a hint that did not fit) is unmapped at once and
 * reported as LX_ELSEWHERE. Faults are caught with sigsetjmp around each page: the SIGSEGV
 * handler records si_code and jumps back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux_host.h"
#include "platform_machine.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* In an application range of ASan's, MSan's and plain layouts alike (x86_64, 47-bit), away from
 * the binary (0x55..), the libraries and mmap area (0x7f..) and ASan's allocator (0x60..). */
#define LX_HOST_BASE 0x5a0000000000ul
#define LX_ZONE_BYTES ((size_t)LX_ZONE_PAGES * 4096u)

static pid_t lx_owner, lx_pid;
static int lx_to_child = -1, lx_from_child = -1;

/* ---- the child ---- */

static sigjmp_buf lx_jmp;
static volatile int lx_si_code;
static char lx_maps_buf[1 << 20];

/* The zone's bytes are the host kernel's, not the sanitizers' to judge (gcc knows no "memory"). */
#ifdef __clang__
#define LX_UNCHECKED __attribute__((no_sanitize("address", "memory"), noinline))
#else
#define LX_UNCHECKED __attribute__((no_sanitize_address, noinline))
#endif

static void lx_on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    lx_si_code = sig == SIGSEGV ? si->si_code : -1;
    siglongjmp(lx_jmp, 1);
}

static int lx_fault_class(int code)
{
    if (code == SEGV_MAPERR)
        return LX_FAULT_MAPERR;
    return code == SEGV_ACCERR ? LX_FAULT_ACCERR : LX_FAULT_OTHER;
}

/* Move all @n bytes through @fd (read when @in, else write), retrying short transfers and EINTR;
 * false on end of file or an error: the other side is gone. */
static bool lx_xfer_full(int fd, void *buf, size_t n, bool in)
{
    char *p = buf;
    while (n) {
        ssize_t r = in ? read(fd, p, n) : write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static bool lx_read_full(int fd, void *buf, size_t n) { return lx_xfer_full(fd, buf, n, true); }
static bool lx_write_full(int fd, const void *buf, size_t n)
{
    return lx_xfer_full(fd, (void *)buf, n, false);
}

LX_UNCHECKED static uint64_t lx_child_read_page(const volatile uint8_t *p)
{
    uint64_t h = LX_HASH_INIT;
    for (uint32_t i = 0; i < 4096; i++)
        h = lx_hash_step(h, p[i]);
    return h;
}

LX_UNCHECKED static void lx_child_write_page(volatile uint8_t *p, uint32_t tok, uint32_t page)
{
    for (uint32_t i = 0; i < 4096; i++)
        p[i] = lx_pattern(tok, page, i);
}

static void lx_child_access(const struct lx_req *rq, struct lx_reply *rp)
{
    uint8_t *base = (uint8_t *)LX_HOST_BASE + rq->off;
    volatile uint32_t p = 0;
    for (; p < rq->pages && p < LX_MAX_ACCESS_PAGES; p++) {
        if (sigsetjmp(lx_jmp, 1)) {
            rp->fault = lx_fault_class(lx_si_code);
            break;
        }
        if (rq->access)
            lx_child_write_page(base + (size_t)p * 4096, rq->tok, p);
        else
            rp->hash[p] = lx_child_read_page(base + (size_t)p * 4096);
    }
    rp->done = p;
}

static void lx_child_maps(struct lx_reply *rp)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    if (fd < 0) {
        rp->err = errno;
        return;
    }
    for (;;) {
        ssize_t r = read(fd, lx_maps_buf + n, sizeof(lx_maps_buf) - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    lx_maps_buf[n] = '\0';
    uintptr_t zs = LX_HOST_BASE, ze = LX_HOST_BASE + LX_ZONE_BYTES;
    for (char *line = lx_maps_buf; line && *line;) {
        char *nl = strchr(line, '\n');
        unsigned long s, e;
        char perms[8] = "";
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && s < ze && e > zs && rp->nr < LX_ZONE_PAGES) {
            struct lx_range *r = &rp->r[rp->nr++];
            r->start = (uint32_t)(((s < zs ? zs : s) - zs) / 4096);
            r->end = (uint32_t)(((e > ze ? ze : e) - zs) / 4096);
            r->bits = (perms[0] == 'r' ? LX_R : 0) | (perms[1] == 'w' ? LX_W : 0) |
                      (perms[2] == 'x' ? LX_X : 0) | (perms[3] == 's' ? LX_S : 0);
        }
        line = nl ? nl + 1 : NULL;
    }
}

static void lx_child_mmap(const struct lx_req *rq, struct lx_reply *rp)
{
    void *want = rq->no_addr ? NULL : (void *)(LX_HOST_BASE + rq->off);
    void *got = mmap(want, rq->len, (int)rq->prot, (int)rq->flags, -1, 0);
    if (got == MAP_FAILED) {
        rp->err = errno;
        return;
    }
    uintptr_t a = (uintptr_t)got;
    if (a >= LX_HOST_BASE && a < LX_HOST_BASE + LX_ZONE_BYTES) {
        rp->ret = (int64_t)(a - LX_HOST_BASE);
        return;
    }
    rp->ret = LX_ELSEWHERE;
    munmap(got, rq->len);
}

static void lx_child_serve(const struct lx_req *rq, struct lx_reply *rp)
{
    void *at = (void *)(LX_HOST_BASE + rq->off);
    switch (rq->kind) {
    case LX_REQ_RESET:
        if (munmap((void *)LX_HOST_BASE, LX_ZONE_BYTES))
            rp->err = errno;
        break;
    case LX_REQ_MMAP: lx_child_mmap(rq, rp); break;
    case LX_REQ_MUNMAP: rp->err = munmap(at, rq->len) ? errno : 0; break;
    case LX_REQ_MPROTECT: rp->err = mprotect(at, rq->len, (int)rq->prot) ? errno : 0; break;
    case LX_REQ_ACCESS: lx_child_access(rq, rp); break;
    case LX_REQ_MAPS: lx_child_maps(rp); break;
    default: rp->err = EINVAL; break;
    }
}

/* Is [zone - 1 page, zone end + 1 page) free here? Empty string if so, else why not. */
static void lx_child_check_zone(char *msg, size_t size)
{
    void *probe = mmap((void *)(LX_HOST_BASE - 4096), LX_ZONE_BYTES + 2 * 4096, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (probe == MAP_FAILED) {
        snprintf(msg, size, "zone %#lx+%zu not free in the child: %s", LX_HOST_BASE, LX_ZONE_BYTES,
                 strerror(errno));
        return;
    }
    munmap(probe, LX_ZONE_BYTES + 2 * 4096);
    if (probe != (void *)(LX_HOST_BASE - 4096))
        snprintf(msg, size, "MAP_FIXED_NOREPLACE unsupported (mapped at %p)", probe);
}

_Noreturn static void lx_child_main(int in, int out)
{
    static struct lx_reply rp;
    struct lx_req rq;
    char msg[128] = "";
    struct sigaction sa;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != lx_owner)
        _exit(0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = lx_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    lx_child_check_zone(msg, sizeof(msg));
    while (lx_read_full(in, &rq, sizeof(rq))) {
        memset(&rp, 0, sizeof(rp));
        if (msg[0])
            memcpy(rp.msg, msg, sizeof(rp.msg));
        else
            lx_child_serve(&rq, &rp);
        if (!lx_write_full(out, &rp, sizeof(rp)))
            break;
    }
    _exit(0);
}

/* ---- the owner's side ---- */

static int lx_start(void)
{
    int to[2], from[2];
    if (lx_to_child >= 0) { /* inherited from the process we were forked from: not ours */
        close(lx_to_child);
        close(lx_from_child);
        lx_to_child = lx_from_child = -1;
    }
    if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
        return -1;
    lx_owner = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(to[1]);
        close(from[0]);
        lx_child_main(to[0], from[1]);
    }
    close(to[0]);
    close(from[1]);
    lx_pid = pid;
    lx_to_child = to[1];
    lx_from_child = from[0];
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int fuzz_machine_linux_call(const struct lx_req *rq, struct lx_reply *rp)
{
    if (lx_owner != getpid() || lx_to_child < 0) {
        if (lx_start())
            return -1;
    }
    if (!lx_write_full(lx_to_child, rq, sizeof(*rq)) || !lx_read_full(lx_from_child, rp, sizeof(*rp))) {
        close(lx_to_child);
        close(lx_from_child);
        lx_to_child = lx_from_child = -1;
        lx_owner = 0;
        kill(lx_pid, SIGKILL); /* a child that stopped answering: gone, and reaped */
        waitpid(lx_pid, NULL, 0);
        return -1;
    }
    return 0;
}
