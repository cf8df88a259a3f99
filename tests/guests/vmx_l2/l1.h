/*
 * vmx_l2: the L1 hypervisor's interface between its core (l1.c: VMXON,
 * vmcs12 set-up, EPT12, L2 page tables and IDT, the VM-exit stub) and its
 * tests (t_*.c).  Everything follows the Intel SDM Vol. 3 chapters 24-29,
 * so that the guest is equally valid on hardware.
 *
 * Model: l2_run() enters L2 (VMLAUNCH the first time, VMRESUME after) and
 * returns at the next VM exit with its information in `ex`, or with
 * ex.vmfail set if the VM entry instruction itself failed.  L2's general
 * registers live in `l2r` between exits.  L2 programs are ordinary C
 * functions of this image (identity-mapped in L2's page tables and in
 * EPT12) that the trampoline l2_entry calls with one argument and that end
 * with VMCALL(L2_DONE).
 */
#ifndef L1_H
#define L1_H

#include "rt.h"
#include "../vmx_insn/vmx_rt.h"

/* ---- VMCS field encodings (SDM Appendix B) ---------------------------- */
enum {
    F_VPID = 0x0000,
    F_G_ES_SEL = 0x0800, F_G_CS_SEL = 0x0802, F_G_SS_SEL = 0x0804, F_G_DS_SEL = 0x0806,
    F_G_FS_SEL = 0x0808, F_G_GS_SEL = 0x080a, F_G_LDTR_SEL = 0x080c, F_G_TR_SEL = 0x080e,
    F_H_ES_SEL = 0x0c00, F_H_CS_SEL = 0x0c02, F_H_SS_SEL = 0x0c04, F_H_DS_SEL = 0x0c06,
    F_H_FS_SEL = 0x0c08, F_H_GS_SEL = 0x0c0a, F_H_TR_SEL = 0x0c0c,
    F_IO_BITMAP_A = 0x2000, F_IO_BITMAP_B = 0x2002, F_MSR_BITMAP = 0x2004,
    F_EXIT_MSR_STORE_ADDR = 0x2006, F_EXIT_MSR_LOAD_ADDR = 0x2008, F_ENTRY_MSR_LOAD_ADDR = 0x200a,
    F_TSC_OFFSET = 0x2010, F_EPTP = 0x201a, F_GPA = 0x2400,
    F_LINK_PTR = 0x2800, F_G_DEBUGCTL = 0x2802, F_G_PAT = 0x2804, F_G_EFER = 0x2806,
    F_H_PAT = 0x2c00, F_H_EFER = 0x2c02,
    F_PIN = 0x4000, F_PROC = 0x4002, F_EXC_BITMAP = 0x4004, F_PFEC_MASK = 0x4006,
    F_PFEC_MATCH = 0x4008, F_CR3_TARGET_COUNT = 0x400a, F_EXIT_CTLS = 0x400c,
    F_EXIT_MSR_STORE_COUNT = 0x400e, F_EXIT_MSR_LOAD_COUNT = 0x4010, F_ENTRY_CTLS = 0x4012,
    F_ENTRY_MSR_LOAD_COUNT = 0x4014, F_ENTRY_INTR_INFO = 0x4016, F_ENTRY_EXC_ERROR = 0x4018,
    F_ENTRY_INSN_LEN = 0x401a, F_PROC2 = 0x401e,
    F_INSN_ERROR = 0x4400, F_EXIT_REASON = 0x4402, F_EXIT_INTR_INFO = 0x4404,
    F_EXIT_INTR_ERROR = 0x4406, F_IDT_VEC_INFO = 0x4408, F_IDT_VEC_ERROR = 0x440a,
    F_EXIT_INSN_LEN = 0x440c, F_INSN_INFO = 0x440e,
    F_G_ES_LIMIT = 0x4800, F_G_GDTR_LIMIT = 0x4810, F_G_IDTR_LIMIT = 0x4812, F_G_ES_AR = 0x4814,
    F_G_INTERRUPTIBILITY = 0x4824, F_G_ACTIVITY = 0x4826, F_G_SYSENTER_CS = 0x482a,
    F_PREEMPT_TIMER = 0x482e, F_H_SYSENTER_CS = 0x4c00,
    F_CR0_MASK = 0x6000, F_CR4_MASK = 0x6002, F_CR0_SHADOW = 0x6004, F_CR4_SHADOW = 0x6006,
    F_CR3_TARGET0 = 0x6008,
    F_EXIT_QUAL = 0x6400, F_IO_RCX = 0x6402, F_GLA = 0x640a,
    F_G_CR0 = 0x6800, F_G_CR3 = 0x6802, F_G_CR4 = 0x6804, F_G_ES_BASE = 0x6806,
    F_G_GDTR_BASE = 0x6816, F_G_IDTR_BASE = 0x6818, F_G_DR7 = 0x681a, F_G_RSP = 0x681c,
    F_G_RIP = 0x681e, F_G_RFLAGS = 0x6820, F_G_PENDING_DBG = 0x6822,
    F_G_SYSENTER_ESP = 0x6824, F_G_SYSENTER_EIP = 0x6826,
    F_H_CR0 = 0x6c00, F_H_CR3 = 0x6c02, F_H_CR4 = 0x6c04, F_H_FS_BASE = 0x6c06,
    F_H_GS_BASE = 0x6c08, F_H_TR_BASE = 0x6c0a, F_H_GDTR_BASE = 0x6c0c, F_H_IDTR_BASE = 0x6c0e,
    F_H_SYSENTER_ESP = 0x6c10, F_H_SYSENTER_EIP = 0x6c12, F_H_RSP = 0x6c14, F_H_RIP = 0x6c16,
};

/* ---- controls (SDM 25.6, 25.7, 25.8) ------------------------------------ */
#define PIN_EXT_INT        (1u << 0)
#define PIN_NMI            (1u << 3)
#define PIN_PREEMPT        (1u << 6)
#define PROC_INTR_WINDOW   (1u << 2)
#define PROC_TSC_OFFSET    (1u << 3)
#define PROC_HLT           (1u << 7)
#define PROC_INVLPG        (1u << 9)
#define PROC_MWAIT         (1u << 10)
#define PROC_RDPMC         (1u << 11)
#define PROC_RDTSC         (1u << 12)
#define PROC_CR3_LOAD      (1u << 15)
#define PROC_CR3_STORE     (1u << 16)
#define PROC_TPR_SHADOW    (1u << 21)
#define PROC_NMI_WINDOW    (1u << 22)
#define PROC_MOV_DR        (1u << 23)
#define PROC_UNCOND_IO     (1u << 24)
#define PROC_IO_BITMAPS    (1u << 25)
#define PROC_MTF           (1u << 27)
#define PROC_MSR_BITMAPS   (1u << 28)
#define PROC_PAUSE         (1u << 30)
#define PROC_SECONDARY     (1u << 31)
#define PROC2_EPT          (1u << 1)
#define PROC2_VPID         (1u << 5)
#define PROC2_WBINVD       (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define EXIT_HOST_64       (1u << 9)
#define EXIT_SAVE_PREEMPT  (1u << 22)
#define EXIT_SAVE_EFER     (1u << 20)
#define EXIT_LOAD_EFER     (1u << 21)
#define ENTRY_IA32E        (1u << 9)
#define ENTRY_LOAD_EFER    (1u << 15)

/* ---- exit reasons (SDM Appendix C) ----------------------------------------- */
enum {
    R_EXC_NMI = 0, R_EXT_INT = 1, R_TRIPLE = 2, R_INTR_WINDOW = 7, R_NMI_WINDOW = 8,
    R_CPUID = 10, R_HLT = 12, R_INVD = 13, R_INVLPG = 14, R_RDTSC = 16, R_VMCALL = 18,
    R_VMREAD = 23, R_VMXON = 27, R_CR = 28, R_DR = 29, R_IO = 30, R_RDMSR = 31, R_WRMSR = 32,
    R_BAD_GUEST = 33, R_MSR_LOAD = 34, R_PAUSE = 40, R_EPT_VIOLATION = 48, R_EPT_MISCONFIG = 49,
    R_PREEMPT = 52, R_WBINVD = 54, R_MTF = 37, R_INVEPT = 50, R_INVVPID = 53,
};
#define EXIT_FAILED_ENTRY  0x80000000u

/* ---- state --------------------------------------------------------------- */
struct l2_regs {
    uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
};
extern struct l2_regs l2r;

/* What the exit handler read from vmcs12 at the last VM exit. */
struct exit_info {
    bool vmfail;            /* VMLAUNCH/VMRESUME failed: see fail_flags */
    uint64_t fail_flags;    /* RFLAGS after the failed instruction */
    uint32_t reason, intr_info, intr_error, idt_info, idt_error, len, insn_info;
    uint64_t qual, gla, gpa, rip, rsp, rflags, activity, interruptibility;
    uint64_t host_rflags;   /* RFLAGS as the exit stub found them (SDM 28.5.3: 0x2) */
};
extern struct exit_info ex;

struct l1_caps {
    uint64_t basic, misc, cr0f0, cr0f1, cr4f0, cr4f1, ept_vpid;
    uint32_t pin0, pin1, proc0, proc1, proc2_1, exit0, exit1, entry0, entry1;
};
extern struct l1_caps cap;

