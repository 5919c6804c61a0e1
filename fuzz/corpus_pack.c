/*
 * corpus_pack.c - reader and entry writer of the corpus pack (format: corpus_pack.h).
 *
 * Freestanding and self-contained (no libc, no mm): linked into the kernel image, the hosted
 * replay program and the hosted packing tool. The reader trusts nothing in the pack: every
 * offset is checked against the pack size before it is dereferenced.
 */
#include "corpus_pack.h"

static uint32_t cp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t cp_get64(const uint8_t *p)
{
    return (uint64_t)cp_get32(p) | (uint64_t)cp_get32(p + 4) << 32;
}

static void cp_put32(uint8_t *p, uint32_t v)
{
    for (unsigned int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void cp_put64(uint8_t *p, uint64_t v)
{
    cp_put32(p, (uint32_t)v);
    cp_put32(p + 4, (uint32_t)(v >> 32));
}

static size_t cp_align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* True if [from, to) of @p is all zero. */
static int cp_zero(const uint8_t *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i])
            return 0;
    return 1;
}

long corpus_pack_open(struct corpus_pack_iter *it, const void *pack, size_t size)
{
    const uint8_t *b = pack;
    const char *magic = CORPUS_PACK_MAGIC;

    it->base = b;
    it->size = size;
    it->off = CORPUS_PACK_HDR_SIZE;
    it->index = it->count = 0;
    if (!b || size < CORPUS_PACK_HDR_SIZE || ((uintptr_t)b & 7))
        return -1;
    for (unsigned int i = 0; i < 8; i++)
        if (b[i] != (uint8_t)magic[i])
            return -1;
    if (cp_get32(b + 8) != CORPUS_PACK_VERSION || cp_get64(b + 16) != (uint64_t)size)
        return -1;
    it->count = cp_get32(b + 12);
    return (long)it->count;
}

size_t corpus_pack_entry_bytes(size_t target_len, size_t name_len, size_t size)
{
    return CORPUS_PACK_ENTRY_HDR + cp_align8(target_len + 1 + name_len + 1) + cp_align8(size);
}

int corpus_pack_next(struct corpus_pack_iter *it, struct corpus_pack_entry *e)
{
    const uint8_t *h = it->base + it->off;
    size_t left = it->size - it->off, tl, nl, sz, names, need;

    if (it->index == it->count)
        return it->off == it->size ? 0 : -1;
    if (left < CORPUS_PACK_ENTRY_HDR)
        return -1;
    tl = cp_get32(h);
    nl = cp_get32(h + 4);
    sz = cp_get32(h + 8);
    if (!tl || tl > CORPUS_PACK_MAX_TARGET || !nl || nl > CORPUS_PACK_MAX_NAME ||
        sz > CORPUS_PACK_MAX_INPUT || cp_get32(h + 12))
        return -1;
    need = corpus_pack_entry_bytes(tl, nl, sz);
    if (need > left)
        return -1;
    names = cp_align8(tl + 1 + nl + 1);
    h += CORPUS_PACK_ENTRY_HDR;
    if (h[tl] || h[tl + 1 + nl] || !cp_zero(h, tl + 1 + nl + 1, names) ||
        !cp_zero(h + names, sz, cp_align8(sz)))
        return -1;
    for (size_t i = 0; i < tl; i++)
        if (!h[i])
            return -1;
    for (size_t i = 0; i < nl; i++)
        if (!h[tl + 1 + i])
            return -1;
    e->target = (const char *)h;
    e->name = (const char *)h + tl + 1;
    e->data = h + names;
    e->size = sz;
    it->off += need;
    it->index++;
    return 1;
}

size_t corpus_pack_put_entry(uint8_t *out, const char *target, const char *name,
                             const uint8_t *data, size_t size)
{
    size_t tl = 0, nl = 0, names, total, i;

    while (target[tl])
        tl++;
    while (name[nl])
        nl++;
    if (!tl || tl > CORPUS_PACK_MAX_TARGET || !nl || nl > CORPUS_PACK_MAX_NAME ||
        size > CORPUS_PACK_MAX_INPUT)
        return 0;
    names = cp_align8(tl + 1 + nl + 1);
    total = corpus_pack_entry_bytes(tl, nl, size);
    for (i = 0; i < total; i++)
        out[i] = 0;
    cp_put32(out, (uint32_t)tl);
    cp_put32(out + 4, (uint32_t)nl);
    cp_put32(out + 8, (uint32_t)size);
    out += CORPUS_PACK_ENTRY_HDR;
    for (i = 0; i < tl; i++)
        out[i] = (uint8_t)target[i];
    for (i = 0; i < nl; i++)
        out[tl + 1 + i] = (uint8_t)name[i];
    for (i = 0; i < size; i++)
        out[names + i] = data[i];
    return total;
}

void corpus_pack_put_header(uint8_t *out, uint32_t count, uint64_t total)
{
    const char *magic = CORPUS_PACK_MAGIC;

    for (unsigned int i = 0; i < 8; i++)
        out[i] = (uint8_t)magic[i];
    cp_put32(out + 8, CORPUS_PACK_VERSION);
    cp_put32(out + 12, count);
    cp_put64(out + 16, total);
}
