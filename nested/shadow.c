/* VMCS shadowing for L1 (SDM 25.10, 26.10): L1's VMREAD/VMWRITE of the
 * hot fields (vmcs02.c: the ones every L2 exit and entry touches) go to a
 * shadow VMCS without a VM exit.  L0 copies those fields between vmcs12
 * and the shadow VMCS at the points where either side needs them: into the
 * shadow when a vmcs12 becomes current and after every exit to L1; out of
 * it before an emulated VM entry, before an emulated VMREAD/VMWRITE and
 * before vmcs12 goes back to L1's memory.  The domain option
 * `vmcs_shadowing=0` turns it off (every VMREAD/VMWRITE exits) so the
 * difference can be measured. */
#include "vmcs02_hot.h"
#include "console.h"
#include "domain.h"
#include "pmm.h"
#include "vmx.h"
#include "x86.h"

/* Read-write for L1 through the shadow: vmcs02_hot_inputs.
 * Exit information: written by L0 at every exit to L1. */
static const uint16_t ro_fields[] = {
    VMCS_INSTR_ERROR, VMCS_EXIT_REASON, EXIT_INFO_COPIED(ENC_ITEM)
};

/* The fields that exist for L1 (features) and that the CPU lets L0 put in
 * a shadow VMCS (read-only ones need IA32_VMX_MISC[29]).  When all of
 * them do (the reference machine), the copies on the L2 exit and entry
 * paths are straight-line code over the X-macro lists; otherwise they
 * loop over these. */
static uint16_t live_rw[VMCS12_LIST_MAX], live_ro[ARRAY_SIZE(ro_fields)];
static unsigned nr_rw, nr_ro;
static bool lists_ready;
bool shadow_all_fields;
static struct vmcs12_list rw_list = { live_rw, 0, false, { 0 } }, ro_list = { live_ro, 0, false, { 0 } };

static void build_lists(void)
{
    unsigned f = nested_caps_get()->fields;
    for (unsigned i = 0; i < vmcs02_nr_hot_inputs && i < ARRAY_SIZE(live_rw); i++)
        if (vmcs12_lookup(vmcs02_hot_inputs[i], f))
            live_rw[nr_rw++] = vmcs02_hot_inputs[i];
    if (vmx_caps.misc & BIT(29))
        for (unsigned i = 0; i < ARRAY_SIZE(ro_fields); i++)
            if (vmcs12_lookup(ro_fields[i], f))
                live_ro[nr_ro++] = ro_fields[i];
    rw_list.n = nr_rw;
    ro_list.n = nr_ro;
    shadow_all_fields = nr_rw == vmcs02_nr_hot_inputs && nr_ro == ARRAY_SIZE(ro_fields);
    lists_ready = true;
}

bool shadow_field(uint32_t enc)
{
    if (!lists_ready)
        build_lists();
    for (unsigned i = 0; i < nr_rw; i++)
        if (live_rw[i] == enc)
            return true;
    for (unsigned i = 0; i < nr_ro; i++)
        if (live_ro[i] == enc)
            return true;
    return false;
}

bool shadow_enabled(const struct vcpu *v)
{
    return vmx_caps.has_vmcs_shadowing && !v->dom->cfg.no_vmcs_shadowing;
}

static void clear_bit(uint8_t *bm, uint32_t enc)
{
    bm[(enc & 0x7fff) / 8] &= (uint8_t)~(1u << (enc % 8));
}

