/*
 * sppfuzz: random SPP hypercalls (nestor_op 0x200-0x2ff) with random
 * arguments: commands mostly the implemented ones, structures with random
 * or near-valid fields (gfns in and beyond RAM, huge, at the edges; random
 * vectors; batches of random sizes with duplicates), and pointers to
 * scratch memory, unmapped, non-canonical, beyond RAM, straddling the end
 * of RAM, into the not-present low 64 KiB or into read-only code.  Between
 * calls it stores into random sub-pages of the sacrificial zone (catching
 * the #GP of stopped writes) and checks a store against a vector it has
 * just read back.  iterations=N (default 25000), seed=S.
 *
 * Self-protection: own page tables (the low 64 KiB not present, code and
 * read-only data read-only, as hcfuzz does), nested pointers that the hv
 * writes through never point into this guest, and every fuzzed call is
 * followed, before any memory write, by a range call unprotecting the
 * first 4 MiB (this guest's image, stacks and page tables): a random call
 * that protected one of our own pages is undone before it can matter.
 * Every result must be 0 or a negative Xen errno; the guest must finish.
 */
#include "rt.h"
#include <nestor/abi.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/errno.h>

#define OWN_BYTES   (4 * MiB)           /* this guest lives below */
#define OWN_PAGES   (OWN_BYTES >> 12)
#define UNPROT      NESTOR_SPP_UNPROTECTED


extern char rt_image_start[], rt_image_end[];

static uint64_t ram_pages(void) { return rt_boot.mem_bytes >> 12; }


/* ---- the call: fuzzed op, then the safety sweep, no store in between ------------- */
static const struct nestor_spp_range sweep = { 0, OWN_PAGES, UNPROT, 0 };
static long sweep_rc;
long fuzz_call(uint64_t cmd, uint64_t arg, const void *sweep_arg, long *sweep_result);
__asm__(".text\n.global fuzz_call\nfuzz_call:\n"
        "mov %rdx, %r9\n"                   /* sweep arg */
        "mov %rcx, %r10\n"                  /* where the sweep's result goes */
        "mov $54, %eax\n"                   /* nestor_op(cmd, arg) */
        "vmcall\n"
        "mov %rax, %r11\n"                  /* hypercalls change nothing but rax */
        "mov $54, %eax\n"
        "mov $0x202, %edi\n"                /* NESTOR_OP_spp_set_range(sweep) */
        "mov %r9, %rsi\n"
        "vmcall\n"
        "mov %rax, (%r10)\n"                /* the first store after the fuzzed call */
        "mov %r11, %rax\n"
        "ret\n");

/* ---- argument material --------------------------------------------------------------- */
static uint8_t scratch[4 * 4096] __attribute__((aligned(4096)));
#define SCRATCH ((uint64_t)(uintptr_t)scratch)

/* A word that, read by the hv as a pointer it writes through, cannot point
 * into this guest: below 16 (not present) or at/after OWN_BYTES. */
static uint64_t safe_word(uint64_t w)
{
    return (w >= 16 && w < OWN_BYTES) ? w | OWN_BYTES : w;
}

static uint64_t zone_lo(void) { return OWN_PAGES; }
static uint64_t rnd_zone_gfn(void) { return zone_lo() + rt_rand() % (ram_pages() - zone_lo()); }

static uint64_t rnd_gfn(void)
{
    switch (rt_rand() % 12) {
    case 0: return ram_pages() - 1 - rt_rand() % 4;             /* last pages of RAM */
    case 1: return ram_pages() + rt_rand() % 4;                  /* just beyond */
    case 2: return rt_rand();                                    /* anything */
    case 3: return ~0ull - rt_rand() % 4;
    case 4: return (1ull << 36) + rt_rand() % 8;                 /* GPA bit 48 */
    case 5: return 0xfee00 + rt_rand() % 0x200;                  /* APIC/IOAPIC MMIO range */
    case 6: return rt_rand() % OWN_PAGES;                        /* our own pages: unprotect only */
    default: return rnd_zone_gfn();
    }
}

static uint32_t rnd_vec(void)
{
    switch (rt_rand() % 6) {
    case 0: return UNPROT;
    case 1: return 0;
    case 2: return 1u << (rt_rand() % 32);
    default: return (uint32_t)rt_rand();
    }
}

/* A gfn of our own may only be unprotected (the sweep would undo it anyway,
 * this keeps the odd protection from landing on us between calls). */
static uint32_t fix_vec(uint64_t gfn, uint32_t vec)
{
    return gfn < OWN_PAGES ? UNPROT : vec;
}

/* Pointers for the hv to read (and maybe write) a structure at. */
static uint64_t rnd_ptr(unsigned room, bool may_be_code)
{
    switch (rt_rand() % 14) {
    case 0: return 0x7f0000000000ull + (rt_rand() & 0xffffff);             /* unmapped */
    case 1: return 0x8000000000000000ull | rt_rand();                        /* non-canonical */
    case 2: return rt_boot.mem_bytes + (rt_rand() % 64) * 8;                 /* beyond RAM */
    case 3: return rt_boot.mem_bytes - 8 * (1 + rt_rand() % 4);              /* straddling the end */
    case 4: return rt_rand() % 0x10000;                                      /* not present */
    case 5: return may_be_code ? (uint64_t)(uintptr_t)rt_image_start + (rt_rand() % 0x1000) : rt_rand() % 16;
    case 6: return ~0ull - rt_rand() % 64;
    default: return SCRATCH + ((rt_rand() % (sizeof(scratch) - room)) & ~7ull);
    }
}

static void randomize_scratch(void)
{
    uint64_t *w = (uint64_t *)scratch;
    for (unsigned i = 0; i < 64; i++) {
        uint64_t v;
        switch (rt_rand() % 6) {
        case 0: v = rt_rand() % 16; break;
        case 1: v = rnd_gfn(); break;
        case 2: v = rnd_vec() | ((rt_rand() % 4 == 0) ? rt_rand() << 32 : 0); break;
        case 3: v = rnd_ptr(64, false); break;
        default: v = rt_rand(); break;
        }
        w[rt_rand() % (sizeof(scratch) / 8)] = safe_word(v);
    }
}

/* ---- structured arguments ---------------------------------------------------------- */
static uint64_t build(unsigned cmd)
{
    /* Headers at the start of scratch, entries and records behind them. */
    uint8_t *hdr = scratch + (rt_rand() % 4) * 64;
    struct nestor_spp_entry *ent = (void *)(scratch + 4096);
    switch (cmd) {
    case NESTOR_OP_spp_set: {
        struct nestor_spp_set *s = (void *)hdr;
        uint32_t nr = (uint32_t)(rt_rand() % 8 == 0 ? rt_rand() % 1024 : rt_rand() % 8 == 0 ? rt_rand() : rt_rand() % 64);
        uint32_t fill = nr < 192 ? nr : 192;                 /* 3 pages of entries */
        for (uint32_t i = 0; i < fill; i++) {
            uint64_t g = (i && rt_rand() % 8 == 0) ? ent[rt_rand() % i].gfn : rt_rand() % 4 ? rnd_zone_gfn() : rnd_gfn();
            ent[i] = (struct nestor_spp_entry){ g, fix_vec(g, rnd_vec()), rt_rand() % 64 == 0 ? (uint32_t)rt_rand() : 0 };
        }
        s->nr = nr;
        s->pad = rt_rand() % 32 == 0 ? (uint32_t)rt_rand() : 0;
        s->entries = rt_rand() % 6 ? (uint64_t)(uintptr_t)ent + (rt_rand() % 8 == 0 ? (rt_rand() % 16) * 8 : 0)
                               : rnd_ptr(16, true);
        break;
    }
    case NESTOR_OP_spp_set_range: {
        struct nestor_spp_range *r = (void *)hdr;
        uint64_t g = rt_rand() % 4 ? rnd_zone_gfn() : rnd_gfn();
        uint64_t n;
        switch (rt_rand() % 8) {
        case 0: n = 0; break;
        case 1: n = rt_rand(); break;
        case 2: n = ram_pages() - (g < ram_pages() ? g : 0) + rt_rand() % 3 - 1; break;
        case 3: n = 512 + rt_rand() % 4096; break;
        default: n = 1 + rt_rand() % 64; break;
        }
        uint32_t v = rnd_vec();
        if (g < OWN_PAGES || (g + n > g && g + n < OWN_PAGES))
            v = UNPROT;
        r->gfn = g;
        r->nr_pages = n;
        r->vector = v;
        r->pad = rt_rand() % 32 == 0 ? (uint32_t)rt_rand() : 0;
        break;
    }
    case NESTOR_OP_spp_get: {
        struct nestor_spp_get *g = (void *)hdr;
        g->gfn = rt_rand() % 4 ? rnd_zone_gfn() : rnd_gfn();
        g->vector = (uint32_t)rt_rand();
        g->pad = rt_rand() % 32 == 0 ? (uint32_t)rt_rand() : 0;
        break;
    }
    case NESTOR_OP_spp_get_violations: {
        struct nestor_spp_violations *q = (void *)hdr;
        q->max = (uint32_t)(rt_rand() % 4 ? rt_rand() % 80 : rt_rand());
        q->count = (uint32_t)rt_rand();
        q->total = rt_rand();
        q->flags = rt_rand() % 8 ? (uint32_t)(rt_rand() % 2) : (uint32_t)rt_rand();
        q->pad = rt_rand() % 32 == 0 ? (uint32_t)rt_rand() : 0;
        /* Room for NESTOR_SPP_RING records, or somewhere that is not ours. */
        q->buf = rt_rand() % 3 ? SCRATCH + 8192 + (rt_rand() % 64) * 8 : safe_word(rnd_ptr(0, false));
        if (q->buf >= SCRATCH && q->buf < SCRATCH + sizeof(scratch) &&
            q->buf + NESTOR_SPP_RING * sizeof(struct nestor_spp_violation) > SCRATCH + sizeof(scratch))
            q->buf = SCRATCH + 8192;
        break;
    }
    default:
        break;
    }
    return (uint64_t)(uintptr_t)hdr;
}

/* ---- stores into the zone ---------------------------------------------------------------- */
extern char fz_store_insn[];
void fz_store(volatile void *p, uint64_t v);
__asm__(".text\n.global fz_store\nfz_store:\n"
        "invlpg (%rdi)\n"                   /* an SPP page is checked on a TLB miss */
        ".global fz_store_insn\nfz_store_insn: movq %rsi, (%rdi)\n"
        "fz_store_done: ret\n"
        RT_EXTABLE(fz_store_insn, fz_store_done));

static int zone_store(uint64_t addr, uint64_t v)
{
    rt_fault_vector = -1;
    fz_store((volatile void *)(uintptr_t)addr, v);
    return rt_fault_vector;
}

static bool allowed_errno(long r)
{
    switch (-r) {
    case XEN_EINVAL: case XEN_EFAULT: case XEN_E2BIG: case XEN_ENOSPC:
    case XEN_ENOSYS: case XEN_EOPNOTSUPP: case XEN_ENOMEM:
        return true;
    default:
        return false;
    }
}

void test_main(void)
{
    uint64_t iterations = rt_arg_u64("iterations", 25000);
    rt_srand(rt_arg_u64("seed", 0x9e3779b97f4a7c15ull));
    uint64_t ok = 0, errors = 0, odd = 0, sweep_bad = 0, stores = 0, stopped = 0, other_faults = 0;
    uint64_t oracle = 0, oracle_bad = 0, hist[128] = { 0 }, by_cmd[6] = { 0 };

    CHECK((uint64_t)(uintptr_t)rt_image_end <= OWN_BYTES && rt_boot.mem_bytes >= 2 * OWN_BYTES,
          "image ends at %p, below %lu MiB; %lu MiB of RAM", rt_image_end, OWN_BYTES / MiB,
          rt_boot.mem_bytes / MiB);
    struct nestor_spp_info in;
    bool have_spp = hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_spp_info, &in) == 0;
    rt_protect_self();
    for (unsigned i = 0; i < sizeof(scratch) / 8; i++)
        ((uint64_t *)scratch)[i] = safe_word(rt_rand());

    for (uint64_t it = 0; it < iterations; it++) {
        unsigned cmd = rt_rand() % 5 ? 0x200 + (unsigned)(rt_rand() % 5) :
                       rt_rand() % 4 ? 0x200 + (unsigned)(rt_rand() % 0x100) : (unsigned)(0x1f0 + rt_rand() % 0x120);
        if (rt_rand() % 8 == 0)
            randomize_scratch();
        uint64_t arg;
        if (cmd >= 0x200 && cmd <= 0x204 && rt_rand() % 4)
            arg = build(cmd);
        else if (cmd == NESTOR_OP_spp_get_violations || cmd == NESTOR_OP_spp_set)
            arg = safe_word(rnd_ptr(64, false));             /* they follow pointers */
        else
            arg = rnd_ptr(64, true);
        if (cmd == NESTOR_OP_spp_get_violations && arg >= SCRATCH && arg < SCRATCH + sizeof(scratch)) {
            /* The hv writes records through buf: never into us. */
            struct nestor_spp_violations *q = (void *)(uintptr_t)arg;
            uint64_t b = safe_word(q->buf);
            if (b >= SCRATCH && b < SCRATCH + sizeof(scratch))
                b = SCRATCH + 8192;
            q->buf = b;
        }
        if (cmd < 0x200 || cmd > 0x2ff)
            cmd = 0x200 + cmd % 0x100;                        /* stay in the SPP range */

        long r = fuzz_call(cmd, arg, &sweep, &sweep_rc);
        if (sweep_rc != 0 && sweep_rc != -XEN_EOPNOTSUPP && sweep_bad++ < 3)
            rt_printf("sweep after call %lu -> %ld\n", it, sweep_rc);
        if (cmd <= 0x204)
            by_cmd[cmd - 0x200]++;
        else
            by_cmd[5]++;
        if (r == 0) {
            ok++;
        } else if (r < 0 && allowed_errno(r)) {
            errors++;
            hist[-r]++;
        } else if (odd++ < 5) {
            rt_printf("odd result %ld from SPP command %#x(%#lx)\n", r, cmd, arg);
        }

        /* A successful read-back is an oracle for one store. */
        if (cmd == NESTOR_OP_spp_get && r == 0 && arg >= SCRATCH && arg < SCRATCH + sizeof(scratch)) {
            const struct nestor_spp_get *g = (const void *)(uintptr_t)arg;
            if (g->gfn >= zone_lo() && g->gfn < ram_pages()) {
                unsigned sub = (unsigned)(rt_rand() % 32);
                int f = zone_store((g->gfn << 12) + sub * 128 + (rt_rand() % 16) * 8, safe_word(rt_rand()));
                bool allowed = (g->vector >> sub) & 1;
                oracle++;
                if (f != (allowed ? -1 : 13) && oracle_bad++ < 5)
                    rt_printf("gfn %#lx vector %#x sub-page %u: store gave %d\n", g->gfn, g->vector, sub, f);
                stopped += f == 13;
            }
        }
        /* Random stores into the zone, some of which SPP stops. */
        if (rt_rand() % 4 == 0) {
            int f = zone_store((rnd_zone_gfn() << 12) + (rt_rand() % 512) * 8, safe_word(rt_rand()));
            stores++;
            stopped += f == 13;
            other_faults += f != -1 && f != 13;
        }
    }
    long ri = hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_spp_info, &in);
    rt_printf("%lu SPP calls: %lu succeeded, %lu errno results, %lu odd\n", iterations, ok, errors, odd);
    rt_printf("by command: info %lu set %lu set_range %lu get %lu get_violations %lu other %lu\n",
              by_cmd[0], by_cmd[1], by_cmd[2], by_cmd[3], by_cmd[4], by_cmd[5]);
    rt_printf("errno histogram: EINVAL %lu EFAULT %lu E2BIG %lu ENOSPC %lu ENOSYS %lu EOPNOTSUPP %lu ENOMEM %lu\n",
              hist[XEN_EINVAL], hist[XEN_EFAULT], hist[XEN_E2BIG], hist[XEN_ENOSPC], hist[XEN_ENOSYS],
              hist[XEN_EOPNOTSUPP], hist[XEN_ENOMEM]);
    rt_printf("zone stores: %lu random + %lu oracle, %lu stopped; now %u pages protected, %lu violations\n",
              stores, oracle, stopped, ri ? 0 : in.nr_protected, ri ? 0 : in.nr_violations);
    CHECK(ok + errors + odd == iterations, "all %lu calls returned", iterations);
    CHECK(odd == 0, "every result is 0 or a negative Xen errno (odd: %lu)", odd);
    CHECK(sweep_bad == 0, "every safety sweep succeeded");
    CHECK(other_faults == 0, "stores only ever raised #GP (others: %lu)", other_faults);
    if (!have_spp) {
        CHECK(ok == 0 && hist[XEN_EOPNOTSUPP] + hist[XEN_ENOSYS] == errors && !stopped,
              "no SPP: every call answered -EOPNOTSUPP or (unknown commands) -ENOSYS");
        rt_printf("SKIP: SPP unavailable on this CPU: every SPP op returned -EOPNOTSUPP (95)\n");
        return;
    }
    CHECK(oracle > 0 && oracle_bad == 0, "%lu stores checked against read-back vectors, %lu wrong", oracle,
          oracle_bad);
    CHECK(ok > 0 && hist[XEN_EINVAL] && hist[XEN_EFAULT] && hist[XEN_E2BIG] && hist[XEN_ENOSPC] &&
          hist[XEN_ENOSYS], "success, EINVAL, EFAULT, E2BIG, ENOSPC and ENOSYS paths all reached");
    CHECK(stopped > 0 && ri == 0 && in.nr_violations >= stopped, "stopped writes happened and were counted");
    /* Leave nothing protected: the zone is written below by nothing, but a
     * tidy end shows the range form still works after all that. */
    struct nestor_spp_range all = { 0, ram_pages(), UNPROT, 0 };
    CHECK(hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_spp_set_range, &all) == 0 &&
          hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_spp_info, &in) == 0 && in.nr_protected == 0,
          "everything unprotected at the end");
}
