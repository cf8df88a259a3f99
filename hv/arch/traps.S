/* Exception entry stubs: push a uniform frame and call trap_handler. */
    .text
.macro TRAP_STUB vec
    .balign 16
trap_stub_\vec:
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21)
    .else
    pushq   $0                      /* no error code: keep the frame uniform */
    .endif
    pushq   $\vec
    jmp     trap_common
.endm

.altmacro
.set i, 0
.rept 32
    TRAP_STUB %i
    .set i, i + 1
.endr

trap_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi
    and     $-16, %rsp
    call    trap_handler
1:  cli
    hlt
    jmp     1b

    .section .rodata
    .balign 8
    .global trap_stub_table
trap_stub_table:
.set i, 0
.macro STUB_ADDR vec
    .quad trap_stub_\vec
.endm
.rept 32
    STUB_ADDR %i
    .set i, i + 1
.endr
