/*
 * ops.h - the one op-sequence format shared by every fuzz target, the replay program and the
 * kernel's boot-time corpus replay.
 *
 * Byte format (little endian, nothing is ever rejected, a missing tail reads as zeros):
 *
 *   offset 0   machine header, 8 bytes
 *              [0] memory MiB selector    [1] extra pages selector
 *              [2] cpus:2 pcp_off:1 holes:2 reserved:2 slab_hardened:1
              (slab_hardened is read only by targets whose table has FUZZ_TABLE_SLAB_HARDENED;
              their machine line shows the level as slab=plain|cheap|hardened)
 *              [3] pcp batch:5 (0 = derived by the mm) slab_cheap:1 slab_off:1 kfence:1
 *                  slab_cheap: hardening at level 1 instead of 2 (FUZZ_TABLE_SLAB_HARDENED and
 *                  FUZZ_TABLE_SLAB_LEVELS targets); slab_off, with slab_cheap, turns hardening
 *                  off (FUZZ_TABLE_SLAB_LEVELS targets only). Both bits were ignored before the
 *                  levels existed: an old input with slab_cheap set now runs at level 1 (or 0),
 *                  one without it keeps its level (fuzz_machine_slab_level). kfence
 *                  (FUZZ_TABLE_SLAB_LEVELS and FUZZ_TABLE_KFENCE targets; machine line
 *                  kfence=on): KFENCE sampling on,
 *                  1 in N with N from seed bits 27-29 (fuzz_machine_kfence_interval). For
 *                  FUZZ_TABLE_ATOMICS targets (smp) slab_cheap means atomics=on instead: every
 *                  env_atomic_* op of the mm is a preemption point of the scheduled runs
 *              [4..7] seed (u32): places holes / reserved ranges, seeds the mm; its bits 24-26
 *                     also pick the hosted machine's TLB (fuzz_machine_tlb; no byte of its own),
 *                     bit 31 slab_owner for FUZZ_TABLE_SLAB_LEVELS / _HARDENED targets
 *                     (fuzz_machine_slab_owner)
 *   offset 8   optional NUMA topology record (targets whose table has a `numa` table only; the
 *              machine line shows it as nodes= split= cpunodes= dist=): record 0 is
 *              [0xff]['N'][nodes-1:2 dist:2][cpu nodes, 2 bits per CPU][split0][split1][split2][0]
 *              node i > 0 starts at mem_pages * split[i-1] / 256 (the splits sorted; equal splits
 *              or one past the end make memoryless nodes); dist picks a distance preset
 *              (fuzz_numa_dist_names). Such an input's later ops decode with the target's numa
 *              table; any other input decodes exactly as before the record existed.
 *   offset 8   op records, 8 bytes each, at most FUZZ_MAX_OPS:
 *              [op][a][b][c][d0 d1 d2 d3]
 *              op % (target table size) picks the op kind; a, b, c, d are folded into the range
 *              of each argument the op kind declares (struct fuzz_arg_desc).
 *
 * Records have a fixed size, so mutating one op never changes the meaning of the ops after it.
 * Handles are raw numbers; the executor resolves them modulo its live set.
 *
 * Text format (what the printer writes and the parser reads), one op per line:
 *
 *   machine mem=16M cpus=2 pcp=on batch=auto holes=1 reserved=0 seed=0x1234
 *   alloc order=3 gfp=GFP_KERNEL via=page
 *   free h=2 via=page
 *   cpu 1
 *
 * '#' starts a comment; blank lines are ignored; named arguments may come in any order and a
 * missing one takes the value its raw byte 0 decodes to. text -> bytes -> text is the identity on
 * printer output.
 *
 * Freestanding: includes only mm headers; formats with mm_snprintf; no libc.
 */
#ifndef LEAXOS_FUZZ_OPS_H
#define LEAXOS_FUZZ_OPS_H

#include "mm.h"
#include "mm_env.h"
#include "numa.h"
#include "slab.h"

#define FUZZ_HDR_SIZE      8
#define FUZZ_REC_SIZE      8
#define FUZZ_MAX_OPS       512
#define FUZZ_MAX_INPUT     (FUZZ_HDR_SIZE + FUZZ_MAX_OPS * FUZZ_REC_SIZE)
#define FUZZ_MAX_ARGS      4
#define FUZZ_LINE_MAX      160

#define FUZZ_MEM_MIN_PAGES 1024u   /* 4 MiB */
#define FUZZ_MEM_MAX_PAGES 8192u   /* 32 MiB */
#define FUZZ_MAX_CPUS      4u
#define FUZZ_MAX_HOLES     3u
#define FUZZ_MAX_RESERVED  3u

/* ---- the machine ---- */

struct fuzz_machine {
    uint32_t mem_pages;     /* FUZZ_MEM_MIN_PAGES .. FUZZ_MEM_MAX_PAGES */
    uint32_t nr_cpus;       /* 1 .. FUZZ_MAX_CPUS */
    bool pcp;               /* per-CPU page lists enabled */
    uint32_t pcp_batch;     /* 0: derived by the mm */
    uint32_t nr_holes;      /* 0 .. FUZZ_MAX_HOLES */
    uint32_t nr_reserved;   /* 0 .. FUZZ_MAX_RESERVED */
    uint32_t seed;
    bool slab_hardened;     /* header bit; used only by FUZZ_TABLE_SLAB_HARDENED targets */
    bool slab_cheap;        /* header bit: hardening level 1 rather than 2 */
    bool slab_off;          /* header bit: with slab_cheap, level 0 (FUZZ_TABLE_SLAB_LEVELS) */
    bool kfence;            /* header bit: KFENCE sampling (FUZZ_TABLE_SLAB_LEVELS) */
    /* NUMA topology record (op record 0 with FUZZ_NUMA_MAGIC): nr_nodes 0 when absent */
    uint32_t nr_nodes;      /* 0, or 1 .. MM_MAX_NUMNODES */
    uint32_t numa_dist;     /* distance preset: enum fuzz_numa_dist */
    uint8_t numa_split[MM_MAX_NUMNODES - 1];   /* node starts, in 256ths of memory */
    uint8_t numa_cpunode[FUZZ_MAX_CPUS];       /* node of each CPU (folded below nr_nodes) */
};

#define FUZZ_NUMA_MAGIC0 0xffu
#define FUZZ_NUMA_MAGIC1 0x4eu /* 'N' */

/** Distance presets of the topology record (fuzz_machine_layout builds the matrix). */
enum fuzz_numa_dist {
    FUZZ_DIST_DEFAULT, /* 10 local, 20 remote */
    FUZZ_DIST_LINEAR,  /* 10 + 10 * |i - j| */
    FUZZ_DIST_ASYM,    /* i < j: 20 + 5 (j - i); i > j: 40 + 5 (i - j) (asymmetric) */
    FUZZ_DIST_PAIRS,   /* 0-1 and 2-3 close (12), the rest far and asymmetric (30 + 2i + j) */
    FUZZ_NR_DIST,
};

#define FUZZ_LAYOUT_MAX_MAP  (2 * FUZZ_MAX_HOLES + 2)

/**
 * The physical layout a machine describes: usable and e820-reserved regions (holes are the gaps)
 * and the extra ranges to reserve at boot. All regions lie inside [0, mem_pages * PAGE_SIZE).
 */
struct fuzz_layout {
    const struct fuzz_machine *m;
    struct mm_mem_region map[FUZZ_LAYOUT_MAX_MAP];
    unsigned int nr_map;
    struct mm_mem_region reserve[FUZZ_MAX_RESERVED];
    unsigned int nr_reserve;
    bool slab_hardened;     /* boot switch; fuzz_machine_layout leaves it false, targets set it */
    unsigned int slab_harden_level; /* MM_SLAB_HARDEN_* (0: slab_hardened ? full : off) */
    unsigned int kfence_interval;   /* mm_boot_params.kfence_interval (targets set it) */
    /* a memory map that replaces map[] when set (target boot); fuzz_machine_layout clears it */
    const struct mm_mem_region *xmap;
    unsigned int nr_xmap;
    bool has_numa;                  /* the machine has a topology record: numa is its topology */
    struct mm_numa_topology numa;
    bool slab_owner;                /* mm_boot_params.slab_owner (targets set it) */
};

/** Decode the 8-byte header (a shorter @size reads as zero-padded). */
void fuzz_machine_decode(const uint8_t *data, size_t size, struct fuzz_machine *m);
/** Encode @m into @hdr so that fuzz_machine_decode gives back @m. Returns 0 or -MM_ERANGE. */
int fuzz_machine_encode(const struct fuzz_machine *m, uint8_t hdr[FUZZ_HDR_SIZE]);
struct fuzz_op_table;
/** Apply what @table's flags say about the machine (FUZZ_TABLE_SMP: at least 2 CPUs). */
void fuzz_machine_clamp(const struct fuzz_op_table *table, struct fuzz_machine *m);
/** Deterministic layout (holes, reserved ranges) of @m, derived from its seed. */
void fuzz_machine_layout(const struct fuzz_machine *m, struct fuzz_layout *l);
/**
 * The hosted TLB @m describes, derived from bits that already exist (the seed), so every input
 * keeps its bytes and ops: seed bits 24-25 pick *@entries per CPU from {64, 16, 4, 1} (64 is the
 * hosted default), bit 26 sets *@direct (direct-mapped rather than round-robin). Not in the
 * machine line: a machine line's seed says it.
 */
void fuzz_machine_tlb(const struct fuzz_machine *m, unsigned int *entries, bool *direct);
/** Encode @m's topology as the record that fuzz_machine_decode reads (nr_nodes >= 1). */
void fuzz_machine_encode_numa(const struct fuzz_machine *m, uint8_t rec[FUZZ_REC_SIZE]);
/** Render @m as the "machine ..." line. Returns mm_snprintf's result. */
int fuzz_machine_format(char *buf, size_t size, const struct fuzz_machine *m);

