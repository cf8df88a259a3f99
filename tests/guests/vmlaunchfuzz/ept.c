/*
 * EPT12 against L1's memory bounds and under edits (SDM chapter 29, and
 * docs/NESTED.md "EPT02").
 *
 * eptout: EPT12 entries that point outside L1's RAM.  On hardware such an
 * address is no memory at all; Nestor's rule is that L0 never maps
 * anything but L1's own RAM into EPT02, and L2's access becomes an EPT
 * violation exit to L1 (reason 48, no permissions in bits 5:3, the L2
 * guest-physical and linear addresses) before it completes.  Addresses
 * beyond the physical-address width are reserved bits: an EPT
 * misconfiguration (49) by the SDM, on hardware as well.
 *
 * eptedit: L2 loops reading and writing words of NW windows (4 KiB pages
 * at L2_TEST_GPA) and reports each access with a VMCALL; the preemption
 * timer (a random value at each entry) stops it at random points too.  At
 * each exit L1 may remap a window's EPT12 leaf to another page of a pool
 * of tagged pages, or unmap it, and then INVEPT (single or all-context) or
 * not.  Without INVEPT the SDM lets L2 keep using a translation cached
 * since the last INVEPT, so what L2 may see through a window is: the pages
 * the window mapped since the last INVEPT.  Each read must return a tag of
 * such a page at the right offset; each write must land in exactly one
 * such page at that offset (L1 finds it and restores the tag); an EPT
 * violation may only happen while the window is unmapped (no translation
 * that faults is cached, 29.4).  Pool and guard pages are checked at the
 * end.  L1 never remaps while L2 is between an access and its report
 * (RIP at the VMCALL), so that a report always refers to the current set.
 */
#include "lf.h"

#define PAGE 4096
static volatile uint64_t out[4];

/* ---- L2 programs ----------------------------------------------------------- */
extern char lf_read_at[], lf_write_at[];
L2FN static void l2_read_fix(uint64_t gva)
{
    uint64_t v = 0;
    __asm__ volatile("1: .globl lf_read_at\nlf_read_at: mov (%1), %0\n2:\n\t" RT_EXTABLE(1b, 2b)
                     : "+r"(v) : "r"(gva) : "memory");
    out[0] = v;
    out[1] = 1;
}

L2FN static void l2_write_fix(uint64_t gva)
{
    __asm__ volatile("1: .globl lf_write_at\nlf_write_at: movq $0x5757, (%0)\n2:\n\t" RT_EXTABLE(1b, 2b)
                     :: "r"(gva) : "memory");
    out[1] = 1;
}

L2FN static void l2_fetch(uint64_t gva)
{
    out[0] = ((uint64_t (*)(void))gva)();
    out[1] = 1;
}

L2FN static void l2_nop(uint64_t arg)
{
    out[2]++;
}

/* ---- eptout ------------------------------------------------------------------- */
static uint64_t my_pd[512] __attribute__((aligned(PAGE)));
static uint64_t my_pt[512] __attribute__((aligned(PAGE)));
static uint64_t l2_pdpt_hi[512] __attribute__((aligned(PAGE)));
static uint64_t l2_pd_hi[512] __attribute__((aligned(PAGE)));
#define HOLE 0xc0000000ul                   /* EPT12 PDPT[3], identity-mapped by L2's paging */
#define HI_GPA (1ul << 39)                  /* EPT12 PML4[1]; L2 maps VA = GPA */

static void inv_all(void)
{
    static uint64_t desc[2];
    struct vres r = vx_invept(2, desc);
    if (!vx_ok(r))
        r = vx_invept(1, (desc[0] = eptp12, desc));
}

/* EPT12 as vmx_l2 builds it, plus L2 paging for [512 GiB, +2 MiB). */
static void base_tables(void)
{
    ept_reset();
    memset(my_pd, 0, sizeof(my_pd));
    memset(my_pt, 0, sizeof(my_pt));
    memset(l2_pdpt_hi, 0, sizeof(l2_pdpt_hi));
    memset(l2_pd_hi, 0, sizeof(l2_pd_hi));
    l2_pdpt_hi[0] = pa(l2_pd_hi) | 3;
    l2_pd_hi[0] = HI_GPA | 0x83;
}

static uint64_t beyond_ram(uint64_t align)
{
    return (rt_boot.mem_bytes + align - 1) & ~(align - 1);
}

struct ocase {
    const char *what;
    void (*prog)(uint64_t);
    uint64_t gva;
    unsigned acc;           /* 1 read, 2 write, 4 fetch */
    bool misconfig;         /* reserved bits: 49 (SDM); else 48 (Nestor's rule for beyond RAM) */
};

static void run_case(const struct ocase *c)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(c->prog, c->gva))
        return;
    l2_pml4[1] = pa(l2_pdpt_hi) | 3;
    inv_all();
    struct exit_info *e = l2_run();
    uint64_t want_rip = c->acc == 4 ? c->gva : c->acc == 2 ? pa(lf_write_at) : pa(lf_read_at);
    if (c->misconfig) {
        CHECK(!e->vmfail && e->reason == R_EPT_MISCONFIG && e->gpa == c->gva && e->rip == want_rip,
              "eptout: %s: EPT misconfiguration, GPA %#lx (%s)", c->what, c->gva, E(e));
    } else {
        CHECK(!e->vmfail && e->reason == R_EPT_VIOLATION && e->gpa == c->gva && (e->qual & 7) == c->acc &&
              (e->qual & 0x38) == 0 && (e->qual & 0x180) == 0x180 && e->gla == c->gva && e->rip == want_rip,
              "eptout: %s: exit 48, access %u, no permissions, GPA=GLA %#lx (%s)", c->what, c->acc,
              c->gva, E(e));
    }
    CHECK(out[1] == 0 && out[0] == 0, "eptout: %s: L2's access did not complete (%#lx %#lx)", c->what, out[0], out[1]);
    /* L2 goes on past the access (read/write: the fixup; fetch: a new
     * program) and finishes normally. */
    if (c->acc == 4)
        l2_restart(l2_nop, 0);
    else
        l2_fixup();
    e = l2_run();
    CHECK(is_done(e) && (c->acc == 4 ? out[2] == 1 : out[1] == 1 && out[0] == 0),
          "eptout: %s: L2 goes on, read nothing (%#lx; %s)", c->what, out[0], E(e));
    l2_pml4[1] = 0;
}

void t_eptout(void)
{
    uint64_t mem = rt_boot.mem_bytes, wb = EPT_WB;
    uint64_t far4k = beyond_ram(PAGE) + 0x10000, width = 1ul << maxphy;
    struct ocase c;

    if (!vm_setup(l2_nop, 0))          /* builds vmx_l2's tables once */
        return;
    /* Positive control: the last page of L1's RAM through a 4 KiB leaf. */
    base_tables();
    ept_pdpt[3] = pa(my_pd) | EPT_RWX;
    my_pd[1] = pa(my_pt) | EPT_RWX;
    my_pt[4] = (mem - PAGE) | EPT_RWX | wb;
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_read_fix, HOLE + 0x200000 + 4 * PAGE + 0xff8))
        return;
    inv_all();
    volatile uint64_t *lastp = (volatile uint64_t *)(mem - 8);
    uint64_t keep = *lastp;
    *lastp = 0x1a571a571a5701ull;
    struct exit_info *e = l2_run();
    uint64_t last = *lastp;
    *lastp = keep;
    CHECK(is_done(e) && out[1] == 1 && out[0] == last,
          "eptout: 4 KiB leaf on L1's last RAM page: L2 reads L1's marker (%#lx %#lx; %s)", out[0], last,
          E(e));

    if (!bare) {
        /* Nestor's rule for memory that is not L1's: EPT violations. */
        base_tables();
        if (vm_setup(l2_read_fix, 0x5000)) {
            vmw(F_EPTP, far4k | (3ul << 3) | 6);
            inv_all();
            memset((void *)out, 0, sizeof(out));
            e = l2_run();
            CHECK(!e->vmfail && e->reason == R_EPT_VIOLATION && e->gpa == pa(l2_pml4) && !(e->qual & 0x100) &&
                  (e->qual & 0x38) == 0,
                  "eptout: EPTP root %#lx beyond RAM: EPT violation on L2's first page-walk read, GPA %#lx (%s)",
                  far4k, pa(l2_pml4), E(e));
            CHECK(out[1] == 0 && out[2] == 0, "eptout: EPTP root beyond RAM: L2 ran nothing");
        }

        base_tables();
        ept_pml4[1] = far4k | EPT_RWX;
        c = (struct ocase){ "PML4E -> PDPT beyond RAM, read", l2_read_fix, HI_GPA + 0x1238, 1, false };
        run_case(&c);

        base_tables();
        ept_pdpt[3] = far4k | EPT_RWX;
        c = (struct ocase){ "PDPTE -> PD beyond RAM, read", l2_read_fix, HOLE + 0x1238, 1, false };
        run_case(&c);

        base_tables();
        ept_pdpt[3] = pa(my_pd) | EPT_RWX;
        my_pd[0] = far4k | EPT_RWX;
        c = (struct ocase){ "PDE -> PT beyond RAM, write", l2_write_fix, HOLE + 0x3450, 2, false };
        run_case(&c);

        static const struct { const char *what; unsigned acc; } acc3[3] = {
            { "read", 1 }, { "write", 2 }, { "fetch", 4 } };
        for (unsigned a = 0; a < 3; a++) {
            char what[80];
            base_tables();
            ept_pdpt[3] = pa(my_pd) | EPT_RWX;
            my_pd[1] = pa(my_pt) | EPT_RWX;
            my_pt[5] = mem | EPT_RWX | wb;
            snprintf(what, sizeof(what), "4 KiB leaf at RAM end %#lx, %s", mem, acc3[a].what);
            c = (struct ocase){ what, a == 0 ? l2_read_fix : a == 1 ? l2_write_fix : l2_fetch,
                                HOLE + 0x200000 + 5 * PAGE + (a == 2 ? 0 : 0x10), acc3[a].acc, false };
            run_case(&c);
        }

        base_tables();
        ept_pdpt[3] = pa(my_pd) | EPT_RWX;
        my_pd[2] = beyond_ram(2ul << 20) | EPT_RWX | wb | (1ul << 7);
        c = (struct ocase){ "2 MiB leaf beyond RAM, read", l2_read_fix, HOLE + 0x400000 + 0x1a2b0, 1, false };
        run_case(&c);

        if (!skip_if(!has_1g_ept(), "eptout: no 1 GiB EPT leaves")) {
            base_tables();
            ept_pdpt[3] = (60ul << 30) | EPT_RWX | wb | (1ul << 7);
            c = (struct ocase){ "1 GiB leaf at 60 GiB, read", l2_read_fix, HOLE + 0x12345678, 1, false };
            run_case(&c);
            base_tables();
            ept_pdpt[3] = (width - (1ul << 30)) | EPT_RWX | wb | (1ul << 7);
            c = (struct ocase){ "1 GiB leaf at width top, write", l2_write_fix, HOLE + 0x3fffff00, 2, false };
            run_case(&c);
        }
    } else {
        rt_printf("SKIP: eptout: beyond-RAM cases (bare metal: no rule for absent memory)\n");
    }

    /* Beyond the physical-address width: reserved bits (29.3.3.1). */
    base_tables();
    ept_pdpt[3] = pa(my_pd) | EPT_RWX;
    my_pd[1] = pa(my_pt) | EPT_RWX;
    my_pt[6] = width | EPT_RWX | wb;
    c = (struct ocase){ "4 KiB leaf beyond the physical-address width", l2_read_fix, HOLE + 0x200000 + 6 * PAGE + 8, 1, true };
    run_case(&c);
    base_tables();
    ept_pdpt[3] = (width | pa(my_pd)) | EPT_RWX;
    c = (struct ocase){ "PDPTE -> PD beyond the width", l2_read_fix, HOLE + 0x8, 1, true };
    run_case(&c);

    /* An EPTP beyond the width is refused at VM entry (26.2.1.1). */
    base_tables();
    if (vm_setup(l2_nop, 0)) {
        vmw(F_EPTP, (width | pa(ept_pml4)) | (3ul << 3) | 6);
        e = l2_run();
        CHECK(e->vmfail && (e->fail_flags & VMX_FLAGS) == FL_ZF && vmr(F_INSN_ERROR) == 7,
              "eptout: EPTP beyond the physical-address width -> VMfailValid(7) (%s)", E(e));
    }
    base_tables();
    inv_all();
}

/* ---- eptedit -------------------------------------------------------------------- */
#define NW 4
#define NPOOL 8
#define OP_READ  0x4c46524541440000ul
#define OP_WRITE 0x4c46575249540000ul
#define TAG      0x5441470000000000ul
#define WTAG     0x5752000000000000ul
#define UNMAPPED NPOOL
static uint64_t pool[NPOOL][512] __attribute__((aligned(PAGE)));

