/*
 * Multiboot2 entry: GRUB leaves us in 32-bit protected mode, paging off,
 * eax = magic, ebx = multiboot2 information.  We identity-map the first
 * 4 GiB with 2 MiB pages (the top GiB, where MMIO lives, uncached), enter
 * long mode and call hv_main(magic, mbi).
 */
#define MB2_MAGIC       0xe85250d6
#define MB2_ARCH_I386   0
#define CR0_PE          (1 << 0)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xc0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)
#define PTE_P           1
#define PTE_W           2
#define PTE_PWT         (1 << 3)
#define PTE_PCD         (1 << 4)
#define PTE_PS          (1 << 7)

    .section .multiboot2, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    /* end tag */
    .balign 8
    .word 0, 0
    .long 8
mb2_header_end:

    .section .text.boot, "ax"
    .code32
    .global hv_start32
hv_start32:
    cli
    cld
    mov     $boot_stack_top, %esp
    mov     %eax, %edi              /* keep magic and mbi for hv_main */
    mov     %ebx, %esi

    /* PML4[0] -> PDPT, PDPT[0..3] -> PD[0..3] */
    lea     boot_pdpt, %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, boot_pml4
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    add     $boot_pd, %eax
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, boot_pdpt(,%ecx,8)
    inc     %ecx
    cmp     $4, %ecx
    jb      1b

    /* 2048 PD entries, each a 2 MiB identity page */
    xor     %ecx, %ecx
3:  mov     %ecx, %eax
    shl     $21, %eax
    or      $(PTE_P | PTE_W | PTE_PS), %eax
    cmp     $1536, %ecx             /* 3 GiB and up: MMIO, uncached */
    jb      4f
    or      $(PTE_PCD | PTE_PWT), %eax
4:  mov     %eax, boot_pd(,%ecx,8)
    movl    $0, boot_pd+4(,%ecx,8)
    inc     %ecx
    cmp     $2048, %ecx
    jb      3b

    mov     $boot_pml4, %eax
    mov     %eax, %cr3
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $(EFER_LME | EFER_NXE), %eax
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PE | CR0_PG | CR0_WP), %eax
    mov     %eax, %cr0

    lgdt    boot_gdt_ptr
    ljmp    $0x08, $hv_start64

    .code64
hv_start64:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    mov     $boot_stack_top, %rsp
    /* edi = magic, esi = mbi (zero-extended by the 32-bit moves above) */
    mov     %edi, %edi
    mov     %esi, %esi
    call    hv_main
5:  cli
    hlt
    jmp     5b

    .section .rodata
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss
    .balign 4096
    .global boot_pml4
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * 4
    .global boot_stack_top
boot_stack: .skip 16384
boot_stack_top:
