/* Guest-state checks of SDM 27.3.1 (the subset a hypervisor can get wrong
 * in practice: control registers, segments, RFLAGS, activity, link pointer). */
#include "vmcs_check.h"
#include "vmcs_fields.h"

#define AR_UNUSABLE     (1u << 16)
#define AR_TYPE(ar)     ((ar) & 0xf)
#define AR_S(ar)        (((ar) >> 4) & 1)
#define AR_DPL(ar)      (((ar) >> 5) & 3)
#define AR_P(ar)        (((ar) >> 7) & 1)
#define AR_L(ar)        (((ar) >> 13) & 1)
#define AR_DB(ar)       (((ar) >> 14) & 1)
#define AR_G(ar)        (((ar) >> 15) & 1)

#define FAIL(...) do { snprintf(buf, size, __VA_ARGS__); return true; } while (0)

static bool limit_granularity_ok(const struct seg_state *s)
{
    /* SDM: if any of limit[11:0] is 0, G must be 0; if any of limit[31:20]
     * is 1, G must be 1. */
    if ((s->limit & 0xfff) != 0xfff && AR_G(s->ar))
        return false;
    if ((s->limit & 0xfff00000) && !AR_G(s->ar))
        return false;
    return true;
}

static bool check_control_regs(const struct guest_state *g, bool ug, bool ia32e, char *buf, size_t size)
{
    uint64_t f0 = g->cr0_fixed0;
    if (ug)
        f0 &= ~(uint64_t)((1u << 0) | (1u << 31));     /* PE, PG free */
    if ((g->cr0 & f0) != f0 || (g->cr0 & ~g->cr0_fixed1))
        FAIL("guest CR0 %#lx violates the VMX fixed bits", g->cr0);
    if ((g->cr0 & (1ul << 31)) && !(g->cr0 & 1))
        FAIL("guest CR0.PG=1 with CR0.PE=0");
    if ((g->cr4 & g->cr4_fixed0) != g->cr4_fixed0 || (g->cr4 & ~g->cr4_fixed1))
        FAIL("guest CR4 %#lx violates the VMX fixed bits", g->cr4);
    if (ia32e && (!(g->cr0 & (1ul << 31)) || !(g->cr4 & (1u << 5))))
        FAIL("IA-32e mode guest needs CR0.PG=1 and CR4.PAE=1");
    if (!ia32e && (g->cr4 & (1u << 17)))
        FAIL("CR4.PCIDE=1 outside IA-32e mode");
    if (((g->efer >> 10) & 1) != ia32e)
        FAIL("EFER.LMA (%lu) differs from the IA-32e mode guest control (%d)", (g->efer >> 10) & 1, ia32e);
    if ((g->cr0 & (1ul << 31)) && ((g->efer >> 10) & 1) != ((g->efer >> 8) & 1))
        FAIL("EFER.LMA differs from EFER.LME with paging on");
    return false;
}

static bool check_segments(const struct guest_state *g, bool ia32e, bool ug, char *buf, size_t size)
{
    static const char *const names[GS_NR] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };
    const struct seg_state *cs = &g->seg[GS_CS], *ss = &g->seg[GS_SS], *tr = &g->seg[GS_TR];
    bool v86 = g->rflags & (1u << 17);

    if (v86)
        return false;       /* virtual-8086 segment rules not modelled */
    if (cs->ar & AR_UNUSABLE)
        FAIL("guest CS is unusable");
    /* SDM: types 9, 11, 13, 15 (accessed code), or 3 with unrestricted guest. */
    if (!((AR_TYPE(cs->ar) & 9) == 9 || (ug && AR_TYPE(cs->ar) == 3)) ||
        !AR_S(cs->ar) || !AR_P(cs->ar))
        FAIL("guest CS access rights %#x are not a present accessed code segment", cs->ar);
    if (ia32e && AR_L(cs->ar) && AR_DB(cs->ar))
        FAIL("guest CS has both L and D/B set");
    if (!(ss->ar & AR_UNUSABLE) && !ug && (ss->sel & 3) != (cs->sel & 3))
        FAIL("guest SS.RPL differs from CS.RPL");
    if (!(ss->ar & AR_UNUSABLE) && (AR_TYPE(ss->ar) != 3 && AR_TYPE(ss->ar) != 7))
        FAIL("guest SS type %u is not a writable data segment", AR_TYPE(ss->ar));
    for (unsigned i = GS_ES; i <= GS_GS; i++) {
        const struct seg_state *s = &g->seg[i];
        if (s->ar & AR_UNUSABLE)
            continue;
        if (!AR_P(s->ar) || !AR_S(s->ar))
            FAIL("guest %s access rights %#x: not present or not a code/data segment", names[i], s->ar);
        if (s->ar & 0xfffe0f00)
            FAIL("guest %s access rights %#x: reserved bits set", names[i], s->ar);
        if (!limit_granularity_ok(s))
            FAIL("guest %s limit %#x inconsistent with G", names[i], s->limit);
    }
    if (tr->ar & AR_UNUSABLE)
        FAIL("guest TR is unusable");
    if (tr->sel & 4)
        FAIL("guest TR selector has TI set");
    if (ia32e ? AR_TYPE(tr->ar) != 11 : (AR_TYPE(tr->ar) != 3 && AR_TYPE(tr->ar) != 11))
        FAIL("guest TR type %u is not a busy TSS", AR_TYPE(tr->ar));
    if (AR_S(tr->ar) || !AR_P(tr->ar))
        FAIL("guest TR access rights %#x: must be a present system segment", tr->ar);
    if (!(g->seg[GS_LDTR].ar & AR_UNUSABLE) &&
        (AR_TYPE(g->seg[GS_LDTR].ar) != 2 || AR_S(g->seg[GS_LDTR].ar) || !AR_P(g->seg[GS_LDTR].ar)))
        FAIL("guest LDTR access rights %#x: not a present LDT", g->seg[GS_LDTR].ar);
    return false;
}

bool guest_state_check(const struct guest_state *g, char *buf, size_t size)
{
    bool ug = g->proc2 & PROC2_UNRESTRICTED_GUEST;
    bool ia32e = g->entry_ctls & ENTRY_IA32E_MODE_GUEST;

    if (check_control_regs(g, ug, ia32e, buf, size) || check_segments(g, ia32e, ug, buf, size))
        return true;
    if (!(g->rflags & 2) || (g->rflags & 0xffffffffffc08028ul))
        FAIL("guest RFLAGS %#lx: reserved bits wrong", g->rflags);
    if ((!ia32e || !AR_L(g->seg[GS_CS].ar)) && (g->rip >> 32))
        FAIL("guest RIP %#lx above 4 GiB outside 64-bit mode", g->rip);
    if (g->activity > 3)
        FAIL("guest activity state %u is invalid", g->activity);
    if ((g->interruptibility & 3) == 3)
        FAIL("guest interruptibility blocks by both STI and MOV SS");
    if (g->link_ptr != ~0ull)
        FAIL("VMCS link pointer %#lx is not ~0", g->link_ptr);
    snprintf(buf, size, "no failing check found by the hv");
    return false;
}
