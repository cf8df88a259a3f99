/*
 * VMLAUNCH of mutated vmcs12s.  Each iteration starts from one valid
 * vmcs12 (the template: vmx_l2's vm_setup() for a 64-bit L2, moved into
 * the sandbox below), VMCLEARs and VMPTRLDs it, then
 *   all      writes a random value into every writable field the
 *            virtual CPU has (vmx_fields.h; exit-information fields too,
 *            IA32_VMX_MISC[29]) — about 5% of iterations;
 *   nohost   the same for every field but the host-state ones — 2%;
 *   few      mutates 1-4 random fields: a single or double bit flip of the
 *            template value, a random value, 0, all ones or a small value;
 *   control  nothing (every 97th iteration): L2 must run its stub;
 * then VMLAUNCHes and checks the outcome (SDM chapters 26 and 27):
 *   - never an exception, never VMfailInvalid (a VMCS is current);
 *   - VMfailValid: error 7 (controls, 26.2.1) only if a control field
 *     changed; 8 (host state, 26.2.2-26.2.4) only if a control or a host
 *     field changed; no other error; L2 did not run;
 *   - an entry-failure exit (26.7, 26.8): reason 33 (guest state) or 34
 *     (MSR loading) with bit 31, only if a guest or control field changed
 *     (34: only with the entry MSR-load list changed; its qualification is
 *     the number of the first bad entry, which L1 placed); L1 is back at
 *     HOST_RIP with RFLAGS 0x2, the guest state was not saved, L2 did not
 *     run;
 *   - otherwise L2 ran and exited with a basic exit reason (bits 30:16
 *     clear but 27/28/29 per 25.9.1); with no mutation, or only
 *     exit-information fields changed, it must be the stub's VMCALL.
 *
 * Host state.  A VM exit loads L1's state from the host fields, so random
 * host values that happened to pass the checks would crash L1 itself.
 * Whenever an iteration changes any host field (and in 2.5% of the others)
 * L1 also *poisons* the host state: one field set to a value the SDM
 * forbids whatever the others hold (CR0.PE or PG clear, CR4.VMXE clear, CS
 * or TR selector 0, an RPL or TI bit in a selector, RIP/FS/GS/TR/GDTR/IDTR
 * base/SYSENTER_EIP not canonical, CR3 beyond the physical-address width;
 * L1 runs in IA-32e mode, so with "host address-space size" cleared the
 * entry fails with 8 anyway).  A poisoned entry must fail with 8, or 7 if
 * a control changed too.  So every entry that reaches HOST_RIP had the
 * template's (valid) host state.
 *
 * Sandbox.  Entries that succeed run L2 on mutated guest state (any RIP,
 * RSP, CR3, mode, ...).  EPT12 maps only the sandbox: L2's code page (R+X:
 * `incq counter; vmcall; hlt; jmp` and int3 filler, no I/O or memory
 * operands in any decoding), its stack/counter page, its GDT/TSS and IDT
 * pages (read-only) and its page tables; the EPT12 tables, MSR lists and
 * the rest of L1 are not in it.  After each mutation, before the
 * VMLAUNCH, L1 enforces (documented and counted as "rules"):
 *   - pin "VMX-preemption timer" = 1 and its value <= 0x3ff, so L2 always
 *     exits (the other pin bits stay random);
 *   - "activate secondary controls" and "enable EPT" = 1, and an EPTP whose
 *     address is inside L1's RAM points at the sandbox EPT12 (addresses
 *     beyond RAM stay: L2 then gets EPT violations; other EPTP bits stay);
 *   - an MSR list (entry load, exit store, exit load) whose address and
 *     count pass the control checks (16-byte aligned, last byte within the
 *     width) is moved into a sandbox page at the same offset, its count
 *     cut to the page (an entry-load list beyond RAM stays: L0 must fail
 *     the entry with 34); the entry-load page holds TSC_AUX loads with one
 *     bad entry at a random place (or none);
 *   - a PML address that passes the checks is moved to a sandbox page;
 *   - activity state 3 (wait-for-SIPI, where the timer never exits) only
 *     if IA32_VMX_MISC does not offer it.
 * None of them changes whether a check fails except by making a control
 * field valid (the three control bits), so checks of every other field
 * and bit are still reached.  L1 rebuilds the sandbox after every L2 run
 * and at the end checks that guard pages around it are untouched.
 */
#include "lf.h"
#include "../vmx_insn/vmx_fields.h"

#define PAGE 4096
#define NF_MAX 200

/* ---- the sandbox ----------------------------------------------------------- */
enum {
    SB_CODE, SB_DATA, SB_DESC, SB_IDT, SB_L2PML4, SB_L2PDPT, SB_L2PD, SB_L2PT,
    SB_EPML4, SB_EPDPT, SB_EPD, SB_EPT, SB_NBUILT,
    SB_MSR_ENTRY = SB_NBUILT, SB_MSR_STORE, SB_MSR_EXIT, SB_PML, SB_GUARD0,
    SB_PAGES = 32,
};
static uint8_t sb[SB_PAGES][PAGE] __attribute__((aligned(SB_PAGES * PAGE)));
static uint8_t sb_pristine[SB_NBUILT][PAGE] __attribute__((aligned(PAGE)));
#define SB_COUNTER 0xf80        /* in SB_DATA */
#define SB_STACK   0xf00
#define SB_HANDLER 0x20         /* in SB_CODE */
static volatile uint64_t *const counter = (volatile uint64_t *)(sb[SB_DATA] + SB_COUNTER);

