/*
 * digest.h - one 64-bit digest of the outcomes of every op of one fuzz input.
 *
 * The hosted replay program and the kernel's boot-time corpus replay run the same input through
 * the same target over the same physical layout; the digest of what the ops returned must then
 * be the same on both sides (and in the ASan and the non-ASan hosted build). Targets feed it:
 *
 *   fuzz_digest_begin()          at the start of every input (before the boot)
 *   fuzz_digest_op(kind)         at the start of every op record (counts the ops)
 *   fuzz_digest_err(err)         an error code a call returned (0 = success)
 *   fuzz_digest_ok(cond)         a success flag (an allocation returned memory, a victim existed)
 *   fuzz_digest_count(n)         a count or size a call returned (pages reclaimed, ksize)
 *   fuzz_digest_fault(res, done) a user access: its vm_fault_result and the pages it completed
 *   fuzz_digest_bytes(p, n)      bytes read back (through a user access, mm_file_read)
 *   fuzz_digest_str(s)           a name the mm reported (the invariant mm_check named)
 *
 * Never fed: addresses (direct map, vmalloc, user or physical), pfns, zone or order of where a
 * block landed, pointer values, log text, anything only an ASan build computes. Those legitimately
 * differ between the hosted arena and the kernel's direct map.
 *
 * Hash: FNV-1a's offset basis and prime applied to 64-bit words (one xor and one multiply per
 * word), each step followed by an xor-shift fold so high bits reach low bits; every record is a
 * tag word then its value words. Each step is a bijection of the state, so two streams that
 * differ in one word always give different digests. Freestanding: no libc, no allocation.
 */
#ifndef LEAXOS_FUZZ_DIGEST_H
#define LEAXOS_FUZZ_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What a digest record holds (mixed in before its value, so records of two kinds never alias). */
enum fuzz_digest_tag {
    FZD_OP = 1,     /* an op record starts: its op kind */
    FZD_ERR,        /* an error code (sign-extended) */
    FZD_OK,         /* a success flag, 0 or 1 */
    FZD_COUNT,      /* a count or size */
    FZD_FAULT,      /* a user access: vm_fault_result, then the pages completed */
    FZD_BYTES,      /* a byte string: its length, then its bytes in 64-bit words */
    FZD_STR,        /* a NUL-terminated name: as FZD_BYTES */
};

/** Start a new digest (every target calls it first thing in its run function). */
void fuzz_digest_begin(void);

/** One op record of kind @kind starts: counted in fuzz_digest_nr_ops(). */
void fuzz_digest_op(uint32_t kind);

/** Mix one record: @tag, then @value. */
void fuzz_digest_put(enum fuzz_digest_tag tag, uint64_t value);

/** Mix @len bytes at @p under @tag (FZD_BYTES or FZD_STR). */
void fuzz_digest_mem(enum fuzz_digest_tag tag, const void *p, size_t len);

static inline void fuzz_digest_err(int err) { fuzz_digest_put(FZD_ERR, (uint64_t)(int64_t)err); }
static inline void fuzz_digest_ok(bool ok) { fuzz_digest_put(FZD_OK, ok ? 1 : 0); }
static inline void fuzz_digest_count(uint64_t n) { fuzz_digest_put(FZD_COUNT, n); }
static inline void fuzz_digest_bytes(const void *p, size_t n) { fuzz_digest_mem(FZD_BYTES, p, n); }

/** A user access ended with vm_fault_result @res after @done whole pages. */
void fuzz_digest_fault(int res, uint32_t done);

/** A NUL-terminated name (NULL counts as the empty name). */
void fuzz_digest_str(const char *s);

/** The digest so far. */
uint64_t fuzz_digest_value(void);

/** Op records counted since fuzz_digest_begin(). */
uint32_t fuzz_digest_nr_ops(void);

/**
 * Format the line both replays print for one input (no newline):
 *   "DIGEST <target> <name> <16 hex digits> ops=<n>"   after a completed run (@failed false)
 *   "DIGEST <target> <name> failed"                    after a run that failed
 * Returns mm_snprintf's result.
 */
int fuzz_digest_format(char *buf, size_t size, const char *target, const char *name, bool failed);

#endif /* LEAXOS_FUZZ_DIGEST_H */
