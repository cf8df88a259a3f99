/*
 * cpuid_msr_io: the CPUID policy, the emulated and passed-through MSRs, the
 * port-I/O devices (UART, fw_cfg, unclaimed ports, string I/O) and the
 * control registers the hv owns.
 */
#include "rt.h"
#include <nestor/abi.h>

static void test_cpuid(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    CHECK(r[2] & (1u << 31), "CPUID.1:ECX.hypervisor set");
    CHECK(!(r[2] & (1u << 5)), "CPUID.1:ECX.VMX hidden (nested VMX off)");
    CHECK(!(r[2] & (1u << 26)), "CPUID.1:ECX.XSAVE hidden");
    CHECK((r[1] >> 24) == 0, "APIC id of vCPU 0 is 0");
    CHECK((r[3] & (1u << 9)) && !(r[2] & (1u << 21)) && !(r[2] & (1u << 24)),
          "CPUID.1: local APIC present; x2APIC and TSC deadline hidden");
    cpuid(7, 0, r);
    CHECK(!(r[3] & (1u << 4)), "CPUID.7:EDX.FSRM hidden");
    cpuid(0x40000000, 0, r);
    CHECK(r[0] == NESTOR_CPUID_MAX, "max hypervisor leaf %#x", r[0]);
    cpuid(0x40000001, 0, r);
    CHECK(r[0] == ((NESTOR_VERSION_MAJOR << 16) | NESTOR_VERSION_MINOR), "Nestor version leaf %#x", r[0]);
    cpuid(0x40000003, 0, r);
    CHECK(r[0] == 0 && r[1] == rt_boot.domid, "leaf 0x40000003: vCPU 0, domain %u", r[1]);
    cpuid(0x400000ff, 0, r);
    CHECK(!r[0] && !r[1] && !r[2] && !r[3], "unused hypervisor leaf reads zero");
}

static void test_msrs(void)
{
    uint64_t v = 0, v2 = 0;
    int f = rdmsr_safe(0xc0000080, &v);
    CHECK(f == -1 && (v & (1u << 8)) && (v & (1u << 10)), "EFER reads LME|LMA (%#lx)", v);
    CHECK(wrmsr_safe(0xc0000080, v) == -1, "EFER write of the same value");
    CHECK(wrmsr_safe(0xc0000080, v | (1ull << 20)) == 13, "EFER reserved bit -> #GP");
    CHECK(wrmsr_safe(0xc0000080, v & ~(1ull << 8)) == 13, "clearing EFER.LME with paging on -> #GP");
    f = rdmsr_safe(0x277, &v);
    CHECK(f == -1, "PAT readable (%#lx)", v);
    CHECK(wrmsr_safe(0x277, 0x0007010600070106ull) == -1 && rdmsr_safe(0x277, &v2) == -1 &&
          v2 == 0x0007010600070106ull, "PAT write/read back");
    CHECK(wrmsr_safe(0x277, 0x0000000000000002ull) == 13, "PAT with reserved type 2 -> #GP");
    wrmsr_safe(0x277, v);
    /* IA32_DEBUGCTL: LBR and BTF are architectural (SDM 17.4.1) and kept
     * in the VMCS; other bits (BTS, TR, freeze...) are not offered. */
    CHECK(wrmsr_safe(0x1d9, 3) == -1 && rdmsr_safe(0x1d9, &v2) == -1 && v2 == 3,
          "DEBUGCTL LBR|BTF write/read back");
    CHECK(wrmsr_safe(0x1d9, 1ull << 6) == 13, "DEBUGCTL.TR -> #GP");
    CHECK(wrmsr_safe(0x1d9, 0) == -1 && rdmsr_safe(0x1d9, &v2) == -1 && v2 == 0, "DEBUGCTL cleared");
    f = rdmsr_safe(0x3a, &v);
    CHECK(f == -1 && (v & 1) && !(v & 4), "FEATURE_CONTROL locked, VMX off (%#lx)", v);
    CHECK(wrmsr_safe(0x3a, 5) == 13, "FEATURE_CONTROL write -> #GP");
    CHECK(rdmsr_safe(0x1a0, &v) == -1 && (v & 1), "MISC_ENABLE: fast strings on");
    CHECK(rdmsr_safe(0x12345678, &v) == 13, "unknown MSR read -> #GP");
    CHECK(wrmsr_safe(0x12345678, 1) == 13, "unknown MSR write -> #GP");
    CHECK(rdmsr_safe(0x10, &v) == -1 && rdmsr_safe(0x10, &v2) == -1 && v2 > v, "TSC MSR advances");
    {
        /* WRMSR IA32_TSC sets the TSC the guest reads, by RDMSR and RDTSC;
         * it goes on counting from there.  Written back forward, never
         * back in time, so the rest of the test sees a monotonic TSC. */
        uint64_t t0 = rdtsc(), target = t0 + (1ull << 40);
        int wf = wrmsr_safe(0x10, target);
        uint64_t r1 = 0, r2 = rdtsc();
        rdmsr_safe(0x10, &r1);
        CHECK(wf == -1 && r1 >= target && r1 - target < 100000 && r2 >= target && r2 - target < 100000,
              "TSC write: RDMSR %#lx and RDTSC %#lx continue from the value written %#lx", r1, r2, target);
    }
    CHECK(wrmsr_safe(0xc0000082, 0xffffffff81000000ull) == -1 && rdmsr_safe(0xc0000082, &v) == -1 &&
          v == 0xffffffff81000000ull, "LSTAR (passed through) write/read back");
    CHECK(wrmsr_safe(0xc0000102, 0x1234000) == -1 && rdmsr_safe(0xc0000102, &v) == -1 && v == 0x1234000,
          "KERNEL_GS_BASE write/read back");
    f = rdmsr_safe(0x1b, &v);
    CHECK(f == -1 && (v & (1u << 8)), "APIC_BASE says BSP (%#lx)", v);
    CHECK(wrmsr_safe(0x1b, v | 1) == 13 && wrmsr_safe(0x1b, v | (1u << 10)) == 13,
          "APIC_BASE reserved bit 0 and x2APIC enable -> #GP");
}