static uint64_t guard_word(unsigned pg, unsigned k) { return 0x4755415244000000ull ^ ((uint64_t)pg << 12) ^ k; }

static void sb_build(void)
{
    memset(sb, 0, sizeof(sb));
    /* Code: incq counter(%rip); vmcall; hlt; jmp 0 — handlers: vmcall; hlt; jmp. */
    uint8_t *c = sb[SB_CODE];
    memset(c, 0xcc, PAGE);
    uint32_t disp = (uint32_t)(pa(sb[SB_DATA] + SB_COUNTER) - (pa(c) + 7));
    static const uint8_t stub[] = { 0x48, 0xff, 0x05, 0, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xf4, 0xeb, 0xf3 };
    memcpy(c, stub, sizeof(stub));
    memcpy(c + 3, &disp, 4);
    static const uint8_t handler[] = { 0x0f, 0x01, 0xc1, 0xf4, 0xeb, 0xfb };
    memcpy(c + SB_HANDLER, handler, sizeof(handler));
    /* GDT (0x08 code, 0x10 data, 0x18 busy TSS at +0x100) and IDT. */
    uint64_t *g = (uint64_t *)sb[SB_DESC], tb = pa(sb[SB_DESC] + 0x100);
    g[1] = 0x00af9b000000ffffull;
    g[2] = 0x00cf93000000ffffull;
    g[3] = 0x67 | ((tb & 0xffffff) << 16) | (0x8bull << 40) | (((tb >> 24) & 0xff) << 56);
    g[4] = tb >> 32;
    uint64_t *idt = (uint64_t *)sb[SB_IDT], h = pa(c + SB_HANDLER);
    for (unsigned v = 0; v < 256; v++) {
        idt[2 * v] = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16) << 48);
        idt[2 * v + 1] = h >> 32;
    }
    /* L2 paging: identity for pages 0-3 of the sandbox, A/D preset. */
    uint64_t base = pa(sb);
    ((uint64_t *)sb[SB_L2PML4])[(base >> 39) & 511] = pa(sb[SB_L2PDPT]) | 0x23;
    ((uint64_t *)sb[SB_L2PDPT])[(base >> 30) & 511] = pa(sb[SB_L2PD]) | 0x23;
    ((uint64_t *)sb[SB_L2PD])[(base >> 21) & 511] = pa(sb[SB_L2PT]) | 0x23;
    const uint64_t nx = 1ull << 63, ad = 0x60;
    uint64_t *pt = (uint64_t *)sb[SB_L2PT];
    pt[((base >> 12) & 511) + SB_CODE] = pa(sb[SB_CODE]) | 1 | ad;
    pt[((base >> 12) & 511) + SB_DATA] = pa(sb[SB_DATA]) | 3 | ad | nx;
    pt[((base >> 12) & 511) + SB_DESC] = pa(sb[SB_DESC]) | 1 | ad | nx;
    pt[((base >> 12) & 511) + SB_IDT] = pa(sb[SB_IDT]) | 1 | ad | nx;
    /* EPT12: the same pages plus L2's page tables. */
    ((uint64_t *)sb[SB_EPML4])[(base >> 39) & 511] = pa(sb[SB_EPDPT]) | EPT_RWX;
    ((uint64_t *)sb[SB_EPDPT])[(base >> 30) & 511] = pa(sb[SB_EPD]) | EPT_RWX;
    ((uint64_t *)sb[SB_EPD])[(base >> 21) & 511] = pa(sb[SB_EPT]) | EPT_RWX;
    uint64_t *ept = (uint64_t *)sb[SB_EPT];
    static const uint64_t perm[8] = { EPT_R | EPT_X, EPT_R | EPT_W, EPT_R, EPT_R,
                                      EPT_R | EPT_W, EPT_R | EPT_W, EPT_R | EPT_W, EPT_R | EPT_W };
    for (unsigned i = 0; i < 8; i++)
        ept[((base >> 12) & 511) + i] = pa(sb[i]) | perm[i] | EPT_WB;
    memcpy(sb_pristine, sb, sizeof(sb_pristine));
    for (unsigned pg = SB_GUARD0; pg < SB_PAGES; pg++)
        for (unsigned k = 0; k < 512; k++)
            ((uint64_t *)sb[pg])[k] = guard_word(pg, k);
    /* Exit lists: TSC_AUX entries. */
    for (unsigned k = 0; k < 256; k++) {
        ((uint64_t *)sb[SB_MSR_STORE])[2 * k] = 0xc0000103;
        ((uint64_t *)sb[SB_MSR_EXIT])[2 * k] = 0xc0000103;
    }
}

static unsigned guards_damaged(void)
{
    unsigned bad = 0;
    for (unsigned pg = SB_GUARD0; pg < SB_PAGES; pg++)
        for (unsigned k = 0; k < 512; k++)
            bad += ((uint64_t *)sb[pg])[k] != guard_word(pg, k);
    return bad;
}

/* ---- fields ------------------------------------------------------------------ */
static struct vmx_caps_l1 vcaps;
static struct { uint16_t enc; uint8_t type; } fld[NF_MAX];
static uint64_t tmpl[NF_MAX], cur[NF_MAX];
static bool dirty[NF_MAX];
static unsigned nf, nguest, guest_idx[NF_MAX], nhost, host_idx[NF_MAX], nctl, ctl_idx[NF_MAX], nro, ro_idx[NF_MAX];

static int idx_of(uint16_t enc)
{
    for (unsigned i = 0; i < nf; i++)
        if (fld[i].enc == enc)
            return (int)i;
    return -1;
}

static unsigned pick(unsigned n) { return (unsigned)(rt_rand() % n); }

static unsigned width_bits(uint16_t enc)
{
    switch (enc_width(enc)) {
    case 0: return 16;
    case 2: return 32;
    default: return 64;
    }
}

static void set(uint16_t enc, uint64_t v)
{
    int i = idx_of(enc);
    if (i >= 0) {
        cur[i] = v & width_mask(enc);
        dirty[i] = true;
    }
}

static uint64_t get(uint16_t enc)
{
    int i = idx_of(enc);
    return i >= 0 ? cur[i] : 0;
}

static bool is_dirty(uint16_t enc)
{
    int i = idx_of(enc);
    return i >= 0 && dirty[i];
}

/* ---- the template ------------------------------------------------------------- */
static uint32_t vmcs_rev;
static uint64_t region_pa;

static bool template_setup(void)
{
    uint64_t *dst[] = { &vcaps.basic, &vcaps.pin, &vcaps.proc, &vcaps.exit, &vcaps.entry, &vcaps.misc,
                        &vcaps.cr0f0, &vcaps.cr0f1, &vcaps.cr4f0, &vcaps.cr4f1, &vcaps.vmcs_enum,
                        &vcaps.proc2, &vcaps.ept_vpid };
    for (unsigned i = 0; i < sizeof(dst) / sizeof(dst[0]); i++)
        rdmsr_safe(0x480 + i, dst[i]);
    bool ro_writable = vcaps.misc & (1ull << 29);
    nf = nguest = nhost = nctl = nro = 0;
    for (unsigned k = 0; k < NR_SDM_FIELDS && nf < NF_MAX; k++) {
        const struct sdm_field *f = &sdm_fields[k];
        if (!field_exists(&vcaps, f) || (enc_type(f->enc) == 1 && !ro_writable))
            continue;
        fld[nf].enc = f->enc;
        fld[nf].type = (uint8_t)enc_type(f->enc);
        switch (fld[nf].type) {
        case 0: ctl_idx[nctl++] = nf; break;
        case 1: ro_idx[nro++] = nf; break;
        case 2: guest_idx[nguest++] = nf; break;
        default: host_idx[nhost++] = nf; break;
        }
        nf++;
    }
    sb_build();
    if (skip_if(!(cap.pin1 & PIN_PREEMPT), "fuzz: no VMX-preemption timer (the backstop for L2)"))
        return false;
    if (!vm_setup((void (*)(uint64_t))0, 0) || !set_pin(PIN_PREEMPT) || !set_proc(PROC_HLT))
        return false;
    /* The timer counts the TSC, and under a hypervisor L0's work for L2
     * (vmcs02, EPT02 fills after each sandbox rebuild) takes TSC time
     * before L2's first instruction: the template's backstop is long
     * enough for L2 to reach its VMCALL there too. */
    vmw(F_PREEMPT_TIMER, 0x10000u >> (cap.misc & 0x1f));
    vmw(F_EXC_BITMAP, ~0u);
    vmw(F_EPTP, pa(sb[SB_EPML4]) | (3ul << 3) | 6);
    vmw(F_G_CR3, pa(sb[SB_L2PML4]));
    vmw(F_G_RIP, pa(sb[SB_CODE]));
    vmw(F_G_RSP, pa(sb[SB_DATA] + SB_STACK));
    vmw(F_G_GDTR_BASE, pa(sb[SB_DESC]));
    vmw(F_G_GDTR_LIMIT, 0x27);
    vmw(F_G_IDTR_BASE, pa(sb[SB_IDT]));
    vmw(F_G_IDTR_LIMIT, 0xfff);
    vmw(F_G_ES_BASE + 2 * 7, pa(sb[SB_DESC] + 0x100));     /* TR base */
    vmw(F_G_ES_LIMIT + 2 * 7, 0x67);
    vmw(F_ENTRY_MSR_LOAD_ADDR, pa(sb[SB_MSR_ENTRY]));
    vmw(F_EXIT_MSR_STORE_ADDR, pa(sb[SB_MSR_STORE]));
    vmw(F_EXIT_MSR_LOAD_ADDR, pa(sb[SB_MSR_EXIT]));
    int pml = idx_of(0x200e);
    if (pml >= 0)
        vmw(0x200e, pa(sb[SB_PML]));
    memset(&l2r, 0, sizeof(l2r));
    unsigned unread = 0;
    for (unsigned i = 0; i < nf; i++) {
        struct vres r = vx_vmread(fld[i].enc, &tmpl[i]);
        if (!vx_ok(r) && unread++ < 5)
            rt_printf("fuzz: VMREAD of field %#x failed\n", fld[i].enc);
        cur[i] = tmpl[i];
    }
    if (!CHECK(unread == 0, "fuzz: the template: VMREAD of each of %u fields (%u failed)", nf, unread))
        return false;
    vx_vmptrst(&region_pa);
    memcpy(&vmcs_rev, vmcs_region, 4);
    rt_printf("fuzz: %u writable fields (%u control, %u guest, %u host, %u exit-information)\n", nf, nctl,
              nguest, nhost, nro);
    return true;
}

