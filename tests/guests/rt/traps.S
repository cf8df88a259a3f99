/* Guest exception stubs, the CPL3 runner and its return gate. */
    .text
.macro STUB vec
    .balign 16
rt_stub_\vec:
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21)
    .else
    pushq   $0
    .endif
    pushq   $\vec
    jmp     rt_trap_common
.endm
.altmacro
.set i, 0
.rept 32
    STUB %i
    .set i, i + 1
.endr

/* Interrupt vectors 32-255: save the caller-saved registers, dispatch. */
.macro IRQ vec
    .balign 16
rt_irq_\vec:
    push    %rdi
    mov     $\vec, %edi
    jmp     rt_irq_common
.endm
.set i, 32
.rept 224
    IRQ %i
    .set i, i + 1
.endr

rt_irq_common:
    push %rax; push %rcx; push %rdx; push %rsi; push %r8; push %r9; push %r10; push %r11
    call    rt_irq
    pop %r11; pop %r10; pop %r9; pop %r8; pop %rsi; pop %rdx; pop %rcx; pop %rax
    pop     %rdi
    iretq

rt_trap_common:
    push %rax; push %rbx; push %rcx; push %rdx; push %rsi; push %rdi; push %rbp
    push %r8; push %r9; push %r10; push %r11; push %r12; push %r13; push %r14; push %r15
    mov     %rsp, %rdi
    call    rt_trap
    pop %r15; pop %r14; pop %r13; pop %r12; pop %r11; pop %r10; pop %r9; pop %r8
    pop %rbp; pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rbx; pop %rax
    add     $16, %rsp
    iretq

/* void rt_run_user(void (*fn)(void *), void *arg) */
    .global rt_run_user
rt_run_user:
    push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15
    mov     %rsp, rt_user_saved_rsp(%rip)
    lea     rt_user_stack_top(%rip), %rax
    lea     rt_user_exit(%rip), %rcx
    sub     $8, %rax
    mov     %rcx, (%rax)            /* fn returns into rt_user_exit */
    pushq   $0x1b                   /* ss */
    push    %rax                    /* rsp */
    pushq   $0x2                    /* rflags: IF=0, IOPL=0 */
    pushq   $0x23                   /* cs */
    push    %rdi                    /* rip = fn */
    mov     %rsi, %rdi
    iretq

rt_user_exit:                       /* CPL 3 */
    int     $0x80

    .global rt_user_return_stub
rt_user_return_stub:                /* CPL 0, via the DPL-3 gate */
    mov     rt_user_saved_rsp(%rip), %rsp
    pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx
    ret

    .section .rodata
    .balign 8
    .global rt_trap_stubs
rt_trap_stubs:
.set i, 0
.macro ADDR vec
    .quad rt_stub_\vec
.endm
.rept 32
    ADDR %i
    .set i, i + 1
.endr

    .global rt_irq_stubs
    .balign 8
rt_irq_stubs:
.set i, 32
.macro IADDR vec
    .quad rt_irq_\vec
.endm
.rept 224
    IADDR %i
    .set i, i + 1
.endr

    .bss
    .balign 16
rt_user_saved_rsp: .quad 0
rt_user_stack: .skip 16384
rt_user_stack_top:
