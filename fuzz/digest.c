/*
 * digest.c - the op-outcome digest of one fuzz input (contract: digest.h).
 *
 * State: one 64-bit hash and the op count of the input being run (one input at a time: every
 * driver runs inputs one after the other on one thread). Freestanding: mm_snprintf only.
 */
#include "digest.h"
#include "mm_common.h"

#define FZD_BASIS 0xcbf29ce484222325ull /* FNV-1a 64-bit offset basis */
#define FZD_PRIME 0x00000100000001b3ull /* FNV-1a 64-bit prime */

static uint64_t fzd_hash = FZD_BASIS;
static uint32_t fzd_ops;

static void fzd_mix(uint64_t w)
{
    fzd_hash = (fzd_hash ^ w) * FZD_PRIME;
    fzd_hash ^= fzd_hash >> 29;
}

void fuzz_digest_begin(void)
{
    fzd_hash = FZD_BASIS;
    fzd_ops = 0;
}

void fuzz_digest_op(uint32_t kind)
{
    fzd_ops++;
    fuzz_digest_put(FZD_OP, kind);
}

void fuzz_digest_put(enum fuzz_digest_tag tag, uint64_t value)
{
    fzd_mix(tag);
    fzd_mix(value);
}

void fuzz_digest_mem(enum fuzz_digest_tag tag, const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t i = 0;

    fuzz_digest_put(tag, len);
    for (; i + 8 <= len; i += 8) {
        uint64_t w = 0;
        for (unsigned int k = 0; k < 8; k++) /* little endian, whatever the alignment */
            w |= (uint64_t)b[i + k] << (8 * k);
        fzd_mix(w);
    }
    if (i < len) {
        uint64_t w = 0;
        for (unsigned int k = 0; i + k < len; k++)
            w |= (uint64_t)b[i + k] << (8 * k);
        fzd_mix(w);
    }
}

void fuzz_digest_fault(int res, uint32_t done)
{
    fuzz_digest_put(FZD_FAULT, (uint64_t)(int64_t)res);
    fzd_mix(done);
}

void fuzz_digest_str(const char *s)
{
    size_t n = 0;

    if (!s)
        s = "";
    while (s[n])
        n++;
    fuzz_digest_mem(FZD_STR, s, n);
}

uint64_t fuzz_digest_value(void)
{
    return fzd_hash;
}

uint32_t fuzz_digest_nr_ops(void)
{
    return fzd_ops;
}

int fuzz_digest_format(char *buf, size_t size, const char *target, const char *name, bool failed)
{
    if (failed)
        return mm_snprintf(buf, size, "DIGEST %s %s failed", target, name);
    return mm_snprintf(buf, size, "DIGEST %s %s %016llx ops=%u", target, name,
                       (unsigned long long)fzd_hash, (unsigned int)fzd_ops);
}
