/* nested/exit_reflect.c: whether an L2 exit is L1's, each rule against
 * the SDM (Vol. 3, 26.1-26.2 for which instructions and events exit,
 * 25.2 exception bitmap and #PF error-code mask/match, 25.6.4 I/O
 * bitmaps, 25.6.9 MSR bitmaps, table 28-3 for the CR-access exit
 * qualification, table 28-5 for the I/O one).  Each test builds a vmcs12
 * with vmcs12_set() and puts L1's bitmaps in a small fake L1 memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exit_reflect.h"
#include "vmcs12.h"
#include "vmcs_fields.h"

/* ---- vmcs12 and fake L1 memory -------------------------------------------- */

static _Alignas(8) uint8_t vmcs[VMCS12_SIZE];

/* L1 memory: MEM_SIZE bytes at MEM_GPA; reads outside it fail. */
#define MEM_GPA   0x10000ull
#define MEM_SIZE  0x3000ull
#define IO_A      0x10000ull    /* I/O bitmap A */
#define IO_B      0x11000ull    /* I/O bitmap B */
#define MSR_BM    0x12000ull    /* MSR bitmap */
#define OUTSIDE   0x80000ull    /* no L1 memory there */

static uint8_t mem[MEM_SIZE];
static unsigned nr_reads;

static int mem_read(void *ctx, uint64_t gpa, void *buf, uint64_t len)
{
    assert_ptr_equal(ctx, mem);
    nr_reads++;
    if (gpa < MEM_GPA || len > MEM_SIZE || gpa - MEM_GPA > MEM_SIZE - len)
        return -1;
    memcpy(buf, mem + (gpa - MEM_GPA), len);
    return 0;
}

static const struct l1_reader rd = { mem_read, mem };

static void set(uint32_t enc, uint64_t val) { vmcs12_set(vmcs, enc, val); }

static void mem_bit(uint64_t gpa, uint64_t bit, bool on)
{
    uint8_t *b = &mem[gpa - MEM_GPA + bit / 8];
    if (on)
        *b |= (uint8_t)(1u << (bit % 8));
    else
        *b &= (uint8_t)~(1u << (bit % 8));
}

static int setup(void **state)
{
    (void)state;
    memset(vmcs, 0, sizeof(vmcs));
    memset(mem, 0, sizeof(mem));
    nr_reads = 0;
    set(VMCS_IO_BITMAP_A, IO_A);
    set(VMCS_IO_BITMAP_B, IO_B);
    set(VMCS_MSR_BITMAP, MSR_BM);
    return 0;
}

#define T(f) cmocka_unit_test_setup(f, setup)

/* Exit reasons (SDM Appendix C). */
enum {
    R_EXC_NMI = 0, R_TRIPLE = 2, R_INTR_WINDOW = 7, R_NMI_WINDOW = 8, R_TASK_SWITCH = 9,
    R_CPUID = 10, R_GETSEC = 11, R_HLT = 12, R_INVD = 13, R_INVLPG = 14, R_RDPMC = 15,
    R_RDTSC = 16, R_VMCALL = 18, R_VMCLEAR = 19, R_VMLAUNCH = 20, R_VMPTRLD = 21,
    R_VMPTRST = 22, R_VMREAD = 23, R_VMRESUME = 24, R_VMWRITE = 25, R_VMXOFF = 26,
    R_VMXON = 27, R_CR = 28, R_DR = 29, R_IO = 30, R_RDMSR = 31, R_WRMSR = 32,
    R_MWAIT = 36, R_MTF = 37, R_MONITOR = 39, R_PAUSE = 40, R_GDTR_IDTR = 46,
    R_LDTR_TR = 47, R_INVEPT = 50, R_RDTSCP = 51, R_INVVPID = 53, R_WBINVD = 54,
    R_XSETBV = 55, R_RDRAND = 57, R_INVPCID = 58, R_VMFUNC = 59, R_RDSEED = 61,
};

static enum reflect owner(const struct l2_exit *e)
{
    return nested_exit_owner(e, vmcs, &rd);
}

/* ---- I/O (26.1.3 "I/O instructions", 25.6.4) ------------------------------- */

static bool io(uint16_t port, unsigned size)
{
    return nested_io_exits(vmcs, port, size, &rd);
}

static void io_bit(uint32_t port, bool on)
{
    mem_bit(port < 0x8000 ? IO_A : IO_B, port & 0x7fff, on);
}

/* Without "use I/O bitmaps", "unconditional I/O exiting" alone decides,
 * whatever the bitmaps hold, for every port and size, wrapping or not. */
static void io_without_bitmaps_unconditional_decides(void **state)
{
    (void)state;
    memset(mem, 0xff, sizeof(mem));
    static const struct { uint16_t port; unsigned size; } acc[] = {
        { 0, 1 }, { 0x60, 1 }, { 0x7fff, 2 }, { 0xcf8, 4 }, { 0xffff, 1 }, { 0xffff, 2 },
        { 0xfffd, 4 },
    };
    for (unsigned i = 0; i < sizeof(acc) / sizeof(acc[0]); i++) {
        set(VMCS_PROC_CONTROLS, 0);
        assert_false(io(acc[i].port, acc[i].size));
        set(VMCS_PROC_CONTROLS, PROC_UNCOND_IO_EXITING);
        assert_true(io(acc[i].port, acc[i].size));
    }
    /* Without bitmaps they are never read. */
    assert_int_equal(nr_reads, 0);
}

/* With "use I/O bitmaps", "unconditional I/O exiting" is ignored. */
static void io_bitmaps_override_unconditional(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS | PROC_UNCOND_IO_EXITING);
    assert_false(io(0x60, 1));
    assert_false(io(0x9000, 4));
    io_bit(0x60, true);
    assert_true(io(0x60, 1));
}

/* Bitmap A holds ports 0-0x7fff, bitmap B 0x8000-0xffff, one bit each. */
static void io_port_in_bitmap_a_and_b(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    static const uint32_t ports[] = { 0, 1, 7, 8, 0x60, 0x3f8, 0x7ffe, 0x7fff,
                                      0x8000, 0x8001, 0x8060, 0xcf8, 0xcfc, 0xfffe, 0xffff };
    const unsigned n = sizeof(ports) / sizeof(ports[0]);
    for (unsigned i = 0; i < n; i++) {
        io_bit(ports[i], true);
        for (unsigned j = 0; j < n; j++)
            assert_int_equal(io((uint16_t)ports[j], 1), i == j);
        io_bit(ports[i], false);
    }
    /* The byte and bit: port 0x3f8 is bit 0 of byte 0x7f of A; 0x8061 bit 1
     * of byte 0xc of B. */
    mem[IO_A - MEM_GPA + 0x7f] = 1;
    assert_true(io(0x3f8, 1));
    assert_false(io(0x3f9, 1));
    assert_false(io(0x83f8, 1));
    mem[IO_B - MEM_GPA + 0xc] = 2;
    assert_true(io(0x8061, 1));
    assert_false(io(0x8060, 1));
    assert_false(io(0x0061, 1));
}

