/*
 * int vmx_enter(struct guest_regs *regs, int launched)
 *
 * Loads the guest GPRs and executes VMLAUNCH (launched == 0) or VMRESUME.
 * On a VM exit the CPU continues at vmx_exit_stub (VMCS HOST_RIP) with the
 * stack pointer written below, so the exit "returns" from this call with 0,
 * guest GPRs saved in *regs.  A VMfail returns 1 (VMfailInvalid) or 2
 * (VMfailValid: see the VM-instruction error field).
 */
#define VMCS_HOST_RSP 0x6c14
#define GPR(n) (8 * (n))

    .text
    .global vmx_enter
vmx_enter:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rdi                    /* regs, found again at exit */
    mov     $VMCS_HOST_RSP, %eax
    vmwrite %rsp, %rax

    test    %esi, %esi              /* flags survive the movs below */
    mov     GPR(0)(%rdi), %rax
    mov     GPR(1)(%rdi), %rcx
    mov     GPR(2)(%rdi), %rdx
    mov     GPR(3)(%rdi), %rbx
    mov     GPR(5)(%rdi), %rbp
    mov     GPR(6)(%rdi), %rsi
    mov     GPR(8)(%rdi), %r8
    mov     GPR(9)(%rdi), %r9
    mov     GPR(10)(%rdi), %r10
    mov     GPR(11)(%rdi), %r11
    mov     GPR(12)(%rdi), %r12
    mov     GPR(13)(%rdi), %r13
    mov     GPR(14)(%rdi), %r14
    mov     GPR(15)(%rdi), %r15
    mov     GPR(7)(%rdi), %rdi
    jnz     1f
    vmlaunch
    jmp     2f
1:  vmresume
2:  /* VMfail: CF = invalid, ZF = valid */
    mov     $1, %eax
    mov     $2, %ecx
    cmovz   %ecx, %eax
    pop     %rdi
    jmp     3f

    .global vmx_exit_stub
vmx_exit_stub:
    push    %rdi                    /* guest rdi; regs pointer is above it */
    mov     8(%rsp), %rdi
    mov     %rax, GPR(0)(%rdi)
    mov     %rcx, GPR(1)(%rdi)
    mov     %rdx, GPR(2)(%rdi)
    mov     %rbx, GPR(3)(%rdi)
    mov     %rbp, GPR(5)(%rdi)
    mov     %rsi, GPR(6)(%rdi)
    mov     %r8, GPR(8)(%rdi)
    mov     %r9, GPR(9)(%rdi)
    mov     %r10, GPR(10)(%rdi)
    mov     %r11, GPR(11)(%rdi)
    mov     %r12, GPR(12)(%rdi)
    mov     %r13, GPR(13)(%rdi)
    mov     %r14, GPR(14)(%rdi)
    mov     %r15, GPR(15)(%rdi)
    pop     GPR(7)(%rdi)
    pop     %rdi
    xor     %eax, %eax
3:  pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
