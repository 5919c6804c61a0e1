/*
 * ops.c - decoder, printer, parser and encoder of the one op-sequence format (see ops.h).
 *
 * Owns: the machine header fold, the layout generator, the global op-kind descriptor table and
 * the value tables its arguments use. Every decode is total (any bytes -> some sequence); every
 * encode is found by searching the raw values of a field for one that decodes to the wanted value,
 * so the encoder can never disagree with the decoder.
 *
 * Freestanding: mm headers only, mm_snprintf for formatting, no libc.
 */
#include "ops.h"

/* ---- value tables ---- */

const struct fuzz_enum_val fuzz_gfp_vals[] = {
    { GFP_KERNEL, "GFP_KERNEL" },
    { GFP_ATOMIC, "GFP_ATOMIC" },
    { GFP_DMA, "GFP_DMA" },
    { GFP_HIGHUSER, "GFP_HIGHUSER" },
    { GFP_NOWAIT, "GFP_NOWAIT" },
    { GFP_KERNEL | __GFP_ZERO, "GFP_KERNEL|__GFP_ZERO" },
    { GFP_HIGHUSER | __GFP_ZERO, "GFP_HIGHUSER|__GFP_ZERO" },
    { GFP_DMA | __GFP_ZERO, "GFP_DMA|__GFP_ZERO" },
    { GFP_ATOMIC | __GFP_NOWARN, "GFP_ATOMIC|__GFP_NOWARN" },
    { GFP_KERNEL | __GFP_NOWARN, "GFP_KERNEL|__GFP_NOWARN" },
    { GFP_KERNEL | __GFP_DMA, "GFP_KERNEL|GFP_DMA" },
    { 0, "0" },
};
const uint32_t fuzz_nr_gfp_vals = MM_ARRAY_SIZE(fuzz_gfp_vals);

static const struct fuzz_enum_val via_vals[] = { { FUZZ_VIA_PAGE, "page" }, { FUZZ_VIA_ADDR, "addr" } };
static const struct fuzz_enum_val drain_vals[] = { { 0, "local" }, { 1, "all" } };
static const struct fuzz_enum_val onoff_vals[] = { { 0, "off" }, { 1, "on" } };
static const struct fuzz_enum_val tail_as_vals[] = { { 0, "order0" }, { 1, "block" } };
static const struct fuzz_enum_val bad_on_vals[] = { { 0, "alloc" }, { 1, "free" }, { 2, "free-addr" } };

static const struct fuzz_enum_val bad_addr_vals[] = {
    { FUZZ_BAD_BEYOND_END, "beyond-end" },
    { FUZZ_BAD_UNALIGNED, "unaligned" },
    { FUZZ_BAD_FOREIGN, "foreign" },
    { FUZZ_BAD_FOREIGN_PAGE, "foreign-page" },
    { FUZZ_BAD_MID_PAGE, "mid-page" },
    { FUZZ_BAD_RESERVED, "reserved" },
    { FUZZ_BAD_FREE_PAGE, "free-page" },
    { FUZZ_BAD_NULL_PAGE, "null-page" },
    { FUZZ_BAD_NULL_ADDR, "null-addr" },
    { FUZZ_BAD_MM_PAGE, "mm-page" },
};

static const struct fuzz_enum_val bad_order_vals[] = {
    { 11, "11" }, { 12, "12" }, { 16, "16" }, { 31, "31" }, { 32, "32" },
    { 63, "63" }, { 64, "64" }, { 255, "255" }, { 0x7fffffffu, "0x7fffffff" },
    { 0xffffffffu, "0xffffffff" },
};

static const struct fuzz_enum_val bad_gfp_vals[] = {
    { 0x100, "0x100" },
    { GFP_KERNEL | 0x8000, "GFP_KERNEL|0x8000" },
    { 0x80000000u, "0x80000000" },
    { __GFP_DMA | __GFP_HIGHMEM, "__GFP_DMA|__GFP_HIGHMEM" },
    { GFP_HIGHUSER | __GFP_DMA, "GFP_HIGHUSER|__GFP_DMA" },
    { 0xffffffffu, "0xffffffff" },
    { 0xff00, "0xff00" },
};

static const struct fuzz_enum_val align_vals[] = {
    { 0, "0" }, { 8, "8" }, { 16, "16" }, { 64, "64" }, { 256, "256" }, { 4096, "4096" },
};
static const struct fuzz_enum_val cflags_vals[] = {
    { 0, "0" }, { SLAB_HWCACHE_ALIGN, "SLAB_HWCACHE_ALIGN" }, { SLAB_CACHE_DMA, "SLAB_CACHE_DMA" },
    { SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA, "SLAB_HWCACHE_ALIGN|SLAB_CACHE_DMA" },
};
static const struct fuzz_enum_val sfree_vals[] = { { FUZZ_VIA_CACHE, "cache" }, { FUZZ_VIA_KFREE, "kfree" } };
static const struct fuzz_enum_val kmfn_vals[] = {
    { FUZZ_KM_KMALLOC, "kmalloc" }, { FUZZ_KM_KZALLOC, "kzalloc" }, { FUZZ_KM_KCALLOC, "kcalloc" },
    { FUZZ_KM_ARRAY, "kmalloc_array" },
};
static const struct fuzz_enum_val kr_of_vals[] = { { 0, "obj" }, { 1, "null" } };
static const struct fuzz_enum_val rz_then_vals[] = { { 0, "free" }, { 1, "validate" } };
static const struct fuzz_enum_val uaf_then_vals[] = { { 0, "alloc" }, { 1, "validate" } };
static const struct fuzz_enum_val krbad_vals[] = { { 0, "interior" }, { 1, "freed" } };
static const struct fuzz_enum_val meta_vals[] = { { 0, "cache" }, { 1, "kmalloc-cache" } };
static const struct fuzz_enum_val meta_via_vals[] = { { 0, "kfree" }, { 1, "cache" },
                                                      { 2, "krealloc" } };
static const struct fuzz_enum_val noown_vals[] = {
    { FUZZ_NOOWN_PAGE, "page" }, { FUZZ_NOOWN_STACK, "stack" }, { FUZZ_NOOWN_GLOBAL, "global" },
    { FUZZ_NOOWN_BEYOND_END, "beyond-end" }, { FUZZ_NOOWN_RESERVED, "reserved" },
    { FUZZ_NOOWN_FREE_PAGE, "free-page" },
};

static const struct fuzz_enum_val mb_align_vals[] = {
    { 8, "8" }, { 16, "16" }, { 32, "32" }, { 64, "64" }, { 128, "128" }, { 256, "256" },
    { 512, "512" }, { 4096, "4096" }, { 8192, "8192" }, { 65536, "65536" },
    { 1u << 20, "0x100000" }, { 2u << 20, "0x200000" },
    { 0, "0" }, { 4, "4" }, { 24, "24" }, { 0x80000000u, "0x80000000" },
};
static const struct fuzz_enum_val noyes_vals[] = { { 0, "no" }, { 1, "yes" } };
static const struct fuzz_enum_val mb_where_vals[] = {
    { 0, "in" }, { 1, "in-page" }, { 2, "beyond" }, { 3, "empty" }, { 4, "wrap" },
};
static const struct fuzz_enum_val mb_part_vals[] = {
    { 0, "whole" }, { 1, "head" }, { 2, "tail" }, { 3, "middle" }, { 4, "never" },
};
static const struct fuzz_enum_val map_vals[] = {
    { FUZZ_MAP_LAYOUT, "layout" }, { FUZZ_MAP_MANY, "many" }, { FUZZ_MAP_OVERLAP, "overlap" },
    { FUZZ_MAP_SUBPAGE, "subpage" }, { FUZZ_MAP_VANISH, "vanish" }, { FUZZ_MAP_TOOMANY, "toomany" },
    { FUZZ_MAP_BADENTRY, "bad-entry" },
};
static const struct fuzz_enum_val corrupt_vals[] = {
    { FUZZ_CR_BUDDY_FLAGS, "buddy-flags" }, { FUZZ_CR_BUDDY_ORDER, "buddy-order" },
    { FUZZ_CR_BUDDY_LINK, "buddy-link" }, { FUZZ_CR_BUDDY_LOOP, "buddy-loop" },
    { FUZZ_CR_AREA_COUNT, "area-count" }, { FUZZ_CR_ZONE_NR_FREE, "zone-nr-free" },
    { FUZZ_CR_FREE_TAIL, "free-tail" }, { FUZZ_CR_PCP_CPU, "pcp-cpu" },
    { FUZZ_CR_PCP_COUNT, "pcp-count" }, { FUZZ_CR_PCP_LOOP, "pcp-loop" },
    { FUZZ_CR_ALLOC_REFCOUNT, "alloc-refcount" }, { FUZZ_CR_ALLOC_STRAY, "alloc-stray" },
    { FUZZ_CR_ALLOC_BUDDY, "alloc-buddy" }, { FUZZ_CR_ALLOC_PCP, "alloc-pcp" },
    { FUZZ_CR_MANAGED, "managed" }, { FUZZ_CR_RESERVED, "reserved" },
    { FUZZ_CR_MEMBLOCK, "memblock" }, { FUZZ_CR_CACHE_MAGIC, "cache-magic" },
    { FUZZ_CR_SLAB_CACHE, "slab-cache" }, { FUZZ_CR_SLAB_FROZEN, "slab-frozen" },
    { FUZZ_CR_SLAB_FREELIST, "slab-freelist" }, { FUZZ_CR_SLAB_DUP, "slab-dup" },
    { FUZZ_CR_SLAB_INUSE, "slab-inuse" }, { FUZZ_CR_NR_PARTIAL, "nr-partial" },
    { FUZZ_CR_SLAB_STATE, "slab-state" }, { FUZZ_CR_REDZONE, "redzone" },
    { FUZZ_CR_POISON, "poison" },
};

const char *const fuzz_numa_dist_names[FUZZ_NR_DIST] = { "default", "linear", "asym", "pairs" };
static const struct fuzz_enum_val numa_dist_vals[] = {
    { FUZZ_DIST_DEFAULT, "default" }, { FUZZ_DIST_LINEAR, "linear" }, { FUZZ_DIST_ASYM, "asym" },
    { FUZZ_DIST_PAIRS, "pairs" },
};
static const struct fuzz_enum_val node_vals[] = {
    { 0, "0" }, { 1, "1" }, { 2, "2" }, { 3, "3" }, { FUZZ_NODE_LOCAL, "local" },
    { FUZZ_NODE_BAD, "bad" },
};
static const struct fuzz_enum_val node_fn_vals[] = {
    { FUZZ_NODE_FN_TRY, "try" }, { FUZZ_NODE_FN_ALLOC, "alloc" }, { FUZZ_NODE_FN_RAW, "__alloc" },
};

static const struct fuzz_enum_val vm_slots_vals[] = {
    { 0, "0" }, { 64, "64" }, { 128, "128" }, { 256, "256" }, { 512, "512" },
};
static const struct fuzz_enum_val vm_what_vals[] = {
    { 0, "anon" }, { 1, "anon-shared" }, { 2, "f0-private" }, { 3, "f0-shared" },
    { 4, "f1-private" }, { 5, "f1-shared" }, { 6, "f2-private" }, { 7, "f2-shared" },
    { 8, "f3-private" }, { 9, "f3-shared" },
};
static const struct fuzz_enum_val vm_prot_vals[] = {
    { 0, "none" }, { 1, "r" }, { 2, "w" }, { 3, "rw" }, { 4, "x" }, { 5, "rx" }, { 6, "wx" },
    { 7, "rwx" },
};
static const struct fuzz_enum_val vm_how_vals[] = {
    { 0, "any" }, { 1, "hint" }, { 2, "fixed" }, { 3, "noreplace" }, { 4, "growsdown" },
    { 5, "fixed-growsdown" }, { 6, "bad-flags" }, { 7, "both" }, { 8, "neither" },
    { 9, "zero-len" }, { 10, "bad-off" }, { 11, "anon-file" }, { 12, "bad-prot" },
};
static const struct fuzz_enum_val vm_access_vals[] = { { 0, "read" }, { 1, "write" }, { 2, "exec" } };
static const struct fuzz_enum_val vm_pressure_vals[] = {
    { 0, "reclaim" }, { 1, "swap" }, { 2, "kswapd" }, { 3, "hog" }, { 4, "release" },
};
static const struct fuzz_enum_val vm_file_vals[] = {
    { 0, "write" }, { 1, "read" }, { 2, "sync" }, { 3, "write-beyond" },
};
static const struct fuzz_enum_val vmalloc_fn_vals[] = {
    { 0, "vmalloc" }, { 1, "vzalloc" }, { 2, "__vmalloc" }, { 3, "__vmalloc-zero" },
};
static const struct fuzz_enum_val vfree_via_vals[] = { { 0, "vfree" }, { 1, "vunmap" }, { 2, "null" } };
static const struct fuzz_enum_val vunmap_via_vals[] = { { 0, "vunmap" }, { 1, "vfree" } };
static const struct fuzz_enum_val vmap_prot_vals[] = { { 0, "rw" }, { 1, "ro" } };
static const struct fuzz_enum_val vm_corrupt_vals[] = {
    { FUZZ_VCR_COW_WRITABLE, "cow-writable" }, { FUZZ_VCR_PTE_OUTSIDE, "pte-outside" },
    { FUZZ_VCR_PTE_USER, "pte-user" }, { FUZZ_VCR_PTE_PAGE, "pte-page" },
    { FUZZ_VCR_MAPCOUNT, "mapcount" }, { FUZZ_VCR_REFCOUNT, "refcount" },
    { FUZZ_VCR_NR_ANON, "nr-anon" }, { FUZZ_VCR_TREE_DEPTH, "tree-depth" },
    { FUZZ_VCR_TREE_GAP, "tree-gap" }, { FUZZ_VCR_TREE_KEY, "tree-key" },
    { FUZZ_VCR_MAP_COUNT, "map-count" }, { FUZZ_VCR_VMA_RANGE, "vma-range" },
    { FUZZ_VCR_VMA_FLAGS, "vma-flags" }, { FUZZ_VCR_VMA_ORDER, "vma-order" },
    { FUZZ_VCR_VMA_UNMERGED, "vma-unmerged" }, { FUZZ_VCR_SWAP_COUNT, "swap-count" },
    { FUZZ_VCR_SWAP_ORPHAN, "swap-orphan" }, { FUZZ_VCR_SWAP_PTE, "swap-pte" },
    { FUZZ_VCR_LRU_LINK, "lru-link" }, { FUZZ_VCR_LRU_BITS, "lru-bits" },
    { FUZZ_VCR_PT_COUNT, "pt-count" }, { FUZZ_VCR_PT_TABLES, "pt-tables" },
    { FUZZ_VCR_VMALLOC_GUARD, "vmalloc-guard" }, { FUZZ_VCR_VMALLOC_PAGE, "vmalloc-page" },
    { FUZZ_VCR_VMALLOC_PROT, "vmalloc-prot" }, { FUZZ_VCR_PT_LEAF, "pt-leaf" },
    { FUZZ_VCR_PT_UPPER, "pt-upper" }, { FUZZ_VCR_PT_DUP, "pt-dup" },
};
static const struct fuzz_enum_val vm_vmisuse_vals[] = {
    { FUZZ_VMIS_INTERIOR, "interior" }, { FUZZ_VMIS_GUARD, "guard" },
    { FUZZ_VMIS_FOREIGN, "foreign" }, { FUZZ_VMIS_KMALLOC, "kmalloc" },
    { FUZZ_VMIS_NOWHERE, "nowhere" }, { FUZZ_VMIS_DOUBLE_VFREE, "double-vfree" },
    { FUZZ_VMIS_DOUBLE_VUNMAP, "double-vunmap" }, { FUZZ_VMIS_WRONG_KIND, "wrong-kind" },
    { FUZZ_VMIS_VMAP_NULL, "vmap-null" }, { FUZZ_VMIS_VMAP_ZERO, "vmap-zero" },
    { FUZZ_VMIS_VMAP_WX, "vmap-wx" }, { FUZZ_VMIS_VMAP_BITS, "vmap-bits" },
    { FUZZ_VMIS_VMAP_NOTPAGE, "vmap-notpage" }, { FUZZ_VMIS_VMAP_FREE, "vmap-free" },
    { FUZZ_VMIS_HUGE, "huge" }, { FUZZ_VMIS_KFREE, "kfree" },
    { FUZZ_VMIS_FREE_MAPPED, "free-mapped" }, { FUZZ_VMIS_KFREE_VMA, "kfree-vma" },
    { FUZZ_VMIS_KFREE_AREA, "kfree-vmap-area" }, { FUZZ_VMIS_FREE_VMAPPED, "free-vmapped" },
};
static const struct fuzz_enum_val smp_drain_vals[] = { { 0, "local" }, { 1, "all" } };
static const struct fuzz_enum_val smp_access_vals[] = { { 0, "read" }, { 1, "write" }, { 2, "write-head" } };
static const struct fuzz_enum_val vm_swapfail_vals[] = { { 0, "swapout" }, { 1, "swapin" } };
static const struct fuzz_enum_val vm_migrate_vals[] = { { 0, "move" }, { 1, "move-all" }, { 2, "range" } };
/* target linux: values are indices its executor interprets (target_linux.c, lx_hows / lx_prots) */
static const struct fuzz_enum_val lx_how_vals[] = {
    { 0, "fixed" }, { 1, "hint" }, { 2, "noreplace" }, { 3, "any" }, { 4, "shared-fixed" },
    { 5, "shared-hint" }, { 6, "shared-noreplace" }, { 7, "fixed-populate" }, { 8, "fixed-locked" },
    { 9, "fixed-growsdown" }, { 10, "hint-growsdown" }, { 11, "shared-growsdown" },
    { 12, "fixed-noreserve-stack" }, { 13, "fixed-misc" }, { 14, "fixed-unknown" },
    { 15, "fixed-32bit" }, { 16, "both" }, { 17, "neither" }, { 18, "noreplace-neither" },
};
static const struct fuzz_enum_val lx_prot_vals[] = {
    { 0, "none" }, { 1, "r" }, { 2, "w" }, { 3, "rw" }, { 4, "rx" }, { 5, "rwx" }, { 6, "wx" },
    { 7, "r-sem" }, { 8, "rw-bad" },
};
static const struct fuzz_enum_val lx_access_vals[] = { { 0, "read" }, { 1, "write" } };
static const struct fuzz_enum_val lx_mlock_vals[] = { { 0, "lock" }, { 1, "unlock" } };
static const struct fuzz_enum_val dom_kind_vals[] = { { 1, "core" }, { 2, "driver" }, { 3, "user" } };
static const struct fuzz_enum_val dom_what_vals[] = { { 0, "pages" }, { 1, "vmalloc" },
                                                      { 2, "kmalloc" } };
static const struct fuzz_enum_val dom_as_vals[] = { { 0, "owner" }, { 1, "other" } };
static const struct fuzz_enum_val dom_rights_vals[] = { { 1, "read" }, { 2, "rw" } };
static const struct fuzz_enum_val dom_mode_vals[] = { { 1, "move" }, { 2, "scrub" } };
static const struct fuzz_enum_val dom_pin_vals[] = { { 0, "pin" }, { 1, "unpin" }, { 2, "io" },
                                                     { 3, "io-done" } };
static const struct fuzz_enum_val dom_access_vals[] = { { 0, "read" }, { 1, "write" } };

/* ---- op-kind descriptors ---- */

#define ARG_U(n, f, l, s)   { .name = (n), .kind = FA_UINT, .field = (f), .lo = (l), .span = (s) }
#define ARG_UP(n, f, l, s)  { .name = (n), .kind = FA_UINT, .field = (f), .positional = true, \
                              .lo = (l), .span = (s) }
#define ARG_ORD(n, f)       { .name = (n), .kind = FA_ORDER, .field = (f) }
#define ARG_E(n, f, v)      { .name = (n), .kind = FA_ENUM, .field = (f), .vals = (v), \
                              .nvals = MM_ARRAY_SIZE(v) }