/* ---- op kinds and their arguments ---- */

/** Global op kinds. Append only: targets refer to them by table, text by name. */
enum fuzz_op_kind {
    FOP_NOP = 0,
    FOP_ALLOC,              /* alloc order= gfp= via=page|addr */
    FOP_FREE,               /* free h= via=page|addr   (drops one reference) */
    FOP_GET,                /* get h=                  (extra reference) */
    FOP_CPU,                /* cpu N */
    FOP_DRAIN,              /* drain local|all */
    FOP_FAILNEXT,           /* failnext skip= count= */
    FOP_RECLAIM,            /* reclaim N gfp= */
    FOP_KSWAPD,             /* kswapd */
    FOP_CACHE_FILL,         /* cache fill N gfp=   (pages held by the test shrinker) */
    FOP_CACHE_BUSY,         /* cache busy on|off   (scan returns SHRINK_STOP) */
    FOP_CHECK,              /* check               (full pattern + stats verification) */
    FOP_MISUSE_DOUBLE_FREE, /* misuse double-free g= via= */
    FOP_MISUSE_WRONG_ORDER, /* misuse wrong-order h= delta= via= */
    FOP_MISUSE_TAIL,        /* misuse tail h= k= as=order0|block */
    FOP_MISUSE_BAD_ADDR,    /* misuse bad-address KIND x= */
    FOP_MISUSE_BAD_ORDER,   /* misuse bad-order order= on=alloc|free|free-addr h= */
    FOP_MISUSE_BAD_FLAGS,   /* misuse bad-flags gfp= order= */
    FOP_MISUSE_GET_FREE,    /* misuse get-free x=   (get_page on a free page) */
    /* slab / kmalloc (targets slab and misuse) */
    FOP_CACHE_CREATE,       /* cache create size= align= flags= ctor= */
    FOP_CACHE_DESTROY,      /* cache destroy c= */
    FOP_CACHE_ALLOC,        /* cache alloc c= gfp= zero= */
    FOP_CACHE_FREE,         /* cache free h= via=cache|kfree */
    FOP_KMALLOC,            /* kmalloc size= gfp= fn= n= */
    FOP_KREALLOC,           /* krealloc h= size= gfp= of=obj|null */
    FOP_KFREE,              /* kfree h= */
    FOP_CACHE_SHRINK,       /* cache shrink c= */
    FOP_CACHE_VALIDATE,     /* cache validate c= */
    FOP_SLAB_DOUBLE_FREE,   /* slab double-free g= via= */
    FOP_SLAB_INTERIOR,      /* slab interior h= k= via= */
    FOP_SLAB_NO_OWNER,      /* slab no-owner WHAT via= x= */
    FOP_SLAB_WRONG_CACHE,   /* slab wrong-cache h= c= */
    FOP_SLAB_KFREE_PAGES,   /* slab kfree-pages order= off= */
    FOP_SLAB_OVERFLOW,      /* slab overflow h= k= n= then=free|validate */
    FOP_SLAB_UNDERFLOW,     /* slab underflow h= k= n= then=free|validate */
    FOP_SLAB_UAF,           /* slab write-after-free h= k= then=alloc|validate */
    /* early allocator and boot (target boot) */
    FOP_MEMBLOCK_ALLOC,     /* memblock alloc size= align= big=no|yes */
    FOP_MEMBLOCK_RESERVE,   /* memblock reserve off= len= where=in|beyond|empty|wrap */
    FOP_MEMBLOCK_FREE,      /* memblock free h= part=whole|head|tail|middle|never */
    FOP_CORE_INIT,          /* core init */
    FOP_BUDDY_SWEEP,        /* buddy sweep order= gfp= */
    FOP_BOOT_MAP,           /* boot map KIND n= x= */
    /* checker (page_alloc, slab) */
    FOP_CORRUPT,            /* corrupt VICTIM x=   (mm_check must name the break; restored) */
    FOP_STATS,              /* stats               (statistics consistency + show) */
    /* misuse */
    FOP_SLAB_FREELIST,      /* slab freelist-corrupt size= fill= */
    FOP_SLAB_KREALLOC_BAD,  /* slab krealloc-bad interior|freed h= k= size= */
    FOP_SLAB_FREE_META,     /* slab free-meta cache|kmalloc-cache c= via= */
    /* address spaces, swap, vmalloc (target vm; see target_vm.c for the argument encodings) */
    FOP_VM_SWAPDEV,         /* vm swapdev slots=       (first op only: the machine's swap device) */
    FOP_VM_USE,             /* vm use M                (current address space, modulo live ones) */
    FOP_VM_MMAP,            /* vm mmap what= prot= how= x= */
    FOP_VM_MUNMAP,          /* vm munmap pages= at= */
    FOP_VM_MPROTECT,        /* vm mprotect pages= prot= at= */
    FOP_VM_BRK,             /* vm brk x= */
    FOP_VM_ACCESS,          /* vm access KIND pages= at= */
    FOP_VM_FORK,            /* vm fork */
    FOP_VM_EXIT,            /* vm exit */
    FOP_VM_PRESSURE,        /* vm pressure HOW n= */
    FOP_VM_FILE,            /* vm file OP f= page= tok= */
    FOP_VMALLOC,            /* vmalloc fn= size= */
    FOP_VFREE,              /* vfree h= via= */
    FOP_VMAP,               /* vmap n= prot= */
    FOP_VUNMAP,             /* vunmap h= via= */
    FOP_VM_CORRUPT,         /* vm corrupt VICTIM x=    (mm_check must name the break; restored) */
    FOP_VM_VMISUSE,         /* vm vmisuse KIND h=      (vfree/vunmap/vmap/kfree misuse) */
    FOP_VM_SWAPFAIL,        /* vm swapfail ON n= at=   (swap device errors: swapout|swapin) */
    FOP_VM_FORKFAIL,        /* vm forkfail skip=       (fork with an allocation failure armed) */
    /* scheduled CPUs (target smp; see target_smp.c): on= names the CPU whose stream gets the op */
    FOP_SMP_PAGES,          /* smp pages on= order=     (alloc_pages, orders 0-3) */
    FOP_SMP_KMALLOC,        /* smp kmalloc on= size= */
    FOP_SMP_CACHE_ALLOC,    /* smp cache-alloc on=      (the shared cache) */
    FOP_SMP_VMALLOC,        /* smp vmalloc on= pages= */
    FOP_SMP_FREE,           /* smp free on= h=          (any held object, whoever allocated it) */
    FOP_SMP_DRAIN,          /* smp drain on= which=local|all */
    FOP_SMP_RUN,            /* smp run                  (run the queued streams, then check) */
    FOP_SMP_SCHED,          /* smp sched B0 B1 B2 B345  (6 schedule bytes for the next run) */
    /* shared address spaces of target smp (fuzz/smp_vm.c): at = as * 32 + window page */
    FOP_SMP_MMAP,           /* smp mmap on= at= pages= prot=   (MAP_FIXED private anonymous) */
    FOP_SMP_MUNMAP,         /* smp munmap on= at= pages= */
    FOP_SMP_MPROTECT,       /* smp mprotect on= at= pages= prot= */
    FOP_SMP_ACCESS,         /* smp access on= at= kind=read|write|write-head  (one page, hosted MMU) */
    FOP_SMP_FORK,           /* smp fork on= as=0|1      (into as 2 when it is empty) */
    FOP_SMP_EXIT,           /* smp exit on=             (mm_destroy of as 2) */
    /* the Linux differential (target linux; see target_linux.c): the same op on the mm and the host */
    FOP_LX_MMAP,            /* lx mmap how= prot= pages= at= */
    FOP_LX_MUNMAP,          /* lx munmap pages= at= */
    FOP_LX_MPROTECT,        /* lx mprotect prot= pages= at= */
    FOP_LX_ACCESS,          /* lx access KIND pages= at= */
    FOP_LX_MLOCK,           /* lx mlock lock|unlock pages= at= */
    FOP_VM_MIGRATE,         /* vm migrate move|move-all|range pages= at=   (page migration) */
    /* protection domains (target domains; see target_domains.c): handles index live sets */
    FOP_DOM_CREATE,         /* dom create KIND          (core|driver|user) */
    FOP_DOM_DESTROY,        /* dom destroy d= */
    FOP_DOM_ALLOC,          /* dom alloc WHAT d= n=     (pages order n%4 | vmalloc n%8+1 pages |
                               kmalloc n%512+1 bytes) */
    FOP_DOM_FREE,           /* dom free AS h=           (as=owner, or other: must be refused) */
    FOP_DOM_GRANT,          /* dom grant RIGHTS h= to= */
    FOP_DOM_REVOKE,         /* dom revoke g= */
    FOP_DOM_MIGRATE,        /* dom migrate MODE h= to=  (move|scrub) */
    FOP_DOM_PIN,            /* dom pin HOW h=           (pin|unpin|io|io-done) */
    FOP_DOM_ACCESS,         /* dom access KIND from= t= w=  (read|write; from: a domain or none) */
    /* NUMA (numa tables: inputs with a topology record) */
    FOP_NUMA,               /* numa nodes= dist= x=   (the topology record itself: record 0) */
    FOP_ALLOC_NODE,         /* alloc node order= gfp= node=local|0..3|bad fn=try|alloc|__alloc */
    FOP_KMALLOC_NODE,       /* kmalloc node size= node= */
    /* memory policies (vm target, numa table) */
    FOP_VM_MBIND,           /* vm mbind mode= nodes= fl= at=  (mode bits 0-2 MPOL_*, bit 3 STATIC;
                               fl bits 0-2 STRICT|MOVE|MOVE_ALL, bit 3 a bad flag, 4-5 pages-1) */
    FOP_VM_SET_MEMPOLICY,   /* vm set-mempolicy mode= nodes= */
    FOP_VM_MOVE_NODE,       /* vm move-node node= pages= at=  (node 4: -1, 5: node 4) */
    FOP_VM_NUMA_SCAN,       /* vm numa-scan pages= cpu= rounds=  (mm_numa_scan, then reads from
                               that CPU of every page it hinted; NUMA balancing) */
    /* mlock (vm target) */
    FOP_VM_MLOCK,           /* vm mlock lock|unlock pages= at= */
    FUZZ_NR_OP_KINDS,
};

