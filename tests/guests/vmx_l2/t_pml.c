/*
 * Page-modification logging for L2 (SDM 29.3.6): with "enable PML" and EPT
 * accessed/dirty flags, each EPT dirty flag the processor sets for an L2
 * write logs the guest-physical page at the PML index, which then
 * decrements; a write that would set a dirty flag while the index is out
 * of 0-511 is a PML-full VM exit (reason 62) and sets no flag.
 */
#include "l1.h"

#define F_PML_ADDRESS 0x200e
#define F_PML_INDEX   0x0812
#define PROC2_PML     (1u << 17)
#define R_PML_FULL    62

static uint64_t pml_page[512] __attribute__((aligned(4096)));

static uint64_t tgpa(unsigned page) { return L2_TEST_GPA + page * 4096ul; }

/* Writes pages 0-5 (page 2 twice), reads page 6. */
L2FN static void l2_writes(uint64_t arg)
{
    for (unsigned i = 0; i < 6; i++)
        *(volatile uint64_t *)(tgpa(i) + 8 * i) = 0x1000 + i;
    *(volatile uint64_t *)(tgpa(2) + 0x100) = 7;
    (void)*(volatile uint64_t *)tgpa(6);
}

static bool pml_setup(void (*fn)(uint64_t), uint64_t index)
{
    if (!vm_setup(fn, 0) || !set_proc2(PROC2_PML))
        return false;
    for (unsigned i = 0; i < NR_TPAGES; i++)
        ept_pt1[i] &= ~(EPT_A | EPT_D);
    memset(pml_page, 0, sizeof(pml_page));
    vmw(F_PML_ADDRESS, pa(pml_page));
    vmw(F_PML_INDEX, index);
    uint64_t eptp_ad = eptp12 | (1ul << 6);
    vmw(F_EPTP, eptp_ad);
    static uint64_t desc[2];
    desc[0] = eptp_ad;
    vx_invept(1, desc);
    return true;
}

/* Bochs 2.7's own VT-x logs the full address (bits 11:0 too); the SDM
 * says the entry is the 4 KiB-aligned page.  Alignment is checked on its
 * own, under a hypervisor only; entries are compared by page. */
#define PAGE_OF(x) ((x) & ~0xffful)

/* The slot holding gpa's page, or -1. */
static int slot_of(uint64_t gpa)
{
    for (int i = 511; i >= 0; i--)
        if (pml_page[i] && PAGE_OF(pml_page[i]) == gpa)
            return i;
    return -1;
}

void t_pml(void)
{
    if (skip_if(!(cap.proc2_1 & PROC2_PML) || !ept_ad_supported(), "pml: PML or EPT A/D not offered"))
        return;
    ept_reset();
    if (!pml_setup(l2_writes, 511))
        return;
    struct exit_info *e = l2_run();
    CHECK(is_done(e), "pml: L2 ran to its end (%s)", E(e));
    /* L2's own stack and data writes are logged too (their EPT12 leaves
     * start clean): check the test pages among them. */
    uint64_t index = vmr(F_PML_INDEX);
    unsigned logged = 0;
    for (unsigned i = 0; i < 512; i++)
        logged += pml_page[i] != 0;
    CHECK(index < 511 && logged == 511 - index, "pml: one entry per decrement (index %lu, %u entries)", index,
          logged);
    int pos[7];
    bool once = true, order = true;
    for (unsigned i = 0; i < 7; i++) {
        pos[i] = slot_of(tgpa(i));
        unsigned n = 0;
        for (unsigned j = 0; j < 512; j++)
            n += pml_page[j] && PAGE_OF(pml_page[j]) == tgpa(i);
        once &= i == 6 ? n == 0 : n == 1;
        if (i && i < 6)
            order &= pos[i] >= 0 && pos[i] < pos[i - 1];
    }
    if (!once)
        for (unsigned j = (unsigned)index + 1; j < 512; j++)
            rt_printf("  pml[%u] = %#lx\n", j, pml_page[j]);
    CHECK(once, "pml: each written test page logged once (page 2 written twice), the page only read never");
    CHECK(order && pos[0] >= 0, "pml: test pages logged in write order (slots %d %d %d %d %d %d)", pos[0], pos[1],
          pos[2], pos[3], pos[4], pos[5]);
    CHECK((ept_pt1[2] & EPT_D) && (ept_pt1[6] & EPT_A) && !(ept_pt1[6] & EPT_D),
          "pml: EPT12 dirty flags set for writes only (%#lx, %#lx)", ept_pt1[2], ept_pt1[6]);
    if (under_hypervisor()) {
        bool aligned = true;
        for (unsigned j = 0; j < 512; j++)
            aligned &= !(pml_page[j] & 0xfff);
        CHECK(aligned, "pml: entries are 4 KiB-aligned guest-physical addresses (SDM 29.3.6)");
    } else {
        rt_printf("SKIP: pml: entry alignment (Bochs 2.7 logs bits 11:0 of the address)\n");
    }

    /* The same run with the log full just before page 2's entry: a
     * PML-full exit instead of that write (deterministic: same start). */
    if (pos[2] < 1)
        return;
    uint64_t before = 511 - (uint64_t)pos[2];      /* entries logged before page 2's */
    ept_reset();
    if (!pml_setup(l2_writes, before - 1))
        return;
    e = l2_run();
    CHECK(!e->vmfail && e->reason == R_PML_FULL, "pml: write with the log full: exit reason 62 (%s)", E(e));
    index = vmr(F_PML_INDEX);
    CHECK(index == 0xffff, "pml: the index wrapped to 0xffff (%#lx)", index);
    CHECK(PAGE_OF(pml_page[0]) == tgpa(1), "pml: the last entry before the full log is page 1 (%#lx)",
          pml_page[0]);
    CHECK(!(ept_pt1[2] & EPT_D), "pml: the write that hit the full log set no dirty flag (%#lx)", ept_pt1[2]);
    /* L1 empties the log; L2 repeats the write, which now logs. */
    memset(pml_page, 0, sizeof(pml_page));
    vmw(F_PML_INDEX, 511);
    e = l2_run();
    CHECK(is_done(e), "pml: after the log is emptied L2 runs to its end (%s)", E(e));
    CHECK(PAGE_OF(pml_page[511]) == tgpa(2) && slot_of(tgpa(5)) > 0, "pml: the resumed writes log, page 2 first (%#lx)",
          pml_page[511]);
    ept_reset();
}
