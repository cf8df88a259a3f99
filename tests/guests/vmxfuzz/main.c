/*
 * vmxfuzz: random VMX instructions from an L1 hypervisor (nested=1), each
 * checked against a model of what the SDM says must happen: VMWRITEs of
 * random values to every field encoding and to random encodings, VMREADs
 * back, VMCLEAR/VMPTRLD of a pool of VMCSs and of aligned, unaligned,
 * beyond-RAM and beyond-width addresses, VMPTRST, INVEPT/INVVPID with
 * random types and descriptors, VMRESUME of clear VMCSs.  The hypervisor
 * must survive and agree with the model on every result; at the end every
 * pool VMCS is cleared and its memory compared with the model at the
 * documented vmcs12 offsets.
 *
 * It never VMLAUNCHes a VMCS that passes the launch-state checks, except
 * with the argument `launch`: then at the end each pool VMCS (random
 * fields) is launched once and must be refused with VMfailValid(7) or (8).
 * Arguments: iterations=N (default 12000), seed=N, launch.
 */
#include "rt.h"
#include "../vmx_insn/vmx_rt.h"
#include "../vmx_insn/vmx_fields.h"

#define PAGE 4096
#define POOL 4
#define SCRATCH 2
static uint8_t vmxon_region[PAGE] __attribute__((aligned(PAGE)));
static uint8_t pool[POOL][PAGE] __attribute__((aligned(PAGE)));
static uint8_t scratch[SCRATCH][PAGE] __attribute__((aligned(PAGE)));

static struct vmx_caps_l1 caps;
static uint32_t rev;
static unsigned maxphy;
static bool ro_writable;

/* The model: every pool VMCS's fields, which one is current, launch states. */
static uint64_t model[POOL][NR_SDM_FIELDS];
static int current = -1;
static unsigned err_idx;            /* sdm_fields index of the VM-instruction error */

static unsigned pick(unsigned n) { return (unsigned)(rt_rand() % n); }

static uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }

static unsigned mismatches, ops[16];
static char b1[48];

static void mismatch(const char *what, struct vres r, const char *want)
{
    mismatches++;
    if (mismatches <= 20)
        rt_printf("MISMATCH %s: got %s, want %s\n", what, vx_str(r, b1, sizeof(b1)), want);
}

/* ---- expectations ----------------------------------------------------------- */

/* The sdm_fields index an encoding names on this virtual CPU, or -1. */
static int field_index(uint64_t enc)
{
    if ((enc >> 15) || (enc & 0x1000))
        return -1;
    if ((enc & 1) && enc_width(enc) != 1)
        return -1;
    for (unsigned k = 0; k < NR_SDM_FIELDS; k++)
        if (sdm_fields[k].enc == (enc & ~1ull))
            return field_exists(&caps, &sdm_fields[k]) ? (int)k : -1;
    return -1;
}

/* Checks a result that the model says is VMfail(err) (VMfailValid with a
 * current VMCS, else VMfailInvalid) and records the error in the model. */
static void expect_fail(const char *what, struct vres r, uint64_t err)
{
    char want[32];
    if (current < 0) {
        if (!vx_invalid(r))
            mismatch(what, r, "VMfailInvalid");
        return;
    }
    snprintf(want, sizeof(want), "VMfailValid(%lu)", err);
    if (!vx_failvalid(r) || vx_error() != err)
        mismatch(what, r, want);
    model[current][err_idx] = err;
}

static void expect_ok(const char *what, struct vres r)
{
    if (!vx_ok(r))
        mismatch(what, r, "VMsucceed");
}

/* ---- random operands --------------------------------------------------------- */
static uint64_t random_encoding(void)
{
    switch (pick(10)) {
    case 0: return rt_rand();                                   /* anything, 64 bits */
    case 1: return rt_rand() & 0xffff;
    case 2: return rt_rand() & 0x7fff;
    case 3: return (sdm_fields[pick(NR_SDM_FIELDS)].enc) | 1;   /* high access */
    default: return sdm_fields[pick(NR_SDM_FIELDS)].enc;
    }
}

static uint64_t random_value(void)
{
    switch (pick(4)) {
    case 0: return rt_rand() & 0xff;
    case 1: return ~0ull;
    default: return rt_rand();
    }
}

/* A VMCS address: 0..POOL-1 pool, POOL.. scratch, else an invalid one. */
static uint64_t random_vmcs_addr(int *kind)
{
    unsigned c = pick(20);
    if (c < 12) {
        *kind = (int)pick(POOL);
        return pa(pool[*kind]);
    }
    if (c < 14) {
        *kind = POOL + (int)pick(SCRATCH);
        return pa(scratch[*kind - POOL]);
    }
    *kind = -1;
    switch (c) {
    case 14: return pa(pool[pick(POOL)]) + 1 + pick(PAGE - 1);         /* unaligned */
    case 15: return (rt_boot.mem_bytes + pick(64) * PAGE);              /* beyond RAM */
    case 16: return (1ull << maxphy) | (pick(1024) * PAGE);             /* beyond width */
    case 17: return rt_rand() & ~0xfffull & ~(1ull << 63) & (rt_rand() | (1ull << 62));
    case 18: *kind = -2; return pa(vmxon_region);
    default: return rt_rand();
    }
}

static bool addr_valid(uint64_t a)
{
    return !(a & 0xfff) && !(a >> maxphy) && a < rt_boot.mem_bytes;
}

static bool eptp_ok(uint64_t eptp)
{
    uint64_t ev = caps.ept_vpid;
    unsigned mt = eptp & 7;
    if (!((mt == 0 && (ev & (1u << 8))) || (mt == 6 && (ev & (1u << 14)))))
        return false;
    if (((eptp >> 3) & 7) != 3)
        return false;
    if ((eptp & (1u << 6)) && !(ev & (1u << 21)))
        return false;
    if (eptp & 0xf80)
        return false;
    return !(eptp >> maxphy);
}

/* ---- the operations -------------------------------------------------------------- */
static uint64_t mem_op;
static uint64_t ptr_op;
static uint64_t desc[2];

static void op_vmwrite(void)
{
    uint64_t enc = random_encoding(), val = random_value();
    struct vres r;
    if (pick(5) == 0) {
        mem_op = val;
        r = vx_vmwrite_mem(enc, &mem_op);
    } else {
        r = vx_vmwrite(enc, val);
    }
    if (current < 0) {
        if (!vx_invalid(r))
            mismatch("VMWRITE without a VMCS", r, "VMfailInvalid");
        return;
    }
    int k = field_index(enc);
    if (k < 0) {
        expect_fail("VMWRITE unsupported", r, 12);
        return;
    }
    if (enc_type(enc) == 1 && !ro_writable) {
        expect_fail("VMWRITE read-only", r, 13);
        return;
    }
    expect_ok("VMWRITE", r);
    uint64_t *m = &model[current][k];
    if (enc & 1)
        *m = (*m & 0xffffffffull) | (val << 32);
    else
        *m = val & width_mask(enc);
}

static void op_vmread(void)
{
    uint64_t enc = random_encoding(), v = 0;
    struct vres r;
    bool to_mem = pick(5) == 0;
    if (to_mem) {
        mem_op = 0x5a5a5a5a5a5a5a5aull;
        r = vx_vmread_mem(enc, &mem_op);
        v = mem_op;
    } else {
        r = vx_vmread(enc, &v);
    }
    if (current < 0) {
        if (!vx_invalid(r))
            mismatch("VMREAD without a VMCS", r, "VMfailInvalid");
        return;
    }
    int k = field_index(enc);
    if (k < 0) {
        expect_fail("VMREAD unsupported", r, 12);
        return;
    }
    uint64_t want = (enc & 1) ? model[current][k] >> 32 : model[current][k];
    if (!vx_ok(r) || v != want) {
        char w[64];
        snprintf(w, sizeof(w), "VMsucceed with %#lx (field %#lx read %#lx)", want, enc, v);
        mismatch("VMREAD value", r, w);
    }
}

static void op_vmptrld(void)
{
    int kind;
    uint64_t a = random_vmcs_addr(&kind);
    struct vres r = (ptr_op = a, vx_vmptrld(&ptr_op));
    if (kind == -2)
        expect_fail("VMPTRLD of the VMXON region", r, 10);
    else if (!addr_valid(a))
        expect_fail("VMPTRLD invalid address", r, 9);
    else if (kind >= POOL || kind < 0)
        expect_fail("VMPTRLD wrong revision", r, 11);   /* scratch pages, random RAM */
    else {
        expect_ok("VMPTRLD", r);
        current = kind;
    }
}

static void op_vmclear(void)
{
    int kind;
    uint64_t a = random_vmcs_addr(&kind);
    if (kind == -1 && addr_valid(a))
        a = pa(scratch[0]) + 1;     /* never scribble on random RAM */
    struct vres r = (ptr_op = a, vx_vmclear(&ptr_op));
    if (kind == -2)
        expect_fail("VMCLEAR of the VMXON region", r, 3);
    else if (!addr_valid(a))
        expect_fail("VMCLEAR invalid address", r, 2);
    else {
        expect_ok("VMCLEAR", r);
        if (kind == current)
            current = -1;
    }
}

static void op_vmptrst(void)
{
    ptr_op = 0;
    struct vres r = vx_vmptrst(&ptr_op);
    uint64_t want = current < 0 ? ~0ull : pa(pool[current]);
    if (!vx_ok(r) || ptr_op != want)
        mismatch("VMPTRST", r, "VMsucceed with the current pointer");
}

static void op_invept(void)
{
    uint64_t type = pick(4) == 0 ? rt_rand() : pick(4);
    desc[0] = pick(2) ? (rt_rand() & 0xfffff000ull) | (pick(2) ? 0x1e : 0x5e) : rt_rand();
    desc[1] = rt_rand();
    struct vres r = vx_invept(type, desc);
    uint32_t ev = (uint32_t)caps.ept_vpid;
    bool type_ok = (ev & (1u << 20)) && ((type == 1 && (ev & (1u << 25))) || (type == 2 && (ev & (1u << 26))));
    if (!type_ok || (type == 1 && !eptp_ok(desc[0])))
        expect_fail("INVEPT", r, 28);
    else
        expect_ok("INVEPT", r);
}

static void op_invvpid(void)
{
    uint64_t type = pick(4) == 0 ? rt_rand() : pick(5);
    desc[0] = pick(3) ? pick(4) : rt_rand();
    desc[1] = pick(2) ? (rt_rand() & 0x00007ffffffff000ull) : rt_rand();
    struct vres r = vx_invvpid(type, desc);
    bool ok = (caps.ept_vpid & (1ull << 32)) && type <= 3 && (caps.ept_vpid & (1ull << (40 + type)));
    uint64_t vpid = desc[0] & 0xffff;
    if (desc[0] >> 16)
        ok = false;
    if (type != 2 && vpid == 0)
        ok = false;
    if (type == 0 && (uint64_t)((int64_t)(desc[1] << 16) >> 16) != desc[1])
        ok = false;
    if (ok)
        expect_ok("INVVPID", r);
    else
        expect_fail("INVVPID", r, 28);
}

static void op_vmresume(void)
{
    /* Pool VMCSs are never launched: VMRESUME always fails. */
    struct vres r = vx_vmresume();
    if (current < 0) {
        if (!vx_invalid(r))
            mismatch("VMRESUME without a VMCS", r, "VMfailInvalid");
    } else {
        expect_fail("VMRESUME of a clear VMCS", r, 5);
    }
}

static void op_vmlaunch_without_vmcs(void)
{
    if (current >= 0)
        return;
    struct vres r = vx_vmlaunch();
    if (!vx_invalid(r))
        mismatch("VMLAUNCH without a VMCS", r, "VMfailInvalid");
}

static void read_caps(void)
{
    uint64_t *dst[] = { &caps.basic, &caps.pin, &caps.proc, &caps.exit, &caps.entry, &caps.misc,
                        &caps.cr0f0, &caps.cr0f1, &caps.cr4f0, &caps.cr4f1, &caps.vmcs_enum,
                        &caps.proc2, &caps.ept_vpid };
    for (unsigned i = 0; i < sizeof(dst) / sizeof(dst[0]); i++)
        rdmsr_safe(0x480 + i, dst[i]);
    rev = (uint32_t)caps.basic & 0x7fffffff;
    ro_writable = caps.misc & (1ull << 29);
    uint32_t r[4];
    cpuid(0x80000008, 0, r);
    maxphy = r[0] & 0xff;
    for (unsigned k = 0; k < NR_SDM_FIELDS; k++)
        if (sdm_fields[k].enc == 0x4400)
            err_idx = k;
}

void test_main(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (!CHECK(r[2] & (1u << 5), "CPUID.1:ECX.VMX (run with nested=1)"))
        return;
    read_caps();
    unsigned iters = (unsigned)rt_arg_u64("iterations", 12000);
    rt_srand(0x9e3779b97f4a7c15ull ^ (rt_arg_u64("seed", 1) * 0x2545f4914f6cdd1dull));
    rt_printf("vmxfuzz: %u iterations, seed %lu, revision %#x, width %u\n", iters,
              rt_arg_u64("seed", 1), rev, maxphy);

    write_cr4_safe(read_cr4() | CR4_VMXE);
    wrmsr_safe(0x3a, 5);
    memcpy(vmxon_region, &rev, 4);
    ptr_op = pa(vmxon_region);
    if (!CHECK(vx_ok(vx_vmxon(&ptr_op)), "VMXON"))
        return;
    for (unsigned i = 0; i < POOL; i++) {
        memcpy(pool[i], &rev, 4);
        ptr_op = pa(pool[i]);
        vx_vmclear(&ptr_op);
    }
    for (unsigned i = 0; i < SCRATCH; i++) {
        uint32_t bad = rev ^ (0x10u << i);
        memcpy(scratch[i], &bad, 4);
    }

    static void (*const opf[])(void) = { op_vmwrite, op_vmread, op_vmptrld, op_vmclear, op_vmptrst,
                                         op_invept, op_invvpid, op_vmresume, op_vmlaunch_without_vmcs };
    static const unsigned weight[] = { 35, 25, 10, 8, 3, 7, 7, 3, 2 };
    uint64_t t0 = rdtsc();
    for (unsigned it = 0; it < iters; it++) {
        unsigned w = pick(100), i = 0;
        while (w >= weight[i]) {
            w -= weight[i];
            i++;
        }
        opf[i]();
        ops[i]++;
        if (it % 2000 == 1999)
            rt_printf("vmxfuzz: %u iterations, %u mismatches\n", it + 1, mismatches);
    }
    rt_printf("vmxfuzz: ops vmwrite %u vmread %u vmptrld %u vmclear %u vmptrst %u invept %u "
              "invvpid %u vmresume %u vmlaunch %u; %lu cycles\n", ops[0], ops[1], ops[2], ops[3],
              ops[4], ops[5], ops[6], ops[7], ops[8], rdtsc() - t0);
    CHECK(iters >= 10000 || rt_arg_flag("iterations"), "%u iterations", iters);
    CHECK(mismatches == 0, "every result as the SDM says (%u mismatches)", mismatches);

    /* Every pool VMCS's memory holds the model after VMCLEAR. */
    unsigned bad = 0, checked = 0;
    for (unsigned p = 0; p < POOL; p++) {
        ptr_op = pa(pool[p]);
        vx_vmclear(&ptr_op);
        for (unsigned k = 0; k < NR_SDM_FIELDS; k++) {
            if (!field_exists(&caps, &sdm_fields[k]))
                continue;
            uint64_t got;
            memcpy(&got, pool[p] + vmcs12_offset_of(sdm_fields[k].enc), 8);
            checked++;
            if (got != model[p][k] && bad++ < 10)
                rt_printf("pool %u field %#x: memory %#lx, model %#lx\n", p, sdm_fields[k].enc, got,
                          model[p][k]);
        }
    }
    CHECK(bad == 0, "VMCLEAR wrote the model to memory (%u fields checked, %u differ)", checked, bad);

    if (rt_arg_flag("launch")) {
        /* Random controls and host state: VM entry must refuse them with
         * VMfailValid(7) or (8) (SDM 27.2) and L0 must go on. */
        for (unsigned p = 0; p < POOL; p++) {
            ptr_op = pa(pool[p]);
            vx_vmptrld(&ptr_op);
            struct vres lr = vx_vmlaunch();
            uint64_t err = 0;
            vx_vmread(0x4400, &err);
            CHECK(lr.vec < 0 && (lr.fl & VMX_FLAGS) == FL_ZF && (err == 7 || err == 8),
                  "VMLAUNCH of pool VMCS %u with random fields: %s, error %lu", p,
                  vx_str(lr, b1, sizeof(b1)), err);
        }
    }
    CHECK(vx_ok(vx_vmxoff()), "VMXOFF");
}