/* L2 address space */
#define L2_TEST_GPA   0x40000000ul          /* EPT12 PT1: 4 KiB test pages */
#define L2_2M_GPA     0x40200000ul          /* EPT12 PD1[1]: a 2 MiB leaf */
#define L2_1G_GPA     0x80000000ul          /* EPT12 PDPT[2]: a 1 GiB leaf onto L1 GPA 0 */
#define L2_HOLE_GPA   0xc0000000ul          /* EPT12 PDPT[3]: not present */
#define L2_NP_VA      0x100000000ul         /* L2 paging: not present */
#define L2_RO_VA      0x140000000ul         /* L2 paging: 2 MiB read-only onto GPA 0 */
#define L2_WALK_VA    0x180000000ul         /* L2 paging: PD at an L2 GPA EPT12 lacks */
#define L2_WALK_PD_GPA (L2_TEST_GPA + 13 * 4096)
#define NR_TPAGES     16
extern uint8_t tpages[NR_TPAGES][4096];
extern uint64_t ept_pml4[512], ept_pdpt[512], ept_pd0[512], ept_pd1[512], ept_pt1[512];
extern uint8_t big2m[2 << 20];
extern uint64_t l2_pml4[512];
extern uint64_t l2_pd[4][512];          /* L2's identity map of [0, 4 GiB), 2 MiB pages */
extern uint64_t l2_idt[512];
extern const uint64_t l2_stubs[256];
extern uint64_t l2_pml4_copy[512];
#define EPT_R  1ul
#define EPT_W  2ul
#define EPT_X  4ul
#define EPT_RWX 7ul
#define EPT_WB (6ul << 3)
#define EPT_A  (1ul << 8)
#define EPT_D  (1ul << 9)
extern uint64_t eptp12;

/* Pages for bitmaps */
extern uint8_t io_bitmap_a[4096], io_bitmap_b[4096], msr_bitmap[4096];

#define L2_DONE 0x4c32444f4e45ul        /* rax of L2's final VMCALL: "L2DONE" */
#define L2_STUCK 0x4c32535455434bul     /* rax when L2 loops on an unexpected fault */

/* L2 events seen by L2's own IDT handlers */
struct l2_event { uint64_t vector, error, rip, cs, rflags, cr2; };
extern volatile struct l2_event l2_ev[8];
extern volatile unsigned l2_nev;

/* ---- the core (l1.c) --------------------------------------------------------- */
uint64_t pa(const void *p);
uint64_t vmr(uint64_t enc);             /* VMREAD, 0xdead... on failure */
bool vmw(uint64_t enc, uint64_t val);   /* VMWRITE, true on VMsucceed */
bool l1_init(bool quiet);                     /* caps, CR4.VMXE, FEATURE_CONTROL, VMXON */
bool l1_off(void);                       /* VMXOFF */
/* Fresh vmcs12 (VMCLEAR, VMPTRLD, every field) running fn(arg) in L2. */
bool vm_setup(void (*fn)(uint64_t), uint64_t arg);
extern uint8_t *vmcs_region;            /* the region vm_setup() uses (a 4 KiB page) */
/* Control values with the wanted bits and the allowed-0 bits of the TRUE
 * MSRs; false (and a SKIP line) if a wanted bit is not allowed-1. */
bool set_pin(uint32_t want);
bool set_proc(uint32_t want);
bool set_proc2(uint32_t want);
/* Restart L2 at fn(arg) with a fresh stack (same vmcs12). */
void l2_restart(void (*fn)(uint64_t), uint64_t arg);
struct exit_info *l2_run(void);
bool l2_launched(void);
void l2_set_launched(bool launched);
/* The exit is L2's final VMCALL(L2_DONE). */
bool is_done(const struct exit_info *e);
/* Runs L2 to its next exit; one check that it has this reason. */
struct exit_info *l2_next(uint32_t reason, const char *what);
/* Runs L2 on; one check that it reached its end (VMCALL L2_DONE). */
bool l2_done(const char *what);

/* For the test groups: a global label inside inline asm, a function that
 * runs as L2 (kept whole, reachable through EPT12), an exit as text. */
#define GL(n) ".globl " #n "\n" #n ":\n\t"
#define L2FN __attribute__((noinline, noclone, used))
#define E(e) exit_str(e)
/* CPUID.1:ECX[31]: running under a hypervisor (Nestor), not on the
 * emulator's own VT-x; for checks where Bochs 2.7 deviates from the SDM. */
bool under_hypervisor(void);
/* L2 RIP past the exiting instruction (by VM-exit instruction length). */
void skip_insn(void);
/* If L2's RIP is an RT_EXTABLE fault site, move it to the fixup. */
bool l2_fixup(void);
void invept_single(void);
const char *exit_str(const struct exit_info *e);
void ept_reset(void);
void tlb_sync(void);
bool skip_if(bool cond, const char *what);
/* A/D in EPTP (SDM 25.6.11, cap bit 21) */
bool ept_ad_supported(void);
bool has_1g_ept(void);
bool has_exec_only_ept(void);

/* ---- tests -------------------------------------------------------------- */
/* The groups named by only=a,b,... (NULL: all); is this group wanted? */
const char *only_list(void);
bool want_test(const char *name);
void t_cpuid(void);
void t_vmcall(void);
void t_hlt(void);
void t_io(void);
void t_msr(void);
void t_exc(void);
void t_cr(void);
void t_timer(void);
void t_intwin(void);
void t_inject(void);
void t_ept(void);
void t_entry(void);
void t_launch(void);
void t_misc(void);
void t_vector(void);
void t_mtf(void);
void t_vpid(void);
void t_triple(void);
void t_two(void);
void t_pml(void);
void t_shadow(void);
void t_apic(void);
void bench(void);

/* L2 helpers */
static inline void l2_vmcall(uint64_t rax) { __asm__ volatile("vmcall" : "+a"(rax) :: "memory"); }

#endif
