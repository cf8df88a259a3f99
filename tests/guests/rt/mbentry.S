/*
 * Multiboot v1 and v2 headers and the 32-bit entry they name, so the same
 * test guest can be booted as `mb1` or `mb2`: we get eax = magic,
 * ebx = information, paging off, and switch to long mode ourselves.
 */
#define MB1_MAGIC  0x1badb002
#define MB1_FLAGS  ((1 << 1) | (1 << 16))    /* memory info, a.out kludge */
#define MB2_MAGIC  0xe85250d6

    .section .mbheader, "a"
    .balign 8
mb1_header:
    .long MB1_MAGIC, MB1_FLAGS, -(MB1_MAGIC + MB1_FLAGS)
    .long mb1_header, rt_image_start, rt_load_end, rt_image_end, _start32
    .balign 8
mb2_header:
    .long MB2_MAGIC, 0, mb2_end - mb2_header, -(MB2_MAGIC + (mb2_end - mb2_header))
    .balign 8
    .word 2, 0                                  /* address tag */
    .long 24, mb2_header, rt_image_start, rt_load_end, rt_image_end
    .balign 8
    .word 3, 0                                  /* entry address tag */
    .long 12, _start32
    .balign 8
    .word 0, 0
    .long 8
mb2_end:

    .text
    .code32
    .global _start32
_start32:
    mov     %eax, %edi              /* magic */
    mov     %ebx, %esi              /* info */
    /* 4 GiB identity map with 2 MiB user-accessible pages */
    lea     mb_pdpt, %eax
    or      $7, %eax
    mov     %eax, mb_pml4
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    add     $mb_pd, %eax
    or      $7, %eax
    mov     %eax, mb_pdpt(,%ecx,8)
    inc     %ecx
    cmp     $4, %ecx
    jb      1b
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $0x87, %eax
    mov     %eax, mb_pd(,%ecx,8)
    inc     %ecx
    cmp     $2048, %ecx
    jb      2b
    mov     $mb_pml4, %eax
    mov     %eax, %cr3
    mov     %cr4, %eax
    or      $(1 << 5), %eax         /* PAE */
    mov     %eax, %cr4
    mov     $0xc0000080, %ecx
    rdmsr
    or      $(1 << 8), %eax         /* LME */
    wrmsr
    mov     %cr0, %eax
    or      $((1 << 31) | (1 << 16) | (1 << 5) | 1), %eax   /* PG WP NE PE */
    mov     %eax, %cr0
    lgdt    mb_gdt_ptr
    ljmp    $0x08, $3f
    .code64
3:  mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    lea     rt_stack_top(%rip), %rsp
    /* edi: 1 = multiboot v1 magic seen, 2 = v2; rsi = info */
    cmp     $0x2badb002, %edi
    mov     $1, %eax
    mov     $2, %ecx
    cmovne  %ecx, %eax
    mov     %eax, %edi
    mov     %esi, %esi
    call    rt_main
4:  cli
    hlt
    jmp     4b

    .section .rodata
    .balign 8
mb_gdt:
    .quad 0, 0x00af9b000000ffff, 0x00cf93000000ffff
mb_gdt_ptr:
    .word 23
    .long mb_gdt

    .bss
    .balign 4096
mb_pml4: .skip 4096
mb_pdpt: .skip 4096
mb_pd:   .skip 4096 * 4
