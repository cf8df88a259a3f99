/*
 * vmx_insn: an L1 test hypervisor for Nestor's virtual VT-x (nested=1).
 * It checks the capability MSRs for consistency, then every VMX
 * instruction and each of its error paths as the SDM describes them
 * (Vol. 3, chapter 31): #UD before CR4.VMXE / outside VMX operation,
 * #GP at CPL 3 and with IA32_FEATURE_CONTROL unlocked, VMfailInvalid,
 * VMfailValid with each error number, RFLAGS after each instruction,
 * memory operands that fault (#GP, #PF with CR2 and error code), VMREAD/
 * VMWRITE of every field width including high halves, and Nestor's vmcs12
 * layout in memory (docs/NESTED.md).  It never VMLAUNCHes a VMCS that
 * would pass the launch-state checks (nested VM entry kills the domain
 * for now).
 *
 * Arguments: nested=1 (default) expects VT-x; nested=0 expects none and
 * checks that every VMX instruction raises #UD; `outside` makes a VMX
 * operand map guest-physical memory outside RAM, which ends the domain.
 */
#include "rt.h"
#include "vmx_rt.h"
#include "vmx_fields.h"
#include <nestor/abi.h>
#include <xen/xen.h>
#include <xen/version.h>

#define PAGE 4096
static uint8_t vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static uint8_t vmcs_a[PAGE] __attribute__((aligned(PAGE)));
static uint8_t vmcs_b[PAGE] __attribute__((aligned(PAGE)));
static uint8_t vmcs_c[PAGE] __attribute__((aligned(PAGE)));
static uint8_t vmcs_s[PAGE] __attribute__((aligned(PAGE)));
/* Page tables for an unmapped and a read-only linear region. */
static uint64_t pf_pdpt[512] __attribute__((aligned(PAGE)));
static uint64_t pf_pd[512] __attribute__((aligned(PAGE)));
#define RO_VA ((void *)0x8000000000ul)          /* PML4 slot 1: read-only 2 MiB page */
#define NP_VA ((void *)0x8000200000ul)          /* next 2 MiB: not present */
#define NONCANON ((void *)0x0000800000000000ul)

static struct vmx_caps_l1 caps;
static uint32_t rev;
static unsigned maxphy;
static char b1[48];

static uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }

static void init_region(uint8_t *r, uint32_t id)
{
    memset(r, 0, PAGE);
    memcpy(r, &id, 4);
}

static uint32_t region_u32(const uint8_t *r, unsigned off)
{
    uint32_t v;
    memcpy(&v, r + off, 4);
    return v;
}

static uint64_t region_u64(const uint8_t *r, unsigned off)
{
    uint64_t v;
    memcpy(&v, r + off, 8);
    return v;
}

#define R(r) vx_str((r), b1, sizeof(b1))

/* ---- pointer operands kept in memory (never on the stack) ------------- */
static uint64_t ptr_op;
static struct vres with_ptr(struct vres (*insn)(const void *), uint64_t p)
{
    ptr_op = p;
    return insn(&ptr_op);
}

/* ---- without nested=1 ----------------------------------------------------- */
static void test_without_nested(void)
{
    uint64_t v = 0;
    struct vres r;
    int fv = rdmsr_safe(0x3a, &v);
    CHECK(fv == -1 && (v & 1) && !(v & 4), "FEATURE_CONTROL locked with VMX off (%#lx)", v);
    CHECK(rdmsr_safe(0x480, &v) == 13, "IA32_VMX_BASIC -> #GP without VMX");
    CHECK(rdmsr_safe(0x48b, &v) == 13, "IA32_VMX_PROCBASED_CTLS2 -> #GP without VMX");
    CHECK(write_cr4_safe(read_cr4() | CR4_VMXE) == 13, "setting CR4.VMXE -> #GP");
    init_region(vmxon_region, 0x3153454e);
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(r.vec == 6, "VMXON -> #UD (%s)", R(r));
    r = vx_vmxoff();
    CHECK(r.vec == 6, "VMXOFF -> #UD (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmcs_a));
    CHECK(r.vec == 6, "VMCLEAR -> #UD (%s)", R(r));
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    CHECK(r.vec == 6, "VMPTRLD -> #UD (%s)", R(r));
    r = vx_vmptrst(&ptr_op);
    CHECK(r.vec == 6, "VMPTRST -> #UD (%s)", R(r));
    r = vx_vmread(0x681e, &v);
    CHECK(r.vec == 6, "VMREAD -> #UD (%s)", R(r));
    r = vx_vmwrite(0x681e, 1);
    CHECK(r.vec == 6, "VMWRITE -> #UD (%s)", R(r));
    r = vx_vmlaunch();
    CHECK(r.vec == 6, "VMLAUNCH -> #UD (%s)", R(r));
    r = vx_vmresume();
    CHECK(r.vec == 6, "VMRESUME -> #UD (%s)", R(r));
    static uint64_t desc[2];
    r = vx_invept(2, desc);
    CHECK(r.vec == 6, "INVEPT -> #UD (%s)", R(r));
    r = vx_invvpid(2, desc);
    CHECK(r.vec == 6, "INVVPID -> #UD (%s)", R(r));
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0) == 0x40011,
          "VMCALL is still the hypercall");
}

/* ---- capability MSRs ------------------------------------------------------- */
static uint64_t rd(uint32_t msr, const char *name, bool *present)
{
    uint64_t v = 0;
    *present = rdmsr_safe(msr, &v) == -1;
    rt_printf("MSR %#x %-26s %s %#018lx\n", msr, name, *present ? "=" : "absent", v);
    return *present ? v : 0;
}

static bool ctl_consistent(uint64_t c)
{
    return ((uint32_t)c & ~(uint32_t)(c >> 32)) == 0;
}