enum fuzz_arg_kind {
    FA_UINT,    /* lo + raw % span */
    FA_ORDER,   /* 0..MM_MAX_ORDER, biased to small orders (byte field) */
    FA_CPU,     /* raw % nr_cpus */
    FA_ENUM,    /* vals[raw % nvals].value, printed by name */
    FA_OBJSIZE, /* cache object size 1..16384, biased to small (d field, low 16 bits) */
    FA_KSIZE,   /* kmalloc size 0..65536, biased to small (d field, low 20 bits) */
};

enum fuzz_field { FF_A, FF_B, FF_C, FF_D };

struct fuzz_enum_val {
    uint32_t value;
    const char *name;
};

struct fuzz_arg_desc {
    const char *name;       /* key in "key=value"; also used in messages */
    uint8_t kind;           /* enum fuzz_arg_kind */
    uint8_t field;          /* enum fuzz_field: a, b, c are bytes, d is a u32 */
    bool positional;        /* printed as a bare value right after the op name */
    uint32_t lo, span;      /* FA_UINT */
    const struct fuzz_enum_val *vals; /* FA_ENUM */
    uint32_t nvals;
};

struct fuzz_op_desc {
    const char *name;       /* may contain one space: "cache fill", "misuse tail" */
    uint32_t nargs;
    struct fuzz_arg_desc args[FUZZ_MAX_ARGS];
};

