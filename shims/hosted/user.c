/*
 * user.c - user accesses with fault-and-retry over the software MMU (see machine_user.h).
 *
 * A fault the handler called fixed must not come back at the same address more than
 * USER_FAULT_RETRIES times in a row: that is an mm that reports HANDLED without fixing, which
 * would otherwise spin forever. Another CPU may undo the fix in between (a MAP_FIXED mmap or a
 * munmap of the page on the scheduled machine): that zaps the entry and flushes, so a fault
 * after a TLB flush that the handler did not make itself starts the count again (regression:
 * corpus/smp/regress-fixed-remap-during-write).
 */
#include "machine.h"
#include "machine_user.h"

#define USER_FAULT_RETRIES 4 /* a fixed fault must not repeat more often than this per page */

enum vm_fault_result machine_user_copy(struct mm_struct *mm, uintptr_t va, void *buf, size_t len,
                                      unsigned int access, uintptr_t *fault_va)
{
    unsigned int tries = 0;
    uintptr_t last_fault = 0;
    unsigned long flushes = 0; /* the TLB flush count when the last fault was handled */
    while (len) {
        uintptr_t fva = 0;
        unsigned int pf = 0;
        /* the walk and the copy under the address-space lock, the fault handler after it */
        mm_user_access_begin(mm);
        size_t n = machine_mmu_copy(mm->pt.root, va, buf, len, access | MMU_USER, &fva, &pf);
        mm_user_access_end(mm);
        va += n;
        buf = (char *)buf + n;
        len -= n;
        if (!len)
            break;
        bool undone = machine_tlb_flush_count() != flushes; /* by another CPU since */
        tries = fva == last_fault && !undone ? tries + 1 : 1;
        last_fault = fva;
        enum vm_fault_result r = tries > USER_FAULT_RETRIES ? VM_FAULT_ACCESS
                                                              : handle_mm_fault(mm, fva, pf);
        flushes = machine_tlb_flush_count();
        if (r != VM_FAULT_HANDLED) {
            if (fault_va)
                *fault_va = fva;
            return r;
        }
    }
    return VM_FAULT_HANDLED;
}
