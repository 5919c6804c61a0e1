/*
 * trampoline.S - the application processors' way from real mode to the kernel (smp.c copies it).
 *
 * smp_tramp_start..smp_tramp_end is position-dependent code for physical SMP_TRAMPOLINE_PA
 * (0x8000, SIPI vector 0x08: an AP starts at CS = 0x0800, IP = 0). It is data in the image (never
 * run where it is linked); smp_start_aps copies it to low memory and fills the parameter block
 * (smp_tramp_params: struct smp_tramp_params in smp.c) before each SIPI:
 *   16-bit: load the trampoline's GDT, set CR0.PE, far jump to 32-bit code;
 *   32-bit: CR4.PAE, CR3 = the boot page tables (boot.S: identity map of the first 4 GiB, the
 *           direct map and the kernel image at the higher half), EFER.LME (+ NXE when the boot CPU
 *           has NX), CR0.PG + WP, far jump to 64-bit code;
 *   64-bit: rsp = the AP's stack top, rdi = its index, jump to smp_ap_entry64 (kernel text), which
 *           switches to kernel_pt and calls smp_ap_main. Nothing of the trampoline is used after.
 */
#define TRAMP_BASE 0x8000
#define T(x) (TRAMP_BASE + ((x) - smp_tramp_start))

    .section .rodata
    .balign 16
    .globl smp_tramp_start, smp_tramp_end, smp_tramp_params
    .code16
smp_tramp_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdt_ptr - smp_tramp_start
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $T(tramp32)

    .code32
tramp32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax                     /* PAE */
    movl %eax, %cr4
    movl T(tramp_cr3), %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx                  /* EFER */
    rdmsr
    orl T(tramp_efer), %eax
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16)), %eax      /* PG, WP */
    movl %eax, %cr0
    ljmpl $0x18, $T(tramp64)

    .code64
tramp64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq T(tramp_stack), %rsp
    movq T(tramp_cpu), %rdi
    movq T(tramp_entry), %rax
    jmp *%rax

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
    .quad 0x00af9a000000ffff    /* 0x18: 64-bit code */
tramp_gdt_ptr:
    .word tramp_gdt_ptr - tramp_gdt - 1
    .long T(tramp_gdt)

    .balign 8
smp_tramp_params:               /* struct smp_tramp_params (smp.c) */
tramp_cr3:   .long 0
tramp_efer:  .long 0
tramp_entry: .quad 0
tramp_stack: .quad 0
tramp_cpu:   .quad 0
smp_tramp_end:

/* On the boot page tables, from the trampoline: switch to kernel_pt and enter C on the AP stack. */
    .text
    .globl smp_ap_entry64
smp_ap_entry64:
    movq smp_ap_cr3(%rip), %rax
    movq %rax, %cr3
    xorl %ebp, %ebp
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    call smp_ap_main
1:  cli
    hlt
    jmp 1b