static void test_caps(void)
{
    bool p[18];
    caps.basic = rd(0x480, "IA32_VMX_BASIC", &p[0]);
    caps.pin = rd(0x481, "IA32_VMX_PINBASED_CTLS", &p[1]);
    caps.proc = rd(0x482, "IA32_VMX_PROCBASED_CTLS", &p[2]);
    caps.exit = rd(0x483, "IA32_VMX_EXIT_CTLS", &p[3]);
    caps.entry = rd(0x484, "IA32_VMX_ENTRY_CTLS", &p[4]);
    caps.misc = rd(0x485, "IA32_VMX_MISC", &p[5]);
    caps.cr0f0 = rd(0x486, "IA32_VMX_CR0_FIXED0", &p[6]);
    caps.cr0f1 = rd(0x487, "IA32_VMX_CR0_FIXED1", &p[7]);
    caps.cr4f0 = rd(0x488, "IA32_VMX_CR4_FIXED0", &p[8]);
    caps.cr4f1 = rd(0x489, "IA32_VMX_CR4_FIXED1", &p[9]);
    caps.vmcs_enum = rd(0x48a, "IA32_VMX_VMCS_ENUM", &p[10]);
    caps.proc2 = rd(0x48b, "IA32_VMX_PROCBASED_CTLS2", &p[11]);
    caps.ept_vpid = rd(0x48c, "IA32_VMX_EPT_VPID_CAP", &p[12]);
    caps.tpin = rd(0x48d, "IA32_VMX_TRUE_PINBASED_CTLS", &p[13]);
    caps.tproc = rd(0x48e, "IA32_VMX_TRUE_PROCBASED_CTLS", &p[14]);
    caps.texit = rd(0x48f, "IA32_VMX_TRUE_EXIT_CTLS", &p[15]);
    caps.tentry = rd(0x490, "IA32_VMX_TRUE_ENTRY_CTLS", &p[16]);
    caps.vmfunc = rd(0x491, "IA32_VMX_VMFUNC", &p[17]);
    bool all = true;
    for (unsigned i = 0; i <= 10; i++)
        all &= p[i];
    CHECK(all, "IA32_VMX_BASIC .. IA32_VMX_VMCS_ENUM all readable");
    rev = (uint32_t)caps.basic & 0x7fffffff;
    uint32_t p1 = caps.proc >> 32, p2 = caps.proc2 >> 32;
    CHECK(rev != 0 && !(caps.basic & (1ul << 31)), "VMCS revision id %#x, bit 31 clear", rev);
    unsigned size = (caps.basic >> 32) & 0x1fff;
    CHECK(size > 0 && size <= PAGE, "VMCS region size %u", size);
    CHECK(((caps.basic >> 50) & 0xf) == 6, "VMCS memory type write-back");
    CHECK(!(caps.basic & (1ul << 48)), "64-bit VMCS physical addresses");
    CHECK(!(caps.basic & (1ul << 49)), "no dual-monitor treatment of SMM (VMCALL in root is never the SMM call)");
    CHECK(caps.basic & (1ul << 55), "true control MSRs (BASIC[55])");
    CHECK(p[13] && p[14] && p[15] && p[16], "the four true control MSRs exist");
    CHECK(ctl_consistent(caps.pin) && ctl_consistent(caps.proc) && ctl_consistent(caps.exit) &&
          ctl_consistent(caps.entry), "allowed-0 settings within allowed-1 (non-true)");
    CHECK(ctl_consistent(caps.tpin) && ctl_consistent(caps.tproc) && ctl_consistent(caps.texit) &&
          ctl_consistent(caps.tentry), "allowed-0 settings within allowed-1 (true)");
    CHECK(((uint32_t)caps.tpin & ~(uint32_t)caps.pin) == 0 &&
          ((uint32_t)caps.tproc & ~(uint32_t)caps.proc) == 0 &&
          ((uint32_t)caps.texit & ~(uint32_t)caps.exit) == 0 &&
          ((uint32_t)caps.tentry & ~(uint32_t)caps.entry) == 0,
          "true allowed-0 settings within the non-true ones");
    CHECK((caps.tpin >> 32) == (caps.pin >> 32) && (caps.tproc >> 32) == (caps.proc >> 32) &&
          (caps.texit >> 32) == (caps.exit >> 32) && (caps.tentry >> 32) == (caps.entry >> 32),
          "true allowed-1 settings equal the non-true ones");
    CHECK(((uint32_t)caps.pin & 0x16) == 0x16 && ((uint32_t)caps.proc & 0x0401e172) == 0x0401e172 &&
          ((uint32_t)caps.exit & 0x00036dff) == 0x00036dff && ((uint32_t)caps.entry & 0x11ff) == 0x11ff,
          "default1 bits are 1 in the non-true allowed-0 settings");
    CHECK((p1 & (1u << 31)) && p[11] && (uint32_t)caps.proc2 == 0,
          "secondary controls offered, none required");
    CHECK(!(p1 & ((1u << 17) | (1u << 21))), "no tertiary controls, no TPR shadow");
    CHECK(rdmsr_safe(0x492, &(uint64_t){ 0 }) == 13 && rdmsr_safe(0x493, &(uint64_t){ 0 }) == 13,
          "IA32_VMX_PROCBASED_CTLS3 and EXIT_CTLS2 absent");
    CHECK(!((caps.pin >> 32) & (1u << 7)), "no posted interrupts");
    CHECK(!(p2 & ((1u << 0) | (1u << 4) | (1u << 8) | (1u << 9) | (1u << 18) | (1u << 20) |
                  (1u << 22) | (1u << 23) | (1u << 25))),
          "no APIC virtualization, #VE, XSAVES, mode-based EPT, SPP, TSC scaling (proc2 %#x)", p2);
    CHECK((p2 & 0xa2) == 0xa2, "EPT, VPID and unrestricted guest offered");
    CHECK(p[12] == !!(p2 & 0x22), "EPT_VPID_CAP exists with EPT or VPID");
    if (p2 & 2) {
        CHECK((caps.ept_vpid & (1u << 6)) && (caps.ept_vpid & (1u << 14)) && (caps.ept_vpid & (1u << 20)) &&
              (caps.ept_vpid & ((1u << 25) | (1u << 26))),
              "EPT: 4-level walks, write-back, INVEPT with a type");
    }
    if (p2 & 0x20)
        CHECK((caps.ept_vpid & (1ul << 32)) && (caps.ept_vpid & (0xful << 40)), "INVVPID with a type");
    CHECK(p[17] == !!(p2 & (1u << 13)), "IA32_VMX_VMFUNC exists iff \"enable VM functions\" is offered");
    CHECK((caps.cr0f0 & ~caps.cr0f1) == 0 && (caps.cr4f0 & ~caps.cr4f1) == 0, "FIXED0 within FIXED1");
    CHECK((caps.cr0f0 & 0x80000021) == 0x80000021 && (caps.cr4f0 & CR4_VMXE),
          "CR0.PE/NE/PG and CR4.VMXE fixed to 1");
    CHECK(((caps.misc >> 6) & 1) && ((caps.misc >> 16) & 0x1ff) <= 4 && !(caps.misc >> 32),
          "MISC: HLT activity state, CR3 targets %lu, no MSEG", (caps.misc >> 16) & 0x1ff);
    unsigned max = 0;
    for (unsigned i = 0; i < NR_SDM_FIELDS; i++)
        if (field_exists(&caps, &sdm_fields[i]) && ((sdm_fields[i].enc >> 1) & 0x1ff) > max)
            max = (sdm_fields[i].enc >> 1) & 0x1ff;
    CHECK(((caps.vmcs_enum >> 1) & 0x1ff) == max, "VMCS_ENUM highest index %lu (fields say %u)",
          (caps.vmcs_enum >> 1) & 0x1ff, max);
    CHECK(wrmsr_safe(0x480, caps.basic) == 13 && wrmsr_safe(0x48b, 0) == 13,
          "capability MSRs are read-only");
    uint32_t r[4];
    cpuid(0x80000008, 0, r);
    maxphy = r[0] & 0xff;
    rt_printf("physical-address width %u bits\n", maxphy);
}

