/*
 * entry.S - exception entry stubs and the user-copy primitive.
 *
 * Every vector (0..31, the timer vector 239, the IPI vector 240, the spurious vector 255) enters
 * trap_common with the same frame (struct trap_frame in trap.h): the 15 general registers
 * pushed here, the vector, the error code (0 for vectors without one), then what the CPU pushed
 * (rip, cs, rflags, rsp, ss). trap_dispatch may rewrite rip/rsp/rax of
 * the frame to resume elsewhere (fault fixups, probes); iretq then returns there.
 *
 * uaccess_copy(dst, src, len) is a rep movsb between two labels: a #PF inside it is a fault of
 * a user access; the trap code either resolves it and retries the instruction (rsi, rdi, rcx
 * hold the progress) or sends it to uaccess_fixup, which returns the bytes not copied.
 */
    .text

.macro TRAP_NOERR n
    .globl trap_stub_\n
trap_stub_\n:
    pushq $0
    pushq $\n
    jmp trap_common
.endm

.macro TRAP_ERR n
    .globl trap_stub_\n
trap_stub_\n:
    pushq $\n
    jmp trap_common
.endm

TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR   8
TRAP_NOERR 9
TRAP_ERR   10
TRAP_ERR   11
TRAP_ERR   12
TRAP_ERR   13
TRAP_ERR   14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR   17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR   21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR   29
TRAP_ERR   30
TRAP_NOERR 31
TRAP_NOERR 239  /* KERNEL_TIMER_VECTOR: the boot CPU's LAPIC timer (smp.c) */
TRAP_NOERR 240  /* KERNEL_IPI_VECTOR: cross-CPU calls (smp.c) */
TRAP_NOERR 255  /* KERNEL_SPURIOUS_VECTOR */

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    movq %rsp, %rbx          /* callee-saved: the frame */
    andq $-16, %rsp          /* the C ABI wants a 16-byte aligned stack at the call */
    call trap_dispatch
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp           /* vector and error code */
    iretq

    .section .rodata
    .balign 8
    .globl trap_stub_table
trap_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_stub_\n
    .endr

    .text
/* size_t uaccess_copy(void *dst, const void *src, size_t len): 0, or the bytes left on a fault */
    .globl uaccess_copy, uaccess_copy_insn, uaccess_fixup
uaccess_copy:
    movq %rdx, %rcx
uaccess_copy_insn:
    rep movsb
    xorl %eax, %eax
    ret
uaccess_fixup:
    movq %rcx, %rax
    ret

/*
 * void user_run_enter(uint64_t rip, const struct ring3_regs *r, uint64_t rflags): iretq to
 * ring 3 at @rip with @rflags (the callers pass IF clear: 0x2, or 0x102 for TF, one instruction
 * then #DB), no user stack (rsp 0), rax rcx rdx rsi rdi from *@r (struct ring3_regs,
 * kernel_arch.h), every other register zero, so the code reaches only what they name. The trap
 * that ends it returns to the kernel through trap_dispatch and the caller's kernel_probe, never
 * here.
 */
    .globl user_run_enter
user_run_enter:
    pushq $0x1b               /* ss: user data, RPL 3 */
    pushq $0                  /* rsp */
    pushq %rdx                /* rflags */
    pushq $0x23               /* cs: user code 64, RPL 3 */
    pushq %rdi                /* rip */
    movq 0(%rsi), %rax
    movq 8(%rsi), %rcx
    movq 16(%rsi), %rdx
    movq 32(%rsi), %rdi
    movq 24(%rsi), %rsi
    xorl %ebx, %ebx
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    iretq

/*
 * The ring-3 code page (ring3.c maps it user and executable at RING3_CODE_VA in its private
 * table): a page of its own, so ring 3 sees nothing else of the kernel. Each routine ends in
 * ud2, the #UD that returns to the kernel's probe.
 *   ring3_copy   rep movsb: rcx bytes from rsi to rdi
 *   ring3_pkru   wrpkru (eax; ecx = edx = 0), rdpkru, the value read stored at (rdi)
 */
    .section .rodata.ring3, "a"
    .balign 4096
    .globl ring3_code_page, ring3_copy, ring3_pkru
ring3_code_page:
ring3_copy:
    rep movsb
    ud2
    .balign 16
ring3_pkru:
    .byte 0x0f, 0x01, 0xef    /* wrpkru */
    .byte 0x0f, 0x01, 0xee    /* rdpkru */
    movl %eax, (%rdi)
    ud2
    .balign 4096