static uint16_t fwcfg_select(uint16_t key) { outw(0x510, key); return key; }

static uint64_t fwcfg_read(uint16_t key, unsigned len)
{
    uint64_t v = 0;
    fwcfg_select(key);
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)inb(0x511) << (8 * i);
    return v;
}

static void test_io(void)
{
    outb(0x3ff, 0x5a);
    CHECK(inb(0x3ff) == 0x5a, "UART scratch register write/read back");
    CHECK((inb(0x3fd) & 0x60) == 0x60, "UART LSR: transmitter empty");
    CHECK(inb(0x3f8) == 0 && !(inb(0x3fd) & 1), "UART has no input");
    CHECK(inb(0x80) == 0xff && inw(0x1234) == 0xffff && inl(0xcfc) == 0xffffffff,
          "unclaimed ports read all-ones (byte, word, dword)");
    fwcfg_select(0);
    char sig[5] = { (char)inb(0x511), (char)inb(0x511), (char)inb(0x511), (char)inb(0x511), 0 };
    CHECK(!strcmp(sig, "QEMU"), "fw_cfg signature '%s'", sig);
    CHECK(fwcfg_read(0x03, 8) == rt_boot.mem_bytes, "fw_cfg RAM size = %lu", rt_boot.mem_bytes);
    CHECK(fwcfg_read(0x05, 2) == 1, "fw_cfg CPU count 1");
    CHECK(fwcfg_read(0x7777, 4) == 0, "fw_cfg unknown item reads zero");

    static const char s[] = "rep outsb reached the console\n";
    uint64_t n = sizeof(s) - 1;
    const char *p = s;
    __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
    CHECK(n == 0 && p == s + sizeof(s) - 1, "rep outsb: rcx %lu, rsi advanced %ld", n, (long)(p - s));
    static uint8_t in[64];
    memset(in, 0, sizeof(in));
    uint8_t *q = in;
    n = sizeof(in);
    __asm__ volatile("rep insb" : "+D"(q), "+c"(n) : "d"(0x1234) : "memory");
    bool all_ff = true;
    for (unsigned i = 0; i < sizeof(in); i++)
        all_ff &= in[i] == 0xff;
    CHECK(n == 0 && all_ff, "rep insb from an unclaimed port fills 0xff");
    static uint8_t big[5000];
    uint8_t *b = big;
    n = sizeof(big);
    __asm__ volatile("rep insb" : "+D"(b), "+c"(n) : "d"(0x1234) : "memory");
    CHECK(n == 0 && big[4999] == 0xff, "rep insb of 5000 bytes (resumed across exits)");
}

static volatile int user_vec;
static void user_io(void *arg)
{
    rt_fault_vector = -1;
    __asm__ volatile("1: inb $0x80, %%al\n2:\n\t" RT_EXTABLE(1b, 2b) ::: "rax", "memory");
    user_vec = rt_fault_vector;
}

static void test_cr(void)
{
    uint64_t cr0, cr4, cr8;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    CHECK(!(cr4 & (1u << 13)), "CR4.VMXE reads 0 (%#lx)", cr4);
    rt_fault_vector = -1;
    __asm__ volatile("1: mov %0, %%cr4\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(cr4 | (1u << 13)) : "memory");
    CHECK(rt_fault_vector == 13, "setting CR4.VMXE -> #GP");
    rt_fault_vector = -1;
    __asm__ volatile("1: mov %0, %%cr4\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(cr4 | (1u << 18)) : "memory");
    CHECK(rt_fault_vector == 13, "setting CR4.OSXSAVE (XSAVE hidden) -> #GP");
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr0 & ~(1ul << 5)));
    uint64_t cr0b;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0b));
    CHECK(!(cr0b & (1u << 5)), "CR0.NE cleared as the guest sees it (%#lx)", cr0b);
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr0));
    __asm__ volatile("mov %0, %%cr8" :: "r"(9ul));
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    CHECK(cr8 == 9, "CR8 (TPR) write/read back");
    rt_fault_vector = -1;
    __asm__ volatile("1: mov %0, %%cr8\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(0x10ul) : "memory");
    CHECK(rt_fault_vector == 13, "CR8 reserved bits -> #GP");
    __asm__ volatile("mov %0, %%cr8" :: "r"(0ul));
    user_vec = -1;
    rt_run_user(user_io, NULL);
    CHECK(user_vec == 13, "IN at CPL 3 with IOPL 0 -> #GP");
    rt_fault_vector = -1;
    __asm__ volatile("1: vmxon (%0)\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(&cr0) : "memory");
    CHECK(rt_fault_vector == 6, "VMXON without VMX -> #UD (got %d)", rt_fault_vector);
}

void test_main(void)
{
    test_cpuid();
    test_msrs();
    test_io();
    test_cr();
}