#define ARG_EP(n, f, v)     { .name = (n), .kind = FA_ENUM, .field = (f), .positional = true, \
                              .vals = (v), .nvals = MM_ARRAY_SIZE(v) }
#define ARG_CPU(n, f)       { .name = (n), .kind = FA_CPU, .field = (f) }
#define ARG_GFP(n, f)       { .name = (n), .kind = FA_ENUM, .field = (f), .vals = fuzz_gfp_vals, \
                              .nvals = MM_ARRAY_SIZE(fuzz_gfp_vals) }

static const struct fuzz_op_desc op_descs[FUZZ_NR_OP_KINDS] = {
    [FOP_NOP] = { "nop", 0, { { 0 } } },
    [FOP_ALLOC] = { "alloc", 3, { ARG_ORD("order", FF_A), ARG_GFP("gfp", FF_B),
                                  ARG_E("via", FF_C, via_vals) } },
    [FOP_FREE] = { "free", 2, { ARG_U("h", FF_B, 0, 256), ARG_E("via", FF_C, via_vals) } },
    [FOP_GET] = { "get", 1, { ARG_U("h", FF_B, 0, 256) } },
    [FOP_CPU] = { "cpu", 1, { { .name = "cpu", .kind = FA_CPU, .field = FF_A,
                                .positional = true } } },
    [FOP_DRAIN] = { "drain", 1, { ARG_EP("which", FF_A, drain_vals) } },
    [FOP_FAILNEXT] = { "failnext", 2, { ARG_U("skip", FF_A, 0, 16), ARG_U("count", FF_B, 0, 8) } },
    [FOP_RECLAIM] = { "reclaim", 2, { ARG_UP("nr", FF_D, 0, 1025), ARG_GFP("gfp", FF_B) } },
    [FOP_KSWAPD] = { "kswapd", 0, { { 0 } } },
    [FOP_CACHE_FILL] = { "cache fill", 2, { ARG_UP("n", FF_D, 0, 257), ARG_GFP("gfp", FF_B) } },
    [FOP_CACHE_BUSY] = { "cache busy", 1, { ARG_EP("busy", FF_A, onoff_vals) } },
    [FOP_CHECK] = { "check", 0, { { 0 } } },
    [FOP_MISUSE_DOUBLE_FREE] = { "misuse double-free", 2, { ARG_U("g", FF_B, 0, 256),
                                                            ARG_E("via", FF_C, via_vals) } },
    [FOP_MISUSE_WRONG_ORDER] = { "misuse wrong-order", 3, { ARG_U("h", FF_B, 0, 256),
                                                            ARG_U("delta", FF_A, 1, 10),
                                                            ARG_E("via", FF_C, via_vals) } },
    [FOP_MISUSE_TAIL] = { "misuse tail", 3, { ARG_U("h", FF_B, 0, 256),
                                              ARG_U("k", FF_D, 0, 65536),
                                              ARG_E("as", FF_C, tail_as_vals) } },
    [FOP_MISUSE_BAD_ADDR] = { "misuse bad-address", 2, { ARG_EP("kind", FF_A, bad_addr_vals),
                                                         ARG_U("x", FF_D, 0, 65536) } },
    [FOP_MISUSE_BAD_ORDER] = { "misuse bad-order", 3, { ARG_E("order", FF_A, bad_order_vals),
                                                        ARG_E("on", FF_C, bad_on_vals),
                                                        ARG_U("h", FF_B, 0, 256) } },
    [FOP_MISUSE_BAD_FLAGS] = { "misuse bad-flags", 2, { ARG_E("gfp", FF_A, bad_gfp_vals),
                                                        ARG_ORD("order", FF_B) } },
    [FOP_MISUSE_GET_FREE] = { "misuse get-free", 1, { ARG_U("x", FF_D, 0, 65536) } },
    [FOP_CACHE_CREATE] = { "cache create", 4, { { .name = "size", .kind = FA_OBJSIZE, .field = FF_D },
                                                ARG_E("align", FF_A, align_vals),
                                                ARG_E("flags", FF_C, cflags_vals),
                                                ARG_E("ctor", FF_B, onoff_vals) } },
    [FOP_CACHE_DESTROY] = { "cache destroy", 1, { ARG_U("c", FF_B, 0, 256) } },
    [FOP_CACHE_ALLOC] = { "cache alloc", 3, { ARG_U("c", FF_B, 0, 256), ARG_GFP("gfp", FF_A),
                                              ARG_E("zero", FF_C, onoff_vals) } },
    [FOP_CACHE_FREE] = { "cache free", 2, { ARG_U("h", FF_B, 0, 256), ARG_E("via", FF_C, sfree_vals) } },
    [FOP_KMALLOC] = { "kmalloc", 4, { { .name = "size", .kind = FA_KSIZE, .field = FF_D },
                                      ARG_GFP("gfp", FF_B), ARG_E("fn", FF_C, kmfn_vals),
                                      ARG_U("n", FF_A, 1, 8) } },
    [FOP_KREALLOC] = { "krealloc", 4, { ARG_U("h", FF_B, 0, 256),
                                        { .name = "size", .kind = FA_KSIZE, .field = FF_D },
                                        ARG_GFP("gfp", FF_A), ARG_E("of", FF_C, kr_of_vals) } },
    [FOP_KFREE] = { "kfree", 1, { ARG_U("h", FF_B, 0, 256) } },
    [FOP_CACHE_SHRINK] = { "cache shrink", 1, { ARG_U("c", FF_B, 0, 256) } },
    [FOP_CACHE_VALIDATE] = { "cache validate", 1, { ARG_U("c", FF_B, 0, 256) } },
    [FOP_SLAB_DOUBLE_FREE] = { "slab double-free", 2, { ARG_U("g", FF_B, 0, 256),
                                                        ARG_E("via", FF_C, sfree_vals) } },
    [FOP_SLAB_INTERIOR] = { "slab interior", 3, { ARG_U("h", FF_B, 0, 256),
                                                  ARG_U("k", FF_D, 0, 65536),
                                                  ARG_E("via", FF_C, sfree_vals) } },
    [FOP_SLAB_NO_OWNER] = { "slab no-owner", 3, { ARG_EP("what", FF_A, noown_vals),
                                                  ARG_E("via", FF_C, sfree_vals),
                                                  ARG_U("x", FF_D, 0, 65536) } },
    [FOP_SLAB_WRONG_CACHE] = { "slab wrong-cache", 2, { ARG_U("h", FF_B, 0, 256),
                                                        ARG_U("c", FF_A, 0, 256) } },
    [FOP_SLAB_KFREE_PAGES] = { "slab kfree-pages", 2, { ARG_ORD("order", FF_A),
                                                        ARG_U("off", FF_D, 0, 65536) } },
    [FOP_SLAB_OVERFLOW] = { "slab overflow", 4, { ARG_U("h", FF_B, 0, 256), ARG_U("k", FF_A, 0, 16),
                                                  ARG_U("n", FF_D, 1, 16),
                                                  ARG_E("then", FF_C, rz_then_vals) } },
    [FOP_SLAB_UNDERFLOW] = { "slab underflow", 4, { ARG_U("h", FF_B, 0, 256), ARG_U("k", FF_A, 1, 16),
                                                    ARG_U("n", FF_D, 1, 16),
                                                    ARG_E("then", FF_C, rz_then_vals) } },
    [FOP_SLAB_UAF] = { "slab write-after-free", 3, { ARG_U("h", FF_B, 0, 256),
                                                     ARG_U("k", FF_D, 0, 65536),
                                                     ARG_E("then", FF_C, uaf_then_vals) } },
    [FOP_MEMBLOCK_ALLOC] = { "memblock alloc", 3, { ARG_U("size", FF_D, 0, 262145),
                                                    ARG_E("align", FF_A, mb_align_vals),
                                                    ARG_E("big", FF_C, noyes_vals) } },
    [FOP_MEMBLOCK_RESERVE] = { "memblock reserve", 3, { ARG_U("off", FF_D, 0, 65536),
                                                        ARG_U("len", FF_A, 0, 256),
                                                        ARG_E("where", FF_C, mb_where_vals) } },
    [FOP_MEMBLOCK_FREE] = { "memblock free", 3, { ARG_U("h", FF_B, 0, 256),
                                                  ARG_E("part", FF_C, mb_part_vals),
                                                  ARG_U("x", FF_D, 0, 65536) } },
    [FOP_CORE_INIT] = { "core init", 0, { { 0 } } },
    [FOP_BUDDY_SWEEP] = { "buddy sweep", 2, { ARG_ORD("order", FF_A), ARG_GFP("gfp", FF_B) } },
    [FOP_BOOT_MAP] = { "boot map", 3, { ARG_EP("kind", FF_A, map_vals), ARG_U("n", FF_B, 1, 64),
                                        ARG_U("x", FF_D, 0, 65536) } },
    [FOP_CORRUPT] = { "corrupt", 2, { ARG_EP("victim", FF_A, corrupt_vals),
                                      ARG_U("x", FF_D, 0, 65536) } },
    [FOP_STATS] = { "stats", 0, { { 0 } } },
    [FOP_SLAB_FREELIST] = { "slab freelist-corrupt", 2, { ARG_U("size", FF_D, 8, 1017),
                                                          ARG_U("fill", FF_B, 0, 256) } },
    [FOP_SLAB_KREALLOC_BAD] = { "slab krealloc-bad", 4, { ARG_EP("what", FF_A, krbad_vals),
                                                          ARG_U("h", FF_B, 0, 256),
                                                          ARG_U("k", FF_C, 0, 256),
                                                          ARG_U("size", FF_D, 1, 20000) } },
    [FOP_SLAB_FREE_META] = { "slab free-meta", 3, { ARG_EP("what", FF_A, meta_vals),
                                                    ARG_U("c", FF_B, 0, 256),
                                                    ARG_E("via", FF_C, meta_via_vals) } },
    [FOP_VM_SWAPDEV] = { "vm swapdev", 1, { ARG_E("slots", FF_A, vm_slots_vals) } },
    [FOP_VM_USE] = { "vm use", 1, { ARG_UP("m", FF_A, 0, 256) } },
    [FOP_VM_MMAP] = { "vm mmap", 4, { ARG_EP("what", FF_A, vm_what_vals),
                                      ARG_E("prot", FF_B, vm_prot_vals),
                                      ARG_E("how", FF_C, vm_how_vals),
                                      ARG_U("x", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_MUNMAP] = { "vm munmap", 2, { ARG_U("pages", FF_A, 0, 80), ARG_U("at", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_MPROTECT] = { "vm mprotect", 3, { ARG_U("pages", FF_A, 0, 80), ARG_E("prot", FF_B, vm_prot_vals),
                                              ARG_U("at", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_BRK] = { "vm brk", 1, { ARG_U("x", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_ACCESS] = { "vm access", 4, { ARG_EP("kind", FF_A, vm_access_vals),
                                          ARG_U("pages", FF_B, 1, 3),
                                          ARG_U("at", FF_D, 0, 0xffffffffu),
                                          ARG_U("cut", FF_C, 0, 256) } },
    [FOP_VM_FORK] = { "vm fork", 0, { { 0 } } },
    [FOP_VM_EXIT] = { "vm exit", 0, { { 0 } } },
    [FOP_VM_PRESSURE] = { "vm pressure", 2, { ARG_EP("how", FF_A, vm_pressure_vals),
                                              ARG_U("n", FF_D, 0, 513) } },
    [FOP_VM_FILE] = { "vm file", 4, { ARG_EP("op", FF_A, vm_file_vals), ARG_U("f", FF_B, 0, 4),
                                      ARG_U("page", FF_C, 0, 17), ARG_U("tok", FF_D, 0, 0xffffffffu) } },
    [FOP_VMALLOC] = { "vmalloc", 2, { ARG_E("fn", FF_A, vmalloc_fn_vals), ARG_U("size", FF_D, 0, 65537) } },
    [FOP_VFREE] = { "vfree", 2, { ARG_U("h", FF_B, 0, 256), ARG_E("via", FF_C, vfree_via_vals) } },
    [FOP_VMAP] = { "vmap", 2, { ARG_U("n", FF_A, 1, 8), ARG_E("prot", FF_C, vmap_prot_vals) } },
    [FOP_VUNMAP] = { "vunmap", 2, { ARG_U("h", FF_B, 0, 256), ARG_E("via", FF_C, vunmap_via_vals) } },
    [FOP_VM_CORRUPT] = { "vm corrupt", 2, { ARG_EP("victim", FF_A, vm_corrupt_vals),
                                            ARG_U("x", FF_D, 0, 65536) } },
    [FOP_VM_VMISUSE] = { "vm vmisuse", 2, { ARG_EP("kind", FF_A, vm_vmisuse_vals),
                                            ARG_U("h", FF_B, 0, 256) } },
    [FOP_VM_SWAPFAIL] = { "vm swapfail", 3, { ARG_EP("on", FF_A, vm_swapfail_vals),
                                              ARG_U("n", FF_B, 1, 4),
                                              ARG_U("at", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_FORKFAIL] = { "vm forkfail", 1, { ARG_U("skip", FF_B, 0, 64) } },
    [FOP_SMP_PAGES] = { "smp pages", 2, { ARG_CPU("on", FF_A), ARG_U("order", FF_B, 0, 4) } },
    [FOP_SMP_KMALLOC] = { "smp kmalloc", 2, { ARG_CPU("on", FF_A),
                                              { .name = "size", .kind = FA_KSIZE, .field = FF_D } } },
    [FOP_SMP_CACHE_ALLOC] = { "smp cache-alloc", 1, { ARG_CPU("on", FF_A) } },
    [FOP_SMP_VMALLOC] = { "smp vmalloc", 2, { ARG_CPU("on", FF_A), ARG_U("pages", FF_B, 1, 4) } },
    [FOP_SMP_FREE] = { "smp free", 2, { ARG_CPU("on", FF_A), ARG_U("h", FF_B, 0, 256) } },
    [FOP_SMP_DRAIN] = { "smp drain", 2, { ARG_CPU("on", FF_A), ARG_E("which", FF_B, smp_drain_vals) } },
    [FOP_SMP_RUN] = { "smp run", 0, { { 0 } } },
    [FOP_SMP_SCHED] = { "smp sched", 4, { ARG_UP("b0", FF_A, 0, 256), ARG_UP("b1", FF_B, 0, 256),
                                          ARG_UP("b2", FF_C, 0, 256),
                                          ARG_UP("b345", FF_D, 0, 1u << 24) } },
    [FOP_SMP_MMAP] = { "smp mmap", 4, { ARG_CPU("on", FF_A), ARG_U("at", FF_B, 0, 96),
                                        ARG_U("pages", FF_C, 1, 4), ARG_E("prot", FF_D, vm_prot_vals) } },
    [FOP_SMP_MUNMAP] = { "smp munmap", 3, { ARG_CPU("on", FF_A), ARG_U("at", FF_B, 0, 96),
                                            ARG_U("pages", FF_C, 1, 4) } },
    [FOP_SMP_MPROTECT] = { "smp mprotect", 4, { ARG_CPU("on", FF_A), ARG_U("at", FF_B, 0, 96),
                                                ARG_U("pages", FF_C, 1, 4),
                                                ARG_E("prot", FF_D, vm_prot_vals) } },
    [FOP_SMP_ACCESS] = { "smp access", 3, { ARG_CPU("on", FF_A), ARG_U("at", FF_B, 0, 96),
                                            ARG_E("kind", FF_C, smp_access_vals) } },
    [FOP_SMP_FORK] = { "smp fork", 2, { ARG_CPU("on", FF_A), ARG_U("as", FF_B, 0, 2) } },
    [FOP_SMP_EXIT] = { "smp exit", 1, { ARG_CPU("on", FF_A) } },
    [FOP_LX_MMAP] = { "lx mmap", 4, { ARG_EP("how", FF_C, lx_how_vals), ARG_E("prot", FF_B, lx_prot_vals),
                                      ARG_U("pages", FF_A, 0, 35), ARG_U("at", FF_D, 0, 129) } },
    [FOP_LX_MUNMAP] = { "lx munmap", 2, { ARG_U("pages", FF_A, 0, 35), ARG_U("at", FF_D, 0, 129) } },
    [FOP_LX_MPROTECT] = { "lx mprotect", 3, { ARG_E("prot", FF_B, lx_prot_vals),
                                              ARG_U("pages", FF_A, 0, 35), ARG_U("at", FF_D, 0, 129) } },
    [FOP_LX_ACCESS] = { "lx access", 3, { ARG_EP("kind", FF_C, lx_access_vals),
                                          ARG_U("pages", FF_A, 1, 4), ARG_U("at", FF_D, 0, 128) } },
    [FOP_LX_MLOCK] = { "lx mlock", 3, { ARG_EP("kind", FF_C, lx_mlock_vals),
                                        ARG_U("pages", FF_A, 0, 35), ARG_U("at", FF_D, 0, 129) } },
    [FOP_VM_MIGRATE] = { "vm migrate", 3, { ARG_EP("how", FF_B, vm_migrate_vals),
                                            ARG_U("pages", FF_A, 1, 8),
                                            ARG_U("at", FF_D, 0, 0xffffffffu) } },
    [FOP_DOM_CREATE] = { "dom create", 1, { ARG_EP("kind", FF_A, dom_kind_vals) } },
    [FOP_DOM_DESTROY] = { "dom destroy", 1, { ARG_U("d", FF_B, 0, 256) } },
    [FOP_DOM_ALLOC] = { "dom alloc", 3, { ARG_EP("what", FF_A, dom_what_vals),
                                          ARG_U("d", FF_B, 0, 256), ARG_U("n", FF_D, 0, 4096) } },
    [FOP_DOM_FREE] = { "dom free", 2, { ARG_EP("as", FF_A, dom_as_vals), ARG_U("h", FF_B, 0, 256) } },
    [FOP_DOM_GRANT] = { "dom grant", 3, { ARG_EP("rights", FF_A, dom_rights_vals),
                                          ARG_U("h", FF_B, 0, 256), ARG_U("to", FF_C, 0, 256) } },
    [FOP_DOM_REVOKE] = { "dom revoke", 1, { ARG_U("g", FF_B, 0, 256) } },
    [FOP_DOM_MIGRATE] = { "dom migrate", 3, { ARG_EP("mode", FF_A, dom_mode_vals),
                                              ARG_U("h", FF_B, 0, 256), ARG_U("to", FF_C, 0, 256) } },
    [FOP_DOM_PIN] = { "dom pin", 2, { ARG_EP("how", FF_A, dom_pin_vals), ARG_U("h", FF_B, 0, 256) } },
    [FOP_DOM_ACCESS] = { "dom access", 4, { ARG_EP("kind", FF_A, dom_access_vals),
                                            ARG_U("from", FF_B, 0, 256), ARG_U("t", FF_C, 0, 256),
                                            ARG_U("w", FF_D, 0, 4096) } },
    [FOP_NUMA] = { "numa", 3, { ARG_U("nodes", FF_A, 1, 4), ARG_E("dist", FF_B, numa_dist_vals),
                                ARG_U("x", FF_D, 0, 0xffffffffu) } },
    [FOP_ALLOC_NODE] = { "alloc node", 4, { ARG_ORD("order", FF_A), ARG_GFP("gfp", FF_B),
                                            ARG_E("node", FF_C, node_vals),
                                            ARG_E("fn", FF_D, node_fn_vals) } },
    [FOP_KMALLOC_NODE] = { "kmalloc node", 2, { { .name = "size", .kind = FA_KSIZE, .field = FF_D },
                                                ARG_E("node", FF_C, node_vals) } },
    [FOP_VM_MBIND] = { "vm mbind", 4, { ARG_U("mode", FF_A, 0, 16), ARG_U("nodes", FF_B, 0, 16),
                                        ARG_U("fl", FF_C, 0, 64), ARG_U("at", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_SET_MEMPOLICY] = { "vm set-mempolicy", 2, { ARG_U("mode", FF_A, 0, 16),
                                                        ARG_U("nodes", FF_B, 0, 16) } },
    [FOP_VM_MOVE_NODE] = { "vm move-node", 3, { ARG_U("node", FF_A, 0, 6), ARG_U("pages", FF_B, 1, 8),
                                                ARG_U("at", FF_D, 0, 0xffffffffu) } },
    [FOP_VM_NUMA_SCAN] = { "vm numa-scan", 3, { ARG_U("pages", FF_B, 1, 64), ARG_U("cpu", FF_A, 0, 4),
                                                ARG_U("rounds", FF_C, 1, 3) } },
    [FOP_VM_MLOCK] = { "vm mlock", 3, { ARG_EP("kind", FF_C, lx_mlock_vals),
                                        ARG_U("pages", FF_A, 0, 80), ARG_U("at", FF_D, 0, 0xffffffffu) } },
};

const struct fuzz_op_desc *fuzz_op_desc(unsigned int kind)
{
    if (kind >= FUZZ_NR_OP_KINDS || !op_descs[kind].name)
        return &op_descs[FOP_NOP];
    return &op_descs[kind];
}

/* ---- tiny freestanding string helpers ---- */

static size_t fz_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* True if the @n bytes at @s equal the NUL-terminated @word exactly. */
static bool fz_word_eq(const char *s, size_t n, const char *word)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (word[i] != s[i] || !word[i])
            return false;
    return word[n] == '\0';
}

static bool fz_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parse an unsigned decimal or 0x-hex number occupying all of [s, s+n). */
static bool fz_parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    unsigned int base = 10;
    size_t i = 0;

    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i >= n)
        return false;
    for (; i < n; i++) {
        unsigned int d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned int)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned int)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned int)(c - 'A' + 10);
        else
            return false;
        if (v > (~0ull - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static uint32_t fz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- machine header ---- */

static uint32_t hdr_mem_pages(uint8_t b0, uint8_t b1)
{
    /* Biased towards small (fast) machines: 3 in 4 header bytes give 4..8 MiB. */
    uint32_t mib = b0 < 192 ? 4u + b0 % 5u : 4u + (uint32_t)(b0 - 192) % 29u;
    uint32_t extra = b1 < 192 ? 0u : (uint32_t)(b1 - 192);
    return MM_MIN(mib * 256u + extra, FUZZ_MEM_MAX_PAGES);
}

/* The topology record (record 0 when it starts with the magic); nr_nodes 0 without one. */
static void fz_numa_decode(const uint8_t *data, size_t size, struct fuzz_machine *m)
{
    uint8_t r[FUZZ_REC_SIZE];

    m->nr_nodes = 0;
    m->numa_dist = 0;
    memset(m->numa_split, 0, sizeof(m->numa_split));
    memset(m->numa_cpunode, 0, sizeof(m->numa_cpunode));
    if (size < FUZZ_HDR_SIZE + 2 || data[FUZZ_HDR_SIZE] != FUZZ_NUMA_MAGIC0 ||
        data[FUZZ_HDR_SIZE + 1] != FUZZ_NUMA_MAGIC1)
        return;
    memset(r, 0, sizeof(r));
    memcpy(r, data + FUZZ_HDR_SIZE, MM_MIN(size - FUZZ_HDR_SIZE, sizeof(r)));
    m->nr_nodes = 1u + (r[2] & 3u);
    m->numa_dist = (r[2] >> 2) & 3u;
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++)
        m->numa_cpunode[c] = (uint8_t)(((r[3] >> (2 * c)) & 3u) % m->nr_nodes);
    for (unsigned int i = 0; i + 1 < MM_MAX_NUMNODES; i++)
        m->numa_split[i] = i + 1 < m->nr_nodes ? r[4 + i] : 0;
}

void fuzz_machine_encode_numa(const struct fuzz_machine *m, uint8_t rec[FUZZ_REC_SIZE])
{
    memset(rec, 0, FUZZ_REC_SIZE);
    rec[0] = FUZZ_NUMA_MAGIC0;
    rec[1] = FUZZ_NUMA_MAGIC1;
    rec[2] = (uint8_t)((m->nr_nodes - 1) | m->numa_dist << 2);
    for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++)
        rec[3] |= (uint8_t)(m->numa_cpunode[c] << (2 * c));
    for (unsigned int i = 0; i + 1 < MM_MAX_NUMNODES; i++)
        rec[4 + i] = m->numa_split[i];
}

void fuzz_machine_decode(const uint8_t *data, size_t size, struct fuzz_machine *m)
{
    uint8_t h[FUZZ_HDR_SIZE];

    memset(h, 0, sizeof(h));
    memcpy(h, data, MM_MIN(size, sizeof(h)));
    m->mem_pages = hdr_mem_pages(h[0], h[1]);
    m->nr_cpus = 1u + (h[2] & 3u);
    m->pcp = !(h[2] & 4u);
    m->nr_holes = (h[2] >> 3) & 3u;
    m->nr_reserved = (h[2] >> 5) & 3u;
    m->pcp_batch = h[3] & 31u;
    m->seed = fz_le32(h + 4);
    m->slab_hardened = (h[2] >> 7) & 1u;
    m->slab_cheap = (h[3] >> 5) & 1u;
    m->slab_off = (h[3] >> 6) & 1u;
    m->kfence = (h[3] >> 7) & 1u;
    fz_numa_decode(data, size, m);
}

unsigned int fuzz_machine_kfence_interval(const struct fuzz_machine *m, uint32_t flags)
{
    static const unsigned int interval[8] = { 1, 2, 3, 4, 6, 8, 12, 16 };

    if (!(flags & (FUZZ_TABLE_SLAB_LEVELS | FUZZ_TABLE_KFENCE)) || !m->kfence)
        return 0;
    return interval[(m->seed >> 27) & 7u];
}

bool fuzz_machine_slab_owner(const struct fuzz_machine *m, uint32_t flags)
{
    return (flags & (FUZZ_TABLE_SLAB_LEVELS | FUZZ_TABLE_SLAB_HARDENED)) && ((m->seed >> 31) & 1u);
}

bool fuzz_machine_sched_atomics(const struct fuzz_machine *m, uint32_t flags)
{
    return (flags & FUZZ_TABLE_ATOMICS) && m->slab_cheap;
}

unsigned int fuzz_machine_slab_level(const struct fuzz_machine *m, uint32_t flags)
{
    if (flags & FUZZ_TABLE_SLAB_HARDENED)
        return !m->slab_hardened ? 0 : m->slab_cheap ? 1 : 2;
    if (flags & FUZZ_TABLE_SLAB_LEVELS)
        return !m->slab_cheap ? 2 : m->slab_off ? 0 : 1;
    return 0;
}

static const char *const fz_slab_level_names[3] = { "plain", "cheap", "hardened" };

/* Set the header bits that give slab level @level (0..2) to a target with table @flags. */
static void fz_machine_set_slab_level(struct fuzz_machine *m, uint32_t flags, unsigned int level)
{
    if (flags & FUZZ_TABLE_SLAB_HARDENED) {
        m->slab_hardened = level > 0;
        m->slab_cheap = level == 1;
        m->slab_off = false;
        return;
    }
    m->slab_cheap = level < 2;
    m->slab_off = level == 0;
}

int fuzz_machine_encode(const struct fuzz_machine *m, uint8_t hdr[FUZZ_HDR_SIZE])
{
    unsigned int b0, b1;
    bool found = false;

    for (b0 = 0; b0 < 256 && !found; b0++)
        for (b1 = 0; b1 < 256 && !found; b1++)
            if (hdr_mem_pages((uint8_t)b0, (uint8_t)b1) == m->mem_pages) {
                hdr[0] = (uint8_t)b0;
                hdr[1] = (uint8_t)b1;
                found = true;
            }
    if (!found || m->nr_cpus < 1 || m->nr_cpus > FUZZ_MAX_CPUS || m->nr_holes > FUZZ_MAX_HOLES ||
        m->nr_reserved > FUZZ_MAX_RESERVED || m->pcp_batch > 31)
        return -MM_ERANGE;
    hdr[2] = (uint8_t)((m->nr_cpus - 1) | (m->pcp ? 0 : 4) | m->nr_holes << 3 |
                       m->nr_reserved << 5 | (m->slab_hardened ? 0x80 : 0));
    hdr[3] = (uint8_t)(m->pcp_batch | (m->slab_cheap ? 0x20 : 0) | (m->slab_off ? 0x40 : 0) |
                       (m->kfence ? 0x80 : 0));
    hdr[4] = (uint8_t)m->seed;
    hdr[5] = (uint8_t)(m->seed >> 8);
    hdr[6] = (uint8_t)(m->seed >> 16);
    hdr[7] = (uint8_t)(m->seed >> 24);
    return 0;
}

void fuzz_machine_tlb(const struct fuzz_machine *m, unsigned int *entries, bool *direct)
{
    static const unsigned int sizes[4] = { 64, 16, 4, 1 };

    *entries = sizes[(m->seed >> 24) & 3u];
    *direct = (m->seed >> 26) & 1u;
}

/* Append the topology keys to the machine line in @buf. */
static int fz_numa_format(char *buf, size_t size, const struct fuzz_machine *m)
{
    size_t len = fz_strlen(buf);
    unsigned int i;

    mm_snprintf(buf + len, size - len, " nodes=%u", (unsigned int)m->nr_nodes);
    for (i = 0; i + 1 < m->nr_nodes; i++) {
        len = fz_strlen(buf);
        mm_snprintf(buf + len, size - len, "%s%u", i ? "," : " split=", m->numa_split[i]);
    }
    for (i = 0; i < m->nr_cpus && i < FUZZ_MAX_CPUS; i++) {
        len = fz_strlen(buf);
        mm_snprintf(buf + len, size - len, "%s%u", i ? "," : " cpunodes=", m->numa_cpunode[i]);
    }
    len = fz_strlen(buf);
    return mm_snprintf(buf + len, size - len, " dist=%s", fuzz_numa_dist_names[m->numa_dist]) +
           (int)len;
}

int fuzz_machine_format(char *buf, size_t size, const struct fuzz_machine *m)
{
    char mem[24], batch[16];

    if (m->mem_pages % 256 == 0)
        mm_snprintf(mem, sizeof(mem), "%uM", (unsigned int)(m->mem_pages / 256));
    else
        mm_snprintf(mem, sizeof(mem), "%uK", (unsigned int)(m->mem_pages * 4));
    if (m->pcp_batch)
        mm_snprintf(batch, sizeof(batch), "%u", (unsigned int)m->pcp_batch);
    else
        mm_snprintf(batch, sizeof(batch), "auto");
    int n = mm_snprintf(buf, size, "machine mem=%s cpus=%u pcp=%s batch=%s holes=%u reserved=%u "
                        "seed=0x%x", mem, (unsigned int)m->nr_cpus, m->pcp ? "on" : "off", batch,
                        (unsigned int)m->nr_holes, (unsigned int)m->nr_reserved,
                        (unsigned int)m->seed);
    return m->nr_nodes ? fz_numa_format(buf, size, m) : n;
}

/* Holes as page intervals [s, e), sorted by start; returns the count. */
static unsigned int layout_holes(const struct fuzz_machine *m, uint64_t *rng, uint32_t hs[],
                                 uint32_t he[], bool typed[])
{
    uint32_t pages = m->mem_pages, maxlen = MM_MAX(pages / 16, 1u);
    unsigned int i, j, n = 0;

    for (i = 0; i < m->nr_holes; i++) {
        uint64_t r = fuzz_rand_next(rng);
        uint32_t len = 1u + (uint32_t)(r % maxlen);
        uint32_t s = (uint32_t)((r >> 32) % pages);
        hs[n] = s;
        he[n] = MM_MIN(s + len, pages);
        typed[n] = (r >> 20) & 1;
        n++;
    }
    for (i = 1; i < n; i++) /* insertion sort of at most 3 */
        for (j = i; j > 0 && hs[j - 1] > hs[j]; j--) {
            uint32_t t = hs[j]; hs[j] = hs[j - 1]; hs[j - 1] = t;
            t = he[j]; he[j] = he[j - 1]; he[j - 1] = t;
            bool b = typed[j]; typed[j] = typed[j - 1]; typed[j - 1] = b;
        }
    return n;
}

static void layout_add(struct fuzz_layout *l, uint32_t s, uint32_t e, uint32_t type)
{
    if (e > s && l->nr_map < FUZZ_LAYOUT_MAX_MAP) {
        l->map[l->nr_map].base = MM_PFN_PHYS(s);
        l->map[l->nr_map].size = MM_PFN_PHYS(e - s);
        l->map[l->nr_map].type = type;
        l->nr_map++;
    }
}

/* Reserve ranges lie inside usable memory, sometimes with sub-page ends. */
static void layout_reserve(struct fuzz_layout *l, uint64_t *rng)
{
    unsigned int i;

    for (i = 0; i < l->m->nr_reserved && l->nr_map; i++) {
        uint64_t r = fuzz_rand_next(rng);
        const struct mm_mem_region *u;
        unsigned int k, nu = 0;
        for (k = 0; k < l->nr_map; k++)
            nu += l->map[k].type == MM_MEM_USABLE;
        if (!nu)
            return;
        nu = (unsigned int)(r % nu);
        for (k = 0, u = l->map; k < l->nr_map; k++, u++)
            if (u->type == MM_MEM_USABLE && nu-- == 0)
                break;
        uint64_t upages = u->size >> PAGE_SHIFT;
        uint64_t off = ((r >> 8) % upages) << PAGE_SHIFT;
        uint64_t len = (1 + (r >> 24) % 32) << PAGE_SHIFT;
        if (r & (1ull << 40)) /* sub-page start and end */
            off += ((r >> 41) & 7) * 512;
        if (r & (1ull << 44))
            len -= ((r >> 45) & 7) * 512 + 512;
        len = MM_MIN(len, u->size - off);
        if (!len)
            continue;
        l->reserve[l->nr_reserve].base = u->base + off;
        l->reserve[l->nr_reserve].size = len;
        l->reserve[l->nr_reserve].type = MM_MEM_RESERVED;
        l->nr_reserve++;
    }
}

static unsigned int layout_distance(unsigned int preset, unsigned int i, unsigned int j)
{
    unsigned int d = i > j ? i - j : j - i;

    if (i == j)
        return MM_NUMA_LOCAL_DISTANCE;
    switch (preset) {
    case FUZZ_DIST_LINEAR: return 10 + 10 * d;
    case FUZZ_DIST_ASYM: return i < j ? 20 + 5 * d : 40 + 5 * d;
    case FUZZ_DIST_PAIRS: return (i ^ j) == 1 ? 12 : 30 + 2 * i + j;
    default: return MM_NUMA_REMOTE_DISTANCE;
    }
}

/* The topology the record describes: node i > 0 starts at its split (sorted), in pages. */
static void layout_numa(const struct fuzz_machine *m, struct mm_numa_topology *t)
{
    uint8_t split[MM_MAX_NUMNODES - 1];
    unsigned int i, j;

    memset(t, 0, sizeof(*t));
    t->nr_nodes = m->nr_nodes;
    memcpy(split, m->numa_split, sizeof(split));
    for (i = 1; i + 1 < m->nr_nodes; i++) /* insertion sort of at most 3 */
        for (j = i; j > 0 && split[j - 1] > split[j]; j--) {
            uint8_t x = split[j]; split[j] = split[j - 1]; split[j - 1] = x;
        }
    for (i = 1; i < m->nr_nodes; i++) /* 255: one past the end, a memoryless node */
        t->node_start[i] = split[i - 1] == 255 ? MM_PFN_PHYS((uint64_t)m->mem_pages + 1)
                                               : MM_PFN_PHYS((uint64_t)m->mem_pages * split[i - 1] / 256);
    for (i = 0; i < m->nr_cpus && i < FUZZ_MAX_CPUS; i++)
        t->cpu_node[i] = m->numa_cpunode[i];
    for (i = 0; i < m->nr_nodes; i++)
        for (j = 0; j < m->nr_nodes; j++)
            t->distance[i][j] = (uint8_t)layout_distance(m->numa_dist, i, j);
}

void fuzz_machine_layout(const struct fuzz_machine *m, struct fuzz_layout *l)
{
    uint32_t hs[FUZZ_MAX_HOLES], he[FUZZ_MAX_HOLES], cur = 0;
    bool typed[FUZZ_MAX_HOLES];
    uint64_t rng = 0x6c6561786f73ull ^ m->seed;
    unsigned int i, n;

    memset(l, 0, sizeof(*l));
    l->m = m;
    n = layout_holes(m, &rng, hs, he, typed);
    for (i = 0; i < n; i++) {
        layout_add(l, cur, hs[i], MM_MEM_USABLE);
        if (typed[i])
            layout_add(l, hs[i], he[i], MM_MEM_RESERVED);
        cur = MM_MAX(cur, he[i]);
    }
    layout_add(l, cur, m->mem_pages, MM_MEM_USABLE);
    layout_reserve(l, &rng);
    if (m->nr_nodes)
        layout_numa(m, &l->numa);
    l->has_numa = m->nr_nodes != 0;
}

void fuzz_machine_clamp(const struct fuzz_op_table *table, struct fuzz_machine *m)
{
    if ((table->flags & FUZZ_TABLE_SMP) && m->nr_cpus < 2)
        m->nr_cpus = 2;
    if (!table->numa)
        m->nr_nodes = 0; /* a target without topologies: record 0 is an ordinary op */
}

/* ---- op decoding ---- */

uint32_t fuzz_nr_ops(size_t size)
{
    if (size <= FUZZ_HDR_SIZE)
        return 0;
    size_t n = (size - FUZZ_HDR_SIZE + FUZZ_REC_SIZE - 1) / FUZZ_REC_SIZE;
    return (uint32_t)MM_MIN(n, (size_t)FUZZ_MAX_OPS);
}

static uint32_t fold_order(uint32_t raw)
{
    raw &= 0xff;
    if (raw < 64)
        return 0;
    if (raw < 112)
        return 1;
    if (raw < 144)
        return 2;
    if (raw < 168)
        return 3;
    return 4 + (raw - 168) % (MM_MAX_ORDER - 3);
}

/* 1..16384: 1 in 2 raw values give 1..256, 1 in 4 up to 2 KiB, 1 in 4 up to 16 KiB. */
static uint32_t fold_objsize(uint32_t raw)
{
    uint32_t v = (raw & 0xffff) >> 2;
    switch (raw & 3) {
    case 0: case 1: return 1 + v % 256;
    case 2: return 1 + v % 2048;
    default: return 1 + v % 16384;
    }
}

/* 0..65536: half up to 256, a quarter up to 8 KiB (the size classes), the rest up to 64 KiB
 * (1 in 8 beyond KMALLOC_MAX_CACHE_SIZE, the page path). */
static uint32_t fold_ksize(uint32_t raw)
{
    uint32_t v = (raw & 0xfffff) >> 3;
    switch (raw & 7) {
    case 0: case 1: case 2: case 3: return v % 257;
    case 4: case 5: return v % 8193;
    case 6: return v % 65537;
    default: return 8193 + v % (65536 - 8192);
    }
}

static uint32_t arg_fold(const struct fuzz_arg_desc *a, const struct fuzz_machine *m, uint32_t raw)
{
    switch (a->kind) {
    case FA_OBJSIZE:
        return fold_objsize(raw);
    case FA_KSIZE:
        return fold_ksize(raw);
    case FA_UINT:
        return a->span ? a->lo + raw % a->span : a->lo;
    case FA_ORDER:
        return fold_order(raw);
    case FA_CPU:
        return raw % (m->nr_cpus ? m->nr_cpus : 1);
    case FA_ENUM:
        return a->vals[raw % a->nvals].value;
    }
    return 0;
}

static uint32_t rec_field(const uint8_t rec[FUZZ_REC_SIZE], unsigned int field)
{
    return field == FF_D ? fz_le32(rec + 4) : rec[1 + field];
}

static void op_decode_rec(const struct fuzz_op_table *t, const struct fuzz_machine *m,
                          const uint8_t rec[FUZZ_REC_SIZE], struct fuzz_op *op)
{
    const struct fuzz_op_desc *d;
    unsigned int i;

    memset(op, 0, sizeof(*op));
    op->kind = t->nr ? t->kinds[rec[0] % t->nr] : FOP_NOP;
    d = fuzz_op_desc(op->kind);
    for (i = 0; i < d->nargs; i++)
        op->arg[i] = arg_fold(&d->args[i], m, rec_field(rec, d->args[i].field));
}

void fuzz_op_decode(const struct fuzz_op_table *table, const struct fuzz_machine *m,
                    const uint8_t *data, size_t size, uint32_t i, struct fuzz_op *op)
{
    uint8_t rec[FUZZ_REC_SIZE];
    size_t off = FUZZ_HDR_SIZE + (size_t)i * FUZZ_REC_SIZE;

    memset(rec, 0, sizeof(rec));
    if (off < size)
        memcpy(rec, data + off, MM_MIN(size - off, sizeof(rec)));
    if (m->nr_nodes && table->numa && i == 0) { /* the topology record */
        memset(op, 0, sizeof(*op));
        op->kind = FOP_NUMA;
        op->arg[0] = m->nr_nodes;
        op->arg[1] = m->numa_dist;
        op->arg[2] = fz_le32(rec + 4);
        return;
    }
    op_decode_rec(m->nr_nodes && table->numa ? table->numa : table, m, rec, op);
}

/* ---- printing ---- */

static const char *enum_name(const struct fuzz_arg_desc *a, uint32_t v)
{
    uint32_t i;
    for (i = 0; i < a->nvals; i++)
        if (a->vals[i].value == v)
            return a->vals[i].name;
    return "?";
}

int fuzz_op_format(char *buf, size_t size, const struct fuzz_op *op)
{
    const struct fuzz_op_desc *d = fuzz_op_desc(op->kind);
    size_t len;
    unsigned int i;

    mm_snprintf(buf, size, "%s", d->name);
    for (i = 0; i < d->nargs; i++) {
        const struct fuzz_arg_desc *a = &d->args[i];
        char val[48];
        len = fz_strlen(buf);
        if (a->kind == FA_ENUM)
            mm_snprintf(val, sizeof(val), "%s", enum_name(a, op->arg[i]));
        else
            mm_snprintf(val, sizeof(val), "%u", (unsigned int)op->arg[i]);
        if (a->positional)
            mm_snprintf(buf + len, size - len, " %s", val);
        else
            mm_snprintf(buf + len, size - len, " %s=%s", a->name, val);
    }
    return (int)fz_strlen(buf);
}

void fuzz_print(const struct fuzz_op_table *table, const uint8_t *data, size_t size,
                fuzz_emit_fn emit, void *ctx)
{
    struct fuzz_machine m;
    struct fuzz_op op;
    char line[FUZZ_LINE_MAX];
    uint32_t i, n = fuzz_nr_ops(size);

    fuzz_machine_decode(data, size, &m);
    fuzz_machine_clamp(table, &m);
    fuzz_machine_format(line, sizeof(line), &m);
    if (table->flags & (FUZZ_TABLE_SLAB_HARDENED | FUZZ_TABLE_SLAB_LEVELS)) {
        size_t len = fz_strlen(line);
        mm_snprintf(line + len, sizeof(line) - len, " slab=%s",
                    fz_slab_level_names[fuzz_machine_slab_level(&m, table->flags)]);
    }
    if (fuzz_machine_kfence_interval(&m, table->flags)) {
        size_t len = fz_strlen(line);
        mm_snprintf(line + len, sizeof(line) - len, " kfence=on");
    }
    if (fuzz_machine_sched_atomics(&m, table->flags)) {
        size_t len = fz_strlen(line);
        mm_snprintf(line + len, sizeof(line) - len, " atomics=on");
    }
    emit(ctx, line);
    for (i = m.nr_nodes ? 1 : 0; i < n; i++) { /* a topology record is in the machine line */
        fuzz_op_decode(table, &m, data, size, i, &op);
        fuzz_op_format(line, sizeof(line), &op);
        emit(ctx, line);
    }
}

/* ---- encoding ---- */

static int arg_encode(const struct fuzz_arg_desc *a, const struct fuzz_machine *m, uint32_t v,
                      uint8_t rec[FUZZ_REC_SIZE])
{
    uint32_t raw, limit = a->field != FF_D ? 256 : a->kind == FA_KSIZE ? 1u << 20 : 65536;

    if (a->field == FF_D && a->kind == FA_UINT && v >= a->lo && arg_fold(a, m, v - a->lo) == v)
        raw = v - a->lo;
    else {
        for (raw = 0; raw < limit; raw++)
            if (arg_fold(a, m, raw) == v)
                break;
        if (raw == limit)
            return -MM_ERANGE;
    }
    if (a->field == FF_D) {
        rec[4] = (uint8_t)raw;
        rec[5] = (uint8_t)(raw >> 8);
        rec[6] = (uint8_t)(raw >> 16);
        rec[7] = (uint8_t)(raw >> 24);
    } else {
        rec[1 + a->field] = (uint8_t)raw;
    }
    return 0;
}

int fuzz_op_encode(const struct fuzz_op_table *table, const struct fuzz_machine *m,
                   const struct fuzz_op *op, uint8_t rec[FUZZ_REC_SIZE])
{
    const struct fuzz_op_desc *d = fuzz_op_desc(op->kind);
    uint32_t i;

    memset(rec, 0, FUZZ_REC_SIZE);
    for (i = 0; i < table->nr; i++)
        if (table->kinds[i] == op->kind)
            break;
    if (i == table->nr)
        return -MM_ERANGE;
    rec[0] = (uint8_t)i;
    for (i = 0; i < d->nargs; i++)
        if (arg_encode(&d->args[i], m, op->arg[i], rec))
            return -MM_ERANGE;
    return 0;
}

/* ---- parsing ---- */

#define FZ_MAX_TOKENS 12

struct fz_tok {
    const char *s;
    size_t n;
};

struct fz_parser {
    const struct fuzz_op_table *t;
    struct fuzz_parse_error *err;
    unsigned int line;
};

static int fz_error(struct fz_parser *p, const char *what, const char *s, size_t n)
{
    char word[40];
    size_t k = MM_MIN(n, sizeof(word) - 1);

    memcpy(word, s, k);
    word[k] = '\0';
    if (p->err) {
        p->err->line = p->line;
        mm_snprintf(p->err->msg, sizeof(p->err->msg), "%s '%s'", what, word);
    }
    return -MM_EINVAL;
}

static unsigned int fz_tokenize(const char *s, size_t n, struct fz_tok *tok)
{
    unsigned int nt = 0;
    size_t i = 0;

    while (i < n && nt < FZ_MAX_TOKENS) {
        while (i < n && fz_space(s[i]))
            i++;
        if (i >= n)
            break;
        tok[nt].s = s + i;
        while (i < n && !fz_space(s[i]))
            i++;
        tok[nt].n = (size_t)(s + i - tok[nt].s);
        nt++;
    }
    return nt;
}

/* Split "key=value"; returns false when there is no '='. */
static bool fz_split_kv(const struct fz_tok *t, struct fz_tok *k, struct fz_tok *v)
{
    size_t i;
    for (i = 0; i < t->n; i++)
        if (t->s[i] == '=') {
            k->s = t->s;
            k->n = i;
            v->s = t->s + i + 1;
            v->n = t->n - i - 1;
            return true;
        }
    return false;
}

static int fz_parse_value(struct fz_parser *p, const struct fuzz_arg_desc *a,
                          const struct fz_tok *v, uint32_t *out)
{
    uint64_t x;
    uint32_t i;

    if (a->kind == FA_ENUM) {
        for (i = 0; i < a->nvals; i++)
            if (fz_word_eq(v->s, v->n, a->vals[i].name)) {
                *out = a->vals[i].value;
                return 0;
            }
        return fz_error(p, "unknown value", v->s, v->n);
    }
    if (!fz_parse_u64(v->s, v->n, &x) || x > 0xffffffffull)
        return fz_error(p, "bad number", v->s, v->n);
    *out = (uint32_t)x;
    return 0;
}

/* "a,b,c" into @out (at most @max values, each <= @limit); returns the count or -1. */
static int fz_parse_list(const struct fz_tok *v, uint8_t *out, unsigned int max, uint64_t limit)
{
    size_t i = 0;
    unsigned int n = 0;

    while (i < v->n) {
        size_t e = i;
        uint64_t x;
        while (e < v->n && v->s[e] != ',')
            e++;
        if (n == max || !fz_parse_u64(v->s + i, e - i, &x) || x > limit)
            return -1;
        out[n++] = (uint8_t)x;
        i = e + 1;
    }
    return (int)n;
}

/* The topology keys of the machine line (nodes= split= cpunodes= dist=); 1 if @k is none. */
static int fz_parse_numa_key(struct fz_parser *p, const struct fz_tok *k, const struct fz_tok *v,
                             struct fuzz_machine *m)
{
    uint64_t x;
    unsigned int i;

    if (fz_word_eq(k->s, k->n, "nodes")) {
        if (!fz_parse_u64(v->s, v->n, &x) || x < 1 || x > MM_MAX_NUMNODES)
            return fz_error(p, "nodes must be 1..4, got", v->s, v->n);
        m->nr_nodes = (uint32_t)x;
    } else if (fz_word_eq(k->s, k->n, "split")) {
        if (fz_parse_list(v, m->numa_split, MM_MAX_NUMNODES - 1, 255) < 0)
            return fz_error(p, "split wants up to 3 values 0..255, got", v->s, v->n);
    } else if (fz_word_eq(k->s, k->n, "cpunodes")) {
        if (fz_parse_list(v, m->numa_cpunode, FUZZ_MAX_CPUS, MM_MAX_NUMNODES - 1) < 0)
            return fz_error(p, "cpunodes wants up to 4 nodes 0..3, got", v->s, v->n);
    } else if (fz_word_eq(k->s, k->n, "dist")) {
        for (i = 0; i < FUZZ_NR_DIST && !fz_word_eq(v->s, v->n, fuzz_numa_dist_names[i]); i++)
            ;
        if (i == FUZZ_NR_DIST)
            return fz_error(p, "dist must be default, linear, asym or pairs, got", v->s, v->n);
        m->numa_dist = i;
    } else {
        return 1;
    }
    if (!p->t->numa)
        return fz_error(p, "this target takes no topology:", k->s, k->n);
    return 0;
}

static int fz_parse_machine(struct fz_parser *p, const struct fz_tok *tok, unsigned int nt,
                            struct fuzz_machine *m)
{
    unsigned int i;

    fuzz_machine_decode((const uint8_t *)"", 0, m);
    for (i = 1; i < nt; i++) {
        struct fz_tok k, v;
        uint64_t x = 0;
        if (!fz_split_kv(&tok[i], &k, &v))
            return fz_error(p, "expected key=value, got", tok[i].s, tok[i].n);
        if (fz_word_eq(k.s, k.n, "pcp")) {
            if (!fz_word_eq(v.s, v.n, "on") && !fz_word_eq(v.s, v.n, "off"))
                return fz_error(p, "pcp must be on or off, got", v.s, v.n);
            m->pcp = fz_word_eq(v.s, v.n, "on");
            continue;
        }
        if (fz_word_eq(k.s, k.n, "slab") &&
            (p->t->flags & (FUZZ_TABLE_SLAB_HARDENED | FUZZ_TABLE_SLAB_LEVELS))) {
            unsigned int level = 0;
            while (level < 3 && !fz_word_eq(v.s, v.n, fz_slab_level_names[level]))
                level++;
            if (level == 3)
                return fz_error(p, "slab must be plain, cheap or hardened, got", v.s, v.n);
            fz_machine_set_slab_level(m, p->t->flags, level);
            continue;
        }
        if (fz_word_eq(k.s, k.n, "kfence") &&
            (p->t->flags & (FUZZ_TABLE_SLAB_LEVELS | FUZZ_TABLE_KFENCE))) {
            if (!fz_word_eq(v.s, v.n, "on") && !fz_word_eq(v.s, v.n, "off"))
                return fz_error(p, "kfence must be on or off, got", v.s, v.n);
            m->kfence = fz_word_eq(v.s, v.n, "on");
            continue;
        }
        if (fz_word_eq(k.s, k.n, "atomics") && (p->t->flags & FUZZ_TABLE_ATOMICS)) {
            if (!fz_word_eq(v.s, v.n, "on") && !fz_word_eq(v.s, v.n, "off"))
                return fz_error(p, "atomics must be on or off, got", v.s, v.n);
            m->slab_cheap = fz_word_eq(v.s, v.n, "on");
            continue;
        }
        if (fz_word_eq(k.s, k.n, "batch") && fz_word_eq(v.s, v.n, "auto")) {
            m->pcp_batch = 0;
            continue;
        }
        int nk = fz_parse_numa_key(p, &k, &v, m);
        if (nk <= 0) {
            if (nk < 0)
                return nk;
            continue;
        }
        if (fz_word_eq(k.s, k.n, "mem") && v.n > 1 && (v.s[v.n - 1] == 'M' ||
                                                      v.s[v.n - 1] == 'K')) {
            if (!fz_parse_u64(v.s, v.n - 1, &x) || x > 1u << 20)
                return fz_error(p, "bad memory size", v.s, v.n);
            m->mem_pages = (uint32_t)(v.s[v.n - 1] == 'M' ? x * 256 : x / 4);
            if ((v.s[v.n - 1] == 'K' && x % 4))
                return fz_error(p, "memory must be a page multiple:", v.s, v.n);
            continue;
        }
        if (!fz_parse_u64(v.s, v.n, &x) || x > 0xffffffffull)
            return fz_error(p, "bad value", tok[i].s, tok[i].n);
        if (fz_word_eq(k.s, k.n, "cpus"))
            m->nr_cpus = (uint32_t)x;
        else if (fz_word_eq(k.s, k.n, "batch"))
            m->pcp_batch = (uint32_t)x;
        else if (fz_word_eq(k.s, k.n, "holes"))
            m->nr_holes = (uint32_t)x;
        else if (fz_word_eq(k.s, k.n, "reserved"))
            m->nr_reserved = (uint32_t)x;
        else if (fz_word_eq(k.s, k.n, "seed"))
            m->seed = (uint32_t)x;
        else
            return fz_error(p, "unknown machine key", k.s, k.n);
    }
    return 0;
}

/* True if op name @name is exactly the words @tok[0..nw). */
static bool fz_name_is(const char *name, const struct fz_tok *tok, unsigned int nw)
{
    size_t off = 0;
    unsigned int w;

    for (w = 0; w < nw; w++) {
        size_t i;
        if (w && name[off++] != ' ')
            return false;
        for (i = 0; i < tok[w].n; i++)
            if (name[off + i] != tok[w].s[i])
                return false;
        off += tok[w].n;
    }
    return name[off] == '\0';
}

/* Find the op kind named by the first two or one tokens; sets *@used to the tokens consumed. */
static int fz_match_op(const struct fz_tok *tok, unsigned int nt, unsigned int *used)
{
    unsigned int k, nw;

    for (nw = MM_MIN(nt, 2u); nw >= 1; nw--)
        for (k = 0; k < FUZZ_NR_OP_KINDS; k++)
            if (op_descs[k].name && fz_name_is(op_descs[k].name, tok, nw)) {
                *used = nw;
                return (int)k;
            }
    return -1;
}

/* Index of the @nth positional argument of @d, or d->nargs. */
static unsigned int fz_positional(const struct fuzz_op_desc *d, unsigned int nth)
{
    unsigned int a;
    for (a = 0; a < d->nargs; a++)
        if (d->args[a].positional && nth-- == 0)
            break;
    return a;
}

static int fz_parse_op(struct fz_parser *p, const struct fuzz_machine *m, const struct fz_tok *tok,
                       unsigned int nt, uint8_t rec[FUZZ_REC_SIZE])
{
    struct fuzz_op op;
    const struct fuzz_op_desc *d;
    unsigned int used = 0, i, a, npos = 0;
    uint8_t zero[FUZZ_REC_SIZE];
    uint8_t kind8;
    int kind = fz_match_op(tok, nt, &used);

    if (kind < 0)
        return fz_error(p, "unknown op", tok[0].s, tok[0].n);
    d = &op_descs[kind];
    kind8 = (uint8_t)kind;
    memset(zero, 0, sizeof(zero));
    op_decode_rec(&(struct fuzz_op_table){ .kinds = &kind8, .nr = 1 }, m, zero, &op); /* defaults */
    for (i = used; i < nt; i++) {
        struct fz_tok k, v;
        if (fz_split_kv(&tok[i], &k, &v)) {
            for (a = 0; a < d->nargs; a++)
                if (!d->args[a].positional && fz_word_eq(k.s, k.n, d->args[a].name))
                    break;
            if (a == d->nargs)
                return fz_error(p, "unknown argument", k.s, k.n);
        } else {
            a = fz_positional(d, npos++);
            if (a == d->nargs)
                return fz_error(p, "unexpected value", tok[i].s, tok[i].n);
            v = tok[i];
        }
        if (fz_parse_value(p, &d->args[a], &v, &op.arg[a]))
            return -MM_EINVAL;
    }
    if (fuzz_op_encode(p->t, m, &op, rec))
        return fz_error(p, "op not in this target or value out of range:", tok[0].s,
                        (size_t)(tok[nt - 1].s + tok[nt - 1].n - tok[0].s));
    return 0;
}

long fuzz_encode_text(const struct fuzz_op_table *table, const char *text, size_t len,
                      uint8_t *out, size_t cap, struct fuzz_parse_error *err)
{
    struct fz_parser p = { .t = table, .err = err, .line = 0 };
    struct fuzz_machine m;
    struct fz_tok tok[FZ_MAX_TOKENS];
    size_t pos = 0, olen = FUZZ_HDR_SIZE;
    bool have_machine = false, have_ops = false;

    if (cap < FUZZ_HDR_SIZE)
        return -MM_ENOSPC;
    fuzz_machine_decode((const uint8_t *)"", 0, &m);
    fuzz_machine_clamp(table, &m);
    memset(out, 0, FUZZ_HDR_SIZE);
    while (pos < len) {
        size_t end = pos, n;
        unsigned int nt;
        while (end < len && text[end] != '\n')
            end++;
        p.line++;
        for (n = pos; n < end && text[n] != '#'; n++)
            ;
        nt = fz_tokenize(text + pos, n - pos, tok);
        pos = end + 1;
        if (!nt)
            continue;
        if (fz_word_eq(tok[0].s, tok[0].n, "machine")) {
            if (have_machine || have_ops)
                return fz_error(&p, "machine line must come first and once:", tok[0].s, tok[0].n);
            if (fz_parse_machine(&p, tok, nt, &m))
                return -MM_EINVAL;
            fuzz_machine_clamp(table, &m);
            if (fuzz_machine_encode(&m, out))
                return fz_error(&p, "machine value out of range:", tok[0].s, tok[0].n);
            have_machine = true;
            if (m.nr_nodes) { /* the topology record, then ops of the numa table */
                if (cap < FUZZ_HDR_SIZE + FUZZ_REC_SIZE)
                    return -MM_ENOSPC;
                for (unsigned int c = 0; c < FUZZ_MAX_CPUS; c++)
                    m.numa_cpunode[c] = (uint8_t)(m.numa_cpunode[c] % m.nr_nodes);
                fuzz_machine_encode_numa(&m, out + olen);
                olen += FUZZ_REC_SIZE;
                p.t = table->numa;
            }
            continue;
        }
        have_ops = true;
        if (olen + FUZZ_REC_SIZE > cap || olen >= FUZZ_MAX_INPUT) {
            if (err) {
                err->line = p.line;
                mm_snprintf(err->msg, sizeof(err->msg), "too many ops (max %u)", FUZZ_MAX_OPS);
            }
            return -MM_ENOSPC;
        }
        if (fz_parse_op(&p, &m, tok, nt, out + olen))
            return -MM_EINVAL;
        olen += FUZZ_REC_SIZE;
    }
    return (long)olen;
}
