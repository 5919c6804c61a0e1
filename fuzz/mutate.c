/*
 * mutate.c - deterministic input variants for hosted-vs-kernel differential runs (mutate.h).
 *
 * Seed: FNV-1a of the name, mixed with the index; then xorshift64. One to four edits, each one of:
 * overwrite a random byte, replace an op record with random bytes, duplicate a record, delete a
 * record, swap two records, or (rarely) rewrite one header byte.
 */
#include "mutate.h"
#include "mm_env.h"

struct mut_rng {
    uint64_t s;
};

static uint64_t mut_next(struct mut_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static uint64_t mut_below(struct mut_rng *r, uint64_t n) { return n ? mut_next(r) % n : 0; }

static uint64_t mut_seed(const char *name, unsigned int index)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
    h ^= (uint64_t)index * 0x9e3779b97f4a7c15ull;
    return h ? h : 1;
}

/* The op records of @buf (after the header): how many whole ones there are. */
static size_t mut_records(size_t n) { return n > FUZZ_HDR_SIZE ? (n - FUZZ_HDR_SIZE) / FUZZ_REC_SIZE : 0; }

static uint8_t *mut_rec(uint8_t *buf, size_t i) { return buf + FUZZ_HDR_SIZE + i * FUZZ_REC_SIZE; }

static size_t mut_edit(struct mut_rng *r, uint8_t *buf, size_t n)
{
    size_t recs = mut_records(n);
    uint8_t tmp[FUZZ_REC_SIZE];

    switch (mut_below(r, 8)) {
    case 0: /* one header byte: another machine layout */
        buf[mut_below(r, FUZZ_HDR_SIZE)] = (uint8_t)mut_next(r);
        return n;
    case 1: /* delete a record */
        if (recs > 1) {
            size_t i = mut_below(r, recs);
            memmove(mut_rec(buf, i), mut_rec(buf, i + 1), n - (size_t)(mut_rec(buf, i + 1) - buf));
            return n - FUZZ_REC_SIZE;
        }
        /* fall through */
    case 2: /* duplicate a record */
        if (recs && n + FUZZ_REC_SIZE <= FUZZ_MUTANT_MAX) {
            size_t i = mut_below(r, recs);
            memmove(mut_rec(buf, i + 1), mut_rec(buf, i), n - (size_t)(mut_rec(buf, i) - buf));
            return n + FUZZ_REC_SIZE;
        }
        /* fall through */
    case 3: /* swap two records */
        if (recs > 1) {
            size_t i = mut_below(r, recs), j = mut_below(r, recs);
            memcpy(tmp, mut_rec(buf, i), FUZZ_REC_SIZE);
            memcpy(mut_rec(buf, i), mut_rec(buf, j), FUZZ_REC_SIZE);
            memcpy(mut_rec(buf, j), tmp, FUZZ_REC_SIZE);
            return n;
        }
        /* fall through */
    case 4: /* a new random record */
        if (recs) {
            uint64_t v = mut_next(r);
            memcpy(mut_rec(buf, mut_below(r, recs)), &v, FUZZ_REC_SIZE);
            return n;
        }
        /* fall through */
    default: /* one byte anywhere after the header */
        if (n > FUZZ_HDR_SIZE)
            buf[FUZZ_HDR_SIZE + mut_below(r, n - FUZZ_HDR_SIZE)] = (uint8_t)mut_next(r);
        return n;
    }
}

size_t fuzz_mutate(const uint8_t *in, size_t n, const char *name, unsigned int index,
                   uint8_t out[FUZZ_MUTANT_MAX])
{
    struct mut_rng r = { mut_seed(name, index) };
    size_t len = n < FUZZ_MUTANT_MAX ? n : FUZZ_MUTANT_MAX;

    memcpy(out, in, len);
    if (len < FUZZ_HDR_SIZE) { /* a short input reads as zero-padded: make that explicit */
        memset(out + len, 0, FUZZ_HDR_SIZE - len);
        len = FUZZ_HDR_SIZE;
    }
    for (unsigned int edits = 1 + (unsigned int)mut_below(&r, 4); edits; edits--)
        len = mut_edit(&r, out, len);
    return len;
}
