/*
 * Instruction exits of L2 reflected to L1 (SDM 26.1: instructions that
 * cause VM exits unconditionally or by control): CPUID, VMCALL, HLT, I/O
 * (unconditional and bitmaps), RDMSR/WRMSR (with and without MSR bitmaps),
 * and a few more (VMX instructions, INVD, RDTSC, TSC offsetting, INVLPG,
 * MOV DR, PAUSE, WBINVD).
 */
#include "l1.h"


static volatile uint64_t out[16];

/* ---- CPUID --------------------------------------------------------------- */
extern char l2_cpuid_at[];
L2FN static void l2_cpuid(uint64_t leaf)
{
    uint32_t a, b, c, d;
    __asm__ volatile(GL(l2_cpuid_at) "cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"((uint32_t)leaf), "c"(7));
    out[0] = a, out[1] = b, out[2] = c, out[3] = d;
    out[4] = 1;             /* got past the CPUID */
}

void t_cpuid(void)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_cpuid, 0x4c324c32))
        return;
    struct exit_info *e = l2_next(R_CPUID, "cpuid: L2 CPUID is reflected to L1");
    CHECK(e->len == 2, "cpuid: VM-exit instruction length 2 (%u)", e->len);
    CHECK(e->rip == pa(l2_cpuid_at), "cpuid: guest RIP is the CPUID (%#lx, want %#lx)", e->rip, pa(l2_cpuid_at));
    CHECK((uint32_t)l2r.rax == 0x4c324c32 && (uint32_t)l2r.rcx == 7,
          "cpuid: L1 sees L2's EAX/ECX (%#lx/%#lx)", l2r.rax, l2r.rcx);
    CHECK(out[4] == 0, "cpuid: L2 has not gone past the CPUID yet");
    l2r.rax = 0x11112222, l2r.rbx = 0x33334444, l2r.rcx = 0x55556666, l2r.rdx = 0x77778888;
    skip_insn();
    l2_done("cpuid");
    CHECK(out[0] == 0x11112222 && out[1] == 0x33334444 && out[2] == 0x55556666 && out[3] == 0x77778888,
          "cpuid: L2 sees the values L1 chose (%#lx %#lx %#lx %#lx)", out[0], out[1], out[2], out[3]);
    CHECK(out[4] == 1, "cpuid: L2 continued after the CPUID (guest RIP advanced by the length)");
}

/* ---- VMCALL ---------------------------------------------------------------- */
extern char l2_vmcall_at[];
L2FN static void l2_vmcall_prog(uint64_t arg)
{
    uint64_t a = 0x1234, di = 0x5678;
    __asm__ volatile(GL(l2_vmcall_at) "vmcall" : "+a"(a), "+D"(di) :: "memory");
    out[0] = a;
}

void t_vmcall(void)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_vmcall_prog, 0))
        return;
    struct exit_info *e = l2_next(R_VMCALL, "vmcall: L2 VMCALL exits to L1");
    CHECK(e->len == 3 && e->rip == pa(l2_vmcall_at), "vmcall: length 3, guest RIP at the VMCALL (%u, %#lx)",
          e->len, e->rip);
    CHECK(l2r.rax == 0x1234 && l2r.rdi == 0x5678, "vmcall: L1 sees L2's RAX and RDI (%#lx, %#lx)", l2r.rax, l2r.rdi);
    l2r.rax = 0xabcdef;
    skip_insn();
    l2_done("vmcall");
    CHECK(out[0] == 0xabcdef, "vmcall: L2 sees the RAX L1 returned (%#lx)", out[0]);
}

/* ---- HLT ------------------------------------------------------------------------ */
extern char l2_hlt_at[], l2_hlt_after[];
L2FN static void l2_hlt(uint64_t arg)
{
    __asm__ volatile(GL(l2_hlt_at) "hlt\n\t" GL(l2_hlt_after) "nop" ::: "memory");
    out[0] = 1;
}

void t_hlt(void)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_hlt, 0) || !set_proc(PROC_HLT))
        return;
    struct exit_info *e = l2_next(R_HLT, "hlt: HLT exiting on, L2 HLT (IF=0) exits");
    CHECK(e->len == 1 && e->rip == pa(l2_hlt_at), "hlt: length 1, guest RIP at the HLT (%u, %#lx)", e->len, e->rip);
    CHECK(e->activity == 0, "hlt: activity state active (%lu)", e->activity);
    skip_insn();
    l2_done("hlt");

    /* HLT exiting off: L2 enters the HLT state with IF=0; only the
     * VMX-preemption timer can end it (SDM 26.5.1: the timer counts in C1
     * and causes a VM exit from HLT; 28.3.4: the activity state is saved). */
    if (skip_if(!(cap.pin1 & PIN_PREEMPT), "hlt: no VMX-preemption timer to leave an L2 HLT"))
        return;
    out[0] = 0;
    if (!vm_setup(l2_hlt, 0) || !set_proc(0) || !set_pin(PIN_PREEMPT))
        return;
    vmw(F_PREEMPT_TIMER, 20000);
    e = l2_next(R_PREEMPT, "hlt: HLT exiting off, the preemption timer ends L2's HLT state");
    CHECK(e->activity == 1, "hlt: the activity state is saved as HLT (%lu)", e->activity);
    CHECK(e->rip == pa(l2_hlt_after), "hlt: guest RIP is after the HLT (%#lx, want %#lx)", e->rip, pa(l2_hlt_after));
    CHECK(out[0] == 0, "hlt: L2 did not run past its HLT");
    set_pin(0);
    vmw(F_G_ACTIVITY, 0);
    l2_done("hlt (activity set active)");
    CHECK(out[0] == 1, "hlt: L2 continued after the HLT");
}

/* ---- I/O ----------------------------------------------------------------------------- */
extern char l2_io1[], l2_io2[], l2_io3[], l2_io4[], l2_io5[];
static char io_buf[8] = "abc", io_in[8];
L2FN static void l2_io_uncond(uint64_t arg)
{
    uint64_t ax = 0x5a, dx, cx, si, di;
    __asm__ volatile(GL(l2_io1) "outb %%al, $0x80" :: "a"(ax));
    __asm__ volatile(GL(l2_io2) "inw %%dx, %%ax" : "+a"(ax) : "d"(0x1234));
    out[0] = ax;
    __asm__ volatile(GL(l2_io3) "outl %%eax, %%dx" :: "a"(0xcafef00d), "d"(0x8123));
    cx = 3, si = pa(io_buf), dx = 0xe9;
    __asm__ volatile(GL(l2_io4) "rep outsb" : "+c"(cx), "+S"(si) : "d"(dx) : "memory");
    out[1] = cx, out[2] = si;
    di = pa(io_in);
    __asm__ volatile(GL(l2_io5) "insb" : "+D"(di) : "d"(0x1234) : "memory");
    out[3] = di;
}

static void t_io_bitmaps(void);
static void io_check(const char *what, const char *site, uint64_t qual, unsigned len)
{
    struct exit_info *e = l2_run();
    CHECK(!e->vmfail && e->reason == R_IO && e->qual == qual && e->len == len && e->rip == pa(site),
          "io: %s exits with qualification %#lx, length %u (%s)", what, qual, len, E(e));
}

void t_io(void)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_io_uncond, 0) || !set_proc(PROC_UNCOND_IO))
        return;
    /* Table 28-5: size-1 in 2:0, IN in bit 3, string 4, REP 5, immediate 6, port 31:16. */
    io_check("unconditional I/O exiting: OUT imm8 (byte, port 0x80)", l2_io1, 0x00800040, 2);
    CHECK((uint8_t)l2r.rax == 0x5a, "io: L1 sees the byte L2 writes (%#lx)", l2r.rax & 0xff);
    skip_insn();
    io_check("IN AX, DX (word, port 0x1234)", l2_io2, 0x12340009, 2);
    l2r.rax = (l2r.rax & ~0xfffful) | 0xbeef;
    skip_insn();
    io_check("OUT DX, EAX (dword, port 0x8123)", l2_io3, 0x81230003, 1);
    CHECK((uint32_t)l2r.rax == 0xcafef00d, "io: L1 sees the dword (%#lx)", l2r.rax);
    skip_insn();
    io_check("REP OUTSB (string, rep, port 0xe9)", l2_io4, 0x00e90030, 2);
    /* IA32_VMX_BASIC[54]: instruction information for INS/OUTS (28.2.5):
     * address size in 9:7 (2 = 64-bit), segment in 17:15 (3 = DS). */
    if (cap.basic & (1ul << 54))
        CHECK(((ex.insn_info >> 7) & 7) == 2 && ((ex.insn_info >> 15) & 7) == 3,
              "io: OUTS instruction information: 64-bit address size, DS (%#x)", ex.insn_info);
    CHECK(ex.gla == pa(io_buf), "io: OUTS guest-linear address is DS:RSI (%#lx, want %#lx)", ex.gla, pa(io_buf));
    CHECK(l2r.rcx == 3 && l2r.rsi == pa(io_buf), "io: REP OUTSB exits before the first iteration (RCX %lu)", l2r.rcx);
    l2r.rcx = 0;
    l2r.rsi += 3;
    skip_insn();
    io_check("INSB (string, in, port 0x1234)", l2_io5, 0x12340018, 1);
    CHECK(ex.gla == pa(io_in), "io: INS guest-linear address is ES:RDI (%#lx)", ex.gla);
    l2r.rdi += 1;
    skip_insn();
    l2_done("io");
    CHECK(out[0] == 0xbeef && out[1] == 0 && out[2] == pa(io_buf) + 3 && out[3] == pa(io_in) + 1,
          "io: L2 sees L1's emulation (AX %#lx, RCX %lu, RSI +%lu, RDI +%lu)", out[0], out[1],
          out[2] - pa(io_buf), out[3] - pa(io_in));
    t_io_bitmaps();
}

extern char l2_iob1[], l2_iob2[], l2_iob3[], l2_iob4[];
L2FN static void l2_io_bitmap(uint64_t arg)
{
    uint8_t v;
    __asm__ volatile("outb %%al, $0x80" :: "a"(0x11));
    __asm__ volatile("inb $0x80, %%al" : "=a"(v));
    out[0] = v;
    out[1] = 1;
    __asm__ volatile(GL(l2_iob1) "outb %%al, %%dx" :: "a"(0x22), "d"(0x1234));
    uint32_t l;
    __asm__ volatile(GL(l2_iob2) "inl %%dx, %%eax" : "=a"(l) : "d"(0x8123));
    out[2] = l;
    /* A word at 0x7fff also touches 0x8000 (bitmap B). */
    __asm__ volatile(GL(l2_iob3) "outw %%ax, %%dx" :: "a"(0x3333), "d"(0x7fff));
    __asm__ volatile("outb %%al, %%dx" :: "a"(0x44), "d"(0x7fff));
    out[3] = 1;
    /* A word at 0xffff wraps around the port space: always exits (26.1.3). */
    __asm__ volatile(GL(l2_iob4) "outw %%ax, %%dx" :: "a"(0x5555), "d"(0xffff));
}

static void set_port(unsigned port)
{
    uint8_t *b = port < 0x8000 ? io_bitmap_a : io_bitmap_b;
    port &= 0x7fff;
    b[port / 8] |= 1u << (port % 8);
}

static void t_io_bitmaps(void)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_io_bitmap, 0) || !set_proc(PROC_IO_BITMAPS))
        return;
    set_port(0x1234);
    set_port(0x8123);
    set_port(0x8000);
    io_check("I/O bitmaps: OUT to port 0x1234 (bit set in bitmap A)", l2_iob1, 0x12340000, 1);
    /* L2's access to port 0x80 went to the device L1 sees (L0's for L1,
     * the POST port on hardware): L1 reads what L2 read. */
    uint8_t mine = inb(0x80);
    CHECK(out[1] == 1 && out[0] == mine,
          "io: port 0x80 (clear in bitmap A): OUT and IN ran without an exit, IN read %#lx as L1 reads now (%#x)",
          out[0], mine);
    skip_insn();
    io_check("IN EAX from port 0x8123 (bit set in bitmap B)", l2_iob2, 0x8123000b, 1);
    l2r.rax = 0x600dcafe;
    skip_insn();
    io_check("OUT word at port 0x7fff exits for port 0x8000", l2_iob3, 0x7fff0001, 2);
    skip_insn();
    io_check("OUT word at port 0xffff (wraps around) exits", l2_iob4, 0xffff0001, 2);
    CHECK(out[3] == 1, "io: a byte at port 0x7fff (clear) did not exit");
    CHECK(out[2] == 0x600dcafe, "io: L2's IN EAX got L1's value (%#lx)", out[2]);
    skip_insn();
    l2_done("io bitmaps");
}

/* ---- RDMSR / WRMSR -------------------------------------------------------------------- */
#define MSR_SYSENTER_CS 0x174
#define MSR_TSC_AUX 0xc0000103
extern char l2_msr1[], l2_msr2[], l2_msr3[];
static inline uint64_t l2_rdmsr(uint32_t m)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
    return ((uint64_t)hi << 32) | lo;
}

L2FN static void l2_msr_bitmap(uint64_t arg)
{
    uint32_t lo, hi;
    __asm__ volatile("wrmsr" :: "c"(MSR_TSC_AUX), "a"(0x55), "d"(0));
    __asm__ volatile(GL(l2_msr1) "rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_TSC_AUX));
    out[0] = ((uint64_t)hi << 32) | lo;
    out[1] = l2_rdmsr(MSR_SYSENTER_CS);
    __asm__ volatile(GL(l2_msr2) "wrmsr" :: "c"(MSR_SYSENTER_CS), "a"(0x99), "d"(0));
    out[2] = l2_rdmsr(MSR_SYSENTER_CS);
    __asm__ volatile(GL(l2_msr3) "rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x40000000));
    out[3] = ((uint64_t)hi << 32) | lo;
}

L2FN static void l2_msr_nobitmap(uint64_t arg)
{
    uint32_t lo, hi;
    __asm__ volatile(GL(l2_msr4) "rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_SYSENTER_CS));
    out[0] = ((uint64_t)hi << 32) | lo;
    __asm__ volatile(GL(l2_msr5) "wrmsr" :: "c"(MSR_TSC_AUX), "a"(0x66), "d"(0));
}
extern char l2_msr4[], l2_msr5[];

void t_msr(void)
{
    uint64_t aux0 = 0;
    if (skip_if(rdmsr_safe(MSR_TSC_AUX, &aux0) != -1, "msr: L1 has no IA32_TSC_AUX"))
        return;
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_msr_bitmap, 0) || !set_proc(PROC_MSR_BITMAPS))
        return;
    /* Read bitmap high at 0x400, write bitmap low at 0x800 (25.6.9). */
    msr_bitmap[0x400 + (MSR_TSC_AUX & 0x1fff) / 8] |= 1u << (MSR_TSC_AUX % 8);
    msr_bitmap[0x800 + MSR_SYSENTER_CS / 8] |= 1u << (MSR_SYSENTER_CS % 8);
    vmw(F_G_SYSENTER_CS, 0x77);
    uint64_t host_cs = vmr(F_H_SYSENTER_CS);
    struct exit_info *e = l2_next(R_RDMSR, "msr: RDMSR of IA32_TSC_AUX (read bit set)");
    CHECK(e->rip == pa(l2_msr1) && e->len == 2 && (uint32_t)l2r.rcx == MSR_TSC_AUX,
          "msr: guest RIP at the RDMSR, length 2, ECX %#lx", l2r.rcx);
    uint64_t aux = 0;
    rdmsr_safe(MSR_TSC_AUX, &aux);
    CHECK(aux == 0x55, "msr: L2's WRMSR of TSC_AUX (write bit clear) did not exit and reached the MSR L1 reads (%#lx)", aux);
    uint64_t sec = 0;
    rdmsr_safe(MSR_SYSENTER_CS, &sec);
    CHECK(sec == host_cs, "msr: after the exit L1's SYSENTER_CS is the host-state value (%#lx, want %#lx)", sec, host_cs);
    l2r.rax = 0xabc, l2r.rdx = 0x1;
    skip_insn();
    e = l2_next(R_WRMSR, "msr: WRMSR of IA32_SYSENTER_CS (write bit set)");
    CHECK(e->rip == pa(l2_msr2) && (uint32_t)l2r.rcx == MSR_SYSENTER_CS && (uint32_t)l2r.rax == 0x99 &&
          (uint32_t)l2r.rdx == 0, "msr: L1 sees ECX, EDX:EAX of the WRMSR (%#lx %#lx:%#lx)", l2r.rcx, l2r.rdx, l2r.rax);
    vmw(F_G_SYSENTER_CS, 0x99);
    skip_insn();
    e = l2_next(R_RDMSR, "msr: RDMSR of MSR 0x40000000 (outside the bitmap ranges) always exits");
    CHECK(e->rip == pa(l2_msr3), "msr: at the RDMSR of 0x40000000");
    l2r.rax = 0, l2r.rdx = 0;
    skip_insn();
    l2_done("msr");
    CHECK(out[0] == 0x100000abcul, "msr: L2's RDMSR of TSC_AUX returned L1's EDX:EAX (%#lx)", out[0]);
    CHECK(out[1] == 0x77, "msr: RDMSR of SYSENTER_CS (read bit clear) did not exit, saw the guest-state value (%#lx)", out[1]);
    CHECK(out[2] == 0x99, "msr: after L1 emulated the WRMSR L2 reads SYSENTER_CS %#lx", out[2]);

    /* Without MSR bitmaps every RDMSR and WRMSR exits (26.1.3). */
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_msr_nobitmap, 0) || !set_proc(0))
        return;
    e = l2_next(R_RDMSR, "msr: no MSR bitmaps, RDMSR of SYSENTER_CS exits");
    CHECK(e->rip == pa(l2_msr4), "msr: at the RDMSR");
    l2r.rax = 0x31, l2r.rdx = 0;
    skip_insn();
    e = l2_next(R_WRMSR, "msr: no MSR bitmaps, WRMSR of TSC_AUX exits");
    CHECK(e->rip == pa(l2_msr5) && (uint32_t)l2r.rax == 0x66, "msr: at the WRMSR with EAX %#lx", l2r.rax);
    skip_insn();
    l2_done("msr (no bitmaps)");
    CHECK(out[0] == 0x31, "msr: L2 got L1's value (%#lx)", out[0]);
    wrmsr_safe(MSR_TSC_AUX, aux0);
}

/* ---- other instructions ----------------------------------------------------------------- */
extern char l2_m_invept[], l2_m_invvpid[];
extern char l2_m_vmread[], l2_m_vmxon[], l2_m_invd[], l2_m_rdtsc[], l2_m_invlpg[], l2_m_movdr[],
    l2_m_pause[], l2_m_wbinvd[];
L2FN static void l2_misc(uint64_t arg)
{
    uint64_t v = 0, t;
    static uint64_t ptr;
    __asm__ volatile(GL(l2_m_vmread) "vmread %%rax, %%rbx" : "=b"(v) : "a"(0x681eul) : "cc");
    __asm__ volatile(GL(l2_m_vmxon) "vmxon (%0)" :: "r"(&ptr) : "cc", "memory");
    static uint64_t desc[2];
    __asm__ volatile(GL(l2_m_invept) "invept (%0), %1" :: "r"(desc), "r"(2ul) : "cc", "memory");
    __asm__ volatile(GL(l2_m_invvpid) "invvpid (%0), %1" :: "r"(desc), "r"(2ul) : "cc", "memory");
    __asm__ volatile(GL(l2_m_invd) "invd" ::: "memory");
    uint32_t lo, hi;
    __asm__ volatile(GL(l2_m_rdtsc) "rdtsc" : "=a"(lo), "=d"(hi));
    out[0] = ((uint64_t)hi << 32) | lo;
    __asm__ volatile(GL(l2_m_invlpg) "invlpg (%0)" :: "r"(0x123456ul) : "memory");
    __asm__ volatile(GL(l2_m_movdr) "mov %%dr7, %%rcx" : "=c"(t));
    out[1] = t;
    __asm__ volatile(GL(l2_m_pause) "pause");
    __asm__ volatile(GL(l2_m_wbinvd) "wbinvd" ::: "memory");
}

L2FN static void l2_rdtsc(uint64_t arg)
{
    out[0] = rdtsc();
}

void t_misc(void)
{
    memset((void *)out, 0, sizeof(out));
    uint32_t want = PROC_RDTSC | PROC_INVLPG | PROC_MOV_DR | PROC_PAUSE;
    if (!vm_setup(l2_misc, 0) || !set_proc(want & cap.proc1) || !set_proc2(PROC2_WBINVD & cap.proc2_1))
        return;
    struct exit_info *e = l2_next(R_VMREAD, "misc: VMREAD in L2 always exits");
    CHECK(e->rip == pa(l2_m_vmread) && e->len == 3, "misc: VMREAD at its RIP, length 3 (%u)", e->len);
    skip_insn();
    e = l2_next(R_VMXON, "misc: VMXON in L2 always exits");
    skip_insn();
    e = l2_next(R_INVEPT, "misc: INVEPT in L2 always exits");
    CHECK(e->rip == pa(l2_m_invept), "misc: INVEPT at its RIP");
    skip_insn();
    e = l2_next(R_INVVPID, "misc: INVVPID in L2 always exits");
    CHECK(e->rip == pa(l2_m_invvpid), "misc: INVVPID at its RIP");
    skip_insn();
    e = l2_next(R_INVD, "misc: INVD in L2 always exits");
    CHECK(e->len == 2, "misc: INVD length 2 (%u)", e->len);
    skip_insn();
    if (cap.proc1 & PROC_RDTSC) {
        e = l2_next(R_RDTSC, "misc: RDTSC exiting");
        CHECK(e->rip == pa(l2_m_rdtsc) && e->len == 2, "misc: RDTSC at its RIP, length 2");
        l2r.rax = 0x1234, l2r.rdx = 0x5;
        skip_insn();
    }
    if (cap.proc1 & PROC_INVLPG) {
        e = l2_next(R_INVLPG, "misc: INVLPG exiting");
        CHECK(e->qual == 0x123456 && e->len == 3, "misc: INVLPG qualification is the linear address (%#lx)", e->qual);
        skip_insn();
    }
    if (cap.proc1 & PROC_MOV_DR) {
        e = l2_next(R_DR, "misc: MOV-DR exiting");
        /* Table 28-4: DR number 2:0, direction bit 4 (1 = MOV from DR), register 11:8. */
        CHECK(e->qual == (7 | (1 << 4) | (1 << 8)), "misc: MOV from DR7 to RCX qualification %#lx (want 0x117)", e->qual);
        l2r.rcx = 0x400;
        skip_insn();
    }
    if (cap.proc1 & PROC_PAUSE) {
        e = l2_next(R_PAUSE, "misc: PAUSE exiting");
        CHECK(e->rip == pa(l2_m_pause) && e->len == 2, "misc: PAUSE at its RIP, length 2");
        skip_insn();
    }
    if (cap.proc2_1 & PROC2_WBINVD) {
        e = l2_next(R_WBINVD, "misc: WBINVD exiting");
        CHECK(e->rip == pa(l2_m_wbinvd) && e->len == 2, "misc: WBINVD at its RIP, length 2");
        skip_insn();
    }
    l2_done("misc");
    if (cap.proc1 & PROC_RDTSC)
        CHECK(out[0] == 0x500001234ul, "misc: L2's RDTSC returned L1's value (%#lx)", out[0]);
    if (cap.proc1 & PROC_MOV_DR)
        CHECK(out[1] == 0x400, "misc: L2's MOV from DR7 got L1's value (%#lx)", out[1]);

    /* TSC offsetting (26.3): L2's RDTSC = TSC + offset. */
    if (skip_if(!(cap.proc1 & PROC_TSC_OFFSET), "misc: no TSC offsetting"))
        return;
    if (!vm_setup(l2_rdtsc, 0) || !set_proc(PROC_TSC_OFFSET))
        return;
    uint64_t off = 1ul << 44;
    vmw(F_TSC_OFFSET, off);
    uint64_t t0 = rdtsc();
    l2_done("misc (TSC offset)");
    uint64_t t1 = rdtsc();
    CHECK(out[0] >= t0 + off && out[0] <= t1 + off, "misc: L2's RDTSC with TSC offset 2^44 is within [%#lx, %#lx] (%#lx)",
          t0 + off, t1 + off, out[0]);

    /* The VM exit stored EFER.LMA in "IA-32e mode guest" (SDM 28.2); what
     * L1 VMWRITEs there afterwards stays, whatever it writes next
     * (kvm-unit-tests' vmx_mtf_pdpte_test clears it, then writes the
     * guest's EFER, CR0 and CS for a 32-bit L2). */
    uint64_t ent = vmr(F_ENTRY_CTLS);
    CHECK(ent & ENTRY_IA32E, "misc: the exit from a 64-bit L2 left IA-32e mode guest set (%#lx)", ent);
    vmw(F_ENTRY_CTLS, ent & ~(uint64_t)ENTRY_IA32E);
    vmw(F_G_EFER, vmr(F_G_EFER));
    vmw(F_G_CR0, vmr(F_G_CR0));
    CHECK(!(vmr(F_ENTRY_CTLS) & ENTRY_IA32E), "misc: L1's VMWRITE clearing IA-32e mode guest stays after guest-state writes (%#lx)",
          vmr(F_ENTRY_CTLS));
    vmw(F_ENTRY_CTLS, ent);
}
