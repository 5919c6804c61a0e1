/*
 * mempolicy.c - memory policies (Linux's mempolicy.c, issue 14): set_mempolicy / mbind /
 * get_mempolicy on an address space and its VMA ranges, and the node choice of every user page
 * allocation (anonymous and COW faults, swap-in, migration without a node).
 *
 *   the policy of an address: the VMA's (mbind) unless MPOL_DEFAULT, else the mm's (set_mempolicy)
 *   DEFAULT / LOCAL   the calling CPU's node, falling back along its list
 *   PREFERRED n       node n first, falling back along n's list
 *   BIND mask         the CPU's node's list filtered to the mask: never a page outside it (the
 *                     fault gets VM_FAULT_OOM instead, as Linux)
 *   INTERLEAVE mask   node = the (index % weight)-th node of the mask, index = the page's offset
 *                     (anonymous: va >> PAGE_SHIFT, Linux's vm_pgoff for anon VMAs; file: the file
 *                     page), so placement is a function of the address alone; falls back when
 *                     that node is full (interleave_hit counts the allocations that got it)
 *
 * Placement itself (the policy in force at an address, the allocation) is mpol_place.c, which the
 * fault and migration paths call; this file calls them, not the reverse.
 *
 * Invariants: a stored mask names only nodes with memory and is non-empty for PREFERRED, BIND and
 * INTERLEAVE, empty for DEFAULT and LOCAL; a policy marked strict covers no private anonymous
 * page outside its mask (mm_check: vm.policy, for BIND; check_vm.c). Page cache pages follow no
 * policy (allocated local, as a page cache page is shared by every mapper); a private file
 * mapping's COW copies do. Locking: under the address-space lock (vm_lock.c).
 */
#include "mmap_internal.h"
#include "vm_internal.h"

#define MPOL_MODE_FLAGS (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)
#define MPOL_MF_VALID   (MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)

/* Nodes that have memory (Linux's N_MEMORY; no cpusets: every such node is allowed). */
static uint32_t mpol_memory_nodes(void)
{
    uint32_t m = 0;
    for (unsigned int n = 0; n < mm_nr_nodes(); n++)
        if (node_has_memory((int)n))
            m |= 1u << n;
    return m;
}


/* Linux's get_nodes: @maxnode - 1 bits of @nmask; bits beyond MPOL_MAX_NUMNODES must be 0. */
static int mpol_get_nodes(const unsigned long *nmask, unsigned long maxnode, uint64_t *out)
{
    *out = 0;
    maxnode--;
    if (maxnode == 0 || !nmask)
        return 0;
    if (maxnode > PAGE_SIZE * 8)
        return -MM_EINVAL;
    for (unsigned long w = 1; w * 64 < maxnode; w++) {
        unsigned long bits = maxnode - w * 64;
        unsigned long m = bits >= 64 ? ~0ul : (1ul << bits) - 1;
        if (nmask[w] & m)
            return -MM_EINVAL;
    }
    *out = nmask[0] & (maxnode >= 64 ? ~0ul : (1ul << maxnode) - 1);
    return 0;
}

/* MPOL_F_RELATIVE_NODES: bit i of @user names the (i % weight)-th allowed node. */
static uint32_t mpol_relative(uint64_t user, uint32_t allowed)
{
    uint32_t m = 0;
    unsigned int w = mempolicy_weight(allowed);
    for (unsigned int i = 0; i < MPOL_MAX_NUMNODES && w; i++)
        if (user >> i & 1)
            m |= 1u << mempolicy_nth_node(allowed, i % w);
    return m;
}

/* Linux's sanitize_mpol_flags + mpol_new + mpol_set_nodemask: build *@pol from @mode (with its
 * flags) and user mask @user. 0 or -MM_EINVAL. */
static int mpol_new(int mode, uint64_t user, struct mempolicy *pol)
{
    unsigned int flags = (unsigned int)mode & MPOL_MODE_FLAGS;
    unsigned int m = (unsigned int)mode & ~MPOL_MODE_FLAGS;
    if (mode < 0 || m >= MPOL_MAX || flags == MPOL_MODE_FLAGS)
        return -MM_EINVAL;
    /* memset, not a compound literal: the padding is copied into VMAs, whose words the leak
     * scan reads (MSan: use of uninitialised value in in_vmalloc_range) */
    memset(pol, 0, sizeof(*pol));
    pol->mode = (uint16_t)m;
    pol->flags = (uint16_t)flags;
    pol->user = user;
    if (m == MPOL_DEFAULT) {
        pol->flags = 0;
        return user ? -MM_EINVAL : 0;
    }
    if (!user) {
        if (m != MPOL_PREFERRED && m != MPOL_LOCAL)
            return -MM_EINVAL;
        if (flags)
            return -MM_EINVAL;
        pol->mode = MPOL_LOCAL;
        return 0;
    }
    if (m == MPOL_LOCAL)
        return -MM_EINVAL;
    uint32_t allowed = mpol_memory_nodes();
    uint32_t nodes = (flags & MPOL_F_RELATIVE_NODES) ? mpol_relative(user, allowed)
                                                    : (uint32_t)user & allowed;
    if (!nodes)
        return -MM_EINVAL;
    if (m == MPOL_PREFERRED)
        nodes &= -nodes; /* the first node */
    pol->nodes = nodes;
    return 0;
}

/* ---- conformance of the pages already there ---- */

/* The private anonymous page mapped at @va, or NULL. */
static struct page *mpol_anon_page(struct mm_struct *mm, uintptr_t va)
{
    pte_t *ep = pt_walk(&mm->pt, va, false, 0);
    if (!ep || !pte_present(*ep) || (*ep & PTE_SW_ZERO))
        return NULL;
    struct page *p = pfn_to_page(MM_PFN_DOWN(pte_addr(*ep)));
    return (p->flags & PG_cache) ? NULL : p;
}

/* Pages of [start, end) in @v outside @nodes that stay there: with @move, those whose migration
 * under the policy failed (a moved page counts as placed even where the policy fell back). */
static unsigned long mpol_queue_range(struct mm_struct *mm, struct vm_area_struct *v, uintptr_t start,
                                      uintptr_t end, uint32_t nodes, unsigned int move)
{
    unsigned long left = 0;
    for (uintptr_t va = MM_MAX(start, v->vm_start); va < MM_MIN(end, v->vm_end); va += PAGE_SIZE) {
        struct page *p = mpol_anon_page(mm, va);
        if (!p || (nodes >> page_to_nid(p) & 1))
            continue;
        if (move) {
            struct mpol_target t;
            mempolicy_target(mm, v, va, &t);
            if (migrate_page_to(mm, va, move, &t) == 0)
                continue; /* moved: done, as Linux, even where preferred or interleave fell back */
        }
        left++;
    }
    return left;
}

/* The VMAs that follow @mm's own policy: does each private page conform to @pol? */
static bool mpol_mm_conforms(struct mm_struct *mm, const struct mempolicy *pol)
{
    if (pol->mode != MPOL_BIND)
        return true;
    for (struct vm_area_struct *v = find_vma(mm, 0); v; v = vma_next(mm, v))
        if (v->vm_policy.mode == MPOL_DEFAULT &&
            mpol_queue_range(mm, v, v->vm_start, v->vm_end, pol->nodes, 0))
            return false;
    return true;
}

/* @v has just come to follow @mm's own policy (mbind MPOL_DEFAULT): a strict bind policy of the
 * mm stays strict only if @v's private pages conform to it too (they were placed by @v's
 * policy before; a campaign find: corpus/vm/regress-mbind-default-under-mm-bind). */
static void mpol_mm_note_vma(struct mm_struct *mm, struct vm_area_struct *v)
{
    struct mempolicy *pol = &mm->policy;
    if (pol->mode == MPOL_BIND && pol->strict &&
        mpol_queue_range(mm, v, v->vm_start, v->vm_end, pol->nodes, 0))
        pol->strict = false;
}

/* ---- the system calls ---- */

int mm_set_mempolicy(struct mm_struct *mm, int mode, const unsigned long *nmask,
                     unsigned long maxnode)
{
    uint64_t user;
    struct mempolicy pol;
    if (!mm)
        return -MM_EINVAL;
    int err = mpol_get_nodes(nmask, maxnode, &user);
    if (!err)
        err = mpol_new(mode, user, &pol);
    if (err)
        return err;
    vm_lock();
    pol.strict = mpol_mm_conforms(mm, &pol);
    mm->policy = pol;
    vm_unlock();
    return 0;
}

static bool mpol_range_mapped(struct mm_struct *mm, uintptr_t start, uintptr_t end)
{
    uintptr_t at = start;
    for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start <= at && at < end;
         v = vma_next(mm, v))
        at = v->vm_end;
    return at >= end;
}

/* Give every VMA of [start, end) (split at both ends) policy @pol; -MM_ENOMEM or 0. */
static int mpol_apply_range(struct mm_struct *mm, uintptr_t start, uintptr_t end,
                            const struct mempolicy *pol)
{
    struct vm_area_struct *v;
    int err = vma_split_range(mm, start, end, &v);
    while (!err && v && v->vm_start < end) {
        v->vm_policy = *pol;
        uintptr_t next_start = v->vm_end;
        (void)vma_merge_around(mm, v); /* may free v: go on from next_start */
        v = next_start < end ? find_vma(mm, next_start) : NULL;
    }
    return err;
}

/* After the policy is in place: the pages of [start, end) outside its nodes (moved first with
 * MOVE flags), and whether each VMA's policy holds strictly. Returns the pages left outside. */