/* A 2- or 4-byte access exits if the bit of any port it touches is set,
 * not only the first one's. */
static void io_multi_byte_any_port_bit(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    io_bit(0x71, true);
    assert_true(io(0x70, 2));
    assert_false(io(0x70, 1));
    assert_true(io(0x71, 1));
    assert_false(io(0x72, 2));
    io_bit(0x71, false);

    for (uint32_t b = 0xcf8; b < 0xcfc; b++) {
        io_bit(b, true);
        assert_true(io(0xcf8, 4));
        assert_int_equal(io(0xcf8, 1), b == 0xcf8);
        assert_int_equal(io(0xcf8, 2), b <= 0xcf9);
        io_bit(b, false);
    }
    /* The ports just outside the access do not count. */
    io_bit(0xcf7, true);
    io_bit(0xcfc, true);
    assert_false(io(0xcf8, 4));
    assert_false(io(0xcf8, 2));

    /* Same in bitmap B. */
    io_bit(0xc003, true);
    assert_true(io(0xc000, 4));
    assert_false(io(0xc000, 2));
}

/* An access over 0x7fff/0x8000 uses A for its low ports, B for the rest. */
static void io_access_crossing_a_and_b(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    assert_false(io(0x7ffe, 4));
    assert_false(io(0x7fff, 2));

    io_bit(0x7fff, true);                   /* last bit of A */
    assert_true(io(0x7ffe, 4));
    assert_true(io(0x7fff, 2));
    assert_false(io(0x8000, 2));
    io_bit(0x7fff, false);

    io_bit(0x8000, true);                   /* first bit of B */
    assert_true(io(0x7ffe, 4));
    assert_true(io(0x7fff, 2));
    assert_false(io(0x7ffc, 4));
    io_bit(0x8000, false);

    io_bit(0x8001, true);
    assert_true(io(0x7ffe, 4));
    assert_false(io(0x7fff, 2));
    io_bit(0x8001, false);

    /* Port 0x8000 is B's bit 0, not A's bit 0 nor a bit 0x8000 past A's
     * start; port 0x7fff is A's last bit, not B's. */
    set(VMCS_IO_BITMAP_B, MSR_BM);          /* B away from A's end */
    io_bit(0x0000, true);
    io_bit(0x0001, true);
    mem_bit(MSR_BM, 0x7fff, true);          /* port 0xffff */
    mem[IO_A - MEM_GPA + 0x1000] = 0xff;    /* the byte after A */
    assert_false(io(0x7ffe, 4));
    assert_true(io(0xfffe, 2));
    assert_true(io(0x0000, 1));
}

/* Beyond 0xffff the access wraps (0xffff then 0x0000): always an exit,
 * whatever the bitmaps say. */
static void io_wrap_around_always_exits(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    assert_true(io(0xffff, 2));
    assert_true(io(0xffff, 4));
    assert_true(io(0xfffe, 4));
    assert_true(io(0xfffd, 4));
    assert_false(io(0xfffc, 4));            /* ends at 0xffff: no wrap */
    assert_false(io(0xfffe, 2));
    assert_false(io(0xffff, 1));
}

/* A bitmap outside L1's memory: the access exits to L1. */
static void io_bitmap_outside_l1_memory_exits(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    set(VMCS_IO_BITMAP_A, OUTSIDE);
    assert_true(io(0x60, 1));
    assert_true(io(0x7fff, 1));
    assert_false(io(0x8000, 1));            /* B is still in memory */
    assert_true(io(0x7fff, 2));

    set(VMCS_IO_BITMAP_A, IO_A);
    set(VMCS_IO_BITMAP_B, OUTSIDE);
    assert_false(io(0x60, 1));
    assert_true(io(0x8000, 1));
    assert_true(io(0xffff, 1));

    /* Straddling the end of L1 memory: B's last page starts inside and
     * ends outside. */
    set(VMCS_IO_BITMAP_B, MEM_GPA + MEM_SIZE - 0x10);
    assert_false(io(0x8000, 1));            /* byte 0: inside */
    assert_true(io(0x8000 + 0x10 * 8, 1));  /* byte 0x10: outside */
}

/* The exit qualification (table 28-5): bits 2:0 size - 1 (0, 1 or 3),
 * bit 3 direction, bit 4 string, bit 5 REP, bit 6 operand encoding,
 * bits 31:16 port. */
static void io_exit_qualification_decoded(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    io_bit(0x71, true);
    struct l2_exit e = { .reason = R_IO };
    e.qual = (0x70ull << 16) | 0;           /* OUT DX, AL to 0x70 */
    assert_int_equal(owner(&e), REFLECT_L0);
    e.qual = (0x70ull << 16) | 1;           /* 2 bytes */
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = (0x6eull << 16) | 3 | BIT(3) | BIT(4) | BIT(5) | BIT(6);   /* REP INSD from 0x6e */
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = (0x6cull << 16) | 3 | BIT(3);  /* 0x6c-0x6f */
    assert_int_equal(owner(&e), REFLECT_L0);
    e.qual = (0x71ull << 16) | BIT(3);
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = (0xffffull << 16) | 1;         /* wraps */
    assert_int_equal(owner(&e), REFLECT_L1);

    set(VMCS_PROC_CONTROLS, 0);
    e.qual = (0x71ull << 16);
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, PROC_UNCOND_IO_EXITING);
    e.qual = (0x80ull << 16);
    assert_int_equal(owner(&e), REFLECT_L1);
}

/* ---- MSRs (26.1.3 RDMSR/WRMSR, 25.6.9) ------------------------------------- */

static bool rdmsr(uint32_t msr) { return nested_msr_exits(vmcs, msr, false, &rd); }
static bool wrmsr(uint32_t msr) { return nested_msr_exits(vmcs, msr, true, &rd); }

/* Byte offsets of the four 1 KiB bitmaps in the MSR-bitmap page. */
enum { READ_LOW = 0, READ_HIGH = 1024, WRITE_LOW = 2048, WRITE_HIGH = 3072 };

static void msr_bit(unsigned quarter, uint32_t msr, bool on)
{
    mem_bit(MSR_BM, (uint64_t)quarter * 8 + (msr & 0x1fff), on);
}

/* Without "use MSR bitmaps" every RDMSR and WRMSR exits. */
static void msr_without_bitmaps_every_access_exits(void **state)
{
    (void)state;
    memset(mem, 0, sizeof(mem));
    set(VMCS_PROC_CONTROLS, ~(uint64_t)PROC_USE_MSR_BITMAPS & 0xffffffffu);
    static const uint32_t msrs[] = { 0, 0x10, 0x1b, 0x1fff, 0x2000, 0x40000000,
                                     0xc0000080, 0xc0000100, 0xc0001fff, 0xffffffff };
    for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
        assert_true(rdmsr(msrs[i]));
        assert_true(wrmsr(msrs[i]));
    }
    assert_int_equal(nr_reads, 0);
}

/* Each quarter answers for one direction and one range only: the same
 * low 13 bits in the other range or direction do not exit. */
static void msr_four_quarters(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS);
    static const struct { unsigned quarter; uint32_t msr; bool write; } q[] = {
        { READ_LOW, 0x10, false }, { READ_HIGH, 0xc0000010, false },
        { WRITE_LOW, 0x10, true }, { WRITE_HIGH, 0xc0000010, true },
    };
    for (unsigned i = 0; i < 4; i++) {
        msr_bit(q[i].quarter, q[i].msr, true);
        for (unsigned j = 0; j < 4; j++)
            assert_int_equal(nested_msr_exits(vmcs, q[j].msr, q[j].write, &rd), i == j);
        /* Neighbouring MSRs stay with L2. */
        assert_false(nested_msr_exits(vmcs, q[i].msr + 1, q[i].write, &rd));
        assert_false(nested_msr_exits(vmcs, q[i].msr - 1, q[i].write, &rd));
        msr_bit(q[i].quarter, q[i].msr, false);
    }

    /* The bytes themselves: IA32_EFER (0xc0000080) is bit 0 of byte
     * 1024 + 0x10 for reads, 3072 + 0x10 for writes; IA32_APIC_BASE (0x1b)
     * bit 3 of byte 3 (read) and 2048 + 3 (write). */
    mem[MSR_BM - MEM_GPA + READ_HIGH + 0x10] = 0x01;
    assert_true(rdmsr(0xc0000080));
    assert_false(wrmsr(0xc0000080));
    assert_false(rdmsr(0x80));
    mem[MSR_BM - MEM_GPA + WRITE_HIGH + 0x10] = 0x01;
    assert_true(wrmsr(0xc0000080));
    mem[MSR_BM - MEM_GPA + 3] = 0x08;
    assert_true(rdmsr(0x1b));
    assert_false(wrmsr(0x1b));
    assert_false(rdmsr(0xc000001b));
    mem[MSR_BM - MEM_GPA + WRITE_LOW + 3] = 0x08;
    assert_true(wrmsr(0x1b));
    assert_false(wrmsr(0xc000001b));
}

/* MSRs outside 0-0x1fff and 0xc0000000-0xc0001fff exit, whatever the
 * bitmaps say. */
static void msr_outside_both_ranges_always_exit(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS);
    static const uint32_t outside[] = { 0x2000, 0x2001, 0x3fff, 0x10000, 0x40000000,
                                        0x4b564d00, 0xbfffffff, 0xc0002000, 0xc0010000,
                                        0xc0011000, 0xfffffffe, 0xffffffff };
    for (unsigned i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        assert_true(rdmsr(outside[i]));
        assert_true(wrmsr(outside[i]));
    }
    assert_int_equal(nr_reads, 0);
}

/* The edges of the two ranges. */
static void msr_range_boundaries(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS);
    static const uint32_t inside[] = { 0, 0x1fff, 0xc0000000, 0xc0001fff };
    for (unsigned i = 0; i < 4; i++) {
        assert_false(rdmsr(inside[i]));
        assert_false(wrmsr(inside[i]));
    }
    assert_true(rdmsr(0x2000));
    assert_true(wrmsr(0x2000));
    assert_true(rdmsr(0xc0002000));
    assert_true(wrmsr(0xc0002000));
    assert_true(rdmsr(0xbfffffff));

    /* 0x1fff and 0xc0001fff: bit 7 of the last byte of their quarter. */
    mem[MSR_BM - MEM_GPA + READ_LOW + 1023] = 0x80;
    assert_true(rdmsr(0x1fff));
    assert_false(rdmsr(0x1ffe));
    assert_false(rdmsr(0xc0001fff));
    assert_false(wrmsr(0x1fff));
    mem[MSR_BM - MEM_GPA + READ_HIGH + 1023] = 0x80;
    assert_true(rdmsr(0xc0001fff));
    mem[MSR_BM - MEM_GPA + WRITE_LOW + 1023] = 0x80;
    assert_true(wrmsr(0x1fff));
    assert_false(wrmsr(0xc0001fff));
    mem[MSR_BM - MEM_GPA + WRITE_HIGH + 1023] = 0x80;
    assert_true(wrmsr(0xc0001fff));

    /* 0 and 0xc0000000: bit 0 of the first byte. */
    mem[MSR_BM - MEM_GPA + READ_LOW] = 0x01;
    assert_true(rdmsr(0));
    assert_false(rdmsr(1));
    assert_false(rdmsr(0xc0000000));
    mem[MSR_BM - MEM_GPA + READ_HIGH] = 0x01;
    assert_true(rdmsr(0xc0000000));
    assert_false(wrmsr(0));
    assert_false(wrmsr(0xc0000000));

    /* All ones everywhere: everything in range exits too. */
    memset(mem + (MSR_BM - MEM_GPA), 0xff, 4096);
    for (unsigned i = 0; i < 4; i++) {
        assert_true(rdmsr(inside[i]));
        assert_true(wrmsr(inside[i]));
    }
}

static void msr_bitmap_outside_l1_memory_exits(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS);
    set(VMCS_MSR_BITMAP, OUTSIDE);
    assert_true(rdmsr(0x10));
    assert_true(wrmsr(0x10));
    assert_true(rdmsr(0xc0000080));
    assert_true(wrmsr(0xc0000080));

    /* The page straddles the end of L1 memory: the read bitmaps are
     * inside, the write bitmaps outside. */
    set(VMCS_MSR_BITMAP, MEM_GPA + MEM_SIZE - 2048);
    assert_false(rdmsr(0x10));
    assert_false(rdmsr(0xc0000080));
    assert_true(wrmsr(0x10));
    assert_true(wrmsr(0xc0000080));
}

/* Through nested_exit_owner: RDMSR/WRMSR take the MSR from ECX; bits
 * 63:32 of RCX are not part of it. */
static void msr_exit_reasons_use_ecx(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS);
    msr_bit(READ_LOW, 0x10, true);
    struct l2_exit e = { .reason = R_RDMSR, .rcx = 0x10 };
    assert_int_equal(owner(&e), REFLECT_L1);
    e.rcx = 0xffffffff00000010ull;
    assert_int_equal(owner(&e), REFLECT_L1);
    e.rcx = 0x11;
    assert_int_equal(owner(&e), REFLECT_L0);
    e.rcx = 0x100000011ull;
    assert_int_equal(owner(&e), REFLECT_L0);
    e.reason = R_WRMSR;
    e.rcx = 0x10;
    assert_int_equal(owner(&e), REFLECT_L0);
    msr_bit(WRITE_LOW, 0x10, true);
    assert_int_equal(owner(&e), REFLECT_L1);
    e.rcx = 0xc0000100;
    assert_int_equal(owner(&e), REFLECT_L0);
    e.rcx = 0x4b564d00;
    assert_int_equal(owner(&e), REFLECT_L1);
    set(VMCS_PROC_CONTROLS, 0);
    e.rcx = 0xc0000100;
    assert_int_equal(owner(&e), REFLECT_L1);
}

/* ---- control registers (26.1.3, table 28-3) -------------------------------- */

enum { MOV_TO = 0, MOV_FROM = 1, CLTS = 2, LMSW = 3 };

/* Table 28-3: bits 3:0 CR, 5:4 access type, 6 LMSW operand type,
 * 11:8 register, 31:16 LMSW source data. */
static uint64_t cr_qual(unsigned cr, unsigned type, unsigned reg, uint16_t lmsw)
{
    return cr | (type << 4) | (reg << 8) | ((uint64_t)lmsw << 16);
}

static bool mov_to(unsigned cr, uint64_t val)
{
    return nested_cr_exits(vmcs, cr_qual(cr, MOV_TO, 0, 0), val);
}

static bool mov_from(unsigned cr)
{
    return nested_cr_exits(vmcs, cr_qual(cr, MOV_FROM, 0, 0), 0);
}

static bool lmsw(uint16_t src)
{
    return nested_cr_exits(vmcs, cr_qual(0, LMSW, 0, src), 0);
}

static bool clts(void)
{
    return nested_cr_exits(vmcs, cr_qual(0, CLTS, 0, 0), 0);
}

#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_PG BIT(31)

/* MOV to CR0 exits iff a bit set in the mask differs between the source
 * and the read shadow; the unmasked bits never matter. */
static void mov_to_cr0_masked_bits_against_shadow(void **state)
{
    (void)state;
    set(VMCS_PROC_CONTROLS, 0xffffffffu);   /* no CR0 rule depends on these */
    /* Mask 0: nothing exits. */
    assert_false(mov_to(0, 0));
    assert_false(mov_to(0, 0x80050033));

    set(VMCS_CR0_GUEST_HOST_MASK, CR0_PG | CR0_PE);
    set(VMCS_CR0_READ_SHADOW, CR0_PG | CR0_PE | CR0_NE);
    assert_false(mov_to(0, CR0_PG | CR0_PE));
    assert_false(mov_to(0, CR0_PG | CR0_PE | CR0_NE | CR0_ET | CR0_TS));
    assert_true(mov_to(0, CR0_PE | CR0_NE));            /* clears PG */
    assert_true(mov_to(0, CR0_PG | CR0_NE));            /* clears PE */
    assert_true(mov_to(0, 0));

    /* Setting a masked bit the shadow has clear exits too. */
    set(VMCS_CR0_READ_SHADOW, CR0_PE);
    assert_true(mov_to(0, CR0_PG | CR0_PE));
    assert_false(mov_to(0, CR0_PE | CR0_MP));

    /* All 64 bits count. */
    set(VMCS_CR0_GUEST_HOST_MASK, ~0ull);
    set(VMCS_CR0_READ_SHADOW, 0x80000011);
    assert_false(mov_to(0, 0x80000011));
    assert_true(mov_to(0, 0x80000011 | BIT(40)));
    assert_true(mov_to(0, 0x80000010));

    /* The CR4 mask and shadow do not apply to CR0. */
    set(VMCS_CR0_GUEST_HOST_MASK, 0);
    set(VMCS_CR4_GUEST_HOST_MASK, ~0ull);
    set(VMCS_CR4_READ_SHADOW, 0);
    assert_false(mov_to(0, 0x80000011));
}

#define CR4_PAE  BIT(5)
#define CR4_PGE  BIT(7)
#define CR4_VMXE BIT(13)

static void mov_to_cr4_masked_bits_against_shadow(void **state)
{
    (void)state;
    set(VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE);
    set(VMCS_CR4_READ_SHADOW, 0);
    assert_false(mov_to(4, 0));
    assert_false(mov_to(4, CR4_PAE | CR4_PGE));
    assert_true(mov_to(4, CR4_PAE | CR4_VMXE));

    set(VMCS_CR4_READ_SHADOW, CR4_VMXE | CR4_PAE);
    assert_true(mov_to(4, CR4_PAE));
    assert_false(mov_to(4, CR4_VMXE));
    assert_false(mov_to(4, CR4_VMXE | CR4_PAE | CR4_PGE));

    set(VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE | CR4_PAE);
    assert_true(mov_to(4, CR4_VMXE));
    assert_false(mov_to(4, CR4_VMXE | CR4_PAE | CR4_PGE));

    /* The CR0 mask and shadow do not apply to CR4. */
    set(VMCS_CR4_GUEST_HOST_MASK, 0);
    set(VMCS_CR0_GUEST_HOST_MASK, ~0ull);
    set(VMCS_CR0_READ_SHADOW, 0);
    assert_false(mov_to(4, CR4_VMXE | CR4_PAE));
}

/* MOV to CR3 exits iff "CR3-load exiting" is 1 and the source is none of
 * the first n CR3-target values (n the CR3-target count; 0 = always). */
static void mov_to_cr3_load_exiting_and_targets(void **state)
{
    (void)state;
    static const uint64_t target[4] = { 0x1000, 0x2000, 0x3000, 0x4000 };
    for (unsigned i = 0; i < 4; i++)
        set(VMCS_CR3_TARGET0 + 2 * i, target[i]);

    /* "CR3-load exiting" 0: never, whatever the count. */
    set(VMCS_PROC_CONTROLS, ~(uint64_t)PROC_CR3_LOAD_EXITING & 0xffffffffu);
    for (unsigned n = 0; n <= 4; n++) {
        set(VMCS_CR3_TARGET_COUNT, n);
        assert_false(mov_to(3, 0x5000));
        assert_false(mov_to(3, target[0]));
    }

    set(VMCS_PROC_CONTROLS, PROC_CR3_LOAD_EXITING);
    for (unsigned n = 0; n <= 4; n++) {
        set(VMCS_CR3_TARGET_COUNT, n);
        for (unsigned i = 0; i < 4; i++)
            assert_int_equal(mov_to(3, target[i]), i >= n);
        assert_true(mov_to(3, 0x5000));
        assert_true(mov_to(3, 0));
        assert_true(mov_to(3, target[0] | 0x18));   /* PWT/PCD differ: not equal */
    }

    /* A count beyond 4 (VM entry would refuse it) counts as 4: there is
     * no fifth target value, and one absent does not match a source of 0. */
    for (unsigned n = 5; n <= 9; n++) {
        set(VMCS_CR3_TARGET_COUNT, n);
        for (unsigned i = 0; i < 4; i++)
            assert_false(mov_to(3, target[i]));
        assert_true(mov_to(3, 0));
        assert_true(mov_to(3, 0x5000));
    }
    set(VMCS_CR3_TARGET_COUNT, 0xffffffffu);
    assert_true(mov_to(3, 0));
    assert_false(mov_to(3, target[3]));

    /* Load exiting does not make MOV from CR3 exit. */
    assert_false(mov_from(3));
}

static void mov_from_cr3_store_exiting(void **state)
{
    (void)state;
    assert_false(mov_from(3));
    set(VMCS_PROC_CONTROLS, ~(uint64_t)PROC_CR3_STORE_EXITING & 0xffffffffu);
    assert_false(mov_from(3));
    set(VMCS_PROC_CONTROLS, PROC_CR3_STORE_EXITING);
    assert_true(mov_from(3));
    /* Store exiting does not make MOV to CR3 exit. */
    assert_false(mov_to(3, 0x1000));
}

static void cr8_load_and_store_exiting(void **state)
{
    (void)state;
    assert_false(mov_to(8, 0));
    assert_false(mov_from(8));
    set(VMCS_PROC_CONTROLS, PROC_CR8_LOAD_EXITING);
    assert_true(mov_to(8, 0));
    assert_true(mov_to(8, 15));
    assert_false(mov_from(8));
    set(VMCS_PROC_CONTROLS, PROC_CR8_STORE_EXITING);
    assert_false(mov_to(8, 15));
    assert_true(mov_from(8));
    set(VMCS_PROC_CONTROLS, ~(uint64_t)(PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING) &
                            0xffffffffu);
    assert_false(mov_to(8, 15));
    assert_false(mov_from(8));
}

/* CLTS exits iff bit 3 (TS) is set in both the CR0 mask and the shadow. */
static void clts_needs_ts_in_mask_and_shadow(void **state)
{
    (void)state;
    assert_false(clts());
    set(VMCS_CR0_GUEST_HOST_MASK, CR0_TS);
    assert_false(clts());
    set(VMCS_CR0_READ_SHADOW, CR0_TS);
    assert_true(clts());
    set(VMCS_CR0_GUEST_HOST_MASK, 0);
    assert_false(clts());
    /* Every other bit masked and differing: still no exit. */
    set(VMCS_CR0_GUEST_HOST_MASK, ~(uint64_t)CR0_TS);
    set(VMCS_CR0_READ_SHADOW, ~0ull);
    assert_false(clts());
    set(VMCS_CR0_GUEST_HOST_MASK, ~0ull);
    assert_true(clts());
}

/* LMSW: PE exits only when it would set a masked PE the shadow has clear
 * (LMSW cannot clear PE); MP, EM, TS exit when masked and different. */
static void lmsw_rules(void **state)
{
    (void)state;
    /* PE. */
    set(VMCS_CR0_GUEST_HOST_MASK, CR0_PE);
    set(VMCS_CR0_READ_SHADOW, 0);
    assert_true(lmsw(CR0_PE));
    assert_false(lmsw(0));
    set(VMCS_CR0_READ_SHADOW, CR0_PE);
    assert_false(lmsw(0));                  /* would clear PE: it cannot */
    assert_false(lmsw(CR0_PE));
    set(VMCS_CR0_GUEST_HOST_MASK, 0);       /* PE not masked */
    set(VMCS_CR0_READ_SHADOW, 0);
    assert_false(lmsw(CR0_PE));

    /* MP, EM, TS: masked and different, both ways. */
    static const uint64_t bits[] = { CR0_MP, CR0_EM, CR0_TS };
    for (unsigned i = 0; i < 3; i++) {
        uint64_t b = bits[i];
        set(VMCS_CR0_GUEST_HOST_MASK, b);
        set(VMCS_CR0_READ_SHADOW, 0);
        assert_true(lmsw((uint16_t)b));
        assert_false(lmsw(0));
        assert_false(lmsw((uint16_t)(0xf & ~b & ~CR0_PE)));  /* the other bits differ, unmasked */
        set(VMCS_CR0_READ_SHADOW, b);
        assert_true(lmsw(0));
        assert_false(lmsw((uint16_t)b));
        set(VMCS_CR0_GUEST_HOST_MASK, 0xf & ~b);
        assert_false(lmsw(0));                                /* b differs, unmasked */
    }

    /* Only the low 4 bits of the mask: the rest of CR0 is out of LMSW's
     * reach, as are bits 15:4 of its source. */
    set(VMCS_CR0_GUEST_HOST_MASK, ~0xfull);
    set(VMCS_CR0_READ_SHADOW, CR0_PG | CR0_NE);
    assert_false(lmsw(0));
    assert_false(lmsw(0xfff0));
    set(VMCS_CR0_GUEST_HOST_MASK, ~0ull);
    set(VMCS_CR0_READ_SHADOW, CR0_PG | CR0_NE | CR0_PE | CR0_MP);
    assert_false(lmsw(0xfff0 | CR0_PE | CR0_MP));
    assert_false(lmsw(CR0_MP));             /* PE 1 -> 0: not an exit by PE */
    assert_true(lmsw(CR0_PE));              /* MP differs */
    assert_true(lmsw(CR0_PE | CR0_MP | CR0_TS));
}

/* Through nested_exit_owner: the qualification's fields as table 28-3
 * lays them out; the register number (bits 11:8) only says where
 * cr_source came from. */
static void cr_exit_qualification_decoded(void **state)
{
    (void)state;
    set(VMCS_CR0_GUEST_HOST_MASK, CR0_PE | CR0_TS | CR0_PG);
    set(VMCS_CR0_READ_SHADOW, CR0_PE | CR0_TS | CR0_PG);
    set(VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE);
    set(VMCS_PROC_CONTROLS, PROC_CR3_STORE_EXITING | PROC_CR8_LOAD_EXITING);

    struct l2_exit e = { .reason = R_CR };
    e.qual = cr_qual(0, MOV_TO, 7, 0);      /* MOV CR0, RDI */
    e.cr_source = CR0_PE | CR0_TS | CR0_PG;
    assert_int_equal(owner(&e), REFLECT_L0);
    e.cr_source = CR0_PE | CR0_TS;
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = cr_qual(4, MOV_TO, 15, 0);     /* MOV CR4, R15 */
    assert_int_equal(owner(&e), REFLECT_L0);   /* PE|TS: no VMXE */
    e.cr_source = CR4_VMXE;
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = cr_qual(3, MOV_TO, 0, 0);
    assert_int_equal(owner(&e), REFLECT_L0);
    e.qual = cr_qual(3, MOV_FROM, 3, 0);
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = cr_qual(8, MOV_TO, 1, 0);
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = cr_qual(8, MOV_FROM, 1, 0);
    assert_int_equal(owner(&e), REFLECT_L0);
    e.qual = cr_qual(0, CLTS, 0, 0);
    assert_int_equal(owner(&e), REFLECT_L1);
    e.qual = cr_qual(0, LMSW, 0, CR0_PE | CR0_TS) | BIT(6);   /* memory operand */
    e.cr_source = 0;
    assert_int_equal(owner(&e), REFLECT_L0);
    e.qual = cr_qual(0, LMSW, 0, CR0_PE);   /* clears TS */
    assert_int_equal(owner(&e), REFLECT_L1);
}

/* ---- exceptions and NMIs (25.2, 26.2) -------------------------------------- */

static uint32_t intr(uint32_t type, unsigned vector)
{
    return INTR_INFO_VALID | type | vector;
}

static bool exc(unsigned vector, uint32_t error)
{
    uint32_t info = intr(INTR_TYPE_HW_EXCEPTION, vector);
    if (vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21)
        info |= INTR_INFO_DELIVER_ERROR;
    return nested_exception_exits(vmcs, info, error);
}

/* One bit per vector: set alone, only that vector exits; clear alone,
 * every other one does. */
static void exception_bitmap_per_vector(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 32; v++) {
        if (v == 2 || v == 14)              /* NMI and #PF: below */
            continue;
        set(VMCS_EXCEPTION_BITMAP, BIT(v));
        for (unsigned w = 0; w < 32; w++)
            if (w != 2 && w != 14)
                assert_int_equal(exc(w, 0), v == w);
        set(VMCS_EXCEPTION_BITMAP, ~BIT(v) & 0xffffffffu);
        for (unsigned w = 0; w < 32; w++)
            if (w != 2 && w != 14)
                assert_int_equal(exc(w, 0), v != w);
    }
    /* The #PF error-code fields are for #PF only. */
    set(VMCS_EXCEPTION_BITMAP, BIT(13));
    set(VMCS_PF_ERROR_MASK, ~0u);
    set(VMCS_PF_ERROR_MATCH, 0x1234);
    assert_true(exc(13, 0));
    assert_true(exc(13, 0x1234));
    set(VMCS_EXCEPTION_BITMAP, 0);
    assert_false(exc(13, 0x1234));
}

/* 25.2: with bit 14 = 1 a #PF exits iff (PFEC & mask) == match; with bit
 * 14 = 0 iff it is not equal. */
static void page_fault_error_code_mask_and_match(void **state)
{
    (void)state;
    static const uint32_t pfec[] = { 0, 1, 2, 3, 4, 5, 7, 0x10, 0x11, 0x8000, 0xffffffff };
    for (unsigned bit14 = 0; bit14 < 2; bit14++) {
        set(VMCS_EXCEPTION_BITMAP, bit14 ? BIT(14) : (~BIT(14) & 0xffffffffu));
        /* mask 0, match 0: always equal. */
        set(VMCS_PF_ERROR_MASK, 0);
        set(VMCS_PF_ERROR_MATCH, 0);
        for (unsigned i = 0; i < sizeof(pfec) / sizeof(pfec[0]); i++)
            assert_int_equal(exc(14, pfec[i]), bit14);
        /* mask 0, match nonzero: never equal. */
        set(VMCS_PF_ERROR_MATCH, 1);
        for (unsigned i = 0; i < sizeof(pfec) / sizeof(pfec[0]); i++)
            assert_int_equal(exc(14, pfec[i]), !bit14);
        /* mask P|W (3), match W (2): not-present writes only. */
        set(VMCS_PF_ERROR_MASK, 3);
        set(VMCS_PF_ERROR_MATCH, 2);
        for (unsigned i = 0; i < sizeof(pfec) / sizeof(pfec[0]); i++) {
            bool equal = (pfec[i] & 3) == 2;
            assert_int_equal(exc(14, pfec[i]), bit14 ? equal : !equal);
        }
        /* Full mask: the whole error code must equal match. */
        set(VMCS_PF_ERROR_MASK, 0xffffffff);
        set(VMCS_PF_ERROR_MATCH, 0x11);
        assert_int_equal(exc(14, 0x11), bit14);
        assert_int_equal(exc(14, 0x10), !bit14);
        assert_int_equal(exc(14, 0x80000011), !bit14);
    }
}

/* NMIs (type 2) follow "NMI exiting", not bit 2 of the exception bitmap. */
static void nmi_follows_nmi_exiting(void **state)
{
    (void)state;
    uint32_t nmi = intr(INTR_TYPE_NMI, 2);
    assert_false(nested_exception_exits(vmcs, nmi, 0));
    set(VMCS_EXCEPTION_BITMAP, 0xffffffff);
    assert_false(nested_exception_exits(vmcs, nmi, 0));
    set(VMCS_PIN_CONTROLS, PIN_NMI_EXITING);
    assert_true(nested_exception_exits(vmcs, nmi, 0));
    set(VMCS_EXCEPTION_BITMAP, 0);
    assert_true(nested_exception_exits(vmcs, nmi, 0));
    /* The other pin controls are not "NMI exiting". */
    set(VMCS_PIN_CONTROLS, ~(uint64_t)PIN_NMI_EXITING & 0xffffffffu);
    set(VMCS_EXCEPTION_BITMAP, 0xffffffff);
    assert_false(nested_exception_exits(vmcs, nmi, 0));
    /* And "NMI exiting" is not the exception bitmap. */
    set(VMCS_PIN_CONTROLS, PIN_NMI_EXITING);
    set(VMCS_EXCEPTION_BITMAP, 0);
    assert_false(exc(6, 0));
    assert_false(nested_exception_exits(vmcs, intr(INTR_TYPE_SW_EXCEPTION, 3), 0));
}

/* Software exceptions (type 6: INT3, INTO) and the privileged software
 * exception (type 5: INT1) are exceptions: the bitmap decides. */
static void software_exceptions_follow_the_bitmap(void **state)
{
    (void)state;
    uint32_t int3 = intr(INTR_TYPE_SW_EXCEPTION, 3);
    uint32_t into = intr(INTR_TYPE_SW_EXCEPTION, 4);
    uint32_t int1 = intr(INTR_TYPE_PRIV_SW_EXCEPTION, 1);
    assert_false(nested_exception_exits(vmcs, int3, 0));
    assert_false(nested_exception_exits(vmcs, into, 0));
    assert_false(nested_exception_exits(vmcs, int1, 0));
    set(VMCS_EXCEPTION_BITMAP, BIT(3));
    assert_true(nested_exception_exits(vmcs, int3, 0));
    assert_false(nested_exception_exits(vmcs, into, 0));
    assert_false(nested_exception_exits(vmcs, int1, 0));
    set(VMCS_EXCEPTION_BITMAP, BIT(4));
    assert_true(nested_exception_exits(vmcs, into, 0));
    assert_false(nested_exception_exits(vmcs, int3, 0));
    set(VMCS_EXCEPTION_BITMAP, BIT(1));
    assert_true(nested_exception_exits(vmcs, int1, 0));
    assert_true(exc(1, 0));                 /* #DB */
    assert_false(nested_exception_exits(vmcs, int3, 0));
}

static void exception_exit_reason_decoded(void **state)
{
    (void)state;
    set(VMCS_EXCEPTION_BITMAP, BIT(6) | BIT(14));
    set(VMCS_PF_ERROR_MASK, 1);
    set(VMCS_PF_ERROR_MATCH, 0);
    struct l2_exit e = { .reason = R_EXC_NMI, .intr_info = intr(INTR_TYPE_HW_EXCEPTION, 6) };
    assert_int_equal(owner(&e), REFLECT_L1);
    e.intr_info = intr(INTR_TYPE_HW_EXCEPTION, 13) | INTR_INFO_DELIVER_ERROR;
    assert_int_equal(owner(&e), REFLECT_L0);
    e.intr_info = intr(INTR_TYPE_HW_EXCEPTION, 14) | INTR_INFO_DELIVER_ERROR;
    e.intr_error = 2;                       /* not present: L1's */
    assert_int_equal(owner(&e), REFLECT_L1);
    e.intr_error = 3;                       /* protection: L0's */
    assert_int_equal(owner(&e), REFLECT_L0);
    e.intr_info = intr(INTR_TYPE_NMI, 2);
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PIN_CONTROLS, PIN_NMI_EXITING);
    assert_int_equal(owner(&e), REFLECT_L1);
}

/* ---- nested_exit_owner: the control-per-reason exits (26.1.3) ---------------- */

#define ALL32 0xffffffffu

/* Exits decided by one primary control: L1's iff it is set, whatever
 * the other controls (primary and secondary) say. */
static void primary_control_exits(void **state)
{
    (void)state;
    static const struct { uint32_t reason; uint32_t ctl; } r[] = {
        { R_HLT, PROC_HLT_EXITING }, { R_INVLPG, PROC_INVLPG_EXITING },
        { R_RDPMC, PROC_RDPMC_EXITING }, { R_RDTSC, PROC_RDTSC_EXITING },
        { R_DR, PROC_MOV_DR_EXITING }, { R_MWAIT, PROC_MWAIT_EXITING },
        { R_MONITOR, PROC_MONITOR_EXITING }, { R_MTF, PROC_MONITOR_TRAP_FLAG },
        { R_INTR_WINDOW, PROC_INTR_WINDOW_EXITING }, { R_NMI_WINDOW, PROC_NMI_WINDOW_EXITING },
    };
    for (unsigned i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        struct l2_exit e = { .reason = r[i].reason };
        set(VMCS_PROC_CONTROLS, 0);
        set(VMCS_PROC_CONTROLS2, 0);
        assert_int_equal(owner(&e), REFLECT_L0);
        set(VMCS_PROC_CONTROLS, r[i].ctl);
        assert_int_equal(owner(&e), REFLECT_L1);
        set(VMCS_PROC_CONTROLS, ALL32 & ~r[i].ctl);
        set(VMCS_PROC_CONTROLS2, ALL32);
        set(VMCS_PIN_CONTROLS, ALL32);
        assert_int_equal(owner(&e), REFLECT_L0);
        set(VMCS_PIN_CONTROLS, 0);
    }
}

/* Exits decided by one secondary control: L1's iff it is set and the
 * secondary controls are activated (25.6.2: with "activate secondary
 * controls" 0 they all count as 0). */
static void secondary_control_exits(void **state)
{
    (void)state;
    static const struct { uint32_t reason; uint32_t ctl; } r[] = {
        { R_GDTR_IDTR, PROC2_DESC_TABLE_EXITING }, { R_LDTR_TR, PROC2_DESC_TABLE_EXITING },
        { R_WBINVD, PROC2_WBINVD_EXITING }, { R_RDRAND, PROC2_RDRAND_EXITING },
        { R_RDSEED, PROC2_RDSEED_EXITING },
    };
    for (unsigned i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        struct l2_exit e = { .reason = r[i].reason };
        set(VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
        set(VMCS_PROC_CONTROLS2, 0);
        assert_int_equal(owner(&e), REFLECT_L0);
        set(VMCS_PROC_CONTROLS2, r[i].ctl);
        assert_int_equal(owner(&e), REFLECT_L1);
        set(VMCS_PROC_CONTROLS2, ALL32 & ~r[i].ctl);
        set(VMCS_PROC_CONTROLS, ALL32);
        assert_int_equal(owner(&e), REFLECT_L0);
        /* Not activated: ignored. */
        set(VMCS_PROC_CONTROLS, ALL32 & ~PROC_ACTIVATE_SECONDARY);
        set(VMCS_PROC_CONTROLS2, ALL32);
        assert_int_equal(owner(&e), REFLECT_L0);
    }
}

/* PAUSE: "PAUSE exiting", or "PAUSE-loop exiting" (a secondary control:
 * only when activated). */
static void pause_exits(void **state)
{
    (void)state;
    struct l2_exit e = { .reason = R_PAUSE };
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, PROC_PAUSE_EXITING);
    assert_int_equal(owner(&e), REFLECT_L1);
    set(VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, PROC2_PAUSE_LOOP_EXITING);
    assert_int_equal(owner(&e), REFLECT_L1);
    set(VMCS_PROC_CONTROLS, PROC_PAUSE_EXITING | PROC_ACTIVATE_SECONDARY);
    assert_int_equal(owner(&e), REFLECT_L1);
    set(VMCS_PROC_CONTROLS, 0);
    assert_int_equal(owner(&e), REFLECT_L0);   /* PLE set, not activated */
    set(VMCS_PROC_CONTROLS, ALL32 & ~(PROC_PAUSE_EXITING | PROC_ACTIVATE_SECONDARY));
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, ALL32 & ~PROC_PAUSE_EXITING);
    set(VMCS_PROC_CONTROLS2, ALL32 & ~PROC2_PAUSE_LOOP_EXITING);
    assert_int_equal(owner(&e), REFLECT_L0);
}

/* INVPCID exits iff "INVLPG exiting" and "enable INVPCID" are both 1. */
static void invpcid_needs_invlpg_exiting_and_enable_invpcid(void **state)
{
    (void)state;
    struct l2_exit e = { .reason = R_INVPCID };
    set(VMCS_PROC_CONTROLS, PROC_INVLPG_EXITING | PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, PROC2_ENABLE_INVPCID);
    assert_int_equal(owner(&e), REFLECT_L1);
    set(VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, PROC_INVLPG_EXITING | PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, ALL32 & ~PROC2_ENABLE_INVPCID);
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, PROC_INVLPG_EXITING);  /* secondary not activated */
    set(VMCS_PROC_CONTROLS2, PROC2_ENABLE_INVPCID);
    assert_int_equal(owner(&e), REFLECT_L0);
}

/* RDTSCP exits iff "RDTSC exiting" and "enable RDTSCP" are both 1
 * (26.1.3; with "enable RDTSCP" 0 it is #UD, not an exit). */
static void rdtscp_needs_rdtsc_exiting_and_enable_rdtscp(void **state)
{
    (void)state;
    struct l2_exit e = { .reason = R_RDTSCP };
    set(VMCS_PROC_CONTROLS, PROC_RDTSC_EXITING | PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, PROC2_ENABLE_RDTSCP);
    assert_int_equal(owner(&e), REFLECT_L1);
    set(VMCS_PROC_CONTROLS, ALL32 & ~PROC_RDTSC_EXITING);
    set(VMCS_PROC_CONTROLS2, ALL32);
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, PROC_RDTSC_EXITING | PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, ALL32 & ~PROC2_ENABLE_RDTSCP);
    assert_int_equal(owner(&e), REFLECT_L0);
    set(VMCS_PROC_CONTROLS, PROC_RDTSC_EXITING);   /* secondary not activated */
    set(VMCS_PROC_CONTROLS2, PROC2_ENABLE_RDTSCP);
    assert_int_equal(owner(&e), REFLECT_L0);
}

/* Exits no control turns off (CPUID, triple fault, task switch, GETSEC,
 * INVD, XSETBV, VMCALL and the VMX instructions, VMFUNC of a function
 * L1 was never offered) and reasons the module does not know: L1's, even
 * with every control 0. */
static void unconditional_and_unknown_exits_are_l1s(void **state)
{
    (void)state;
    static const uint32_t reasons[] = {
        R_TRIPLE, R_TASK_SWITCH, R_CPUID, R_GETSEC, R_INVD, R_VMCALL, R_VMCLEAR,
        R_VMLAUNCH, R_VMPTRLD, R_VMPTRST, R_VMREAD, R_VMRESUME, R_VMWRITE, R_VMXOFF,
        R_VMXON, R_INVEPT, R_INVVPID, R_XSETBV, R_VMFUNC, 70, 200, 0xffff,
    };
    for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        struct l2_exit e = { .reason = reasons[i] };
        set(VMCS_PROC_CONTROLS, 0);
        set(VMCS_PROC_CONTROLS2, 0);
        set(VMCS_PIN_CONTROLS, 0);
        assert_int_equal(owner(&e), REFLECT_L1);
        set(VMCS_PROC_CONTROLS, ALL32);
        set(VMCS_PROC_CONTROLS2, ALL32);
        set(VMCS_PIN_CONTROLS, ALL32);
        assert_int_equal(owner(&e), REFLECT_L1);
    }
    assert_int_equal(nr_reads, 0);
}

/* 26.1.3: L2's VMREAD/VMWRITE exits unless VMCS shadowing is on (and
 * activated), the encoding has bits 63:15 clear and its bitmap bit is 0;
 * a bitmap outside L1 memory reads as ones. */
static void vmread_vmwrite_follow_shadowing_and_bitmaps(void **state)
{
    (void)state;
    const uint64_t rd_bm = IO_A, wr_bm = IO_B, rip = 0x681e;
    set(VMCS_VMREAD_BITMAP, rd_bm);
    set(VMCS_VMWRITE_BITMAP, wr_bm);
    /* Shadowing off, or on without "activate secondary controls". */
    assert_true(nested_vmcs_field_exits(vmcs, rip, false, &rd));
    set(VMCS_PROC_CONTROLS2, PROC2_VMCS_SHADOWING);
    assert_true(nested_vmcs_field_exits(vmcs, rip, false, &rd));
    set(VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
    /* Both bitmaps clear: neither exits; bit 0 (high access) is its own. */
    assert_false(nested_vmcs_field_exits(vmcs, rip, false, &rd));
    assert_false(nested_vmcs_field_exits(vmcs, rip, true, &rd));
    mem_bit(rd_bm, rip, true);
    assert_true(nested_vmcs_field_exits(vmcs, rip, false, &rd));
    assert_false(nested_vmcs_field_exits(vmcs, rip, true, &rd));
    assert_false(nested_vmcs_field_exits(vmcs, rip + 1, false, &rd));
    mem_bit(wr_bm, 0x7fff, true);
    assert_true(nested_vmcs_field_exits(vmcs, 0x7fff, true, &rd));
    /* Bits 63:15 set: exits whatever bit 14:0 selects. */
    assert_true(nested_vmcs_field_exits(vmcs, 0x8000 | 0x4400, false, &rd));
    assert_true(nested_vmcs_field_exits(vmcs, (1ull << 32) | (rip + 1), false, &rd));
    /* A bitmap L1 placed outside its memory. */
    set(VMCS_VMREAD_BITMAP, OUTSIDE);
    assert_true(nested_vmcs_field_exits(vmcs, rip + 1, false, &rd));
}

/* The shortcut of the L2 exit path: every reason it names is one the full
 * decision gives to L1 whatever the controls, and it names the known
 * unconditional ones. */
static void always_l1_agrees_with_the_decision(void **state)
{
    (void)state;
    static const uint32_t known[] = {
        R_TRIPLE, R_TASK_SWITCH, R_CPUID, R_GETSEC, R_INVD, R_VMCALL, R_VMCLEAR,
        R_VMLAUNCH, R_VMPTRLD, R_VMPTRST, R_VMREAD, R_VMRESUME, R_VMWRITE, R_VMXOFF,
        R_VMXON, R_INVEPT, R_INVVPID, R_XSETBV, R_VMFUNC,
    };
    for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        assert_true(nested_exit_always_l1(known[i]));
    for (uint32_t r = 0; r < 100; r++) {
        if (!nested_exit_always_l1(r))
            continue;
        struct l2_exit e = { .reason = r, .qual = ~0ull, .intr_info = ~0u, .rcx = 0x10 };
        for (unsigned ones = 0; ones < 2; ones++) {
            set(VMCS_PROC_CONTROLS, ones ? ALL32 : 0);
            set(VMCS_PROC_CONTROLS2, ones ? ALL32 : 0);
            set(VMCS_PIN_CONTROLS, ones ? ALL32 : 0);
            set(VMCS_EXCEPTION_BITMAP, ones ? ALL32 : 0);
            assert_int_equal(owner(&e), REFLECT_L1);
        }
    }
    /* Reasons some control decides are not in it. */
    assert_false(nested_exit_always_l1(R_HLT));
    assert_false(nested_exit_always_l1(R_IO));
    assert_false(nested_exit_always_l1(R_EXC_NMI));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(vmread_vmwrite_follow_shadowing_and_bitmaps),
        T(io_without_bitmaps_unconditional_decides),
        T(io_bitmaps_override_unconditional),
        T(io_port_in_bitmap_a_and_b),
        T(io_multi_byte_any_port_bit),
        T(io_access_crossing_a_and_b),
        T(io_wrap_around_always_exits),
        T(io_bitmap_outside_l1_memory_exits),
        T(io_exit_qualification_decoded),
        T(msr_without_bitmaps_every_access_exits),
        T(msr_four_quarters),
        T(msr_outside_both_ranges_always_exit),
        T(msr_range_boundaries),
        T(msr_bitmap_outside_l1_memory_exits),
        T(msr_exit_reasons_use_ecx),
        T(mov_to_cr0_masked_bits_against_shadow),
        T(mov_to_cr4_masked_bits_against_shadow),
        T(mov_to_cr3_load_exiting_and_targets),
        T(mov_from_cr3_store_exiting),
        T(cr8_load_and_store_exiting),
        T(clts_needs_ts_in_mask_and_shadow),
        T(lmsw_rules),
        T(cr_exit_qualification_decoded),
        T(exception_bitmap_per_vector),
        T(page_fault_error_code_mask_and_match),
        T(nmi_follows_nmi_exiting),
        T(software_exceptions_follow_the_bitmap),
        T(exception_exit_reason_decoded),
        T(primary_control_exits),
        T(secondary_control_exits),
        T(pause_exits),
        T(invpcid_needs_invlpg_exiting_and_enable_invpcid),
        T(rdtscp_needs_rdtsc_exiting_and_enable_rdtscp),
        T(unconditional_and_unknown_exits_are_l1s),
        T(always_l1_agrees_with_the_decision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