/** Descriptor of op kind @kind (FOP_NOP's for out-of-range kinds). */
const struct fuzz_op_desc *fuzz_op_desc(unsigned int kind);

/** A target's ordered op table: op byte % nr selects kinds[]; a kind may repeat (weight). */
struct fuzz_op_table {
    const uint8_t *kinds;
    uint32_t nr;
    uint32_t flags;         /* FUZZ_TABLE_* */
    const struct fuzz_op_table *numa; /* the table of inputs with a topology record; NULL: the
                                         target takes none (the record decodes as an op) */
};

/** The machine header's slab_hardened and slab_cheap bits mean something to this target
 * (printed, parsed): level 0 without slab_hardened, else 1 with slab_cheap, else 2. */
#define FUZZ_TABLE_SLAB_HARDENED 1u
/** A target hardened by default (level 2) that slab_cheap moves to level 1 and slab_cheap with
 * slab_off to level 0 (printed, parsed). */
#define FUZZ_TABLE_SLAB_LEVELS   2u

/** Slab hardening level 0..2 of machine @m for a target whose table has @flags (0 without either
 * flag). */
unsigned int fuzz_machine_slab_level(const struct fuzz_machine *m, uint32_t flags);

/** KFENCE interval of machine @m for a target whose table has @flags: 0 (off) unless the table
 * has FUZZ_TABLE_SLAB_LEVELS or FUZZ_TABLE_KFENCE and the kfence bit is set; then 1, 2, 3, 4, 6, 8, 12 or 16 from
 * seed bits 27-29 (the seed is the input's, so inputs choose N without a byte of their own). */
unsigned int fuzz_machine_kfence_interval(const struct fuzz_machine *m, uint32_t flags);
/** slab_owner (mm.h) for @m: seed bit 31, FUZZ_TABLE_SLAB_LEVELS and _HARDENED targets only (no
 * byte of its own, as the KFENCE interval), so half their inputs run unhardened caches with it. */
bool fuzz_machine_slab_owner(const struct fuzz_machine *m, uint32_t flags);

/** The target runs at least 2 CPUs: a header saying 1 means 2 (fuzz_machine_clamp). */
#define FUZZ_TABLE_SMP 4u

/** The header's slab_cheap bit means "atomics are preemption points" to this scheduled target
 * (machine line atomics=on; fuzz_machine_sched_atomics). */
#define FUZZ_TABLE_ATOMICS 16u

/** Are machine @m's atomic ops preemption points of its scheduled runs (FUZZ_TABLE_ATOMICS)? */
bool fuzz_machine_sched_atomics(const struct fuzz_machine *m, uint32_t flags);

/** The header's kfence bit means something to this target (printed, parsed), whatever its slab
 * level flags: the slab target, whose old inputs with the bit set now sample. */
#define FUZZ_TABLE_KFENCE 8u

/** One decoded op: its kind and each declared argument's folded value, in declaration order. */
struct fuzz_op {
    uint32_t kind;
    uint32_t arg[FUZZ_MAX_ARGS];
};