/* ---- before VMXON ----------------------------------------------------------- */
static void test_before_vmxon(void)
{
    uint64_t v = 1;
    struct vres r;
    static uint64_t desc[2];
    CHECK(!(read_cr4() & CR4_VMXE), "CR4.VMXE starts clear");
    int fv = rdmsr_safe(0x3a, &v);
    CHECK(fv == -1 && v == 0, "FEATURE_CONTROL resets to 0 (%#lx)", v);
    init_region(vmxon_region, rev);
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(r.vec == 6, "VMXON with CR4.VMXE=0 -> #UD (%s)", R(r));
    r = vx_vmxoff();
    CHECK(r.vec == 6, "VMXOFF outside VMX operation -> #UD (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmcs_a));
    CHECK(r.vec == 6, "VMCLEAR outside VMX operation -> #UD (%s)", R(r));
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    CHECK(r.vec == 6, "VMPTRLD outside VMX operation -> #UD (%s)", R(r));
    r = vx_vmptrst(&ptr_op);
    CHECK(r.vec == 6, "VMPTRST outside VMX operation -> #UD (%s)", R(r));
    r = vx_vmread(0x681e, &v);
    CHECK(r.vec == 6, "VMREAD outside VMX operation -> #UD (%s)", R(r));
    r = vx_vmwrite(0x681e, 0);
    CHECK(r.vec == 6, "VMWRITE outside VMX operation -> #UD (%s)", R(r));
    r = vx_vmlaunch();
    CHECK(r.vec == 6, "VMLAUNCH outside VMX operation -> #UD (%s)", R(r));
    r = vx_vmresume();
    CHECK(r.vec == 6, "VMRESUME outside VMX operation -> #UD (%s)", R(r));
    r = vx_invept(2, desc);
    CHECK(r.vec == 6, "INVEPT outside VMX operation -> #UD (%s)", R(r));
    r = vx_invvpid(2, desc);
    CHECK(r.vec == 6, "INVVPID outside VMX operation -> #UD (%s)", R(r));

    CHECK(write_cr4_safe(read_cr4() | CR4_VMXE) == -1 && (read_cr4() & CR4_VMXE),
          "CR4.VMXE can be set and reads back");
    r = vx_vmxoff();
    CHECK(r.vec == 6, "VMXOFF with CR4.VMXE=1 but before VMXON -> #UD (%s)", R(r));
    r = vx_vmptrst(&ptr_op);
    CHECK(r.vec == 6, "VMPTRST before VMXON -> #UD (%s)", R(r));
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(r.vec == 13, "VMXON with FEATURE_CONTROL 0 -> #GP (%s)", R(r));
    CHECK(wrmsr_safe(0x3a, 2) == 13, "FEATURE_CONTROL: VMX inside SMX (no SMX) -> #GP");
    CHECK(wrmsr_safe(0x3a, 1ul << 20) == 13, "FEATURE_CONTROL: LMCE (absent) -> #GP");
    CHECK(wrmsr_safe(0x3a, 4) == -1 && rdmsr_safe(0x3a, &v) == -1 && v == 4,
          "FEATURE_CONTROL: VMX outside SMX, unlocked");
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(r.vec == 13, "VMXON with FEATURE_CONTROL unlocked -> #GP (%s)", R(r));
    CHECK(wrmsr_safe(0x3a, 5) == -1 && rdmsr_safe(0x3a, &v) == -1 && v == 5,
          "FEATURE_CONTROL locked with VMX outside SMX");
    CHECK(wrmsr_safe(0x3a, 5) == 13 && wrmsr_safe(0x3a, 0) == 13 && rdmsr_safe(0x3a, &v) == -1 && v == 5,
          "FEATURE_CONTROL: every write after the lock -> #GP");
}

/* ---- VMXON -------------------------------------------------------------------- */
static struct vres user_res;
static void user_vmxon(void *arg) { user_res = with_ptr(vx_vmxon, pa(vmxon_region)); }

static void map_fault_pages(void)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr3() & ~0xffful);
    memset(pf_pdpt, 0, sizeof(pf_pdpt));
    memset(pf_pd, 0, sizeof(pf_pd));
    pf_pd[0] = 0x200000 | 0x81 | 0x4;               /* present, 2 MiB, user, read-only */
    pf_pdpt[0] = pa(pf_pd) | 0x7;
    pml4[1] = pa(pf_pdpt) | 0x7;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

