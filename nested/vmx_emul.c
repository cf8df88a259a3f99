/* The VMX instructions of an L1 hypervisor, emulated per the SDM (Vol. 3,
 * chapter 31 "VMX Instruction Reference"; 25.11 for the VMCS, 27.1 for the
 * checks VMLAUNCH/VMRESUME make before anything else).
 *
 * Every handler follows the SDM's pseudocode in its order: #UD (no nested
 * VMX for the domain, outside VMX operation, CR4.VMXE = 0 for VMXON,
 * CR0.PE = 0, virtual-8086 or compatibility mode), #GP(0) at CPL > 0, then
 * the instruction's own checks, ending in VMsucceed, VMfailInvalid or
 * VMfailValid(n).  Memory operands are guest-linear: segmentation faults
 * give #GP(0)/#SS(0), paging faults #PF(error code) with CR2. */
#include "nested_internal.h"
#include "vmx_operand.h"
#include "console.h"
#include "domain.h"
#include "guest_mem.h"
#include "guest_walk.h"
#include "vcpu.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

#define RFLAGS_PF   BIT(2)
#define RFLAGS_AF   BIT(4)
#define RFLAGS_SF   BIT(7)
#define RFLAGS_OF   BIT(11)
#define VMX_RESULT_FLAGS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* VM-instruction error numbers (SDM 31.4) */
enum {
    VMXERR_VMCLEAR_BAD_ADDR = 2, VMXERR_VMCLEAR_VMXON_PTR = 3, VMXERR_VMLAUNCH_NOT_CLEAR = 4,
    VMXERR_VMRESUME_NOT_LAUNCHED = 5, VMXERR_VMPTRLD_BAD_ADDR = 9, VMXERR_VMPTRLD_VMXON_PTR = 10,
    VMXERR_VMPTRLD_BAD_REVISION = 11, VMXERR_VMXON_IN_ROOT = 15, VMXERR_ENTRY_MOV_SS = 26,
    VMXERR_INVEPT_INVVPID = 28,
};

static struct vcpu_nested *nst(struct vcpu *v) { return &v->nested; }

/* ---- results ------------------------------------------------------------ */

static void set_result_flags(uint64_t flags)
{
    vmwrite(VMCS_GUEST_RFLAGS, (vmread(VMCS_GUEST_RFLAGS) & ~(uint64_t)VMX_RESULT_FLAGS) | flags);
}

static void vm_succeed(struct vcpu *v)
{
    set_result_flags(0);
    vcpu_skip_instruction(v);
}

static void vm_fail_invalid(struct vcpu *v)
{
    set_result_flags(RFLAGS_CF);
    vcpu_skip_instruction(v);
}

static void vm_fail_valid(struct vcpu *v, uint32_t err)
{
    vmcs12_set(nst(v)->vmcs12, VMCS_INSTR_ERROR, err);
    if (nst(v)->shadow_live)
        shadow_put(v, VMCS_INSTR_ERROR, err);
    set_result_flags(RFLAGS_ZF);
    vcpu_skip_instruction(v);
}

void nested_vm_fail_valid(struct vcpu *v, uint32_t err) { vm_fail_valid(v, err); }

/* The SDM's VMfail(n): VMfailValid(n) with a current VMCS, else VMfailInvalid. */
static void vm_fail(struct vcpu *v, uint32_t err)
{
    if (nst(v)->have_current)
        vm_fail_valid(v, err);
    else
        vm_fail_invalid(v);
}

/* ---- checks common to every VMX instruction ------------------------------- */