/* Shared value tables (the executor interprets enum values through them). */
extern const struct fuzz_enum_val fuzz_gfp_vals[];
extern const uint32_t fuzz_nr_gfp_vals;
enum { FUZZ_VIA_PAGE = 0, FUZZ_VIA_ADDR = 1 };
/* alloc node / kmalloc node: node= values beyond the machine's nodes (4: NUMA_NO_NODE) */
enum { FUZZ_NODE_LOCAL = 4, FUZZ_NODE_BAD = 5 };
enum { FUZZ_NODE_FN_TRY, FUZZ_NODE_FN_ALLOC, FUZZ_NODE_FN_RAW };
enum { FUZZ_VIA_CACHE = 0, FUZZ_VIA_KFREE = 1 };
enum { FUZZ_KM_KMALLOC, FUZZ_KM_KZALLOC, FUZZ_KM_KCALLOC, FUZZ_KM_ARRAY };

/** Pointers no cache owns (slab no-owner WHAT). */
enum fuzz_no_owner_kind {
    FUZZ_NOOWN_PAGE,        /* a block from alloc_pages */
    FUZZ_NOOWN_STACK,       /* a stack buffer */
    FUZZ_NOOWN_GLOBAL,      /* a global buffer */
    FUZZ_NOOWN_BEYOND_END,  /* an address past the last pfn */
    FUZZ_NOOWN_RESERVED,    /* a reserved page (memory map, holes, reserve ranges) */
    FUZZ_NOOWN_FREE_PAGE,   /* a free page of the buddy allocator / a per-CPU list */
    FUZZ_NR_NOOWN,
};

/** Badly formed frees a misuse op can issue (misuse bad-address KIND). */
enum fuzz_bad_addr_kind {
    FUZZ_BAD_BEYOND_END,    /* free_pages(direct-map address past the end of memory) */
    FUZZ_BAD_UNALIGNED,     /* free_pages(live block address + small offset) */
    FUZZ_BAD_FOREIGN,       /* free_pages(page-aligned address outside the direct map) */
    FUZZ_BAD_FOREIGN_PAGE,  /* __free_pages(struct page that is not in mm_mem_map) */
    FUZZ_BAD_MID_PAGE,      /* __free_pages(pointer into the middle of a struct page) */
    FUZZ_BAD_RESERVED,      /* __free_pages(reserved page) */
    FUZZ_BAD_FREE_PAGE,     /* __free_pages(a page the harness does not own: free) */
    FUZZ_BAD_NULL_PAGE,     /* __free_pages(NULL) */
    FUZZ_BAD_NULL_ADDR,     /* free_pages(0): documented no-op, not a misuse */
    FUZZ_BAD_MM_PAGE,       /* __free_pages(a page the mm holds itself, e.g. a slab page) */
    FUZZ_NR_BAD_ADDR,
};

/** Memory maps "boot map KIND" builds (target boot). */
enum fuzz_map_kind {
    FUZZ_MAP_LAYOUT,        /* the header's layout again */
    FUZZ_MAP_MANY,          /* many small usable regions with gaps */
    FUZZ_MAP_OVERLAP,       /* overlapping usable and reserved entries, unsorted */
    FUZZ_MAP_SUBPAGE,       /* regions with sub-page edges */
    FUZZ_MAP_VANISH,        /* every usable region vanishes after page alignment: -MM_EINVAL */
    FUZZ_MAP_TOOMANY,       /* more disjoint regions than MM_MAX_MEM_REGIONS: -MM_ENOSPC */
    FUZZ_MAP_BADENTRY,      /* an empty or wrapping entry: -MM_EINVAL */
    FUZZ_NR_MAP,
};

/** What "corrupt VICTIM" damages (one specific way each; see fuzz/checker.c). */
enum fuzz_corrupt_kind {
    FUZZ_CR_BUDDY_FLAGS,    /* a free block head gets PG_head too          -> buddy.flags */
    FUZZ_CR_BUDDY_ORDER,    /* a free block head's order field changes     -> buddy.flags */
    FUZZ_CR_BUDDY_LINK,     /* a free block's list link points at junk     -> buddy.list */
    FUZZ_CR_BUDDY_LOOP,     /* a free block's list link points at itself   -> buddy.duplicate */
    FUZZ_CR_AREA_COUNT,     /* a free area's nr_free is off by one         -> buddy.count */
    FUZZ_CR_ZONE_NR_FREE,   /* a zone's nr_free is off by one              -> buddy.nr_free */
    FUZZ_CR_FREE_TAIL,      /* a tail page of a free block gets a flag     -> page.block */
    FUZZ_CR_PCP_CPU,        /* a per-CPU list page names another CPU       -> pcp.flags */
    FUZZ_CR_PCP_COUNT,      /* a per-CPU list's count is off by one        -> pcp.count */
    FUZZ_CR_PCP_LOOP,       /* a per-CPU list page links to itself         -> pcp.duplicate */
    FUZZ_CR_ALLOC_REFCOUNT, /* an allocated block head gets refcount 0     -> page.refcount */
    FUZZ_CR_ALLOC_STRAY,    /* an allocated order-0 head loses its flags   -> page.stray */
    FUZZ_CR_ALLOC_BUDDY,    /* an allocated order-0 head claims PG_buddy   -> buddy.orphan|unmerged */
    FUZZ_CR_ALLOC_PCP,      /* an allocated order-0 head claims PG_pcp     -> pcp.orphan */
    FUZZ_CR_MANAGED,        /* a zone's managed count is off by one        -> conserve.managed */
    FUZZ_CR_RESERVED,       /* a zone's reserved count is off by one       -> conserve.reserved */
    FUZZ_CR_MEMBLOCK,       /* two early-allocator regions overlap         -> memblock.order */
    FUZZ_CR_CACHE_MAGIC,    /* a cache's magic                             -> slab.cache */
    FUZZ_CR_SLAB_CACHE,     /* a slab names another cache                  -> slab.page */
    FUZZ_CR_SLAB_FROZEN,    /* a CPU's active slab names another CPU       -> slab.frozen */
    FUZZ_CR_SLAB_FREELIST,  /* a free object's next pointer is off by one  -> slab.freelist */
    FUZZ_CR_SLAB_DUP,       /* a free object's next pointer points at it   -> slab.duplicate */
    FUZZ_CR_SLAB_INUSE,     /* a listed slab's inuse is off by one         -> slab.inuse */
    FUZZ_CR_NR_PARTIAL,     /* a cache's nr_partial is off by one          -> slab.count */
    FUZZ_CR_SLAB_STATE,     /* (hardened) an object's state tag flips      -> slab.state */
    FUZZ_CR_REDZONE,        /* (hardened) one red zone byte                -> slab.redzone */
    FUZZ_CR_POISON,         /* (hardened) one poison byte of a free object -> slab.poison */
    FUZZ_NR_CORRUPT,
};