static int alloc_shadow(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    if (!lists_ready)
        build_lists();
    n->shadow_pa = pmm_alloc_zeroed_page();
    n->vmread_bitmap_pa = pmm_alloc_zeroed_page();
    n->vmwrite_bitmap_pa = pmm_alloc_zeroed_page();
    if (!n->shadow_pa || !n->vmread_bitmap_pa || !n->vmwrite_bitmap_pa)
        return -1;
    *(uint32_t *)phys_to_virt(n->shadow_pa) = vmx_caps.revision | BIT(31);
    vmclear(n->shadow_pa);
    uint8_t *rd = phys_to_virt(n->vmread_bitmap_pa), *wr = phys_to_virt(n->vmwrite_bitmap_pa);
    memset(rd, 0xff, PAGE_SIZE);
    memset(wr, 0xff, PAGE_SIZE);
    for (unsigned i = 0; i < nr_rw; i++) {
        clear_bit(rd, live_rw[i]);
        clear_bit(wr, live_rw[i]);
    }
    for (unsigned i = 0; i < nr_ro; i++) {
        clear_bit(rd, live_ro[i]);
        clear_bit(wr, live_ro[i]);      /* MISC[29]: L1 may write them too */
    }
    return 0;
}

void shadow_from_vmcs12(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    vmptrld(n->shadow_pa);
    vmcs12_list_put(&rw_list, n->vmcs12);
    vmcs12_list_put(&ro_list, n->vmcs12);
    vmptrld(v->vmcs_pa);
}

void shadow_put(struct vcpu *v, uint32_t enc, uint64_t val)
{
    vmptrld(v->nested.shadow_pa);
    vmwrite(enc, val);
    vmptrld(v->vmcs_pa);
}

void shadow_to_vmcs12(struct vcpu *v, bool exit_info)
{
    struct vcpu_nested *n = &v->nested;
    vmptrld(n->shadow_pa);
    /* Off the hot path (shadow_hot_to_vmcs12 is the straight-line copy):
     * the list of what this CPU lets the shadow hold. */
    vmcs12_list_get(&rw_list, n->vmcs12);
    /* L1 may VMWRITE exit information too (MISC[29]); VM entry does not
     * read it, so only readers of the whole vmcs12 need it. */
    if (exit_info)
        vmcs12_list_get(&ro_list, n->vmcs12);
    vmptrld(v->vmcs_pa);
}

void shadow_attach(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    bool on = shadow_enabled(v) && n->have_current &&
              !(vmcs12_header(n->vmcs12, VMCS12_OFF_REVISION) & VMCS12_SHADOW_INDICATOR);
    if (on && !n->shadow_pa && alloc_shadow(v)) {
        hv_err("d%u: out of memory for VMCS shadowing; VMREAD/VMWRITE will exit", v->dom->id);
        on = false;
    }
    uint64_t proc2 = vmread(VMCS_PROC_CONTROLS2);
    if (on) {
        shadow_from_vmcs12(v);
        vmwrite(VMCS_VMREAD_BITMAP, n->vmread_bitmap_pa);
        vmwrite(VMCS_VMWRITE_BITMAP, n->vmwrite_bitmap_pa);
        vmwrite(VMCS_LINK_POINTER, n->shadow_pa);
        vmwrite(VMCS_PROC_CONTROLS2, proc2 | PROC2_VMCS_SHADOWING);
    } else {
        vmwrite(VMCS_LINK_POINTER, ~0ull);
        vmwrite(VMCS_PROC_CONTROLS2, proc2 & ~(uint64_t)PROC2_VMCS_SHADOWING);
    }
    n->shadow_live = on;
}

void nested_vcpu_destroy(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    if (n->in_l2) {             /* the vCPU's own VMCS is vmcs01 */
        v->vmcs_pa = n->vmcs01_pa;
        n->in_l2 = false;
    }
    uint64_t *pages[] = { &n->shadow_pa, &n->vmread_bitmap_pa, &n->vmwrite_bitmap_pa, &n->vmcs02_pa };
    for (unsigned i = 0; i < ARRAY_SIZE(pages); i++) {
        if (*pages[i]) {
            if (pages[i] == &n->shadow_pa || pages[i] == &n->vmcs02_pa)
                vmclear(*pages[i]);
            pmm_free(*pages[i], 1);
            *pages[i] = 0;
        }
    }
}

void nested_domain_destroy(struct domain *d)
{
    for (unsigned i = 0; i < EPT02_CACHE; i++) {
        struct ept02_slot *s = &d->nested.ept02[i];
        if (s->used)
            ept_destroy(&s->ept);
        s->used = false;
    }
}
