/* ELF64 entry: the hv starts us in 64-bit mode with rdi = start info. */
    .section .text.entry, "ax"
    .code64
    .global _start
_start:
    lea     rt_stack_top(%rip), %rsp
    mov     %rdi, %rsi              /* start info */
    mov     $0, %edi                /* RT_BOOT_NESTOR */
    call    rt_main
1:  cli
    hlt
    jmp     1b

    .bss
    .balign 16
    .global rt_stack_top
rt_stack: .skip 32768
rt_stack_top:
