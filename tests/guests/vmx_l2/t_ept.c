/*
 * EPT12 shapes (SDM chapter 29.3): not-present entries at the PDPT and PT
 * levels, read-only and execute-only pages, a non-executable page, a 2 MiB
 * and a 1 GiB leaf, misconfigurations (write without read, memory type 2)
 * fixed by L1 followed by INVEPT, remapping a page under a running L2,
 * an EPT violation during L2's own page walk, and EPT accessed/dirty
 * flags.  Exit qualification of EPT violations (Table 28-7): bits 2:0 the
 * access (read, write, fetch), 5:3 the permissions of the translation
 * (R, W, X), bit 7 guest-linear address valid, bit 8 the access was to
 * the translation of that linear address (1) or to a paging structure (0).
 */
#include "l1.h"

#define QMASK 0x1bful

static volatile uint64_t out[16];
static volatile uint64_t marker = 0x1a2b3c4d5e6f7788ull;
static volatile uint64_t marker2;

static uint64_t tgpa(unsigned i, unsigned off) { return L2_TEST_GPA + (uint64_t)i * 4096 + off; }

static void set_pt1(unsigned i, uint64_t v)
{
    ept_pt1[i] = v;
    invept_single();
}

static bool violation(struct exit_info *e, const char *what, uint64_t gpa, uint64_t gla, uint64_t qual)
{
    return CHECK(!e->vmfail && e->reason == R_EPT_VIOLATION && (e->qual & QMASK) == qual && e->gpa == gpa &&
                 e->gla == gla, "%s: EPT violation, qualification %#lx & %#lx = %#lx, GPA %#lx, GLA %#lx (%s)",
                 what, e->qual, QMASK, qual, gpa, gla, E(e));
}

/* ---- L2 programs ----------------------------------------------------------- */
L2FN static void l2_read(uint64_t gpa)
{
    out[0] = *(volatile uint64_t *)gpa;
    out[1] = 1;
}

L2FN static void l2_write(uint64_t gpa)
{
    *(volatile uint64_t *)gpa = 0x77777777abcdull;
    out[1] = 1;
}

extern char l2_ept_fault[];
L2FN static void l2_read_fixup(uint64_t gpa)
{
    uint64_t v = 0;
    __asm__ volatile("1: .globl l2_ept_fault\nl2_ept_fault: mov (%1), %0\n2:\n\t" RT_EXTABLE(1b, 2b)
                     : "+r"(v) : "r"(gpa) : "memory");
    out[0] = v;
    out[1] = 1;
}

L2FN static void l2_call(uint64_t gpa)
{
    out[0] = ((uint64_t (*)(void))gpa)();
    out[1] = 1;
}

L2FN static void l2_exec_then_read(uint64_t gpa)
{
    out[2] = ((uint64_t (*)(void))gpa)();
    l2_read_fixup(gpa);
}

L2FN static void l2_big(uint64_t arg)
{
    out[0] = *(volatile uint64_t *)(L2_2M_GPA + 0x12348);
    out[1] = *(volatile uint64_t *)(L2_2M_GPA + 0x1ff000);
    *(volatile uint64_t *)(L2_2M_GPA + 0x100000) = 0x2a2a2a2a;
    if (arg) {
        out[2] = *(volatile uint64_t *)(L2_1G_GPA + pa((const void *)&marker));
        *(volatile uint64_t *)(L2_1G_GPA + pa((const void *)&marker2)) = 0x1616161616ul;
    }
}

L2FN static void l2_read_step_read(uint64_t gpa)
{
    out[0] = *(volatile uint64_t *)gpa;
    l2_vmcall(1);
    out[1] = *(volatile uint64_t *)gpa;
}

L2FN static void l2_read_step_write(uint64_t gpa)
{
    out[0] = *(volatile uint64_t *)gpa;
    l2_vmcall(1);
    *(volatile uint64_t *)gpa = 5;
}

static const uint8_t code_ret77[] = { 0xb8, 0x77, 0, 0, 0, 0xc3 };     /* mov $0x77, %eax; ret */
static const uint8_t code_ret88[] = { 0xb8, 0x88, 0, 0, 0, 0xc3 };

