/*
 * vm_model.h - what the three files of fuzz target "vm" share: its state (vm_fz), the reference
 * model's types and limits, the model and judge functions (vm_model.c) and the corruption and
 * misuse ops (vm_corrupt.c) the executor (target_vm.c) calls. Internal to the target; nothing
 * else includes it.
 *
 *   vm_fz.mm[0, nmm)     address spaces, oldest first; cur is the one ops act on
 *     .mm                  the mm's struct mm_struct
 *     .reg[0, nreg)        model regions sorted by start, never overlapping, each at most
 *                          VM_REG_PAGES pages: [start, start + np pages), prot, shared, grows,
 *                          obj (index into vm_fz.obj, or -1: anonymous private) at page pgoff,
 *                          own[k] / pg[k]: page k's own contents (private pages once written),
 *                          locked: VM_LOCKED (vm mlock; a fork's child starts unlocked)
 *   vm_fz.obj[0, nobj)   backing objects: the files f0..f3 first (user), then one per shared
 *                          anonymous mapping; obj->pg is a slice of vm_fz.pool
 *   vm_fz.va[0, nva)     vmalloc / vmap areas, each page holding token tok + page index
 *   vm_fz.hog[0, nhog)   pages held for memory pressure
 *
 * A page's contents are a struct vcont (a, b, split): bytes [0, split) token a's pattern, the rest
 * token b's; token 0 is zeros. Every field is written only by the executor's op that changes the
 * mm the same way, or by the model functions it calls; the judges only read (vm_fz.buf is
 * scratch for every read-back). One instance, no locking: the harness runs on one thread.
 */
#ifndef FUZZ_VM_MODEL_H
#define FUZZ_VM_MODEL_H

#include "fuzz_target.h"
#include "mmap.h"
#include "swap.h"
#include "vmalloc.h"
#include "../mm/internal.h"
#include "../mm/virtual/mmap_internal.h"

#define VM_MAX_MM     6
#define VM_MAX_REG    40
#define VM_REG_PAGES  128
#define VM_NFILES     4
#define VM_FILE_PAGES 16
#define VM_MAX_OBJ    40
#define VM_OBJ_POOL   3072
#define VM_MAX_VAREA  24
#define VM_MAX_HOG    4096
#define VM_ARENA      0x40000000ul
#define VM_BRK_START  0x10000000ul

struct vcont {
    uint32_t a, b;
    uint16_t split; /* bytes [0, split) pattern a, the rest pattern b */
};

struct vobj {
    struct mm_file *f;   /* user files: ours; anonymous shared: found through find_vma */
    bool user, writable;
    uint64_t size;
    uint32_t npages;
    struct vcont *pg;
};

struct vreg {
    uintptr_t start;
    uint32_t np;
    uint8_t prot;        /* VM_READ | VM_WRITE | VM_EXEC as the mm derives them */
    bool shared, grows;
    bool locked;         /* VM_LOCKED (vm mlock): every page present while accessible */
    int obj;             /* -1: anonymous private */
    uint32_t pgoff;
    uint8_t own[VM_REG_PAGES];
    struct vcont pg[VM_REG_PAGES];
};

struct vmm {
    struct mm_struct *mm;
    uintptr_t brk;
    uint32_t nreg;
    struct vreg reg[VM_MAX_REG];
};

struct varea {
    void *addr;
    size_t size;
    bool vmap;
    uint32_t tok;
    unsigned int n;
    struct page *pages[8];
};

struct vm_fz_state {
    struct fuzz_machine m;
    uint64_t bind_masks[4];  /* bit n: a bind policy on node mask n was set (it may be full while
                                others have room): vm_oom_justified_need probes each */
    struct vmm mm[VM_MAX_MM];
    uint32_t nmm, cur;
    struct vobj obj[VM_MAX_OBJ];
    uint32_t nobj;
    struct vcont pool[VM_OBJ_POOL];
    uint32_t pool_used;
    struct varea va[VM_MAX_VAREA];
    uint32_t nva;
    struct page *hog[VM_MAX_HOG];
    uint32_t nhog;
    uint32_t next_tok;
    unsigned long inj_target; /* fail_injected value at which the armed injection is spent */
    bool inj_armed;
    bool inj_at_op;           /* injection was armed when the current op started */
    unsigned long boot_pages, boot_tables;
    uint8_t buf[3 * PAGE_SIZE];
};