static void test_vmxon(void)
{
    struct vres r;
    map_fault_pages();
    user_res.vec = -2;
    rt_run_user(user_vmxon, NULL);
    CHECK(user_res.vec == 13, "VMXON at CPL 3 -> #GP (%s)", R(user_res));
    uint64_t cr0 = read_cr0();
    CHECK(write_cr0_safe(cr0 & ~CR0_NE) == -1, "CR0.NE cleared outside VMX operation");
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(r.vec == 13, "VMXON with CR0.NE=0 (CR0 fixed bits) -> #GP (%s)", R(r));
    write_cr0_safe(cr0);
    r = vx_vmxon(NONCANON);
    CHECK(r.vec == 13, "VMXON with a non-canonical operand -> #GP (%s)", R(r));
    r = vx_vmxon(NP_VA);
    uint64_t cr2 = read_cr2();
    CHECK(r.vec == 14 && rt_fault_error == 0 && cr2 == pa(NP_VA),
          "VMXON with an unmapped operand -> #PF(0), CR2 %#lx (%s, error %#lx)", cr2, R(r), rt_fault_error);
    r = with_ptr(vx_vmxon, pa(vmxon_region) + 8);
    CHECK(vx_invalid(r), "VMXON unaligned pointer -> VMfailInvalid (%s)", R(r));
    r = with_ptr(vx_vmxon, pa(vmxon_region) + 0x800);
    CHECK(vx_invalid(r), "VMXON pointer not 4 KiB aligned -> VMfailInvalid (%s)", R(r));
    r = with_ptr(vx_vmxon, 1ul << maxphy);
    CHECK(vx_invalid(r), "VMXON pointer beyond the physical-address width -> VMfailInvalid (%s)", R(r));
    r = with_ptr(vx_vmxon, rt_boot.mem_bytes);
    CHECK(vx_invalid(r), "VMXON pointer outside the domain's RAM -> VMfailInvalid (%s)", R(r));
    init_region(vmxon_region, rev + 1);
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_invalid(r), "VMXON region with a wrong revision id -> VMfailInvalid (%s)", R(r));
    init_region(vmxon_region, rev | 0x80000000u);
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_invalid(r), "VMXON region with revision bit 31 set -> VMfailInvalid (%s)", R(r));
    init_region(vmxon_region, rev);
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_ok(r), "VMXON -> VMsucceed, CF PF AF ZF SF OF all cleared (%s)", R(r));
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_invalid(r), "VMXON in VMX root without a current VMCS -> VMfailInvalid (%s)", R(r));
}

