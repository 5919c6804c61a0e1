/*
 * boot.S - multiboot (v1) entry: from 32-bit protected mode to 64-bit long mode at the higher half.
 *
 * The loader (qemu -kernel) enters boot_entry32 with paging off, EAX = multiboot magic, EBX =
 * physical address of the multiboot info. This code builds throw-away page tables (identity map of
 * the first 4 GiB, the same at the direct-map base, the first 2 GiB at 0xffffffff80000000; 2 MiB
 * pages), enables PAE, long mode,
 * NX (when CPUID has it) and write protection, jumps to 64-bit code at the kernel's link address,
 * and calls kmain(magic, info) on the boot stack. kmain replaces these tables with ones built by
 * the mm's page-table code and never returns.
 */
#define V2P(x) ((x) - 0xffffffff80000000)

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010003 /* page-align modules, memory map, address fields below are valid */

    .section .multiboot, "a"
    .balign 8
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long V2P(mb_header)        /* header_addr */
    .long V2P(__kernel_start)   /* load_addr */
    .long V2P(__data_end)       /* load_end_addr: end of the file's contents */
    .long V2P(__bss_end)        /* bss_end_addr: the loader zeroes up to here */
    .long V2P(boot_entry32)     /* entry_addr */

    .section .boot.text, "ax"
    .code32
    .globl boot_entry32
boot_entry32:
    cli
    cld
    movl %eax, V2P(boot_mb_magic)
    movl %ebx, V2P(boot_mb_info)
    movl $V2P(boot_stack_top), %esp

    /* 4 PDs: 2048 x 2 MiB pages = the first 4 GiB, present + writable + large */
    movl $V2P(boot_pd), %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%edi,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax
    movl %eax, 4(%edi,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jne 1b

    /* PDPT_low[0..3] -> the 4 PDs: identity, and (PML4[273]) the direct map of the first 4 GiB */
    movl $V2P(boot_pdpt_low), %edi
    movl $V2P(boot_pd), %eax
    orl $0x3, %eax
    xorl %ecx, %ecx
2:  movl %eax, (%edi,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 2b
    movl $V2P(boot_pd), %eax
    orl $0x3, %eax
    movl %eax, V2P(boot_pdpt_high) + 510*8  /* 0xffffffff80000000 -> physical 0 */
    addl $4096, %eax
    movl %eax, V2P(boot_pdpt_high) + 511*8
    movl $V2P(boot_pdpt_low), %eax
    orl $0x3, %eax
    movl %eax, V2P(boot_pml4)               /* PML4[0]: identity */
    movl %eax, V2P(boot_pml4) + 273*8       /* PML4[273]: ARCH_DIRECT_MAP_BASE */
    movl $V2P(boot_pdpt_high), %eax
    orl $0x3, %eax
    movl %eax, V2P(boot_pml4) + 511*8       /* PML4[511] */

    movl %cr4, %eax
    orl $(1 << 5), %eax                     /* PAE */
    movl %eax, %cr4
    movl $V2P(boot_pml4), %eax
    movl %eax, %cr3

    /* EFER: long mode enable, and NX enable when CPUID 0x80000001:EDX[20] says NX exists */
    movl $0x80000001, %eax
    cpuid
    xorl %ebx, %ebx
    btl $20, %edx
    jnc 3f
    movl $(1 << 11), %ebx
3:  movl $0xc0000080, %ecx
    rdmsr
    orl $(1 << 8), %eax
    orl %ebx, %eax
    wrmsr

    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax  /* PG, WP, PE */
    movl %eax, %cr0

    lgdt V2P(boot_gdt_ptr)
    ljmp $0x08, $V2P(boot_entry64)

    .code64
boot_entry64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_higher_half, %rax
    jmp *%rax

    .text
boot_higher_half:
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    movl boot_mb_magic(%rip), %edi
    movl boot_mb_info(%rip), %esi
    call kmain
4:  cli
    hlt
    jmp 4b

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long V2P(boot_gdt)

    .data
    .globl boot_mb_magic, boot_mb_info
boot_mb_magic: .long 0
boot_mb_info:  .long 0

    .section .bss.boot_pagetables, "aw", @nobits
    .balign 4096
    .globl boot_pml4
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096

    /* The boot stack, with an unmapped guard page below it (kmain drops the guard's mapping). */
    .section .bss.stacks, "aw", @nobits
    .balign 4096
    .globl boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:  .skip 4096
boot_stack_bottom: .skip 131072
boot_stack_top:
    .globl df_stack_guard, df_stack_top
df_stack_guard:    .skip 4096
df_stack_bottom:   .skip 16384
df_stack_top:
    .globl user_trap_stack_guard, user_trap_stack_top
user_trap_stack_guard: .skip 4096
user_trap_stack_bottom: .skip 65536
user_trap_stack_top:
    .globl probe_stack_guard, probe_stack_top
probe_stack_guard:  .skip 4096
probe_stack_bottom: .skip 8192
probe_stack_top:
