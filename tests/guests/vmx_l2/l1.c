/*
 * The L1 hypervisor core of vmx_l2: capabilities, VMXON, a vmcs12 for a
 * 64-bit L2 guest, EPT12, L2's page tables, GDT, TSS and IDT, and the
 * VM-entry / VM-exit paths.
 *
 * VM exit (SDM 28.5): the processor loads L1's host state from vmcs12 and
 * continues at HOST_RIP = l1_exit_stub on HOST_RSP = the top of
 * l1_exit_stack.  The stub saves L2's general registers in l2r (RSP and
 * RIP are in vmcs12), then calls l1_exit_handler(), which either resumes
 * L2 (VMRESUME, the bench fast path) or stops: the stub then returns from
 * the l2_enter() call that started the entry, on the stack it was made
 * from.
 */
#include "l1.h"

struct l2_regs l2r;
struct exit_info ex;
struct l1_caps cap;
uint64_t eptp12;

#define PAGE 4096
#define AL __attribute__((aligned(PAGE)))
static uint8_t vmxon_region[PAGE] AL;
static uint8_t vmcs_region0[PAGE] AL;
uint8_t *vmcs_region = vmcs_region0;    /* the region vm_setup() prepares */
uint8_t io_bitmap_a[PAGE] AL, io_bitmap_b[PAGE] AL, msr_bitmap[PAGE] AL;
uint64_t ept_pml4[512] AL, ept_pdpt[512] AL, ept_pd0[512] AL, ept_pd1[512] AL;
static uint64_t ept_pt0[512] AL;
uint64_t ept_pt1[512] AL;
uint8_t tpages[NR_TPAGES][PAGE] AL;
uint8_t big2m[2 << 20] __attribute__((aligned(2 << 20)));
uint64_t l2_pml4[512] AL, l2_pml4_copy[512] AL;
static uint64_t l2_pdpt[512] AL, l2_pd_ro[512] AL;
uint64_t l2_pd[4][512] AL;
uint64_t l2_idt[512] AL;                /* 256 16-byte gates */
static uint64_t l2_gdt[6] __attribute__((aligned(16)));
static uint8_t l2_tss[104] __attribute__((aligned(16)));
static uint8_t l2_stack[16384] __attribute__((aligned(16)));
uint8_t l1_exit_stack[16384] __attribute__((aligned(16)));
volatile struct l2_event l2_ev[8];
volatile unsigned l2_nev;

/* Used by the assembly below. */
uint64_t l1_saved_rsp, l1_fail_rflags, l1_exit_rflags;
uint32_t l1_launch;
static bool launched;
/* Bench fast path: returns 0 to VMRESUME at once, -1 to take the full path. */
int (*l1_fast_hook)(void);

uint64_t l2_enter(uint32_t launch);
void l1_exit_stub(void);
void l2_entry(void);
int l1_exit_handler(void);
extern const uint64_t l2_stubs[256];

__asm__(
    ".text\n"
    /* uint64_t l2_enter(uint32_t launch): 0 after a VM exit that stopped,
     * or (1 << 63) | RFLAGS after a VMLAUNCH/VMRESUME that failed. */
    ".globl l2_enter\n"
    "l2_enter:\n\t"
    "push %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "mov %rsp, l1_saved_rsp(%rip)\n\t"
    "mov %edi, l1_launch(%rip)\n"
    "l2_go:\n\t"
    "mov l2r+0(%rip), %rax\n\tmov l2r+8(%rip), %rcx\n\tmov l2r+16(%rip), %rdx\n\t"
    "mov l2r+24(%rip), %rbx\n\tmov l2r+32(%rip), %rbp\n\tmov l2r+40(%rip), %rsi\n\t"
    "mov l2r+48(%rip), %rdi\n\tmov l2r+56(%rip), %r8\n\tmov l2r+64(%rip), %r9\n\t"
    "mov l2r+72(%rip), %r10\n\tmov l2r+80(%rip), %r11\n\tmov l2r+88(%rip), %r12\n\t"
    "mov l2r+96(%rip), %r13\n\tmov l2r+104(%rip), %r14\n\tmov l2r+112(%rip), %r15\n\t"
    "cmpl $0, l1_launch(%rip)\n\t"
    "jne 1f\n\t"
    "vmresume\n\t"
    "jmp 2f\n"
    "1:\tvmlaunch\n"
    "2:\tpushfq\n\t"
    "popq l1_fail_rflags(%rip)\n\t"
    "mov l1_saved_rsp(%rip), %rsp\n\t"
    "mov l1_fail_rflags(%rip), %rax\n\t"
    "bts $63, %rax\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
    "ret\n"

    /* HOST_RIP */
    ".globl l1_exit_stub\n"
    "l1_exit_stub:\n\t"
    "pushfq\n\t"
    "popq l1_exit_rflags(%rip)\n\t"
    "mov %rax, l2r+0(%rip)\n\tmov %rcx, l2r+8(%rip)\n\tmov %rdx, l2r+16(%rip)\n\t"
    "mov %rbx, l2r+24(%rip)\n\tmov %rbp, l2r+32(%rip)\n\tmov %rsi, l2r+40(%rip)\n\t"
    "mov %rdi, l2r+48(%rip)\n\tmov %r8, l2r+56(%rip)\n\tmov %r9, l2r+64(%rip)\n\t"
    "mov %r10, l2r+72(%rip)\n\tmov %r11, l2r+80(%rip)\n\tmov %r12, l2r+88(%rip)\n\t"
    "mov %r13, l2r+96(%rip)\n\tmov %r14, l2r+104(%rip)\n\tmov %r15, l2r+112(%rip)\n\t"
    "call l1_exit_handler\n\t"
    "test %eax, %eax\n\t"
    "jnz 3f\n\t"
    "movl $0, l1_launch(%rip)\n\t"
    "jmp l2_go\n"
    "3:\tmov l1_saved_rsp(%rip), %rsp\n\t"
    "xor %eax, %eax\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
    "ret\n"

    /* L2 starts here: rbx = program, rdi = its argument. */
    ".globl l2_entry\n"
    "l2_entry:\n\t"
    "call *%rbx\n\t"
    "movabs $" "0x4c32444f4e45" ", %rax\n\t"
    "vmcall\n\t"
    "ud2\n"
    "4:\tjmp 4b\n");

/* ---- L2's IDT: one stub per vector, records the event, applies RT_EXTABLE
 * fixups, returns with IRETQ. ---------------------------------------------- */
__asm__(
    ".text\n"
    ".altmacro\n"
    ".macro L2STUB vec\n"
    "  .balign 16\n"
    "l2_stub_\\vec:\n"
    "  .if (\\vec == 8) || (\\vec >= 10 && \\vec <= 14) || (\\vec == 17) || (\\vec == 21)\n"
    "  .else\n"
    "  pushq $0\n"
    "  .endif\n"
    "  pushq $\\vec\n"
    "  jmp l2_trap_common\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 256\n"
    "  L2STUB %i\n"
    "  .set i, i + 1\n"
    ".endr\n"
    "l2_trap_common:\n\t"
    "push %rax\n\tpush %rbx\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\tpush %rbp\n\t"
    "push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
    "mov %rsp, %rdi\n\t"
    "call l2_trap\n\t"
    "pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
    "pop %rbp\n\tpop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rbx\n\tpop %rax\n\t"
    "add $16, %rsp\n\t"
    "iretq\n"
    ".section .rodata\n"
    ".balign 8\n"
    ".globl l2_stubs\n"
    "l2_stubs:\n"
    ".macro L2ADDR vec\n"
    "  .quad l2_stub_\\vec\n"
    ".endm\n"
    ".set i, 0\n"
    ".rept 256\n"
    "  L2ADDR %i\n"
    "  .set i, i + 1\n"
    ".endr\n"
    ".noaltmacro\n"
    ".text\n");

struct l2_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};
extern const uint64_t rt_extable_start[], rt_extable_end[];

/* Runs in L2. */
void l2_trap(struct l2_frame *f);
void l2_trap(struct l2_frame *f)
{
    static uint64_t last_rip;
    static unsigned repeats;
    unsigned n = l2_nev;
    if (n < 8) {
        l2_ev[n].vector = f->vector;
        l2_ev[n].error = f->error;
        l2_ev[n].rip = f->rip;
        l2_ev[n].cs = f->cs;
        l2_ev[n].rflags = f->rflags;
        l2_ev[n].cr2 = f->vector == 14 ? read_cr2() : 0;
    }
    l2_nev = n + 1;
    for (const uint64_t *e = rt_extable_start; e < rt_extable_end; e += 2) {
        if (e[0] == f->rip) {
            f->rip = e[1];
            return;
        }
    }
    /* A fault nobody expects would repeat for ever: tell L1. */
    if (f->vector < 32 && f->rip == last_rip && ++repeats >= 3) {
        repeats = 0;
        l2_vmcall(L2_STUCK);
    }
    if (f->rip != last_rip)
        repeats = 0;
    last_rip = f->rip;
}

/* ---- small helpers ------------------------------------------------------------ */
uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }

uint64_t vmr(uint64_t enc)
{
    uint64_t v;
    struct vres r = vx_vmread(enc, &v);
    return vx_ok(r) ? v : 0xdeadbeefdeadbeefull;
}

bool vmw(uint64_t enc, uint64_t val)
{
    struct vres r = vx_vmwrite(enc, val);
    if (!vx_ok(r)) {
        char b[48];
        rt_printf("note: VMWRITE %#lx <- %#lx: %s\n", enc, val, vx_str(r, b, sizeof(b)));
        return false;
    }
    return true;
}

bool skip_if(bool cond, const char *what)
{
    if (cond)
        rt_printf("SKIP: %s\n", what);
    return cond;
}

static uint64_t rdmsr_or0(uint32_t msr)
{
    uint64_t v = 0;
    rdmsr_safe(msr, &v);
    return v;
}

/* ---- capabilities and VMXON ---------------------------------------------------- */
static void read_caps(void)
{
    cap.basic = rdmsr_or0(0x480);
    bool tr = cap.basic & (1ul << 55);
    uint64_t pin = rdmsr_or0(tr ? 0x48d : 0x481), proc = rdmsr_or0(tr ? 0x48e : 0x482);
    uint64_t exit = rdmsr_or0(tr ? 0x48f : 0x483), entry = rdmsr_or0(tr ? 0x490 : 0x484);
    cap.pin0 = (uint32_t)pin, cap.pin1 = pin >> 32;
    cap.proc0 = (uint32_t)proc, cap.proc1 = proc >> 32;
    cap.exit0 = (uint32_t)exit, cap.exit1 = exit >> 32;
    cap.entry0 = (uint32_t)entry, cap.entry1 = entry >> 32;
    cap.misc = rdmsr_or0(0x485);
    cap.cr0f0 = rdmsr_or0(0x486), cap.cr0f1 = rdmsr_or0(0x487);
    cap.cr4f0 = rdmsr_or0(0x488), cap.cr4f1 = rdmsr_or0(0x489);
    if (cap.proc1 & PROC_SECONDARY) {
        cap.proc2_1 = rdmsr_or0(0x48b) >> 32;
        if (cap.proc2_1 & (PROC2_EPT | PROC2_VPID))
            cap.ept_vpid = rdmsr_or0(0x48c);
    }
}

bool ept_ad_supported(void) { return cap.ept_vpid & (1ul << 21); }
bool has_1g_ept(void) { return cap.ept_vpid & (1ul << 17); }
bool has_exec_only_ept(void) { return cap.ept_vpid & 1; }

/* In bench mode (quiet) problems are reported without CHECK lines. */
static bool quiet_check(bool quiet, bool cond, const char *what)
{
    if (quiet) {
        if (!cond)
            rt_printf("BENCH-ERROR %s\n", what);
        return cond;
    }
    return CHECK(cond, "%s", what);
}

bool l1_init(bool quiet)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (!quiet_check(quiet, r[2] & (1u << 5), "CPUID.1:ECX.VMX = 1 (the domain needs nested=1)"))
        return false;
    read_caps();
    if (!quiet)
        rt_printf("caps: basic %#lx misc %#lx ept_vpid %#lx\n", cap.basic, cap.misc, cap.ept_vpid);
    if (!quiet)
        rt_printf("caps: allowed-0/1 pin %#x/%#x proc %#x/%#x proc2 -/%#x exit %#x/%#x entry %#x/%#x\n",
                  cap.pin0, cap.pin1, cap.proc0, cap.proc1, cap.proc2_1, cap.exit0, cap.exit1, cap.entry0,
                  cap.entry1);
    if (!quiet_check(quiet, (cap.proc2_1 & (PROC2_EPT | PROC2_VPID)) == (PROC2_EPT | PROC2_VPID) &&
                     (cap.exit1 & EXIT_HOST_64) && (cap.entry1 & ENTRY_IA32E),
                     "EPT, VPID, 64-bit host and IA-32e mode guest are offered"))
        return false;
    /* L2 runs with IF=1 in some tests and without external-interrupt
     * exiting: no device interrupt may reach it (on hardware the firmware
     * may leave the PIT unmasked; under Nestor nothing decodes the ports). */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    write_cr4_safe(read_cr4() | CR4_VMXE);
    uint64_t fc = rdmsr_or0(0x3a);
    if (!(fc & 1))
        wrmsr_safe(0x3a, fc | 5);
    uint32_t rev = (uint32_t)cap.basic & 0x7fffffff;
    memset(vmxon_region, 0, PAGE);
    memcpy(vmxon_region, &rev, 4);
    static uint64_t ptr;
    ptr = pa(vmxon_region);
    struct vres v = vx_vmxon(&ptr);
    if (quiet)
        return quiet_check(true, vx_ok(v), "VMXON");
    char b[48];
    return CHECK(vx_ok(v), "VMXON with revision %#x from IA32_VMX_BASIC (%s)", rev, vx_str(v, b, sizeof(b)));
}

bool l1_off(void)
{
    struct vres v = vx_vmxoff();
    char b[48];
    return CHECK(vx_ok(v), "VMXOFF after the L2 tests (%s)", vx_str(v, b, sizeof(b)));
}

/* ---- controls --------------------------------------------------------------------- */
static bool ctl(uint64_t enc, uint32_t want, uint32_t a0, uint32_t a1, const char *name)
{
    if (want & ~a1) {
        rt_printf("SKIP: %s control bits %#x not offered (allowed-1 %#x)\n", name, want & ~a1, a1);
        return false;
    }
    return vmw(enc, (want | a0) & a1);
}

bool set_pin(uint32_t want) { return ctl(F_PIN, want, cap.pin0, cap.pin1, "pin-based"); }
bool set_proc(uint32_t want) { return ctl(F_PROC, want | PROC_SECONDARY, cap.proc0, cap.proc1, "processor-based"); }
bool set_proc2(uint32_t want) { return ctl(F_PROC2, want | PROC2_EPT | PROC2_VPID, 0, cap.proc2_1, "secondary"); }

/* ---- EPT12 and L2's page tables ------------------------------------------------------- */
void ept_reset(void)
{
    memset(ept_pml4, 0, PAGE);
    memset(ept_pdpt, 0, PAGE);
    memset(ept_pd0, 0, PAGE);
    memset(ept_pd1, 0, PAGE);
    memset(ept_pt0, 0, PAGE);
    memset(ept_pt1, 0, PAGE);
    ept_pml4[0] = pa(ept_pdpt) | EPT_RWX;
    /* [0, RAM): identity; the first 2 MiB with 4 KiB pages, the rest 2 MiB. */
    ept_pdpt[0] = pa(ept_pd0) | EPT_RWX;
    ept_pd0[0] = pa(ept_pt0) | EPT_RWX;
    for (uint64_t i = 0; i < 512; i++)
        ept_pt0[i] = (i << 12) | EPT_RWX | EPT_WB;
    for (uint64_t j = 1; j < rt_boot.mem_bytes >> 21 && j < 512; j++)
        ept_pd0[j] = (j << 21) | EPT_RWX | EPT_WB | (1ul << 7);
    /* [1 GiB, +2 MiB): the test pages; then a 2 MiB leaf onto big2m. */
    ept_pdpt[1] = pa(ept_pd1) | EPT_RWX;
    ept_pd1[0] = pa(ept_pt1) | EPT_RWX;
    for (unsigned i = 0; i < NR_TPAGES; i++)
        ept_pt1[i] = pa(tpages[i]) | EPT_RWX | EPT_WB;
    ept_pt1[13] = 0;        /* L2_WALK_PD_GPA: absent */
    ept_pd1[1] = pa(big2m) | EPT_RWX | EPT_WB | (1ul << 7);
    /* [2 GiB, 3 GiB): a 1 GiB leaf onto L1's [0, 1 GiB). */
    if (has_1g_ept())
        ept_pdpt[2] = 0 | EPT_RWX | EPT_WB | (1ul << 7);
    eptp12 = pa(ept_pml4) | (3ul << 3) | 6;
}

static void l2_tables(void)
{
    memset(l2_pml4, 0, PAGE);
    memset(l2_pdpt, 0, PAGE);
    l2_pml4[0] = pa(l2_pdpt) | 3;
    for (uint64_t i = 0; i < 4; i++) {
        l2_pdpt[i] = pa(l2_pd[i]) | 3;
        for (uint64_t j = 0; j < 512; j++)
            l2_pd[i][j] = ((i * 512 + j) << 21) | 0x83;
    }
    l2_pdpt[L2_NP_VA >> 30] = 0;
    memset(l2_pd_ro, 0, PAGE);
    l2_pd_ro[0] = 0 | 0x81;                     /* present, read-only, 2 MiB, GPA 0 */
    l2_pdpt[L2_RO_VA >> 30] = pa(l2_pd_ro) | 3;
    l2_pdpt[L2_WALK_VA >> 30] = L2_WALK_PD_GPA | 3;
    memcpy(l2_pml4_copy, l2_pml4, PAGE);
}

static void l2_descriptors(void)
{
    uint64_t tb = pa(l2_tss);
    l2_gdt[0] = 0;
    l2_gdt[1] = 0x00af9b000000ffffull;          /* 0x08 code, 64-bit */
    l2_gdt[2] = 0x00cf93000000ffffull;          /* 0x10 data */
    l2_gdt[3] = (sizeof(l2_tss) - 1) | ((tb & 0xffffff) << 16) | (0x8bull << 40) | (((tb >> 24) & 0xff) << 56);
    l2_gdt[4] = tb >> 32;                       /* 0x18 TSS (busy) */
    l2_gdt[5] = 0;
    memset(l2_tss, 0, sizeof(l2_tss));
    for (unsigned v = 0; v < 256; v++) {
        uint64_t h = l2_stubs[v];
        l2_idt[2 * v] = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16) << 48);
        l2_idt[2 * v + 1] = h >> 32;
    }
}

/* ---- vmcs12 ------------------------------------------------------------------------------ */
struct __attribute__((packed)) dtr { uint16_t limit; uint64_t base; };

static uint16_t sel_tr(void) { uint16_t s; __asm__ volatile("str %0" : "=r"(s)); return s; }
#define SEL(reg) ({ uint16_t s_; __asm__ volatile("mov %%" reg ", %0" : "=r"(s_)); s_; })

static void host_state(void)
{
    struct dtr g, i;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g), "=m"(i));
    uint16_t tr = sel_tr();
    const uint64_t *gdt = (const uint64_t *)(uintptr_t)g.base;
    uint64_t lo = gdt[tr >> 3], hi = gdt[(tr >> 3) + 1];
    uint64_t trbase = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);
    vmw(F_H_CR0, read_cr0());
    vmw(F_H_CR3, read_cr3());
    vmw(F_H_CR4, read_cr4());
    vmw(F_H_CS_SEL, SEL("cs"));
    vmw(F_H_SS_SEL, SEL("ss"));
    vmw(F_H_DS_SEL, SEL("ds"));
    vmw(F_H_ES_SEL, SEL("es"));
    vmw(F_H_FS_SEL, SEL("fs"));
    vmw(F_H_GS_SEL, SEL("gs"));
    vmw(F_H_TR_SEL, tr);
    vmw(F_H_FS_BASE, rdmsr_or0(0xc0000100));
    vmw(F_H_GS_BASE, rdmsr_or0(0xc0000101));
    vmw(F_H_TR_BASE, trbase);
    vmw(F_H_GDTR_BASE, g.base);
    vmw(F_H_IDTR_BASE, i.base);
    vmw(F_H_SYSENTER_CS, rdmsr_or0(0x174));
    vmw(F_H_SYSENTER_ESP, rdmsr_or0(0x175));
    vmw(F_H_SYSENTER_EIP, rdmsr_or0(0x176));
    vmw(F_H_EFER, rdmsr_or0(0xc0000080));
    vmw(F_H_PAT, rdmsr_or0(0x277));
    vmw(F_H_RSP, pa(l1_exit_stack + sizeof(l1_exit_stack)));
    vmw(F_H_RIP, pa(l1_exit_stub));
}

static void seg(unsigned idx, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    vmw(F_G_ES_SEL + 2 * idx, sel);
    vmw(F_G_ES_BASE + 2 * idx, base);
    vmw(F_G_ES_LIMIT + 2 * idx, limit);
    vmw(F_G_ES_AR + 2 * idx, ar);
}

static void guest_state(void)
{
    vmw(F_G_CR0, 0x80010033);                   /* PG WP NE ET MP PE */
    vmw(F_G_CR3, pa(l2_pml4));
    vmw(F_G_CR4, (1ul << 5) | CR4_VMXE);        /* PAE; VMXE is fixed to 1 in VMX operation */
    vmw(F_G_DR7, 0x400);
    for (unsigned s = 0; s < 6; s++)            /* ES CS SS DS FS GS */
        if (s == 1)
            seg(s, 0x08, 0, 0xffffffff, 0xa09b);
        else
            seg(s, 0x10, 0, 0xffffffff, 0xc093);
    seg(6, 0, 0, 0, 0x10000);                   /* LDTR unusable */
    seg(7, 0x18, pa(l2_tss), sizeof(l2_tss) - 1, 0x8b);
    vmw(F_G_GDTR_BASE, pa(l2_gdt));
    vmw(F_G_GDTR_LIMIT, sizeof(l2_gdt) - 1);
    vmw(F_G_IDTR_BASE, pa(l2_idt));
    vmw(F_G_IDTR_LIMIT, sizeof(l2_idt) - 1);
    vmw(F_G_DEBUGCTL, 0);
    vmw(F_G_PAT, 0x0007040600070406ull);
    vmw(F_G_EFER, 0xd00);                       /* NXE LMA LME */
    vmw(F_G_SYSENTER_CS, 0);
    vmw(F_G_SYSENTER_ESP, 0);
    vmw(F_G_SYSENTER_EIP, 0);
    vmw(F_G_PENDING_DBG, 0);
    vmw(F_LINK_PTR, ~0ull);
}

void l2_restart(void (*fn)(uint64_t), uint64_t arg)
{
    memset(&l2r, 0, sizeof(l2r));
    l2r.rbx = pa(fn);
    l2r.rdi = arg;
    l2_nev = 0;
    vmw(F_G_RIP, pa(l2_entry));
    vmw(F_G_RSP, pa(l2_stack + sizeof(l2_stack)));
    vmw(F_G_RFLAGS, 0x2);
    vmw(F_G_ACTIVITY, 0);
    vmw(F_G_INTERRUPTIBILITY, 0);
    vmw(F_ENTRY_INTR_INFO, 0);
}