/* ---- no current VMCS ------------------------------------------------------------- */
static void test_no_current_vmcs(void)
{
    struct vres r;
    uint64_t v;
    static uint64_t desc[2];
    ptr_op = 0;
    r = vx_vmptrst(&ptr_op);
    CHECK(vx_ok(r) && ptr_op == ~0ul, "VMPTRST without a current VMCS stores all ones (%#lx, %s)",
          ptr_op, R(r));
    r = vx_vmread(0x681e, &v);
    CHECK(vx_invalid(r), "VMREAD without a current VMCS -> VMfailInvalid (%s)", R(r));
    r = vx_vmwrite(0x681e, 1);
    CHECK(vx_invalid(r), "VMWRITE without a current VMCS -> VMfailInvalid (%s)", R(r));
    r = vx_vmlaunch();
    CHECK(vx_invalid(r), "VMLAUNCH without a current VMCS -> VMfailInvalid (%s)", R(r));
    r = vx_vmresume();
    CHECK(vx_invalid(r), "VMRESUME without a current VMCS -> VMfailInvalid (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmcs_a) + 8);
    CHECK(vx_invalid(r), "VMCLEAR error without a current VMCS -> VMfailInvalid (%s)", R(r));
    r = vx_invept(0, desc);
    CHECK(vx_invalid(r), "INVEPT error without a current VMCS -> VMfailInvalid (%s)", R(r));
}

/* ---- VMCLEAR / VMPTRLD / VMPTRST ------------------------------------------------- */
static uint64_t two_ptrs[4];
uint64_t vmx_insn_rip_rel;

static void test_pointers(void)
{
    struct vres r;
    init_region(vmcs_a, rev);
    init_region(vmcs_b, rev);
    memset(vmcs_a + 8, 0xee, 4);            /* launch state: neither, until VMCLEAR */
    r = with_ptr(vx_vmclear, pa(vmcs_a));
    CHECK(vx_ok(r) && region_u32(vmcs_a, 8) == 0, "VMCLEAR writes launch state clear (%s)", R(r));
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    CHECK(vx_ok(r), "VMPTRLD -> VMsucceed (%s)", R(r));
    ptr_op = 0;
    r = vx_vmptrst(&ptr_op);
    CHECK(vx_ok(r) && ptr_op == pa(vmcs_a), "VMPTRST stores the current pointer %#lx", ptr_op);
    __asm__ volatile("vmptrst vmx_insn_rip_rel(%%rip)" ::: "memory");
    CHECK(vmx_insn_rip_rel == pa(vmcs_a), "VMPTRST with a RIP-relative operand (%#lx)", vmx_insn_rip_rel);
    two_ptrs[3] = pa(vmcs_a);
    uint64_t base = pa(two_ptrs), idx = 2;
    uint64_t fl;
    __asm__ volatile("pushq %[pre]; popfq; vmptrld 8(%[b],%[i],8); pushfq; popq %[fl]"
                     : [fl] "=&r"(fl) : [b] "r"(base), [i] "r"(idx), [pre] "r"(PRE_FLAGS)
                     : "cc", "memory");
    CHECK((fl & VMX_FLAGS) == 0, "VMPTRLD with base + index*8 + displacement (flags %#lx)", fl);

    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_fail(r, 15), "VMXON in VMX root -> VMfailValid(15) (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmcs_b) + 0x10);
    CHECK(vx_fail(r, 2), "VMCLEAR unaligned -> VMfailValid(2) (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmcs_b) + 0x800);
    CHECK(vx_fail(r, 2), "VMCLEAR not 4 KiB aligned -> VMfailValid(2) (%s)", R(r));
    r = with_ptr(vx_vmclear, 1ul << maxphy);
    CHECK(vx_fail(r, 2), "VMCLEAR beyond the physical-address width -> VMfailValid(2) (%s)", R(r));
    r = with_ptr(vx_vmclear, 1ul << 63);
    CHECK(vx_fail(r, 2), "VMCLEAR with bit 63 -> VMfailValid(2) (%s)", R(r));
    r = with_ptr(vx_vmclear, rt_boot.mem_bytes);
    CHECK(vx_fail(r, 2), "VMCLEAR outside the domain's RAM -> VMfailValid(2) (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmxon_region));
    CHECK(vx_fail(r, 3), "VMCLEAR of the VMXON region -> VMfailValid(3) (%s)", R(r));
    r = with_ptr(vx_vmptrld, pa(vmcs_b) + 0x10);
    CHECK(vx_fail(r, 9), "VMPTRLD unaligned -> VMfailValid(9) (%s)", R(r));
    r = with_ptr(vx_vmptrld, 1ul << maxphy);
    CHECK(vx_fail(r, 9), "VMPTRLD beyond the physical-address width -> VMfailValid(9) (%s)", R(r));
    r = with_ptr(vx_vmptrld, rt_boot.mem_bytes + 0x1000);
    CHECK(vx_fail(r, 9), "VMPTRLD outside the domain's RAM -> VMfailValid(9) (%s)", R(r));
    r = with_ptr(vx_vmptrld, pa(vmxon_region));
    CHECK(vx_fail(r, 10), "VMPTRLD of the VMXON region -> VMfailValid(10) (%s)", R(r));
    init_region(vmcs_c, rev ^ 0x100);
    r = with_ptr(vx_vmptrld, pa(vmcs_c));
    CHECK(vx_fail(r, 11), "VMPTRLD with a wrong revision id -> VMfailValid(11) (%s)", R(r));
    ptr_op = 0;
    vx_vmptrst(&ptr_op);
    CHECK(ptr_op == pa(vmcs_a), "failed VMPTRLDs leave the current VMCS (%#lx)", ptr_op);

    /* Faulting operands. */
    r = vx_vmptrld(NP_VA);
    CHECK(r.vec == 14 && rt_fault_error == 0 && read_cr2() == pa(NP_VA),
          "VMPTRLD operand not mapped -> #PF(0) (%s)", R(r));
    r = vx_vmptrst(RO_VA);
    CHECK(r.vec == 14 && rt_fault_error == 3 && read_cr2() == pa(RO_VA),
          "VMPTRST to a read-only page -> #PF(P|W) (%s, error %#lx)", R(r), rt_fault_error);
    r = vx_vmptrst(NP_VA);
    CHECK(r.vec == 14 && rt_fault_error == 2, "VMPTRST to an unmapped page -> #PF(W) (%s, error %#lx)",
          R(r), rt_fault_error);
    r = vx_vmclear(NONCANON);
    CHECK(r.vec == 13, "VMCLEAR with a non-canonical operand -> #GP (%s)", R(r));
    /* An operand straddling into the unmapped page faults at the second page. */
    r = vx_vmptrld((uint8_t *)NP_VA - 4);
    CHECK(r.vec == 14 && read_cr2() == pa(NP_VA), "operand straddling into an unmapped page -> #PF at its start (cr2 %#lx)",
          read_cr2());
}

/* ---- VMREAD / VMWRITE -------------------------------------------------------------- */
static uint64_t mem_val;

static void test_vmread_vmwrite(void)
{
    struct vres r;
    uint64_t v;
    bool ro_writable = caps.misc & (1ul << 29);
    rt_printf("IA32_VMX_MISC[29] = %d: exit-information fields are %s\n", ro_writable,
              ro_writable ? "writable" : "read-only");
    unsigned n_exist = 0, n_absent = 0;
    for (unsigned i = 0; i < NR_SDM_FIELDS; i++) {
        const struct sdm_field *f = &sdm_fields[i];
        uint64_t e = f->enc, pat = 0x8badf00d5eed0000ull | (e << 1) | 1;
        if (!field_exists(&caps, f)) {
            struct vres r1 = vx_vmread(e, &v), r2 = vx_vmwrite(e, pat);
            CHECK(vx_fail(r1, 12) && vx_fail(r2, 12), "%-22s %#06lx absent: VMREAD and VMWRITE -> VMfailValid(12)",
                  f->name, e);
            n_absent++;
            continue;
        }
        n_exist++;
        bool ro = enc_type(e) == 1 && !ro_writable;
        struct vres w = vx_vmwrite(e, pat);
        struct vres rr = vx_vmread(e, &v);
        bool ok = ro ? vx_fail(w, 13) && vx_ok(rr) : vx_ok(w) && vx_ok(rr) && v == (pat & width_mask(e));
        char extra[64] = "";
        if (ok && enc_width(e) == 1 && !ro) {
            /* The high half (encoding bit 0 = 1). */
            uint64_t hi = 0, full = 0;
            struct vres h1 = vx_vmread(e | 1, &hi);
            struct vres h2 = vx_vmwrite(e | 1, 0xffffffff12345678ull);
            struct vres h3 = vx_vmread(e, &full);
            ok = vx_ok(h1) && hi == (pat >> 32) && vx_ok(h2) && vx_ok(h3) &&
                 full == ((0x12345678ull << 32) | (pat & 0xffffffff));
            snprintf(extra, sizeof(extra), ", high half %#lx -> %#lx", hi, full);
        }
        CHECK(ok, "%-22s %#06lx %s: VMWRITE %s, VMREAD %#lx%s", f->name, e,
              (const char *[]){ "16-bit", "64-bit", "32-bit", "natural" }[enc_width(e)],
              vx_str(w, b1, sizeof(b1)), v, extra);
    }
    CHECK(n_exist > 100, "%u fields exist, %u do not", n_exist, n_absent);

    /* Encodings that name nothing. */
    static const uint64_t bad[] = { 0x1000, 0x781e, 0x8000 | 0x681e, 0x10000 | 0x4002,
                                    0x100000000ul | 0x4002, 0xfffffffful, 0x4003, 0x681f, 0x0801 };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vres r1 = vx_vmread(bad[i], &v), r2 = vx_vmwrite(bad[i], 0);
        CHECK(vx_fail(r1, 12) && vx_fail(r2, 12), "encoding %#lx: VMREAD/VMWRITE -> VMfailValid(12)", bad[i]);
    }
    /* VMfailValid leaves the error in the current VMCS; VMsucceed does not touch it. */
    vx_vmread(0x1000, &v);
    vx_vmwrite(0x681c, 0x1234);
    CHECK(vx_error() == 12, "VM-instruction error field keeps the last error (12)");

    /* Memory operands. */
    mem_val = 0xfedcba9876543210ull;
    r = vx_vmwrite_mem(0x6820, &mem_val);
    bool rok = vx_ok(vx_vmread(0x6820, &v));
    CHECK(vx_ok(r) && rok && v == mem_val, "VMWRITE from memory (%#lx)", v);
    mem_val = 0;
    r = vx_vmread_mem(0x6820, &mem_val);
    CHECK(vx_ok(r) && mem_val == 0xfedcba9876543210ull, "VMREAD to memory (%#lx)", mem_val);
    mem_val = 0x1111111111111111ull;
    r = vx_vmread_mem(0x0802, &mem_val);
    CHECK(vx_ok(r) && mem_val == ((0x8badf00d5eed0000ull | (0x0802 << 1) | 1) & 0xffff), "VMREAD of a 16-bit field to memory writes 64 bits (%#lx)",
          mem_val);
    r = vx_vmread_mem(0x6820, RO_VA);
    CHECK(r.vec == 14 && rt_fault_error == 3 && read_cr2() == pa(RO_VA),
          "VMREAD to a read-only page -> #PF(P|W) (%s)", R(r));
    r = vx_vmwrite_mem(0x6820, NP_VA);
    CHECK(r.vec == 14 && rt_fault_error == 0, "VMWRITE from an unmapped page -> #PF(0) (%s)", R(r));
    r = vx_vmread_mem(0x6820, NONCANON);
    CHECK(r.vec == 13, "VMREAD to a non-canonical address -> #GP (%s)", R(r));
    r = vx_vmread_mem(0x1000, RO_VA);
    CHECK(vx_fail(r, 12), "an unsupported field fails before the operand is written (%s)", R(r));
    r = vx_vmwrite_mem(0x6820, RO_VA);
    CHECK(vx_ok(r), "VMWRITE may read from a read-only page (%s)", R(r));
}

/* ---- vmcs12 in memory: write-back and reload ----------------------------------------- */
static uint64_t field_value(unsigned i) { return 0x0123456789abcdefull ^ ((uint64_t)i * 0x1000100010001ull); }

static void test_writeback(void)
{
    struct vres r;
    uint64_t v;
    bool ro_writable = caps.misc & (1ul << 29);
    /* Fill every field of A (current) with a distinct value. */
    for (unsigned i = 0; i < NR_SDM_FIELDS; i++)
        if (field_exists(&caps, &sdm_fields[i]))
            vx_vmwrite(sdm_fields[i].enc, field_value(i));
    r = with_ptr(vx_vmclear, pa(vmcs_a));
    CHECK(vx_ok(r), "VMCLEAR of the current VMCS (%s)", R(r));
    CHECK(region_u32(vmcs_a, 0) == rev && region_u32(vmcs_a, 8) == 0,
          "region header: revision %#x, launch state %u (clear)", region_u32(vmcs_a, 0), region_u32(vmcs_a, 8));
    unsigned good = 0, total = 0;
    for (unsigned i = 0; i < NR_SDM_FIELDS; i++) {
        const struct sdm_field *f = &sdm_fields[i];
        if (!field_exists(&caps, f))
            continue;
        if (enc_type(f->enc) == 1 && !ro_writable)
            continue;
        total++;
        int off = vmcs12_offset_of(f->enc);
        uint64_t want = field_value(i) & width_mask(f->enc);
        if (off >= 0 && region_u64(vmcs_a, (unsigned)off) == want)
            good++;
        else
            rt_printf("  %s (%#x) at offset %#x: %#lx, want %#lx\n", f->name, f->enc, off,
                      off >= 0 ? region_u64(vmcs_a, (unsigned)off) : 0, want);
    }
    CHECK(total > 100 && good == total, "VMCLEAR wrote every field back at its documented offset (%u/%u)",
          good, total);
    int rip_off = vmcs12_offset_of(0x681e);
    CHECK(rip_off == 0x3c8, "guest RIP lives at offset %#x of the region", rip_off);
    r = vx_vmread(0x681e, &v);
    CHECK(vx_invalid(r), "after VMCLEAR of the current VMCS there is none (%s)", R(r));

    /* The region is the VMCS: an edit while it is not current is what VMPTRLD loads. */
    uint64_t x = 0x00000000deadbee0ull;
    memcpy(vmcs_a + rip_off, &x, 8);
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    bool rok = vx_ok(vx_vmread(0x681e, &v));
    CHECK(vx_ok(r) && rok && v == x, "VMPTRLD loads the fields from the region (%#lx)", v);
    unsigned proc_i = 0;
    while (sdm_fields[proc_i].enc != 0x4002)
        proc_i++;
    rok = vx_ok(vx_vmread(0x4002, &v));
    CHECK(rok && v == (field_value(proc_i) & 0xffffffff),
          "the other fields are reloaded too (%#lx)", v);
    /* VMPTRLD of another VMCS writes the current one back. */
    vx_vmwrite(0x681c, 0x5555aaaa5555aaaaull);
    init_region(vmcs_b, rev);
    r = with_ptr(vx_vmclear, pa(vmcs_b));
    r = with_ptr(vx_vmptrld, pa(vmcs_b));
    CHECK(vx_ok(r) && region_u64(vmcs_a, (unsigned)vmcs12_offset_of(0x681c)) == 0x5555aaaa5555aaaaull,
          "VMPTRLD of another VMCS writes the previous one back (%#lx)",
          region_u64(vmcs_a, (unsigned)vmcs12_offset_of(0x681c)));
    rok = vx_ok(vx_vmread(0x681c, &v));
    CHECK(rok && v == 0, "the new current VMCS has its own fields (RSP %#lx)", v);
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    rok = vx_ok(vx_vmread(0x681c, &v));
    CHECK(vx_ok(r) && rok && v == 0x5555aaaa5555aaaaull,
          "switching back finds the values (%#lx)", v);
    /* VMCLEAR of a VMCS that is not current only marks it clear. */
    memset(vmcs_b + 8, 0x77, 4);
    r = with_ptr(vx_vmclear, pa(vmcs_b));
    ptr_op = 0;
    vx_vmptrst(&ptr_op);
    CHECK(vx_ok(r) && region_u32(vmcs_b, 8) == 0 && ptr_op == pa(vmcs_a),
          "VMCLEAR of another VMCS sets its launch state, keeps the current one");
}

/* ---- VMLAUNCH / VMRESUME launch-state rules ------------------------------------------ */
static void test_launch_rules(void)
{
    struct vres r;
    uint64_t fl;
    /* A is clear (VMCLEARed, reloaded). */
    r = vx_vmresume();
    CHECK(vx_fail(r, 5), "VMRESUME of a clear VMCS -> VMfailValid(5) (%s)", R(r));
    /* C: the launch state word says launched (as after a VMLAUNCH). */
    init_region(vmcs_c, rev);
    uint32_t launched = 1;
    memcpy(vmcs_c + 8, &launched, 4);
    r = with_ptr(vx_vmptrld, pa(vmcs_c));
    CHECK(vx_ok(r), "VMPTRLD of a launched VMCS (%s)", R(r));
    r = vx_vmlaunch();
    CHECK(vx_fail(r, 4), "VMLAUNCH of a launched VMCS -> VMfailValid(4) (%s)", R(r));
    r = with_ptr(vx_vmclear, pa(vmcs_c));
    CHECK(vx_ok(r) && region_u32(vmcs_c, 8) == 0, "VMCLEAR makes it clear again");
    r = with_ptr(vx_vmptrld, pa(vmcs_c));
    r = vx_vmresume();
    CHECK(vx_fail(r, 5), "VMRESUME after VMCLEAR -> VMfailValid(5) (%s)", R(r));
    /* Blocking by MOV SS comes before the launch state. */
    __asm__ volatile("pushq %[pre]; popfq; mov %%ss, %%eax; mov %%eax, %%ss; vmlaunch; pushfq; popq %[fl]"
                     : [fl] "=&r"(fl) : [pre] "r"(PRE_FLAGS) : "rax", "cc", "memory");
    CHECK((fl & VMX_FLAGS) == FL_ZF && vx_error() == 26,
          "VMLAUNCH right after MOV SS -> VMfailValid(26) (flags %#lx, error %lu)", fl, vx_error());
    /* A shadow VMCS cannot be launched. */
    if ((caps.proc2 >> 32) & (1u << 14)) {
        init_region(vmcs_s, rev | 0x80000000u);
        r = with_ptr(vx_vmptrld, pa(vmcs_s));
        CHECK(vx_ok(r), "VMPTRLD of a shadow VMCS (revision bit 31) with VMCS shadowing (%s)", R(r));
        r = vx_vmlaunch();
        CHECK(vx_invalid(r), "VMLAUNCH of a shadow VMCS -> VMfailInvalid (%s)", R(r));
        r = vx_vmwrite(0x681e, 7);
        CHECK(vx_ok(r), "VMWRITE to a current shadow VMCS (%s)", R(r));
    } else {
        init_region(vmcs_s, rev | 0x80000000u);
        r = with_ptr(vx_vmptrld, pa(vmcs_s));
        CHECK(vx_fail(r, 11), "VMPTRLD of a shadow VMCS without VMCS shadowing -> VMfailValid(11) (%s)", R(r));
    }
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    CHECK(vx_ok(r), "back to VMCS A (%s)", R(r));
}

/* ---- INVEPT / INVVPID ----------------------------------------------------------------- */
static uint64_t desc[2];

static void test_invalidation(void)
{
    struct vres r;
    uint32_t ev_lo = (uint32_t)caps.ept_vpid;
    desc[0] = 0x123000 | 0x1e;              /* WB, 4-level */
    desc[1] = 0;
    for (uint64_t t = 0; t < 4; t++) {
        bool sup = (ev_lo & (1u << 20)) && ((t == 1 && (ev_lo & (1u << 25))) || (t == 2 && (ev_lo & (1u << 26))));
        r = vx_invept(t, desc);
        CHECK(sup ? vx_ok(r) : vx_fail(r, 28), "INVEPT type %lu: %s (%s)", t, sup ? "VMsucceed" : "VMfailValid(28)", R(r));
    }
    r = vx_invept(0x100000001ul, desc);
    CHECK(vx_fail(r, 28), "INVEPT type 2^32+1 (64-bit register) -> VMfailValid(28) (%s)", R(r));
    desc[0] = 0x123000 | 0x19;              /* memory type 1 */
    r = vx_invept(1, desc);
    CHECK(vx_fail(r, 28), "INVEPT single-context, EPTP with memory type 1 -> VMfailValid(28) (%s)", R(r));
    desc[0] = 0x123000 | 0x26;              /* 5-level walk */
    r = vx_invept(1, desc);
    CHECK(vx_fail(r, 28), "INVEPT single-context, 5-level EPTP -> VMfailValid(28) (%s)", R(r));
    r = vx_invept(2, desc);
    CHECK(vx_ok(r), "INVEPT all-context ignores the EPTP (%s)", R(r));
    r = vx_invept(3, NP_VA);
    CHECK(vx_fail(r, 28), "INVEPT bad type is refused before the descriptor is read (%s)", R(r));
    r = vx_invept(2, NP_VA);
    CHECK(r.vec == 14, "INVEPT descriptor not mapped -> #PF (%s)", R(r));
    r = vx_invept(2, (uint8_t *)NP_VA - 8);
    CHECK(r.vec == 14 && read_cr2() == pa(NP_VA), "INVEPT descriptor straddling -> #PF at the second page");

    bool vpid_any = caps.ept_vpid & (1ul << 32);
    for (uint64_t t = 0; t < 5; t++) {
        bool sup = vpid_any && t < 4 && (caps.ept_vpid & (1ul << (40 + t)));
        desc[0] = 1;
        desc[1] = 0x400000;
        r = vx_invvpid(t, desc);
        CHECK(sup ? vx_ok(r) : vx_fail(r, 28), "INVVPID type %lu (VPID 1): %s (%s)", t,
              sup ? "VMsucceed" : "VMfailValid(28)", R(r));
        if (!sup)
            continue;
        desc[0] = 0;
        r = vx_invvpid(t, desc);
        CHECK(t == 2 ? vx_ok(r) : vx_fail(r, 28), "INVVPID type %lu with VPID 0: %s (%s)", t,
              t == 2 ? "VMsucceed" : "VMfailValid(28)", R(r));
        desc[0] = 0x10001;
        r = vx_invvpid(t, desc);
        CHECK(vx_fail(r, 28), "INVVPID type %lu, descriptor bits 63:16 set -> VMfailValid(28) (%s)", t, R(r));
    }
    if (vpid_any && (caps.ept_vpid & (1ul << 40))) {
        desc[0] = 1;
        desc[1] = 0x0000800000000000ul;
        r = vx_invvpid(0, desc);
        CHECK(vx_fail(r, 28), "INVVPID individual-address, non-canonical -> VMfailValid(28) (%s)", R(r));
        desc[1] = 0xffff800000000000ul;
        r = vx_invvpid(0, desc);
        CHECK(vx_ok(r), "INVVPID individual-address, canonical high half (%s)", R(r));
    }
    r = vx_invvpid(2, NONCANON);
    CHECK(r.vec == 13, "INVVPID descriptor at a non-canonical address -> #GP (%s)", R(r));
}

/* ---- CPL 3 ------------------------------------------------------------------------------- */
static struct vres user_r[11];
static void user_all(void *arg)
{
    uint64_t v;
    static uint64_t d[2];
    user_r[0] = vx_vmread(0x681e, &v);
    user_r[1] = vx_vmwrite(0x681e, 0);
    user_r[2] = vx_vmptrst(&ptr_op);
    user_r[3] = vx_vmclear(&ptr_op);
    user_r[4] = vx_vmptrld(&ptr_op);
    user_r[5] = vx_vmlaunch();
    user_r[6] = vx_vmresume();
    user_r[7] = vx_invept(2, d);
    user_r[8] = vx_invvpid(2, d);
    user_r[9] = vx_vmxon(&ptr_op);
    user_r[10] = vx_vmxoff();
}

static void test_cpl3(void)
{
    static const char *const names[] = { "VMREAD", "VMWRITE", "VMPTRST", "VMCLEAR", "VMPTRLD", "VMLAUNCH",
                                         "VMRESUME", "INVEPT", "INVVPID", "VMXON (in VMX root)", "VMXOFF" };
    ptr_op = pa(vmcs_a);
    rt_run_user(user_all, NULL);
    for (unsigned i = 0; i < 11; i++)
        CHECK(user_r[i].vec == 13, "%s at CPL 3 -> #GP(0) (%s)", names[i], R(user_r[i]));
    uint64_t cur = 0;
    vx_vmptrst(&cur);
    CHECK(cur == pa(vmcs_a), "still in VMX root with VMCS A current");
}

/* ---- CR0/CR4 in VMX operation, VMCALL ------------------------------------------------------ */
static void test_cr_and_vmcall(void)
{
    uint64_t cr4 = read_cr4(), cr0 = read_cr0();
    CHECK(write_cr4_safe(cr4 & ~CR4_VMXE) == 13 && (read_cr4() & CR4_VMXE),
          "clearing CR4.VMXE in VMX operation -> #GP");
    CHECK(write_cr0_safe(cr0 & ~CR0_NE) == 13 && (read_cr0() & CR0_NE),
          "clearing CR0.NE in VMX operation -> #GP");
    CHECK(write_cr4_safe(cr4 ^ (1ul << 7)) == -1 && write_cr4_safe(cr4) == -1 && read_cr4() == cr4,
          "other CR4 bits still change in VMX operation (PGE)");
    CHECK(write_cr0_safe(cr0 | (1ul << 3)) == -1 && (read_cr0() & (1ul << 3)) && write_cr0_safe(cr0) == -1,
          "other CR0 bits still change in VMX operation (TS)");
    long ver = hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
    CHECK(ver == 0x40011, "VMCALL in VMX root is Nestor's hypercall (xen_version %#lx)", ver);
    uint64_t cur = 0;
    vx_vmptrst(&cur);
    CHECK(cur == pa(vmcs_a), "the hypercall left VMX state alone");
}

/* ---- VMXOFF ------------------------------------------------------------------------------ */
static void test_vmxoff(void)
{
    struct vres r;
    uint64_t v;
    vx_vmwrite(0x6826, 0x77665544);
    r = vx_vmxoff();
    CHECK(vx_ok(r), "VMXOFF -> VMsucceed (%s)", R(r));
    CHECK(region_u64(vmcs_a, (unsigned)vmcs12_offset_of(0x6826)) == 0x77665544,
          "VMXOFF wrote the current VMCS back");
    r = vx_vmread(0x6826, &v);
    CHECK(r.vec == 6, "VMREAD after VMXOFF -> #UD (%s)", R(r));
    r = vx_vmxoff();
    CHECK(r.vec == 6, "VMXOFF after VMXOFF -> #UD (%s)", R(r));
    CHECK(write_cr4_safe(read_cr4() & ~CR4_VMXE) == -1 && !(read_cr4() & CR4_VMXE),
          "CR4.VMXE can be cleared after VMXOFF");
    CHECK(write_cr0_safe(read_cr0() & ~CR0_NE) == -1 && write_cr0_safe(read_cr0() | CR0_NE) == -1,
          "CR0.NE can change again after VMXOFF");
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(r.vec == 6, "VMXON with CR4.VMXE clear -> #UD (%s)", R(r));
    write_cr4_safe(read_cr4() | CR4_VMXE);
    r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_ok(r), "VMXON again (%s)", R(r));
    ptr_op = 0;
    r = vx_vmptrst(&ptr_op);
    CHECK(vx_ok(r) && ptr_op == ~0ul, "no current VMCS after a new VMXON");
    r = with_ptr(vx_vmptrld, pa(vmcs_a));
    bool rok = vx_ok(vx_vmread(0x6826, &v));
    CHECK(vx_ok(r) && rok && v == 0x77665544, "VMCS A kept its fields (%#lx)", v);
    r = vx_vmxoff();
    CHECK(vx_ok(r), "final VMXOFF (%s)", R(r));
}

/* With the argument `outside`: a VMX operand whose page maps guest-physical
 * memory beyond the domain's RAM.  The hv must not touch it: the domain is
 * ended, as for any access outside its RAM. */
static void test_operand_outside_ram(void)
{
    init_region(vmxon_region, rev);
    write_cr4_safe(read_cr4() | CR4_VMXE);
    wrmsr_safe(0x3a, 5);
    map_fault_pages();
    struct vres r = with_ptr(vx_vmxon, pa(vmxon_region));
    CHECK(vx_ok(r), "VMXON (%s)", R(r));
    pf_pd[1] = ((rt_boot.mem_bytes + 0x1fffff) & ~0x1ffffful) | 0x83;   /* 2 MiB past RAM, writable */
    __asm__ volatile("invlpg (%0)" :: "r"(NP_VA) : "memory");
    rt_printf("VMPTRST to guest-physical %#lx (outside RAM): the domain should be killed\n",
              (rt_boot.mem_bytes + 0x1fffff) & ~0x1ffffful);
    r = vx_vmptrst(NP_VA);
    CHECK(false, "still running after VMPTRST outside RAM (%s)", R(r));
}

void test_main(void)
{
    uint32_t r[4];
    bool want = rt_arg_u64("nested", 1) != 0;
    cpuid(1, 0, r);
    bool vmx = r[2] & (1u << 5);
    if (!CHECK(vmx == want, "CPUID.1:ECX.VMX = %d (expected %d)", vmx, want))
        return;
    if (!vmx) {
        test_without_nested();
        return;
    }
    test_caps();
    if (rt_arg_flag("outside")) {
        test_operand_outside_ram();
        return;
    }
    test_before_vmxon();
    test_vmxon();
    test_no_current_vmcs();
    test_pointers();
    test_vmread_vmwrite();
    test_writeback();
    test_launch_rules();
    test_invalidation();
    test_cpl3();
    test_cr_and_vmcall();
    test_vmxoff();
}