static bool long_mode_64(void)
{
    return (vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (vmread(VMCS_GUEST_CS_AR) & BIT(13));
}

/* The #UD and #GP(0) checks that precede everything else.  Returns true if
 * the instruction may go on; otherwise the exception is queued.  Inline in
 * VMLAUNCH/VMRESUME (L1 resumes L2 after every exit it handles), a call
 * for the other instructions. */
static inline __attribute__((always_inline)) bool insn_allowed(struct vcpu *v, bool is_vmxon)
{
    if (!v->dom->cfg.nested) {
        vcpu_inject_ud(v);      /* CPUID.1:ECX.VMX = 0 for this domain */
        return false;
    }
    bool lma = vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA;
    bool cs_l = vmread(VMCS_GUEST_CS_AR) & BIT(13);
    /* The guest's CR0.PE is the real one: the hv owns only CR0.NE
     * (vmcs_guest_cr0() would take NE from the read shadow). */
    _Static_assert(!(HV_CR0_OWNED & CR0_PE), "PE is the guest's");
    if (!(vmread(VMCS_GUEST_CR0) & CR0_PE) || (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_VM) ||
        (lma && !cs_l) || (is_vmxon ? !(vmcs_guest_cr4() & CR4_VMXE) : !nst(v)->vmxon)) {
        vcpu_inject_ud(v);
        return false;
    }
    /* (When L2 runs, its VMX instructions will be reflected to L1 here.) */
    if ((vmread(VMCS_GUEST_SS_AR) >> 5) & 3) {     /* CPL > 0 */
        vcpu_inject_gp0(v);
        return false;
    }
    return true;
}

static bool vmx_insn_allowed(struct vcpu *v, bool is_vmxon) { return insn_allowed(v, is_vmxon); }

/* ---- operands ------------------------------------------------------------- */

/* The register operand of the instruction-information field's reg2 (the
 * VMREAD/VMWRITE encoding, the INVEPT/INVVPID type): 64 bits in 64-bit
 * mode, else 32. */
static uint64_t reg_operand(struct vcpu *v, unsigned r)
{
    uint64_t val = vcpu_gpr(v, r);
    return long_mode_64() ? val : (uint32_t)val;
}

/* The instruction being emulated raises `vector` (cr2: the #PF address).
 * In L2, vmcs12's exception bitmap decides whether L1 gets it. */
static void raise_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error,
                            uint64_t cr2)
{
    if (nst(v)->in_l2) {
        nested_l2_exception(v, vector, has_error, error, cr2);
        return;
    }
    if (vector == X86_EXC_PF) {
        write_cr2(cr2);
        v->cr2 = cr2;
    }
    vcpu_inject_exception(v, vector, has_error, error);
}

/* Guest-physical accesses of an operand: L1's are L1 guest-physical; L2's
 * go through EPT12, whose faults are exits to L1. */
struct operand_mem {
    struct vcpu *v;
    uint64_t gla;
    int fault;              /* 0, -1 (retry) or an exit reason for L1 */
    uint64_t qual, gpa2;
};

static int operand_gpa(struct operand_mem *m, uint64_t gpa, bool write, bool final, uint64_t *out)
{
    if (!nst(m->v)->in_l2) {
        *out = gpa;
        return 0;
    }
    m->fault = ept02_l2_access(m->v, gpa, write, final, out, &m->qual);
    m->gpa2 = gpa;
    return m->fault;
}

static bool operand_walk_read(void *ctx, uint64_t gpa, uint64_t *val, unsigned size)
{
    struct operand_mem *m = ctx;
    uint64_t gpa1;
    if (operand_gpa(m, gpa, false, false, &gpa1))
        return false;
    return guest_walk_read_gpa(m->v->dom, gpa1, val, size);
}

/* An EPT12 fault on L2's operand: the exit to L1, or nothing to do but
 * let L2 run the instruction again. */
static void operand_fault(struct operand_mem *m)
{
    if (m->fault > 0)
        nested_l2_access_fault(m->v, (unsigned)m->fault, m->qual, m->gla, m->gpa2);
}

/* Copies L2 guest-linear memory for L0's own emulation of an L2
 * instruction (the bytes at L2's RIP): L2's paging, its tables and the
 * final address through EPT12.  Returns 0, or -1 if a page does not
 * translate or is outside L1's RAM (no exit is made for it). */