bool vm_setup(void (*fn)(uint64_t), uint64_t arg)
{
    static uint64_t ptr;
    static bool tables;
    if (!tables) {
        l2_tables();
        l2_descriptors();
        ept_reset();
        tables = true;
    }
    uint32_t rev = (uint32_t)cap.basic & 0x7fffffff;
    memset(vmcs_region, 0, PAGE);
    memcpy(vmcs_region, &rev, 4);
    ptr = pa(vmcs_region);
    if (!vx_ok(vx_vmclear(&ptr)) || !vx_ok(vx_vmptrld(&ptr))) {
        CHECK(false, "VMCLEAR/VMPTRLD of a fresh vmcs12");
        return false;
    }
    launched = false;
    memset(io_bitmap_a, 0, PAGE);
    memset(io_bitmap_b, 0, PAGE);
    memset(msr_bitmap, 0, PAGE);
    bool ok = set_pin(0) && set_proc(0) && set_proc2(0);
    ok &= ctl(F_EXIT_CTLS, EXIT_HOST_64 | (cap.exit1 & (EXIT_SAVE_EFER | EXIT_LOAD_EFER)),
              cap.exit0, cap.exit1, "VM-exit");
    ok &= ctl(F_ENTRY_CTLS, ENTRY_IA32E | (cap.entry1 & ENTRY_LOAD_EFER), cap.entry0, cap.entry1, "VM-entry");
    vmw(F_EXC_BITMAP, 0);
    vmw(F_PFEC_MASK, 0);
    vmw(F_PFEC_MATCH, 0);
    vmw(F_CR3_TARGET_COUNT, 0);
    vmw(F_EXIT_MSR_STORE_COUNT, 0);
    vmw(F_EXIT_MSR_LOAD_COUNT, 0);
    vmw(F_ENTRY_MSR_LOAD_COUNT, 0);
    vmw(F_ENTRY_EXC_ERROR, 0);
    vmw(F_ENTRY_INSN_LEN, 0);
    vmw(F_TSC_OFFSET, 0);
    vmw(F_IO_BITMAP_A, pa(io_bitmap_a));
    vmw(F_IO_BITMAP_B, pa(io_bitmap_b));
    vmw(F_MSR_BITMAP, pa(msr_bitmap));
    /* L2 sees CR4.VMXE = 0; every other CR0/CR4 bit is its own. */
    vmw(F_CR0_MASK, 0);
    vmw(F_CR0_SHADOW, 0x80010033);
    vmw(F_CR4_MASK, CR4_VMXE);
    vmw(F_CR4_SHADOW, 1ul << 5);
    vmw(F_VPID, 1);
    vmw(F_EPTP, eptp12);
    if (cap.pin1 & PIN_PREEMPT)
        vmw(F_PREEMPT_TIMER, 0);
    guest_state();
    host_state();
    l2_restart(fn, arg);
    if (!ok)
        CHECK(false, "vmcs12 set-up: the basic controls");
    return ok;
}

bool l2_launched(void) { return launched; }
void l2_set_launched(bool l) { launched = l; }

/* ---- VM exits ------------------------------------------------------------------------------ */
int l1_exit_handler(void)
{
    if (l1_fast_hook) {
        int r = l1_fast_hook();
        if (r >= 0)
            return r;
    }
    memset(&ex, 0, sizeof(ex));
    ex.host_rflags = l1_exit_rflags;
    ex.reason = (uint32_t)vmr(F_EXIT_REASON);
    ex.qual = vmr(F_EXIT_QUAL);
    ex.intr_info = (uint32_t)vmr(F_EXIT_INTR_INFO);
    ex.intr_error = (uint32_t)vmr(F_EXIT_INTR_ERROR);
    ex.idt_info = (uint32_t)vmr(F_IDT_VEC_INFO);
    ex.idt_error = (uint32_t)vmr(F_IDT_VEC_ERROR);
    ex.len = (uint32_t)vmr(F_EXIT_INSN_LEN);
    ex.insn_info = (uint32_t)vmr(F_INSN_INFO);
    ex.gla = vmr(F_GLA);
    ex.gpa = vmr(F_GPA);
    ex.rip = vmr(F_G_RIP);
    ex.rsp = vmr(F_G_RSP);
    ex.rflags = vmr(F_G_RFLAGS);
    ex.activity = vmr(F_G_ACTIVITY);
    ex.interruptibility = vmr(F_G_INTERRUPTIBILITY);
    if (!(ex.reason & EXIT_FAILED_ENTRY))
        launched = true;
    return 1;
}