static unsigned long mpol_settle_range(struct mm_struct *mm, uintptr_t start, uintptr_t end,
                                       const struct mempolicy *pol, unsigned int flags)
{
    unsigned long left = 0;
    unsigned int move = flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL);
    uint32_t nodes = pol->mode == MPOL_BIND || pol->mode == MPOL_INTERLEAVE ||
                     pol->mode == MPOL_PREFERRED ? pol->nodes : 0; /* Linux: the given mask */
    for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end; v = vma_next(mm, v))
        left += mpol_queue_range(mm, v, start, end, nodes, move);
    struct vm_area_struct *v = find_vma(mm, start);
    while (v && v->vm_start < end) {
        if (v->vm_policy.mode == MPOL_BIND)
            v->vm_policy.strict = !mpol_queue_range(mm, v, v->vm_start, v->vm_end,
                                                    v->vm_policy.nodes, 0);
        else if (v->vm_policy.mode == MPOL_DEFAULT) /* it follows the mm's policy now */
            mpol_mm_note_vma(mm, v);
        uintptr_t next_start = v->vm_end;
        (void)vma_merge_around(mm, v); /* equal again once strictness is known: may free v */
        v = next_start < end ? find_vma(mm, next_start) : NULL;
    }
    return left;
}

int mm_mbind(struct mm_struct *mm, uintptr_t addr, size_t len, int mode,
             const unsigned long *nmask, unsigned long maxnode, unsigned int flags)
{
    uint64_t user;
    struct mempolicy pol;
    if (!mm)
        return -MM_EINVAL;
    int err = mpol_get_nodes(nmask, maxnode, &user);
    if (err)
        return err;
    unsigned int m = (unsigned int)mode & ~MPOL_MODE_FLAGS;
    if (mode < 0 || m >= MPOL_MAX || (flags & ~MPOL_MF_VALID) || (addr & ~PAGE_MASK))
        return -MM_EINVAL;
    if (m == MPOL_DEFAULT)
        flags &= ~MPOL_MF_STRICT;
    uintptr_t end = addr + MM_ALIGN_UP(len, (size_t)PAGE_SIZE);
    if (end < addr)
        return -MM_EINVAL;
    if (end == addr)
        return 0;
    err = mpol_new(mode, user, &pol);
    if (err)
        return err;
    vm_lock();
    if (!mpol_range_mapped(mm, addr, end))
        err = -MM_EFAULT;
    if (!err)
        err = mpol_apply_range(mm, addr, end, &pol);
    if (!err && mpol_settle_range(mm, addr, end, &pol, flags) && (flags & MPOL_MF_STRICT))
        err = -MM_EIO;
    vm_unlock();
    return err;
}

/* Linux's copy_nodes_to_user: @maxnode - 1 bits of @nmask get @nodes, the rest zero. */
static int mpol_put_nodes(unsigned long *nmask, unsigned long maxnode, uint64_t nodes)
{
    unsigned long bits = maxnode - 1, words = (bits + 63) / 64;
    if (words * 8 > PAGE_SIZE)
        return -MM_EINVAL;
    for (unsigned long w = 0; w < words; w++)
        nmask[w] = w ? 0 : nodes;
    return 0;
}

/* get_mempolicy's answer in *@mode / @mask, under the lock. */
static int mpol_get_locked(struct mm_struct *mm, int *mode, uint64_t *mask, uintptr_t addr,
                           unsigned int flags)
{
    const struct mempolicy *pol = &mm->policy;
    if (flags & MPOL_F_ADDR) {
        struct vm_area_struct *v = addr < ARCH_USER_VA_END ? find_vma(mm, addr) : NULL;
        if (!v || v->vm_start > addr)
            return -MM_EFAULT;
        pol = &v->vm_policy;
        if (flags & MPOL_F_NODE) {
            if (handle_mm_fault(mm, addr & PAGE_MASK, PF_ERR_U) != VM_FAULT_HANDLED)
                return -MM_EFAULT;
            pte_t *ep = pt_walk(&mm->pt, addr & PAGE_MASK, false, 0);
            *mode = page_to_nid(pfn_to_page(MM_PFN_DOWN(pte_addr(*ep))));
        }
    } else if (addr) {
        return -MM_EINVAL;
    } else if (flags & MPOL_F_NODE) {
        if (pol->mode != MPOL_INTERLEAVE)
            return -MM_EINVAL;
        *mode = mempolicy_nth_node(pol->nodes, 0); /* no task-context interleaving advances it */
    }
    if (!(flags & MPOL_F_NODE))
        *mode = pol->mode | pol->flags;
    *mask = pol->flags ? pol->user : pol->nodes;
    return 0;
}

int mm_get_mempolicy(struct mm_struct *mm, int *mode, unsigned long *nmask, unsigned long maxnode,
                     uintptr_t addr, unsigned int flags)
{
    if (!mm || !mode || (flags & ~(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED)) ||
        (nmask && maxnode < mm_nr_nodes()))
        return -MM_EINVAL;
    uint64_t mask = 0;
    int err = 0;
    if (flags & MPOL_F_MEMS_ALLOWED) {
        if (flags & (MPOL_F_NODE | MPOL_F_ADDR))
            return -MM_EINVAL;
        *mode = MPOL_DEFAULT;
        mask = mpol_memory_nodes();
    } else {
        vm_lock();
        err = mpol_get_locked(mm, mode, &mask, addr, flags);
        vm_unlock();
    }
    return !err && nmask ? mpol_put_nodes(nmask, maxnode, mask) : err;
}
