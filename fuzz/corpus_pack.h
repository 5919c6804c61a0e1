/*
 * corpus_pack.h - the corpus pack: every corpus file of every target in one flat image, written
 * by the hosted tool corpus_pack_tool and read in the kernel (a multiboot module) by the iterator
 * below. Freestanding: no libc, no mm headers; both the writer and the reader use this file.
 *
 * Format (version 1), all integers little endian, every entry starting 8-byte aligned:
 *
 *   offset 0    header, 24 bytes
 *               [0..7]   magic "LXCORPUS"
 *               [8..11]  u32 version (1)
 *               [12..15] u32 count: number of entries
 *               [16..23] u64 total size of the pack in bytes (header and padding included)
 *   offset 24   count entries, each:
 *               [0..3]   u32 target_len   bytes of the target name, NUL excluded (1..63)
 *               [4..7]   u32 name_len     bytes of the relative name, NUL excluded (1..255)
 *               [8..11]  u32 size         bytes of the input (0..CORPUS_PACK_MAX_INPUT)
 *               [12..15] u32 reserved (0)
 *               [16..]   target name, NUL; relative name, NUL; zero padding to 8 bytes
 *               then     the input's bytes, zero padding to 8 bytes
 *
 * The relative name is the file's path below corpus/ ("vm/regress-foo"); the target name is the
 * fuzz target that replays it ("vm"). Entries are sorted by relative name (byte order); the reader
 * does not depend on it. The reader checks every length against the pack's end, the NULs and the
 * padding, so a truncated or corrupted pack is refused instead of read past its end.
 */
#ifndef LEAXOS_FUZZ_CORPUS_PACK_H
#define LEAXOS_FUZZ_CORPUS_PACK_H

#include <stddef.h>
#include <stdint.h>

#define CORPUS_PACK_MAGIC       "LXCORPUS"
#define CORPUS_PACK_VERSION     1u
#define CORPUS_PACK_HDR_SIZE    24u
#define CORPUS_PACK_ENTRY_HDR   16u
#define CORPUS_PACK_MAX_TARGET  63u
#define CORPUS_PACK_MAX_NAME    255u
#define CORPUS_PACK_MAX_INPUT   (1u << 20)

/** One entry, pointing into the pack (valid as long as the pack is). */
struct corpus_pack_entry {
    const char *target;     /* NUL-terminated */
    const char *name;       /* NUL-terminated, relative to corpus/ */
    const uint8_t *data;
    size_t size;
};

/** Iterator over a pack (fields private to corpus_pack.c). */
struct corpus_pack_iter {
    const uint8_t *base;
    size_t size;
    size_t off;
    uint32_t index, count;
};

/**
 * Start iterating the @size-byte pack at @pack (8-byte aligned). Returns the number of entries
 * (>= 0), or -1 when the header is not a version-1 pack or its total size is not @size.
 */
long corpus_pack_open(struct corpus_pack_iter *it, const void *pack, size_t size);

/**
 * The next entry into *@e. Returns 1, 0 at the end (after exactly count entries), or -1 when
 * the entry is malformed (a length out of range or past the end, a missing NUL, non-zero
 * padding); after -1 the iterator stays at the bad entry.
 */
int corpus_pack_next(struct corpus_pack_iter *it, struct corpus_pack_entry *e);

/** Bytes an entry of these lengths occupies in the pack (header, names, data, padding). */
size_t corpus_pack_entry_bytes(size_t target_len, size_t name_len, size_t size);

/**
 * Write one entry, padding included, at @out (room for corpus_pack_entry_bytes() bytes).
 * Returns the bytes written, or 0 (nothing written) when a length is out of range.
 */
size_t corpus_pack_put_entry(uint8_t *out, const char *target, const char *name,
                             const uint8_t *data, size_t size);

/** Write the header for @count entries and a pack of @total bytes at @out (HDR_SIZE bytes). */
void corpus_pack_put_header(uint8_t *out, uint32_t count, uint64_t total);

#endif /* LEAXOS_FUZZ_CORPUS_PACK_H */