int nested_l2_fetch(struct vcpu *v, uint64_t gla, void *buf, unsigned len)
{
    struct walk_regs wr;
    guest_walk_regs_current(&wr);
    struct operand_mem m = { .v = v };
    uint8_t *p = buf;
    while (len) {
        uint64_t gpa, n = MIN((uint64_t)len, PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        m.gla = gla;
        if (guest_walk(&wr, gla, false, operand_walk_read, &m, &gpa) != WALK_OK || m.fault ||
            operand_gpa(&m, gpa, false, true, &gpa) || copy_from_gpa(v->dom, p, gpa, n))
            return -1;
        gla += n;
        p += n;
        len -= (unsigned)n;
    }
    return 0;
}

/* Reads or writes the instruction's memory operand (size <= 16 bytes) for
 * the current VMCS's guest (L1, or L2 while L0 emulates for it).  Returns
 * 0, or -1 after raising the fault the CPU would (or killing the domain
 * for an access outside its RAM, as an EPT violation would).  A write is
 * all or nothing. */
static int mem_operand(struct vcpu *v, const struct vmx_insn_info *ii, void *buf,
                       unsigned size, bool write)
{
    uint64_t gpr[16], gla;
    for (unsigned i = 0; i < 16; i++)
        gpr[i] = vcpu_gpr(v, i);
    uint64_t ea = vmx_operand_ea(ii, vmread(VMCS_EXIT_QUALIFICATION), gpr);
    struct vmx_seg seg = {
        .base = vmread(VMCS_GUEST_ES_BASE + 2 * ii->seg),
        .limit = (uint32_t)vmread(VMCS_GUEST_ES_LIMIT + 2 * ii->seg),
        .ar = (uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * ii->seg),
    };
    int fault = vmx_operand_linear(ii, ea, size, write, long_mode_64(), &seg, &gla);
    if (fault) {
        raise_exception(v, (unsigned)fault, true, 0, 0);
        return -1;
    }

    /* Translate each page the access touches before touching any. */
    struct walk_regs wr;
    guest_walk_regs_current(&wr);
    struct operand_mem m = { .v = v };
    uint64_t gpa[2], len[2];
    unsigned pages = 0;
    for (uint64_t a = gla, left = size; left; pages++) {
        uint64_t n = MIN(left, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
        m.gla = a;
        enum walk_result r = guest_walk(&wr, a, write, operand_walk_read, &m, &gpa[pages]);
        if (r == WALK_NOT_PRESENT || r == WALK_NOT_WRITABLE) {
            raise_exception(v, X86_EXC_PF, true,
                            (r == WALK_NOT_WRITABLE ? 1u : 0u) | (write ? 2u : 0u), a);
            return -1;
        }
        if (r == WALK_NONCANONICAL) {
            raise_exception(v, X86_EXC_GP, true, 0, 0);
            return -1;
        }
        if (m.fault || (r == WALK_OK && operand_gpa(&m, gpa[pages], write, true, &gpa[pages]))) {
            operand_fault(&m);
            return -1;
        }
        if (r != WALK_OK || gpa[pages] >= v->dom->mem_bytes ||
            n > v->dom->mem_bytes - gpa[pages]) {
            domain_crash(v->dom, "VMX instruction operand at linear %#lx: %s", a,
                         r == WALK_OK ? "guest-physical address outside the domain's RAM" :
                         r == WALK_BAD_GPA ? "page table outside the domain's RAM" :
                         "paging mode not supported");
            return -1;
        }
        len[pages] = n;
        a += n;
        left -= n;
    }
    uint8_t *p = buf;
    for (unsigned i = 0; i < pages; i++) {
        if (write)
            copy_to_gpa(v->dom, gpa[i], p, len[i]);
        else
            copy_from_gpa(v->dom, p, gpa[i], len[i]);
        p += len[i];
    }
    return 0;
}

static void insn_info(struct vmx_insn_info *ii)
{
    vmx_insn_info_decode((uint32_t)vmread(VMCS_EXIT_INSTR_INFO), ii);
}

/* The 64-bit memory operand of VMXON, VMCLEAR, VMPTRLD (always 64 bits,
 * in every mode). */
static int read_ptr_operand(struct vcpu *v, uint64_t *ptr)
{
    struct vmx_insn_info ii;
    insn_info(&ii);
    return mem_operand(v, &ii, ptr, 8, false);
}

/* A VMXON region or VMCS the SDM would accept (aligned, within the
 * physical-address width) that is also inside the domain's RAM. */
static bool region_ok(struct vcpu *v, uint64_t pa)
{
    return nested_vmcs_addr_ok(nested_caps_get(), pa) && pa < v->dom->mem_bytes &&
           v->dom->mem_bytes - pa >= PAGE_SIZE;
}

static uint32_t region_u32(struct vcpu *v, uint64_t pa, unsigned off)
{
    uint32_t val = 0;
    copy_from_gpa(v->dom, &val, pa + off, sizeof(val));
    return val;
}

/* ---- the current vmcs12 --------------------------------------------------- */

/* Writes the cached vmcs12 back to L1 memory: the launch state and the
 * fields (the revision identifier and VMX-abort indicator belong to
 * software and are not rewritten). */
static void vmcs12_writeback(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    nested_vmcs12_release(v);
    copy_to_gpa(v->dom, n->current_ptr + VMCS12_OFF_LAUNCH, n->vmcs12 + VMCS12_OFF_LAUNCH,
                VMCS12_SIZE - VMCS12_OFF_LAUNCH);
}

static void vmcs12_load(struct vcpu *v, uint64_t pa)
{
    struct vcpu_nested *n = nst(v);
    copy_from_gpa(v->dom, n->vmcs12, pa, VMCS12_SIZE);
    n->current_ptr = pa;
    n->have_current = true;
    nested_mark_rare(n);
    shadow_attach(v);
}

static unsigned fields(void)
{
    return nested_caps_get()->fields;
}

/* ---- the instructions ----------------------------------------------------- */

void nested_vmxon(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    if (!vmx_insn_allowed(v, true))
        return;
    if (n->vmxon) {
        vm_fail(v, VMXERR_VMXON_IN_ROOT);
        return;
    }
    /* #GP(0): CR0/CR4 not allowed in VMX operation, feature control not
     * locked with VMX outside SMX enabled. */
    const struct nested_caps *c = nested_caps_get();
    uint64_t cr0 = vmcs_guest_cr0(), cr4 = vmcs_guest_cr4();
    uint64_t f0 = nested_cap(c, MSR_VMX_CR0_FIXED0), f1 = nested_cap(c, MSR_VMX_CR0_FIXED1);
    uint64_t g0 = nested_cap(c, MSR_VMX_CR4_FIXED0), g1 = nested_cap(c, MSR_VMX_CR4_FIXED1);
    uint64_t need_fc = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
    if ((cr0 & f0) != f0 || (cr0 & ~f1) || (cr4 & g0) != g0 || (cr4 & ~g1) ||
        (n->feature_control & need_fc) != need_fc) {
        vcpu_inject_gp0(v);
        return;
    }
    uint64_t ptr;
    if (read_ptr_operand(v, &ptr))
        return;
    if (!region_ok(v, ptr)) {
        vm_fail_invalid(v);
        return;
    }
    uint32_t rev = region_u32(v, ptr, VMCS12_OFF_REVISION);
    if (rev != VMCS12_REVISION) {           /* bit 31 set is refused too */
        vm_fail_invalid(v);
        return;
    }
    n->vmxon = true;
    n->vmxon_ptr = ptr;
    n->have_current = false;
    nested_cr0_trap(v, true);
    vm_succeed(v);
}

void nested_vmxoff(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    if (!vmx_insn_allowed(v, false))
        return;
    /* No dual-monitor treatment of SMM: VMXOFF always succeeds. */
    if (n->have_current)
        vmcs12_writeback(v);
    n->have_current = false;
    shadow_attach(v);
    n->vmxon = false;
    nested_cr0_trap(v, false);
    vm_succeed(v);
}

/* The checks VMCLEAR and VMPTRLD share (SDM 31.3): the instruction may run,
 * its operand reads, and the pointer is a valid VMCS address that is not
 * the VMXON region; each failure with the instruction's own error number.
 * Returns false when the instruction has ended. */
static bool vmcs_ptr_operand(struct vcpu *v, unsigned bad_addr_err, unsigned vmxon_err, uint64_t *ptr)
{
    if (!vmx_insn_allowed(v, false) || read_ptr_operand(v, ptr))
        return false;
    if (!region_ok(v, *ptr)) {
        vm_fail(v, bad_addr_err);
        return false;
    }
    if (*ptr == nst(v)->vmxon_ptr) {
        vm_fail(v, vmxon_err);
        return false;
    }
    return true;
}

void nested_vmclear(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    uint64_t ptr;
    if (!vmcs_ptr_operand(v, VMXERR_VMCLEAR_BAD_ADDR, VMXERR_VMCLEAR_VMXON_PTR, &ptr))
        return;
    if (n->have_current && ptr == n->current_ptr) {
        vmcs12_set_header(n->vmcs12, VMCS12_OFF_LAUNCH, VMCS12_LAUNCH_CLEAR);
        vmcs12_writeback(v);
        n->have_current = false;
        shadow_attach(v);
    } else {
        uint32_t clear = VMCS12_LAUNCH_CLEAR;
        copy_to_gpa(v->dom, ptr + VMCS12_OFF_LAUNCH, &clear, sizeof(clear));
    }
    vm_succeed(v);
}

void nested_vmptrld(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    uint64_t ptr;
    if (!vmcs_ptr_operand(v, VMXERR_VMPTRLD_BAD_ADDR, VMXERR_VMPTRLD_VMXON_PTR, &ptr))
        return;
    uint32_t rev = region_u32(v, ptr, VMCS12_OFF_REVISION);
    bool shadow_ok = nested_allowed1(nested_caps_get(), MSR_VMX_PROCBASED2) & PROC2_VMCS_SHADOWING;
    if ((rev & ~VMCS12_SHADOW_INDICATOR) != VMCS12_REVISION ||
        ((rev & VMCS12_SHADOW_INDICATOR) && !shadow_ok)) {
        vm_fail(v, VMXERR_VMPTRLD_BAD_REVISION);
        return;
    }
    if (n->have_current)
        vmcs12_writeback(v);
    vmcs12_load(v, ptr);
    vm_succeed(v);
}

void nested_vmptrst(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    struct vmx_insn_info ii;
    if (!vmx_insn_allowed(v, false))
        return;
    insn_info(&ii);
    uint64_t ptr = n->have_current ? n->current_ptr : ~0ull;
    if (mem_operand(v, &ii, &ptr, 8, true))
        return;
    vm_succeed(v);
}

/* VMREAD and VMWRITE: the instruction may run and a VMCS is current
 * (else VMfailInvalid).  Returns false when the instruction has ended. */
static bool vmcs_field_insn_start(struct vcpu *v, struct vmx_insn_info *ii)
{
    if (!vmx_insn_allowed(v, false))
        return false;
    if (!nst(v)->have_current) {
        vm_fail_invalid(v);
        return false;
    }
    insn_info(ii);
    return true;
}

/* VMREAD's destination operand takes val (32 bits outside 64-bit mode).
 * False when a memory operand faulted (the fault is raised). */
static inline __attribute__((always_inline)) bool vmread_store(struct vcpu *v, const struct vmx_insn_info *ii, uint64_t val)
{
    bool l64 = long_mode_64();
    if (!l64)
        val = (uint32_t)val;
    if (ii->is_reg) {
        vcpu_set_gpr(v, ii->reg1, val);
        return true;
    }
    return !mem_operand(v, ii, &val, l64 ? 8 : 4, true);
}

/* VMWRITE's source operand (32 bits outside 64-bit mode).  False when a
 * memory operand faulted (the fault is raised). */
static inline __attribute__((always_inline)) bool vmwrite_source(struct vcpu *v, const struct vmx_insn_info *ii, uint64_t *val)
{
    bool l64 = long_mode_64();
    *val = 0;
    if (ii->is_reg)
        *val = vcpu_gpr(v, ii->reg1);
    else if (mem_operand(v, ii, val, l64 ? 8 : 4, false))
        return false;
    if (!l64)
        *val = (uint32_t)*val;
    return true;
}

void nested_vmread(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    struct vmx_insn_info ii;
    if (!vmcs_field_insn_start(v, &ii))
        return;
    uint64_t val, enc = reg_operand(v, ii.reg2);
    nested_vmcs12_sync(v, enc);
    if (vmcs12_read(n->vmcs12, enc, fields(), &val)) {
        vm_fail_valid(v, VMXERR_UNSUPPORTED_FIELD);
        return;
    }
    if (vmread_store(v, &ii, val))
        vm_succeed(v);
}

void nested_vmwrite(struct vcpu *v)
{
    struct vcpu_nested *n = nst(v);
    struct vmx_insn_info ii;
    uint64_t val;
    if (!vmcs_field_insn_start(v, &ii) || !vmwrite_source(v, &ii, &val))
        return;
    uint64_t enc = reg_operand(v, ii.reg2);
    nested_vmcs12_sync(v, enc);
    int err = vmcs12_write(n->vmcs12, enc, fields(), val, nested_caps_get()->vmwrite_any);
    if (err) {
        vm_fail_valid(v, (uint32_t)err);
        return;
    }
    nested_vmcs12_written(v, (uint32_t)enc);
    vm_succeed(v);
}

/* ---- L2's VMREAD/VMWRITE under vmcs12's VMCS shadowing --------------------- */

uint64_t nested_vmx_field_encoding(struct vcpu *v)
{
    struct vmx_insn_info ii;
    insn_info(&ii);
    return reg_operand(v, ii.reg2);
}

/* The shadow VMCS, in L1 memory (its place was checked at VM entry: a
 * link pointer is a rare field, so it cannot have moved since). */
static bool shadow12_read(struct vcpu *v, uint64_t link, uint8_t *buf)
{
    return link < v->dom->mem_bytes && v->dom->mem_bytes - link >= VMCS12_SIZE &&
           !copy_from_gpa(v->dom, buf, link, VMCS12_SIZE);
}

void nested_l2_vmcs_field(struct vcpu *v, bool write, uint64_t enc)
{
    struct vcpu_nested *n = nst(v);
    if (vcpu_cpl() > 0) {
        raise_exception(v, X86_EXC_GP, true, 0, 0);
        return;
    }
    uint64_t link = vmcs12_get(n->vmcs12, VMCS_LINK_POINTER);
    if (link == ~0ull) {
        vm_fail_invalid(v);
        return;
    }
    uint8_t shadow[VMCS12_SIZE];
    if (!shadow12_read(v, link, shadow)) {
        domain_crash(v->dom, "shadow VMCS at %#lx left L1's RAM", link);
        return;
    }
    struct vmx_insn_info ii;
    insn_info(&ii);
    uint64_t val;
    if (!write) {
        if (vmcs12_read(shadow, enc, fields(), &val))
            vm_fail_valid(v, VMXERR_UNSUPPORTED_FIELD);
        else if (vmread_store(v, &ii, val))
            vm_succeed(v);
        return;
    }
    if (!vmwrite_source(v, &ii, &val))
        return;
    int err = vmcs12_write(shadow, enc, fields(), val, nested_caps_get()->vmwrite_any);
    if (err) {
        vm_fail_valid(v, (uint32_t)err);
        return;
    }
    unsigned off = vmcs12_offset(vmcs12_lookup(enc, fields()));
    copy_to_gpa(v->dom, link + off, shadow + off, 8);
    vm_succeed(v);
}

/* VMLAUNCH and VMRESUME: the checks of SDM 27.1 that precede the checks of
 * the VMCS itself. */
static void vm_entry(struct vcpu *v, bool launch)
{
    struct vcpu_nested *n = nst(v);
    if (!insn_allowed(v, false))
        return;
    if (!n->have_current ||
        (vmcs12_header(n->vmcs12, VMCS12_OFF_REVISION) & VMCS12_SHADOW_INDICATOR)) {
        vm_fail_invalid(v);     /* no current VMCS, or a shadow VMCS */
        return;
    }
    if (vmread(VMCS_GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_MOV_SS) {
        vm_fail_valid(v, VMXERR_ENTRY_MOV_SS);
        return;
    }
    uint32_t state = vmcs12_header(n->vmcs12, VMCS12_OFF_LAUNCH);
    if (launch && state != VMCS12_LAUNCH_CLEAR) {
        vm_fail_valid(v, VMXERR_VMLAUNCH_NOT_CLEAR);
        return;
    }
    if (!launch && state != VMCS12_LAUNCH_LAUNCHED) {
        vm_fail_valid(v, VMXERR_VMRESUME_NOT_LAUNCHED);
        return;
    }
    nested_vm_entry(v, launch);
}

void nested_vmlaunch(struct vcpu *v) { vm_entry(v, true); }
void nested_vmresume(struct vcpu *v) { vm_entry(v, false); }

void nested_invept(struct vcpu *v)
{
    struct vmx_insn_info ii;
    if (!vmx_insn_allowed(v, false))
        return;
    insn_info(&ii);
    const struct nested_caps *c = nested_caps_get();
    uint64_t type = reg_operand(v, ii.reg2);
    if (!nested_invept_type_ok(c, type)) {
        vm_fail(v, VMXERR_INVEPT_INVVPID);
        return;
    }
    uint64_t desc[2];
    if (mem_operand(v, &ii, desc, sizeof(desc), false))
        return;
    if (type == INVEPT_SINGLE_CONTEXT && !nested_eptp_valid(c, desc[0])) {
        vm_fail(v, VMXERR_INVEPT_INVVPID);
        return;
    }
    ept02_invept(v, type, desc[0]);
    vm_succeed(v);
}

void nested_invvpid(struct vcpu *v)
{
    struct vmx_insn_info ii;
    if (!vmx_insn_allowed(v, false))
        return;
    insn_info(&ii);
    uint64_t type = reg_operand(v, ii.reg2);
    if (!nested_invvpid_type_ok(nested_caps_get(), type)) {
        vm_fail(v, VMXERR_INVEPT_INVVPID);
        return;
    }
    uint64_t desc[2];
    if (mem_operand(v, &ii, desc, sizeof(desc), false))
        return;
    uint64_t vpid = desc[0] & 0xffff;
    bool bad = (desc[0] >> 16) != 0;
    if (type != INVVPID_ALL_CONTEXT && vpid == 0)
        bad = true;             /* individual-address, single-context (2 kinds) */
    if (type == 0 && !is_canonical48(desc[1]))
        bad = true;
    if (bad) {
        vm_fail(v, VMXERR_INVEPT_INVVPID);
        return;
    }
    /* Every L1 VPID maps to the vCPU's one VPID for L2: flush it all (a
     * superset of what any type asks, which the SDM allows). */
    if (nst(v)->vmcs02_pa)
        invvpid(INVVPID_SINGLE_CONTEXT, nst(v)->vpid02);
    vm_succeed(v);
}