/** What "vm corrupt VICTIM" damages (target vm; see the comment above vm_corrupt in vm_corrupt.c). */
enum fuzz_vm_corrupt_kind {
    FUZZ_VCR_COW_WRITABLE,  /* a copy-on-write user PTE becomes writable  -> pte.cow|pte.perm */
    FUZZ_VCR_PTE_OUTSIDE,   /* an entry set (and counted) outside any VMA -> pte.outside */
    FUZZ_VCR_PTE_USER,      /* a present user PTE's user bit flips        -> pte.perm */
    FUZZ_VCR_PTE_PAGE,      /* a present user PTE maps a free page        -> pte.page */
    FUZZ_VCR_MAPCOUNT,      /* a user page's mapcount + 1                 -> page.mapcount */
    FUZZ_VCR_REFCOUNT,      /* a user page's refcount + 1                 -> page.refcount */
    FUZZ_VCR_NR_ANON,       /* mm->nr_anon off by one                     -> mm.nr_anon */
    FUZZ_VCR_TREE_DEPTH,    /* a range tree's depth +- 1 (an mm's or vmalloc's) -> tree.depth */
    FUZZ_VCR_TREE_GAP,      /* a leaf's gap record + 1 page               -> tree.gap */
    FUZZ_VCR_TREE_KEY,      /* a root key of a child moves a page; in a one-leaf tree an entry
                               pointer changes                  -> tree.key|vma.tree|vmalloc.tree */
    FUZZ_VCR_MAP_COUNT,     /* mm->map_count + 1                          -> vma.tree */
    FUZZ_VCR_VMA_RANGE,     /* a VMA becomes empty                        -> vma.range */
    FUZZ_VCR_VMA_FLAGS,     /* a VMA gets an unknown flag bit             -> vma.flags */
    FUZZ_VCR_VMA_ORDER,     /* a VMA's end overlaps its successor         -> vma.order */
    FUZZ_VCR_VMA_UNMERGED,  /* two adjacent VMAs get equal flags          -> vma.unmerged */
    FUZZ_VCR_SWAP_COUNT,    /* a used slot's count + 1                    -> swap.count */
    FUZZ_VCR_SWAP_ORPHAN,   /* a free slot gets count 1                   -> swap.count */
    FUZZ_VCR_SWAP_PTE,      /* a swap PTE names no slot / is no swap entry -> swap.slot */
    FUZZ_VCR_LRU_LINK,      /* an LRU page links to itself / to junk      -> lru.list */
    FUZZ_VCR_LRU_BITS,      /* an LRU page's active bit flips             -> lru.list */
    FUZZ_VCR_PT_COUNT,      /* a page-table page's entry count + 1        -> pt.count */
    FUZZ_VCR_PT_TABLES,     /* a page table's nr_tables + 1               -> pt.nr_tables */
    FUZZ_VCR_VMALLOC_GUARD, /* a vmalloc guard PTE becomes present        -> vmalloc.guard
                               (x & 2: a counted entry after the guard     -> vmalloc.pte) */
    FUZZ_VCR_VMALLOC_PAGE,  /* a vmalloc PTE maps another page            -> vmalloc.page|vmalloc.pte */
    FUZZ_VCR_VMALLOC_PROT,  /* a vmalloc/vmap PTE's bits change           -> vmalloc.pte */
    FUZZ_VCR_PT_LEAF,       /* a present user PTE maps beyond memory      -> pt.leaf */
    FUZZ_VCR_PT_UPPER,      /* a top-level entry: not present / beyond memory / table page flags
                                                                          -> pt.table */
    FUZZ_VCR_PT_DUP,        /* a second top-level entry names the same table (counted)
                                                                          -> pt.duplicate */
    FUZZ_NR_VCR,
};