/* ---- mutations ------------------------------------------------------------------ */
static uint64_t random_value(unsigned i)
{
    unsigned w = width_bits(fld[i].enc);
    uint64_t t = tmpl[i];
    switch (pick(20)) {
    case 0 ... 10: return t ^ (1ull << pick(w));
    case 11: return t ^ (1ull << pick(w)) ^ (1ull << pick(w));
    case 12 ... 15: return rt_rand();
    case 16: return 0;
    case 17: return ~0ull;
    case 18: return rt_rand() & 0xff;
    default: return t ^ (rt_rand() & 0xff);
    }
}

static void mutate(unsigned i, uint64_t v)
{
    cur[i] = v & width_mask(fld[i].enc);
    dirty[i] = true;
}

/* What the sandbox rules did (for the summary). */
static unsigned rule_counts[8];
static int entry_bad_at;            /* 0-based bad entry in the redirected entry-load list, -1 none */
static unsigned entry_bad_kind;
static const char *const bad_kind_name[] = { "reserved bits 63:32", "FS/GS base", "x2APIC MSR", "TSC_AUX bits 63:32" };
static bool entry_list_redirected;
static uint32_t entry_list_count;

static bool list_passes(uint64_t a, uint32_t n)
{
    return !(a & 0xf) && !(a >> maxphy) && !((a + 16ull * n - 1) >> maxphy);
}

static void redirect_list(uint16_t addr_enc, uint16_t count_enc, unsigned page, bool keep_beyond_ram,
                          unsigned rule)
{
    uint64_t a = get(addr_enc);
    uint32_t n = (uint32_t)get(count_enc);
    if (!n || !list_passes(a, n))
        return;
    if (keep_beyond_ram && a >= rt_boot.mem_bytes)
        return;
    if (a == pa(sb[page]) + (a & 0xff0) && n <= (PAGE - (a & 0xff0)) / 16)
        return;                     /* already in the sandbox */
    uint64_t off = a & 0xff0;
    set(addr_enc, pa(sb[page]) + off);
    if (n > (PAGE - off) / 16)
        set(count_enc, (PAGE - off) / 16);
    rule_counts[rule]++;
}

static void sandbox_rules(void)
{
    if (is_dirty(F_PIN) && !(get(F_PIN) & PIN_PREEMPT)) {
        set(F_PIN, get(F_PIN) | PIN_PREEMPT);
        rule_counts[0]++;
    }
    if (is_dirty(F_PREEMPT_TIMER) && get(F_PREEMPT_TIMER) > 0x3ff) {
        set(F_PREEMPT_TIMER, get(F_PREEMPT_TIMER) & 0x3ff);
        rule_counts[1]++;
    }
    if ((is_dirty(F_PROC) && !(get(F_PROC) & PROC_SECONDARY)) || (is_dirty(F_PROC2) && !(get(F_PROC2) & PROC2_EPT))) {
        set(F_PROC, get(F_PROC) | PROC_SECONDARY);
        set(F_PROC2, get(F_PROC2) | PROC2_EPT);
        rule_counts[2]++;
    }
    if (is_dirty(F_EPTP)) {
        uint64_t am = ((1ull << maxphy) - 1) & ~0xfffull, e = get(F_EPTP);
        if ((e & am) < rt_boot.mem_bytes && (e & am) != pa(sb[SB_EPML4])) {
            set(F_EPTP, (e & ~am) | pa(sb[SB_EPML4]));
            rule_counts[3]++;
        }
    }
    uint32_t n0 = (uint32_t)get(F_ENTRY_MSR_LOAD_COUNT);
    uint64_t a0 = get(F_ENTRY_MSR_LOAD_ADDR);
    redirect_list(F_ENTRY_MSR_LOAD_ADDR, F_ENTRY_MSR_LOAD_COUNT, SB_MSR_ENTRY, true, 4);
    redirect_list(F_EXIT_MSR_STORE_ADDR, F_EXIT_MSR_STORE_COUNT, SB_MSR_STORE, false, 5);
    redirect_list(F_EXIT_MSR_LOAD_ADDR, F_EXIT_MSR_LOAD_COUNT, SB_MSR_EXIT, false, 5);
    entry_list_count = (uint32_t)get(F_ENTRY_MSR_LOAD_COUNT);
    uint64_t a1 = get(F_ENTRY_MSR_LOAD_ADDR);
    entry_list_redirected = entry_list_count && list_passes(a1, entry_list_count) &&
                            a1 >= pa(sb[SB_MSR_ENTRY]) && a1 < pa(sb[SB_MSR_ENTRY]) + PAGE;
    (void)n0, (void)a0;
    int pml = idx_of(0x200e);
    if (pml >= 0 && dirty[pml] && !(cur[pml] & 0xfff) && !(cur[pml] >> maxphy) && cur[pml] != pa(sb[SB_PML])) {
        set(0x200e, pa(sb[SB_PML]));
        rule_counts[6]++;
    }
    if (is_dirty(F_G_ACTIVITY) && get(F_G_ACTIVITY) == 3 && (cap.misc & (1ul << 8))) {
        set(F_G_ACTIVITY, 0);
        rule_counts[7]++;
    }
}

/* The entry-load page: TSC_AUX loads, one bad entry at entry_bad_at. */
static void entry_list_fill(void)
{
    uint64_t *m = (uint64_t *)sb[SB_MSR_ENTRY];
    entry_bad_at = pick(3) ? (int)pick(260) : -1;
    if (entry_bad_at >= 256)
        entry_bad_at = -1;
    for (unsigned k = 0; k < 256; k++) {
        m[2 * k] = 0xc0000103;
        m[2 * k + 1] = rt_rand() & 0xffffffff;
    }
    if (entry_bad_at >= 0) {
        uint64_t *e = &m[2 * entry_bad_at];
        /* Bochs 2.7's own VT-x loads TSC_AUX bits 63:32 without the #GP
         * WRMSR raises (a VM-entry failure by 26.4): not on bare metal. */
        entry_bad_kind = pick(bare ? 3 : 4);
        switch (entry_bad_kind) {
        case 0: e[0] |= (1ull << (32 + pick(32))); break;                    /* reserved bits 63:32 */
        case 1: e[0] = 0xc0000100 + pick(2); break;                           /* FS/GS base */
        case 2: e[0] = 0x800 + pick(256); break;                              /* x2APIC */
        default: e[1] |= 1ull << (32 + pick(32)); break;                      /* TSC_AUX 63:32: #GP */
        }
    }
}

static const char *const poison_name[] = {
    "CR0.PE=0", "CR0.PG=0", "CR4.VMXE=0", "CS=0", "TR=0", "SS.RPL", "DS.TI", "CS.TI", "RIP non-canonical",
    "CR3 beyond width", "FS base non-canonical", "GS base non-canonical", "TR base non-canonical",
    "GDTR base non-canonical", "IDTR base non-canonical", "SYSENTER_EIP non-canonical",
};
#define NPOISON (sizeof(poison_name) / sizeof(poison_name[0]))

static uint64_t noncanon(uint64_t v) { return (v & 0x00007fffffffffffull) | (0x4000ull << 48); }

static void poison(unsigned p)
{
    uint64_t t;
    switch (p) {
    case 0: set(F_H_CR0, tmpl[idx_of(F_H_CR0)] & ~1ul); break;
    case 1: set(F_H_CR0, tmpl[idx_of(F_H_CR0)] & ~(1ul << 31)); break;
    case 2: set(F_H_CR4, tmpl[idx_of(F_H_CR4)] & ~CR4_VMXE); break;
    case 3: set(F_H_CS_SEL, 0); break;
    case 4: set(F_H_TR_SEL, 0); break;
    case 5: set(F_H_SS_SEL, tmpl[idx_of(F_H_SS_SEL)] | (1 + pick(3))); break;
    case 6: set(F_H_DS_SEL, tmpl[idx_of(F_H_DS_SEL)] | 4); break;
    case 7: set(F_H_CS_SEL, tmpl[idx_of(F_H_CS_SEL)] | 4); break;
    case 8: set(F_H_RIP, noncanon(tmpl[idx_of(F_H_RIP)])); break;
    case 9: t = tmpl[idx_of(F_H_CR3)]; set(F_H_CR3, t | (1ull << (maxphy < 52 ? maxphy + pick(52 - maxphy) : 63))); break;
    case 10: set(F_H_FS_BASE, noncanon(rt_rand())); break;
    case 11: set(F_H_GS_BASE, noncanon(rt_rand())); break;
    case 12: set(F_H_TR_BASE, noncanon(tmpl[idx_of(F_H_TR_BASE)])); break;
    case 13: set(F_H_GDTR_BASE, noncanon(tmpl[idx_of(F_H_GDTR_BASE)])); break;
    case 14: set(F_H_IDTR_BASE, noncanon(tmpl[idx_of(F_H_IDTR_BASE)])); break;
    default: set(F_H_SYSENTER_EIP, noncanon(rt_rand())); break;
    }
}

/* ---- one iteration ----------------------------------------------------------------- */
enum { M_CONTROL, M_ALL, M_NOHOST, M_FEW };
static const char *const mode_name[] = { "control", "all", "nohost", "few" };
enum { O_FAIL7, O_FAIL8, O_EF33, O_EF34, O_RAN, O_RAN_VMCALL, O_BAD, O_N };
static unsigned outcome[O_N], modes[4], reasons[80], poisoned, nvmwrite_fail;
static unsigned per_mode[4][O_N];

static bool trace, verbose;

static void dump(unsigned it, unsigned mode, int pz)
{
    if (mismatches > 25 && !verbose)
        return;
    rt_printf("  iteration %u (mode %s%s%s):", it, mode_name[mode], pz >= 0 ? ", poison " : "",
              pz >= 0 ? poison_name[pz] : "");
    unsigned shown = 0;
    for (unsigned i = 0; i < nf; i++) {
        if (!dirty[i])
            continue;
        if (mode == M_FEW || shown < 6)
            rt_printf(" %#x=%#lx", fld[i].enc, cur[i]);
        shown++;
    }
    rt_printf("%s\n", shown > 6 && mode != M_FEW ? " ..." : "");
}

static void restore(bool ran)
{
    for (unsigned i = 0; i < nf; i++) {
        if (dirty[i] || (ran && fld[i].type == 2)) {
            if (!vx_ok(vx_vmwrite(fld[i].enc, tmpl[i])))
                nvmwrite_fail++;
            cur[i] = tmpl[i];
            dirty[i] = false;
        }
    }
    if (ran)
        memcpy(sb, sb_pristine, sizeof(sb_pristine));
}

static void iteration(unsigned it, uint64_t seed)
{
    rt_srand(seed ^ ((uint64_t)(it + 1) * 0x9e3779b97f4a7c15ull));
    unsigned mode = M_FEW, r = pick(100);
    if (it % 97 == 0)
        mode = M_CONTROL;
    else if (r < 5)
        mode = M_ALL;
    else if (r < 7)
        mode = M_NOHOST;
    modes[mode]++;
    static uint64_t ptr;
    ptr = region_pa;
    struct vres v1 = vx_vmclear(&ptr), v2 = vx_vmptrld(&ptr);
    if (!vx_ok(v1) || !vx_ok(v2)) {
        mismatch("iteration %u: VMCLEAR/VMPTRLD of the template vmcs12 failed", it);
        return;
    }
    l2_set_launched(false);

    if (mode == M_ALL || mode == M_NOHOST) {
        for (unsigned i = 0; i < nf; i++)
            if (mode == M_ALL || fld[i].type != 3)
                mutate(i, pick(4) ? rt_rand() : random_value(i));
    } else if (mode == M_FEW) {
        unsigned n = 1 + pick(4);
        for (unsigned k = 0; k < n; k++) {
            unsigned c = pick(100), i;
            if (c < 45)
                i = guest_idx[pick(nguest)];
            else if (c < 77)
                i = ctl_idx[pick(nctl)];
            else if (c < 88 && nro)
                i = ro_idx[pick(nro)];
            else
                i = host_idx[pick(nhost)];
            mutate(i, random_value(i));
        }
    }
    bool C = false, G = false, H = false;
    for (unsigned i = 0; i < nf; i++) {
        if (!dirty[i] || cur[i] == tmpl[i])
            continue;
        C |= fld[i].type == 0;
        G |= fld[i].type == 2;
        H |= fld[i].type == 3;
    }
    sandbox_rules();
    int pz = -1;
    if (H || (mode != M_CONTROL && pick(40) == 0)) {
        pz = (int)pick(NPOISON);
        poison((unsigned)pz);
        poisoned++;
    }
    if (entry_list_redirected || is_dirty(F_ENTRY_MSR_LOAD_COUNT) || is_dirty(F_ENTRY_MSR_LOAD_ADDR))
        entry_list_fill();
    for (unsigned i = 0; i < nf; i++)
        if (dirty[i] && !vx_ok(vx_vmwrite(fld[i].enc, cur[i])))
            nvmwrite_fail++;
    /* A poisoned or only exit-information iteration: what changed is known. */
    bool exit_info_only = !C && !G && !H && pz < 0;
    bool entry_list = is_dirty(F_ENTRY_MSR_LOAD_COUNT) || is_dirty(F_ENTRY_MSR_LOAD_ADDR);
    uint64_t grip = get(F_G_RIP), cnt0 = *counter;

    struct exit_info *e = l2_run();
    uint64_t cnt1 = *counter;
    unsigned o = O_BAD;
    bool bad = false;
    if (e->vmfail) {
        uint64_t fl = e->fail_flags & VMX_FLAGS;
        uint64_t err = fl == FL_ZF ? vmr(F_INSN_ERROR) : ~0ull;
        if (fl == FL_ZF && err == 7)
            o = O_FAIL7;
        else if (fl == FL_ZF && err == 8)
            o = O_FAIL8;
        if (o == O_BAD)
            mismatch("iteration %u: VMLAUNCH -> flags %#lx error %ld: only VMfailValid(7) or (8) may happen", it,
                     e->fail_flags, (long)err);
        else if (o == O_FAIL7 && !C)
            bad = true, mismatch("iteration %u: VMfailValid(7) but no control field changed", it);
        else if (o == O_FAIL8 && !C && !H && pz < 0)
            bad = true, mismatch("iteration %u: VMfailValid(8) but no control or host field changed", it);
        else if (pz >= 0 && !C && o != O_FAIL8)
            bad = true, mismatch("iteration %u: poisoned host state (%s) but not VMfailValid(8)", it, poison_name[pz]);
        if (cnt1 != cnt0)
            bad = true, mismatch("iteration %u: VMfail, yet L2 ran (counter %lu -> %lu)", it, cnt0, cnt1);
    } else if (e->reason & EXIT_FAILED_ENTRY) {
        unsigned basic = e->reason & 0xffff;
        o = basic == R_BAD_GUEST ? O_EF33 : basic == R_MSR_LOAD ? O_EF34 : O_BAD;
        if (o == O_BAD || (e->reason & 0x7fff0000))
            o = O_BAD, mismatch("iteration %u: entry failure with exit reason %#x: only 33 or 34 may happen", it,
                                e->reason);
        else if (pz >= 0)
            bad = true, mismatch("iteration %u: poisoned host state (%s), yet an entry-failure exit (%#x) reached HOST_RIP",
                                 it, poison_name[pz], e->reason);
        else if (o == O_EF33 && !C && !G)
            bad = true, mismatch("iteration %u: entry failure 33 but no guest or control field changed", it);
        else if (o == O_EF33 && (e->qual == 1 || e->qual > 4))
            bad = true, mismatch("iteration %u: entry failure 33 with qualification %lu (0, 2, 3 or 4)", it, e->qual);
        else if (o == O_EF34 && !entry_list)
            bad = true, mismatch("iteration %u: entry failure 34 but the entry MSR-load list is the template's", it);
        else if (o == O_EF34 && entry_list_redirected && (entry_bad_at < 0 || e->qual != (uint64_t)entry_bad_at + 1))
            bad = true, mismatch("iteration %u: entry failure 34 with qualification %lu, the first bad entry is %d of %u",
                                 it, e->qual, entry_bad_at + 1, entry_list_count);
        else if (o == O_EF34 && (e->qual == 0 || e->qual > entry_list_count))
            bad = true, mismatch("iteration %u: entry failure 34 with qualification %lu, list of %u", it, e->qual,
                                 entry_list_count);
        if (e->host_rflags != 0x2 || cnt1 != cnt0 || vmr(F_G_RIP) != grip)
            bad = true, mismatch("iteration %u: entry failure: RFLAGS %#lx (0x2), counter %lu -> %lu, guest RIP %#lx (%#lx)",
                                 it, e->host_rflags, cnt0, cnt1, vmr(F_G_RIP), grip);
    } else {
        o = O_RAN;
        unsigned basic = e->reason & 0xffff;
        reasons[basic < 80 ? basic : 79]++;
        if (pz >= 0)
            bad = true, mismatch("iteration %u: poisoned host state (%s), yet L2 ran (exit %#x)", it, poison_name[pz],
                                 e->reason);
        if ((e->reason & 0xc7ff0000) || basic >= 80)
            bad = true, mismatch("iteration %u: exit reason %#x is no basic exit reason", it, e->reason);
        if (e->host_rflags != 0x2)
            bad = true, mismatch("iteration %u: after the exit RFLAGS %#lx (0x2)", it, e->host_rflags);
        if (entry_list_redirected && entry_bad_at >= 0 && entry_list_count > (uint32_t)entry_bad_at)
            bad = true, mismatch("iteration %u: entry MSR-load list of %u, entry %d bad (%s), yet L2 ran", it,
                                 entry_list_count, entry_bad_at + 1, bad_kind_name[entry_bad_kind]);
        bool vmcall = basic == R_VMCALL && e->rip == pa(sb[SB_CODE]) + 7 && cnt1 == cnt0 + 1;
        if (vmcall)
            o = O_RAN_VMCALL;
        if ((mode == M_CONTROL || exit_info_only) && !vmcall)
            bad = true, mismatch("iteration %u: template%s: L2 must run its stub to the VMCALL (%s, counter %lu -> %lu)",
                                 it, mode == M_CONTROL ? "" : " with exit-information fields changed", exit_str(e),
                                 cnt0, cnt1);
    }
    if ((mode == M_CONTROL || exit_info_only) && o != O_RAN_VMCALL && !bad)
        bad = true, mismatch("iteration %u: the template (exit-information fields aside) must run", it);
    if (o == O_BAD || bad || verbose)
        dump(it, mode, pz);
    if (trace)
        rt_printf("T%u %u %lx\n", it, o, e->vmfail ? vmr(F_INSN_ERROR) : (uint64_t)e->reason << 8 | (e->qual & 0xff));
    outcome[o]++;
    per_mode[mode][o]++;
    restore(o == O_RAN || o == O_RAN_VMCALL);
}

/* A vmcs12 that L0's checks pass but the CPU may still refuse on vmcs02
 * (Bochs refuses a non-conforming CS with RPL != DPL even with
 * "unrestricted guest"; the SDM does not), after vmcs02 was launched by an
 * earlier L2 run: whatever the outcome, the template must run afterwards
 * (L0 once lost vmcs02's launch state there and failed every later entry
 * with VMfailValid(4)). */
static void after_cpu_refusal(uint64_t seed)
{
    static uint64_t ptr;
    bool ok = true;
    for (unsigned round = 0; round < 3 && ok; round++) {
        ptr = region_pa;
        vx_vmclear(&ptr), vx_vmptrld(&ptr);
        l2_set_launched(false);
        struct exit_info *e = l2_run();
        ok &= !e->vmfail && e->reason == R_VMCALL;
        restore(true);
        if (!(cap.proc2_1 & PROC2_UNRESTRICTED))
            break;
        ptr = region_pa;
        vx_vmclear(&ptr), vx_vmptrld(&ptr);
        l2_set_launched(false);
        set(F_PROC2, get(F_PROC2) | PROC2_UNRESTRICTED);
        set(F_G_CS_SEL, 0x08 | (1 + round % 3));
        for (unsigned i = 0; i < nf; i++)
            if (dirty[i])
                vx_vmwrite(fld[i].enc, cur[i]);
        e = l2_run();
        bool ran = !e->vmfail && !(e->reason & EXIT_FAILED_ENTRY);
        ok &= ran || (!e->vmfail && e->reason == (EXIT_FAILED_ENTRY | R_BAD_GUEST));
        rt_printf("fuzz: unrestricted guest, CS RPL %u: %s\n", 1 + round % 3, exit_str(e));
        restore(ran);
    }
    CHECK(ok, "fuzz: after entries the CPU itself may refuse, the template runs again");
    (void)seed;
}

void fuzz_launch(void)
{
    unsigned iters = (unsigned)rt_arg_u64("iterations", 10000), first = (unsigned)rt_arg_u64("first", 0);
    uint64_t seed = rt_arg_u64("seed", 1);
    trace = rt_arg_flag("trace");
    verbose = rt_arg_flag("verbose");
    if (!template_setup())
        return;
    rt_printf("fuzz: iterations %u..%u, seed %lu\n", first, first + iters - 1, seed);
    uint64_t t0 = rdtsc();
    for (unsigned it = first; it < first + iters; it++) {
        iteration(it, seed * 0x2545f4914f6cdd1dull);
        if ((it - first) % 2500 == 2499)
            rt_printf("fuzz: %u iterations, %u mismatches\n", it - first + 1, mismatches);
    }
    uint64_t dt = rdtsc() - t0;
    rt_printf("fuzz: done: %u iterations, %u mismatches\n", iters, mismatches);
    after_cpu_refusal(seed);
    rt_printf("fuzz: outcomes: VMfailValid(7) %u, VMfailValid(8) %u, entry failure 33 %u, 34 %u, "
              "L2 ran %u (stub VMCALL %u), other %u\n", outcome[O_FAIL7], outcome[O_FAIL8], outcome[O_EF33],
              outcome[O_EF34], outcome[O_RAN] + outcome[O_RAN_VMCALL], outcome[O_RAN_VMCALL], outcome[O_BAD]);
    for (unsigned m = 0; m < 4; m++)
        rt_printf("fuzz: mode %s: %u iterations: 7 %u, 8 %u, 33 %u, 34 %u, ran %u\n", mode_name[m], modes[m],
                  per_mode[m][O_FAIL7], per_mode[m][O_FAIL8], per_mode[m][O_EF33], per_mode[m][O_EF34],
                  per_mode[m][O_RAN] + per_mode[m][O_RAN_VMCALL]);
    rt_printf("fuzz: poisoned %u; rules: timer on %u, timer value %u, EPT on %u, EPTP %u, entry list %u, "
              "exit lists %u, PML %u, activity %u\n", poisoned, rule_counts[0], rule_counts[1], rule_counts[2],
              rule_counts[3], rule_counts[4], rule_counts[5], rule_counts[6], rule_counts[7]);
    rt_printf("fuzz: L2 exit reasons:");
    for (unsigned r = 0; r < 80; r++)
        if (reasons[r])
            rt_printf(" %u:%u", r, reasons[r]);
    rt_printf("\nfuzz: %lu Mcycles, %lu kcycles per iteration\n", dt >> 20, dt / iters >> 10);

    static uint64_t ptr;
    ptr = region_pa;
    vx_vmclear(&ptr);
    unsigned total = 0;
    for (unsigned o = 0; o < O_N; o++)
        total += outcome[o];
    CHECK(total == iters && outcome[O_BAD] == 0,
          "fuzz: L1 survived %u VMLAUNCHes of mutated vmcs12s, each VMfailValid(7/8), an entry failure "
          "(33/34) or an L2 run (%u other)", total, outcome[O_BAD]);
    CHECK(iters >= 10000 || rt_arg_flag("iterations"), "fuzz: at least 10000 iterations (%u)", iters);
    bool mix = outcome[O_FAIL7] && outcome[O_FAIL8] && outcome[O_EF33] && outcome[O_RAN] + outcome[O_RAN_VMCALL];
    CHECK(mix || iters < 1000, "fuzz: a mix of outcomes: 7 %u, 8 %u, 33 %u, 34 %u, ran %u", outcome[O_FAIL7],
          outcome[O_FAIL8], outcome[O_EF33], outcome[O_EF34], outcome[O_RAN] + outcome[O_RAN_VMCALL]);
    CHECK(nvmwrite_fail == 0, "fuzz: every VMWRITE of an existing field succeeded (%u failed)", nvmwrite_fail);
    unsigned g = guards_damaged();
    CHECK(g == 0, "fuzz: the guard pages around the sandbox are untouched (%u words differ)", g);
}