static uint64_t tag(unsigned p, unsigned k) { return TAG | ((uint64_t)p << 16) | k; }

L2FN static void l2_churn(uint64_t seed)
{
    uint64_t x = seed | 1;
    for (;;) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t w = (x >> 33) % NW, k = (x >> 40) & 511;
        uint64_t p = L2_TEST_GPA + w * PAGE + k * 8;
        for (uint64_t d = (x >> 50) & 0x3f; d; d--)         /* for the timer to land anywhere */
            __asm__ volatile("" ::: "memory");
        if ((x >> 61) & 1) {
            uint64_t v = WTAG | ((x >> 8) & 0xffffffffull);
            __asm__ volatile("mov %%rdx, (%[p])\n\tvmcall"
                             :: "a"(OP_WRITE), "b"(w), "c"(k), "d"(v), [p] "r"(p) : "memory");
        } else {
            __asm__ volatile("mov (%[p]), %%rdx\n\tvmcall"
                             :: "a"(OP_READ), "b"(w), "c"(k), [p] "r"(p) : "rdx", "memory");
        }
    }
}

static int cur_map[NW];
static unsigned allowed[NW];        /* bit p: pool page p; bit UNMAPPED */
static unsigned st_reads, st_writes, st_stale, st_viol, st_timer, st_remap[3], st_unmap;

static void edit_map(unsigned w, int p)
{
    cur_map[w] = p;
    ept_pt1[w] = p < 0 ? 0 : pa(pool[p]) | EPT_RWX | EPT_WB;
    allowed[w] |= 1u << (p < 0 ? UNMAPPED : (unsigned)p);
}

static void invalidate(void)
{
    for (unsigned w = 0; w < NW; w++)
        allowed[w] = 1u << (cur_map[w] < 0 ? UNMAPPED : (unsigned)cur_map[w]);
}

static unsigned pick(unsigned n) { return (unsigned)(rt_rand() % n); }

static void random_edit(bool may_unmap)
{
    unsigned w = pick(NW);
    int p = may_unmap && pick(6) == 0 ? -1 : (int)pick(NPOOL);
    edit_map(w, p);
    st_unmap += p < 0;
    unsigned how = pick(5);
    if (how < 2) {
        st_remap[0]++;
        return;
    }
    static uint64_t desc[2];
    desc[0] = eptp12;
    desc[1] = 0;
    struct vres r = vx_invept(how == 4 ? 2 : 1, desc);
    if (!vx_ok(r)) {
        char b[48];
        mismatch("eptedit: INVEPT type %u: %s", how == 4 ? 2 : 1, vx_str(r, b, sizeof(b)));
    }
    st_remap[how == 4 ? 2 : 1]++;
    invalidate();
}

static bool at_vmcall(uint64_t rip)
{
    const uint8_t *b = (const uint8_t *)(uintptr_t)rip;
    return b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xc1;
}