/* The target's one state, cleared by vm_setup (defined in target_vm.c). */
extern struct vm_fz_state vm_fz;

#define VM_TRACE(...) do { if (fuzz_trace) fuzz_log(__VA_ARGS__); } while (0)

#define vfail(fmt, ...) fuzz_fail("vm op#%u [%s]: " fmt, (unsigned int)fuzz_cur.opno, fuzz_cur_text(), \
                                   ##__VA_ARGS__)

#define VM_OOM_NEED_OP 4 /* a fault or VMA change: the page (or a slab page) + 3 table levels */

/* ---- vm_model.c: contents (token patterns) ---- */
uint8_t vm_byte(const struct vcont *c, uint32_t off);
void vm_fill(uint8_t *p, const struct vcont *c);
long vm_cmp(const uint8_t *p, const struct vcont *c, uint32_t len);
bool vm_is_uniform(const struct vcont *c);
struct vcont vm_write_merge(struct vcont old, uint32_t tok, uint32_t ws, uint32_t we);
struct vcont vm_uniform(uint32_t tok);
uint32_t vm_new_tok(uint32_t salt);

/* ---- vm_model.c: objects, regions, expectations ---- */
int vm_obj_new(uint64_t size, bool user, bool writable);
void vm_obj_write(struct vobj *o, uint32_t i, uint32_t tok, uint32_t len);
struct vmm *vm_cur_mm(void);
uintptr_t vm_reg_end(const struct vreg *r);
int vm_reg_find(struct vmm *m, uintptr_t va);
bool vm_reg_range_free(struct vmm *m, uintptr_t s, uintptr_t e);
bool vm_reg_range_covered(struct vmm *m, uintptr_t s, uintptr_t e);
void vm_reg_split_at(struct vmm *m, uintptr_t va);
void vm_reg_compact(struct vmm *m);
void vm_reg_unmap(struct vmm *m, uintptr_t s, uintptr_t e);
void vm_reg_add(struct vmm *m, uintptr_t s, uint32_t np, uint8_t prot, bool shared, bool grows,
                int obj, uint32_t pgoff);
uint8_t vm_prot_flags(uint32_t prot);
struct vcont vm_page_content(const struct vreg *r, uint32_t k);
enum vm_fault_result vm_expect(struct vmm *m, uintptr_t va, uint32_t kind, int *ri, uint32_t *k,
                               bool apply_growth);
void vm_write_clip(struct vmm *m, uintptr_t va, uint32_t pages, uint32_t cut, uint32_t *s, uint32_t *e);
void vm_area_fill(struct varea *a);

/* ---- vm_model.c: mlock (VM_LOCKED regions) ---- */
void vm_lock_set(struct vmm *m, uintptr_t s, uintptr_t e, bool locked);
bool vm_lock_populate(struct vmm *m, uintptr_t s, uintptr_t e, bool none_fails);
/* @oom: the caller already judged the op's ENOMEM justified (else the judge probes itself). */
void vm_lock_judge(struct vmm *m, uintptr_t s, uintptr_t e, const char *what, bool oom);
void vm_check_locked(void);

/* ---- vm_model.c: judges (fail through vfail / fuzz_fail) ---- */
void vm_area_check(const struct varea *a);
unsigned long vm_fail_injected(void);
bool vm_inj_armed(void);
bool vm_oom_justified_need(unsigned int meta, unsigned int data, gfp_t data_gfp);
bool vm_oom_justified_n(unsigned int need);
bool vm_oom_justified_nodes(uint32_t nodes);
void vm_note_bind(uint32_t nodes);
/** The PTE at @va of @mm now (0 where no table reaches). */
pte_t vm_pte_now(struct mm_struct *mm, uintptr_t va);
bool vm_oom_justified(void);
void vm_check_mm(void);
void vm_check_obj(int o);
void vm_check_everything(void);
bool vm_same_name(const char *a, const char *b);

/* ---- vm_corrupt.c: "vm corrupt" (false: no victim, a no-op) and "vm vmisuse" ---- */
bool vm_corrupt(uint32_t victim, uint32_t x);
void vm_vmisuse(uint32_t kind, uint32_t h);

#endif