struct exit_info *l2_run(void)
{
    uint64_t r = l2_enter(launched ? 0 : 1);
    if (r) {
        memset(&ex, 0, sizeof(ex));
        ex.vmfail = true;
        ex.fail_flags = r & ~(1ul << 63);
        ex.reason = ~0u;
    }
    return &ex;
}

bool is_done(const struct exit_info *e)
{
    return !e->vmfail && e->reason == R_VMCALL && l2r.rax == L2_DONE;
}

bool under_hypervisor(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    return r[2] & (1u << 31);
}

void skip_insn(void)
{
    vmw(F_G_RIP, vmr(F_G_RIP) + vmr(F_EXIT_INSN_LEN));
}

bool l2_fixup(void)
{
    uint64_t rip = vmr(F_G_RIP);
    for (const uint64_t *e = rt_extable_start; e < rt_extable_end; e += 2) {
        if (e[0] == rip) {
            vmw(F_G_RIP, e[1]);
            return true;
        }
    }
    return false;
}

void invept_single(void)
{
    static uint64_t desc[2];
    desc[0] = eptp12;
    desc[1] = 0;
    struct vres r = vx_invept(1, desc);
    if (!vx_ok(r)) {
        char b[48];
        rt_printf("note: INVEPT single-context: %s\n", vx_str(r, b, sizeof(b)));
    }
}

/* Short: the hv's console cuts long lines. */
const char *exit_str(const struct exit_info *e)
{
    static char buf[200];
    if (e->vmfail) {
        uint64_t err = (e->fail_flags & FL_ZF) ? vmr(F_INSN_ERROR) : 0;
        snprintf(buf, sizeof(buf), "VMfail: flags %#lx, error %lu", e->fail_flags, err);
    } else {
        int n = snprintf(buf, sizeof(buf), "r %#x q %#lx", e->reason, e->qual);
        if (e->intr_info || e->idt_info)
            n += snprintf(buf + n, sizeof(buf) - n, " ii %#x/%#x idt %#x/%#x", e->intr_info, e->intr_error,
                          e->idt_info, e->idt_error);
        snprintf(buf + n, sizeof(buf) - n, " len %u rip %#lx rax %#lx", e->len, e->rip, l2r.rax);
    }
    return buf;
}

struct exit_info *l2_next(uint32_t reason, const char *what)
{
    struct exit_info *e = l2_run();
    CHECK(!e->vmfail && e->reason == reason, "%s: exit reason %u (%s)", what, reason, exit_str(e));
    return e;
}

bool l2_done(const char *what)
{
    struct exit_info *e = l2_run();
    return CHECK(is_done(e), "%s: L2 ran to its end (%s)", what, exit_str(e));
}

/* ---- test selection (args only=a,b,...) ---------------------------------- */
const char *only_list(void)
{
    const char *c = rt_boot.cmdline;
    for (const char *p = c; p && *p; p++)
        if ((p == c || p[-1] == ' ') && !strncmp(p, "only=", 5))
            return p + 5;
    return NULL;
}

bool want_test(const char *name)
{
    const char *l = only_list();
    if (!l)
        return true;
    size_t n = strlen(name);
    while (*l && *l != ' ') {
        if (!strncmp(l, name, n) && (l[n] == ',' || l[n] == ' ' || !l[n]))
            return true;
        while (*l && *l != ',' && *l != ' ')
            l++;
        if (*l == ',')
            l++;
    }
    return false;
}