void t_ept(void)
{
    struct exit_info *e;
    uint64_t wb = EPT_WB;

    /* Not present at the PT level, then fixed. */
    for (unsigned i = 0; i < NR_TPAGES; i++)
        for (unsigned k = 0; k < 512; k++)
            ((uint64_t *)tpages[i])[k] = 0x7000000000000000ull | (i << 16) | k;
    memset((void *)out, 0, sizeof(out));
    ept_reset();
    if (!vm_setup(l2_read, tgpa(5, 0x10)))
        return;
    set_pt1(5, 0);
    e = l2_run();
    violation(e, "ept: read of a GPA whose EPT12 PTE is not present", tgpa(5, 0x10), tgpa(5, 0x10), 0x181);
    set_pt1(5, pa(tpages[5]) | EPT_RWX | wb);
    l2_done("ept: after L1 maps the page and INVEPTs");
    CHECK(out[0] == ((uint64_t *)tpages[5])[2], "ept: L2 reads L1's page through the new entry (%#lx)", out[0]);

    /* Not present at the PDPT level. */
    if (!vm_setup(l2_read_fixup, L2_HOLE_GPA + 0x2468))
        return;
    e = l2_run();
    violation(e, "ept: read in a 1 GiB region absent from the EPT12 PDPT", L2_HOLE_GPA + 0x2468, L2_HOLE_GPA + 0x2468, 0x181);
    CHECK(e->rip == pa(l2_ept_fault), "ept: guest RIP at the faulting access (%#lx)", e->rip);
    l2_fixup();
    l2_done("ept (hole)");

    /* Read-only page written. */
    if (!vm_setup(l2_write, tgpa(6, 0x20)))
        return;
    set_pt1(6, pa(tpages[6]) | EPT_R | wb);
    e = l2_run();
    violation(e, "ept: write to a read-only EPT12 page (bit 1 write, bit 3 R, bit 4 W clear)", tgpa(6, 0x20), tgpa(6, 0x20),
              0x18a);
    set_pt1(6, pa(tpages[6]) | EPT_RWX | wb);
    l2_done("ept: after L1 makes it writable");
    CHECK(((uint64_t *)tpages[6])[4] == 0x77777777abcdull, "ept: L2's write landed in L1's page (%#lx)",
          ((uint64_t *)tpages[6])[4]);

    /* Execute-only page: fetch works, read exits. */
    if (!skip_if(!has_exec_only_ept(), "ept: no execute-only EPT pages (IA32_VMX_EPT_VPID_CAP[0])")) {
        memcpy(tpages[7], code_ret77, sizeof(code_ret77));
        memset((void *)out, 0, sizeof(out));
        if (!vm_setup(l2_exec_then_read, tgpa(7, 0)))
            return;
        set_pt1(7, pa(tpages[7]) | EPT_X | wb);
        e = l2_run();
        CHECK(out[2] == 0x77, "ept: L2 executes code from an execute-only page (%#lx)", out[2]);
        violation(e, "ept: read of an execute-only page (bits 5:3 = X only)", tgpa(7, 0), tgpa(7, 0), 0x1a1);
        l2_fixup();
        l2_done("ept (execute-only)");
    }

    /* Page without X: the fetch exits with bit 2. */
    memcpy(tpages[8], code_ret88, sizeof(code_ret88));
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_call, tgpa(8, 0)))
        return;
    set_pt1(8, pa(tpages[8]) | EPT_R | EPT_W | wb);
    e = l2_run();
    violation(e, "ept: instruction fetch from a page without X (bit 2 fetch, bits 3-4 RW)", tgpa(8, 0), tgpa(8, 0), 0x19c);
    CHECK(e->rip == tgpa(8, 0), "ept: guest RIP is the fetched address (%#lx)", e->rip);
    set_pt1(8, pa(tpages[8]) | EPT_RWX | wb);
    l2_done("ept: after L1 grants X");
    CHECK(out[0] == 0x88, "ept: the code ran (%#lx)", out[0]);

    /* 2 MiB and 1 GiB leaves. */
    memset((void *)out, 0, sizeof(out));
    ((volatile uint64_t *)big2m)[0x12348 / 8] = 0x2200000012348ull;
    ((volatile uint64_t *)big2m)[0x1ff000 / 8] = 0x22000001ff000ull;
    marker2 = 0;
    if (!vm_setup(l2_big, has_1g_ept()))
        return;
    l2_done("ept: L2 uses a 2 MiB EPT12 leaf" );
    CHECK(out[0] == 0x2200000012348ull && out[1] == 0x22000001ff000ull,
          "ept: 2 MiB leaf: L2 reads L1's data at offsets 0x12348 and 0x1ff000 (%#lx %#lx)", out[0], out[1]);
    CHECK(((volatile uint64_t *)big2m)[0x100000 / 8] == 0x2a2a2a2a, "ept: 2 MiB leaf: L2's write is in L1's buffer");
    if (!skip_if(!has_1g_ept(), "ept: no 1 GiB EPT pages (IA32_VMX_EPT_VPID_CAP[17])")) {
        CHECK(out[2] == marker, "ept: 1 GiB leaf onto L1's [0, 1 GiB): L2 reads L1's marker (%#lx)", out[2]);
        CHECK(marker2 == 0x1616161616ul, "ept: 1 GiB leaf: L2's write is in L1's variable (%#lx)", marker2);
    }

    /* Misconfigurations (29.3.3.1): write without read; memory type 2. */
    static const struct { const char *what; uint64_t bad; } mis[2] = {
        { "W without R", EPT_W | (6ul << 3) },
        { "memory type 2", EPT_RWX | (2ul << 3) },
    };
    for (unsigned m = 0; m < 2; m++) {
        unsigned pg = 9 + m;
        memset((void *)out, 0, sizeof(out));
        if (!vm_setup(l2_read, tgpa(pg, 0x30)))
            return;
        set_pt1(pg, pa(tpages[pg]) | mis[m].bad);
        e = l2_run();
        CHECK(!e->vmfail && e->reason == R_EPT_MISCONFIG && e->gpa == tgpa(pg, 0x30),
              "ept: EPT12 leaf with %s: EPT misconfiguration, GPA %#lx (%s)", mis[m].what, tgpa(pg, 0x30), E(e));
        set_pt1(pg, pa(tpages[pg]) | EPT_RWX | wb);
        l2_done("ept: after L1 fixes the entry and INVEPTs (single context)");
        CHECK(out[0] == ((uint64_t *)tpages[pg])[6], "ept: L2 reads the page (%#lx)", out[0]);
    }

    /* Remap a page while L2 runs: INVEPT makes the new page visible. */
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_read_step_read, tgpa(11, 0x40)))
        return;
    set_pt1(11, pa(tpages[11]) | EPT_RWX | wb);
    e = l2_run();
    CHECK(!e->vmfail && e->reason == R_VMCALL && l2r.rax == 1, "ept: L2 read the page, then VMCALL (%s)", E(e));
    set_pt1(11, pa(tpages[12]) | EPT_RWX | wb);
    skip_insn();
    l2_done("ept (remap)");
    CHECK(out[0] == ((uint64_t *)tpages[11])[8] && out[1] == ((uint64_t *)tpages[12])[8],
          "ept: L2 sees the old page (%#lx), then after remap + INVEPT the new one (%#lx)", out[0], out[1]);

    /* EPT violation during L2's own page walk: bit 8 clear. */
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_read, L2_WALK_VA + 0x5678))
        return;
    set_pt1(13, 0);
    e = l2_run();
    CHECK(!e->vmfail && e->reason == R_EPT_VIOLATION && (e->qual & 0x187) == 0x81 && e->gpa == L2_WALK_PD_GPA &&
          e->gla == L2_WALK_VA + 0x5678,
          "ept: violation on L2's page-directory read: read, bit 7 set, bit 8 clear, GPA of the PDE %#lx (%s)",
          L2_WALK_PD_GPA, E(e));
    memset(tpages[13], 0, 4096);
    ((uint64_t *)tpages[13])[0] = 0x83;          /* 2 MiB, present, writable: GPA 0 */
    set_pt1(13, pa(tpages[13]) | EPT_RWX | wb);
    l2_done("ept: after L1 backs L2's page directory");
    CHECK(out[0] == *(volatile uint64_t *)(uintptr_t)0x5678, "ept: L2 reads through it (%#lx)", out[0]);

    /* Accessed and dirty flags (29.3.5). */
    if (skip_if(!ept_ad_supported(), "ept: no EPT A/D flags (IA32_VMX_EPT_VPID_CAP[21])"))
        return;
    if (!vm_setup(l2_read_step_write, tgpa(14, 0x50)))
        return;
    ept_pml4[0] &= ~(EPT_A | EPT_D);
    ept_pdpt[1] &= ~(EPT_A | EPT_D);
    ept_pd1[0] &= ~(EPT_A | EPT_D);
    ept_pt1[14] = pa(tpages[14]) | EPT_RWX | wb;
    uint64_t eptp_ad = eptp12 | (1ul << 6);
    vmw(F_EPTP, eptp_ad);
    static uint64_t desc[2];
    desc[0] = eptp_ad;
    vx_invept(1, desc);
    e = l2_run();
    CHECK(!e->vmfail && e->reason == R_VMCALL && l2r.rax == 1, "ept: A/D: L2 read the page (%s)", E(e));
    CHECK((ept_pt1[14] & EPT_A) && !(ept_pt1[14] & EPT_D), "ept: A/D: after a read the leaf has A, not D (%#lx)", ept_pt1[14]);
    CHECK((ept_pml4[0] & EPT_A) && (ept_pdpt[1] & EPT_A) && (ept_pd1[0] & EPT_A),
          "ept: A/D: the PML4E, PDPTE and PDE used have A (%#lx %#lx %#lx)", ept_pml4[0], ept_pdpt[1], ept_pd1[0]);
    skip_insn();
    l2_done("ept (A/D)");
    CHECK((ept_pt1[14] & (EPT_A | EPT_D)) == (EPT_A | EPT_D), "ept: A/D: after a write the leaf has A and D (%#lx)",
          ept_pt1[14]);
    ept_reset();
}
