/*
 * VMX instructions for L1 test hypervisors: each helper sets all six
 * arithmetic flags the VMX instructions define (CF PF AF ZF SF OF) before
 * the instruction, runs it with a fault fixup, and returns what happened:
 * the exception vector (or -1) and RFLAGS after it.  Memory operands are
 * addressed through a register, never the stack (the helpers push).
 * Shared by vmx_insn and vmxfuzz.
 */
#ifndef VMX_RT_H
#define VMX_RT_H

#include "rt.h"

#define FL_CF 0x001ul
#define FL_PF 0x004ul
#define FL_AF 0x010ul
#define FL_ZF 0x040ul
#define FL_SF 0x080ul
#define FL_OF 0x800ul
#define VMX_FLAGS (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define PRE_FLAGS (0x2ul | VMX_FLAGS)

struct vres {
    int vec;            /* exception raised, or -1 */
    uint64_t fl;        /* RFLAGS after the instruction */
};

#define VMX_PRE  "pushq %[pre]\n\tpopfq\n"
#define VMX_POST "2: pushfq\n\tpopq %[fl]\n\t" RT_EXTABLE(1b, 2b)

#define VMX_MEM_INSN(fn, mnem)                                                  \
    static inline struct vres fn(const void *p)                                 \
    {                                                                           \
        uint64_t fl;                                                            \
        rt_fault_vector = -1;                                                   \
        __asm__ volatile(VMX_PRE "1: " mnem " (%[p])\n" VMX_POST                \
                         : [fl] "=&r"(fl) : [p] "r"(p), [pre] "r"(PRE_FLAGS)    \
                         : "cc", "memory");                                     \
        return (struct vres){ rt_fault_vector, fl };                            \
    }
VMX_MEM_INSN(vx_vmxon, "vmxon")
VMX_MEM_INSN(vx_vmclear, "vmclear")
VMX_MEM_INSN(vx_vmptrld, "vmptrld")
VMX_MEM_INSN(vx_vmptrst, "vmptrst")

#define VMX_NOARG_INSN(fn, mnem)                                                \
    static inline struct vres fn(void)                                          \
    {                                                                           \
        uint64_t fl;                                                            \
        rt_fault_vector = -1;                                                   \
        __asm__ volatile(VMX_PRE "1: " mnem "\n" VMX_POST                       \
                         : [fl] "=&r"(fl) : [pre] "r"(PRE_FLAGS) : "cc", "memory"); \
        return (struct vres){ rt_fault_vector, fl };                            \
    }
VMX_NOARG_INSN(vx_vmxoff, "vmxoff")
VMX_NOARG_INSN(vx_vmlaunch, "vmlaunch")
VMX_NOARG_INSN(vx_vmresume, "vmresume")

/* vmread: *val = field `enc` (register destination). */
static inline struct vres vx_vmread(uint64_t enc, uint64_t *val)
{
    uint64_t fl, v = 0xbad0bad0bad0bad0ull;
    rt_fault_vector = -1;
    __asm__ volatile(VMX_PRE "1: vmread %[enc], %[v]\n" VMX_POST
                     : [fl] "=&r"(fl), [v] "+r"(v) : [enc] "r"(enc), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    *val = v;
    return (struct vres){ rt_fault_vector, fl };
}

/* vmread to memory at p. */
static inline struct vres vx_vmread_mem(uint64_t enc, void *p)
{
    uint64_t fl;
    rt_fault_vector = -1;
    __asm__ volatile(VMX_PRE "1: vmread %[enc], (%[p])\n" VMX_POST
                     : [fl] "=&r"(fl) : [enc] "r"(enc), [p] "r"(p), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    return (struct vres){ rt_fault_vector, fl };
}

static inline struct vres vx_vmwrite(uint64_t enc, uint64_t val)
{
    uint64_t fl;
    rt_fault_vector = -1;
    __asm__ volatile(VMX_PRE "1: vmwrite %[v], %[enc]\n" VMX_POST
                     : [fl] "=&r"(fl) : [enc] "r"(enc), [v] "r"(val), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    return (struct vres){ rt_fault_vector, fl };
}

static inline struct vres vx_vmwrite_mem(uint64_t enc, const void *p)
{
    uint64_t fl;
    rt_fault_vector = -1;
    __asm__ volatile(VMX_PRE "1: vmwrite (%[p]), %[enc]\n" VMX_POST
                     : [fl] "=&r"(fl) : [enc] "r"(enc), [p] "r"(p), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    return (struct vres){ rt_fault_vector, fl };
}

static inline struct vres vx_invept(uint64_t type, const void *desc)
{
    uint64_t fl;
    rt_fault_vector = -1;
    __asm__ volatile(VMX_PRE "1: invept (%[p]), %[t]\n" VMX_POST
                     : [fl] "=&r"(fl) : [t] "r"(type), [p] "r"(desc), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    return (struct vres){ rt_fault_vector, fl };
}

static inline struct vres vx_invvpid(uint64_t type, const void *desc)
{
    uint64_t fl;
    rt_fault_vector = -1;
    __asm__ volatile(VMX_PRE "1: invvpid (%[p]), %[t]\n" VMX_POST
                     : [fl] "=&r"(fl) : [t] "r"(type), [p] "r"(desc), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    return (struct vres){ rt_fault_vector, fl };
}

/* Outcomes */
static inline bool vx_ok(struct vres r) { return r.vec < 0 && (r.fl & VMX_FLAGS) == 0; }
static inline bool vx_invalid(struct vres r) { return r.vec < 0 && (r.fl & VMX_FLAGS) == FL_CF; }
static inline bool vx_failvalid(struct vres r) { return r.vec < 0 && (r.fl & VMX_FLAGS) == FL_ZF; }

/* The VM-instruction error field of the current VMCS (0 if unreadable). */
static inline uint64_t vx_error(void)
{
    uint64_t e = 0;
    struct vres r = vx_vmread(0x4400, &e);
    return vx_ok(r) ? e : 0xffff;
}

/* VMfailValid with this error number. */
static inline bool vx_fail(struct vres r, uint64_t err)
{
    return vx_failvalid(r) && vx_error() == err;
}

/* "ok", "VMfailInvalid", "VMfailValid(n)", "#n", or "flags 0x..." */
static inline const char *vx_str(struct vres r, char *buf, size_t n)
{
    if (r.vec >= 0)
        snprintf(buf, n, "exception %d", r.vec);
    else if (vx_ok(r))
        snprintf(buf, n, "VMsucceed");
    else if (vx_invalid(r))
        snprintf(buf, n, "VMfailInvalid");
    else if (vx_failvalid(r))
        snprintf(buf, n, "VMfailValid(%lu)", vx_error());
    else
        snprintf(buf, n, "bad flags %#lx", r.fl);
    return buf;
}

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }

/* mov to CR0/CR4 with a fault fixup: the vector, or -1. */
static inline int write_cr0_safe(uint64_t v)
{
    rt_fault_vector = -1;
    __asm__ volatile("1: mov %0, %%cr0\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(v) : "memory");
    return rt_fault_vector;
}

static inline int write_cr4_safe(uint64_t v)
{
    rt_fault_vector = -1;
    __asm__ volatile("1: mov %0, %%cr4\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(v) : "memory");
    return rt_fault_vector;
}

#define CR4_VMXE (1ul << 13)
#define CR0_NE   (1ul << 5)

#endif