void t_eptedit(void)
{
    unsigned edits = (unsigned)rt_arg_u64("edits", 3000);
    rt_srand(0x5eed0000ull ^ rt_arg_u64("seed", 1));
    for (unsigned p = 0; p < NPOOL; p++)
        for (unsigned k = 0; k < 512; k++)
            pool[p][k] = tag(p, k);
    /* vmx_l2's test pages are what the windows map before L1 remaps them:
     * guards from then on. */
    for (unsigned i = 0; i < NR_TPAGES; i++)
        for (unsigned k = 0; k < 512; k++)
            ((uint64_t *)tpages[i])[k] = 0x6755617264000000ull | (i << 16) | k;
    ept_reset();
    if (!vm_setup(l2_churn, 0x12345 ^ rt_rand()) || !set_pin(PIN_PREEMPT))
        return;
    for (unsigned w = 0; w < NW; w++)
        edit_map(w, (int)pick(NPOOL));
    inv_all();
    invalidate();
    unsigned n;
    bool stop = false;
    for (n = 0; n < edits && !stop; n++) {
        /* Short timers stop L2 anywhere; the timer counts the TSC, L0's
         * EPT02 refills after the edits included, so under a hypervisor
         * only the long ones let L2 get work done between edits. */
        uint64_t t = pick(2) ? 50 + pick(3000) : 4000 + pick(250000);
        vmw(F_PREEMPT_TIMER, (t >> (cap.misc & 0x1f)) + 1);
        struct exit_info *e = l2_run();
        bool report = false;
        if (e->vmfail) {
            mismatch("eptedit: VM entry failed: %s", E(e));
            break;
        }
        switch (e->reason) {
        case R_VMCALL: {
            uint64_t w = l2r.rbx, k = l2r.rcx, v = l2r.rdx;
            if (w >= NW || k >= 512 || (l2r.rax != OP_READ && l2r.rax != OP_WRITE)) {
                mismatch("eptedit: bad report rax %#lx w %lu k %lu", l2r.rax, w, k);
                stop = true;
                break;
            }
            if (l2r.rax == OP_READ) {
                st_reads++;
                unsigned p = (v >> 16) & 0xff;
                if ((v & ~0xffffffull) != TAG || (v & 0xffff) != k || p >= NPOOL || !(allowed[w] & (1u << p)))
                    mismatch("eptedit: L2 read %#lx at window %lu word %lu; allowed pages %#x, current %d", v, w,
                             k, allowed[w], cur_map[w]);
                st_stale += p < NPOOL && (int)p != cur_map[w];
            } else {
                st_writes++;
                int found = -1, nfound = 0;
                for (unsigned p = 0; p < NPOOL; p++)
                    if (pool[p][k] == v)
                        found = (int)p, nfound++;
                if (nfound != 1 || !(allowed[w] & (1u << found)))
                    mismatch("eptedit: L2 wrote %#lx at window %lu word %lu: found in %d pool pages (last %d); "
                             "allowed %#x", v, w, k, nfound, found, allowed[w]);
                for (unsigned p = 0; p < NPOOL; p++)
                    pool[p][k] = tag(p, k);
                st_stale += found >= 0 && found != cur_map[w];
            }
            skip_insn();
            report = true;
            break;
        }
        case R_PREEMPT:
            st_timer++;
            break;
        case R_EPT_VIOLATION: {
            st_viol++;
            uint64_t w = (e->gpa - L2_TEST_GPA) / PAGE;
            if (e->gpa < L2_TEST_GPA || w >= NW || cur_map[w] >= 0 || e->gla != e->gpa || !(e->qual & 3)) {
                mismatch("eptedit: EPT violation GPA %#lx qualification %#lx; window mapped to %d",
                         e->gpa, e->qual, w < NW ? cur_map[w] : -2);
                stop = true;
                break;
            }
            /* Map it again: the access is retried. */
            edit_map(w, (int)pick(NPOOL));
            if (pick(2))
                inv_all(), invalidate();
            break;
        }
        default:
            mismatch("eptedit: unexpected exit %s", E(e));
            stop = true;
            break;
        }
        /* Edit EPT12 unless L2 sits between an access and its report. */
        if (!stop && (report || !at_vmcall(vmr(F_G_RIP))) && pick(3))
            random_edit(true);
    }
    static uint64_t ptr;
    vx_vmptrst(&ptr);
    vx_vmclear(&ptr);
    unsigned bad = 0;
    for (unsigned p = 0; p < NPOOL; p++)
        for (unsigned k = 0; k < 512; k++)
            bad += pool[p][k] != tag(p, k);
    for (unsigned i = 0; i < NR_TPAGES; i++)
        for (unsigned k = 0; k < 512; k++)
            bad += ((uint64_t *)tpages[i])[k] != (0x6755617264000000ull | (i << 16) | k);
    rt_printf("eptedit: %u exits: %u reads, %u writes (%u through a stale translation), %u EPT violations, "
              "%u timer\n", n, st_reads, st_writes, st_stale, st_viol, st_timer);
    rt_printf("eptedit: remaps without INVEPT %u, single-context %u, all-context %u; %u unmaps\n", st_remap[0],
              st_remap[1], st_remap[2], st_unmap);
    CHECK(n == edits && st_reads && st_writes && st_viol && st_timer,
          "eptedit: %u exits with EPT12 edits under a running L2 (reads, writes, violations and timer exits)", n);
    CHECK(bad == 0, "eptedit: pool pages hold their tags and guard pages are untouched (%u words differ)", bad);
    ept_reset();
    inv_all();
}