/** vmalloc misuse "vm vmisuse KIND" (target vm; documented errors in vm_corrupt.c). */
enum fuzz_vmisuse_kind {
    FUZZ_VMIS_INTERIOR,     /* vfree/vunmap(area + k pages / bytes)       EINVAL bad-address */
    FUZZ_VMIS_GUARD,        /* vfree/vunmap(the area's guard page)         EINVAL bad-address */
    FUZZ_VMIS_FOREIGN,      /* vfree(an address no mapping backs)          EFAULT bad-address */
    FUZZ_VMIS_KMALLOC,      /* vfree(a kmalloc pointer)                    EFAULT bad-address */
    FUZZ_VMIS_NOWHERE,      /* vfree(free space of the vmalloc range)      EINVAL bad-address */
    FUZZ_VMIS_DOUBLE_VFREE, /* vfree twice                                 EINVAL double-free */
    FUZZ_VMIS_DOUBLE_VUNMAP,/* vunmap twice                                EINVAL double-free */
    FUZZ_VMIS_WRONG_KIND,   /* vfree of a vmap area / vunmap of a vmalloc area  EINVAL bad-argument */
    FUZZ_VMIS_VMAP_NULL,    /* vmap(NULL, 1)                               NULL bad-argument */
    FUZZ_VMIS_VMAP_ZERO,    /* vmap(pages, 0)                              NULL bad-argument */
    FUZZ_VMIS_VMAP_WX,      /* vmap writable + executable                  NULL bad-argument */
    FUZZ_VMIS_VMAP_BITS,    /* vmap with the user bit                      NULL bad-argument */
    FUZZ_VMIS_VMAP_NOTPAGE, /* vmap of a pointer that is no struct page    NULL bad-argument */
    FUZZ_VMIS_VMAP_FREE,    /* vmap of a free page                         NULL bad-argument */
    FUZZ_VMIS_HUGE,         /* vmalloc / vmap larger than the range        NULL size-overflow */
    FUZZ_VMIS_KFREE,        /* kfree(a vmalloc pointer)                    EINVAL not-slab */
    FUZZ_VMIS_FREE_MAPPED,  /* __free_pages(an anonymous page a PTE maps)  EBUSY free-still-mapped */
    FUZZ_VMIS_KFREE_VMA,    /* kfree(a VMA of the current address space)   EINVAL free-mm-metadata */
    FUZZ_VMIS_KFREE_AREA,   /* kfree(a vmap area, the range's sentinel)    EINVAL free-mm-metadata */
    FUZZ_VMIS_FREE_VMAPPED, /* __free_pages / free_pages(a page vmap maps)  EBUSY free-still-mapped */
    FUZZ_NR_VMIS,
};

/* ---- decoding and printing ---- */

/** Number of op records in an input of @size bytes (a partial record counts; capped). */
uint32_t fuzz_nr_ops(size_t size);

/** Decode record @i of @data under @table for machine @m. */
void fuzz_op_decode(const struct fuzz_op_table *table, const struct fuzz_machine *m,
                    const uint8_t *data, size_t size, uint32_t i, struct fuzz_op *op);

/** Render @op as one line of text (no newline). Returns mm_snprintf's result. */
int fuzz_op_format(char *buf, size_t size, const struct fuzz_op *op);

/** Line sink for the printer: called once per line, without a newline. */
typedef void (*fuzz_emit_fn)(void *ctx, const char *line);

/** Print the whole decoded sequence: the machine line, then one line per op. */
void fuzz_print(const struct fuzz_op_table *table, const uint8_t *data, size_t size,
                fuzz_emit_fn emit, void *ctx);

/* ---- parsing and encoding ---- */

struct fuzz_parse_error {
    unsigned int line;      /* 1-based line of the first error */
    char msg[128];
};

/**
 * Parse the text form in @text (@len bytes, need not be NUL terminated) and encode it for @table
 * into @out (capacity @cap). Returns the encoded length, or -MM_EINVAL (syntax / value out of
 * range, details in *@err), -MM_ENOSPC (@out too small or more than FUZZ_MAX_OPS ops).
 */
long fuzz_encode_text(const struct fuzz_op_table *table, const char *text, size_t len,
                      uint8_t *out, size_t cap, struct fuzz_parse_error *err);

/** Encode one op record for @table and @m. Returns 0 or -MM_ERANGE (value not encodable). */
int fuzz_op_encode(const struct fuzz_op_table *table, const struct fuzz_machine *m,
                   const struct fuzz_op *op, uint8_t rec[FUZZ_REC_SIZE]);

/* ---- small deterministic helpers shared by targets ---- */

/** splitmix64 step: advance *@state and return the next 64-bit value. */
static inline uint64_t fuzz_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif /* LEAXOS_FUZZ_OPS_H */
