/* Test-guest runtime: boot information, descriptor tables, exceptions with
 * fixups, console and results. */
#include "rt.h"
#include <nestor/abi.h>

struct rt_boot rt_boot;
volatile int rt_fault_vector = -1;
volatile uint64_t rt_fault_error;
static unsigned passes, failures;

/* ---- console: the 16550 at 0x3f8 ----------------------------------------
 * Under Nestor the UART is emulated and always ready.  On bare metal
 * (CPUID.1:ECX[31], "hypervisor present", clear: a test guest booted as the
 * kernel, e.g. `nestor run --hv build/guests/vmx_l2_mb.elf` to check a test
 * against the emulator's own VT-x), nobody has set the line up: 8N1 at
 * 115200, and wait for the transmitter before each byte. */
static bool bare_metal;

static void uart_init(void)
{
    uint32_t r[4];
    if (rt_boot.proto == RT_BOOT_NESTOR)
        return;                 /* Nestor's own boot protocol: not bare metal */
    cpuid(1, 0, r);
    bare_metal = !(r[2] & (1u << 31));
    if (!bare_metal)
        return;
    outb(0x3f9, 0);             /* no interrupts */
    outb(0x3fb, 0x80);          /* DLAB */
    outb(0x3f8, 1);             /* divisor 1: 115200 */
    outb(0x3f9, 0);
    outb(0x3fb, 0x03);          /* 8N1 */
}

static void putc_uart(char c)
{
    if (bare_metal)
        while (!(inb(0x3fd) & 0x20))
            ;
    outb(0x3f8, (uint8_t)c);
}

void rt_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    for (int i = 0; i < n; i++)
        putc_uart(buf[i]);
}

bool rt_check(bool cond, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (cond)
        passes++;
    else
        failures++;
    rt_printf("%s: %s\n", cond ? "PASS" : "FAIL", buf);
    return cond;
}

unsigned rt_failures(void) { return failures; }

void rt_exit(uint32_t code)
{
    if (bare_metal) {
        /* The line the host tool reads the status from, then Bochs's
         * shutdown port (as the hv's power_off). */
        rt_printf("[hv] poweroff: status=%u (bare metal: the test guest was the kernel)\n", code ? 1 : 0);
        for (const char *p = "Shutdown"; *p; p++)
            outb(0x8900, (uint8_t)*p);
    }
    outl(0xf4, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void rt_finish(void)
{
    rt_printf("RESULT: %u passed, %u failed\n", passes, failures);
    rt_exit(failures || !passes ? 1 : 0);
}

const char *strstr_local(const char *h, const char *n)
{
    size_t nl = strlen(n);
    for (; *h; h++)
        if (!strncmp(h, n, nl))
            return h;
    return NULL;
}

/* ---- command line ----------------------------------------------------------- */
static const char *find_key(const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = rt_boot.cmdline; p && *p; ) {
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, kl) && (p[kl] == '=' || p[kl] == ' ' || !p[kl]))
            return p + kl;
        while (*p && *p != ' ')
            p++;
    }
    return NULL;
}

uint64_t rt_arg_u64(const char *key, uint64_t def)
{
    const char *v = find_key(key);
    uint64_t out;
    if (!v || *v != '=')
        return def;
    v++;
    size_t n = 0;
    while (v[n] && v[n] != ' ')
        n++;
    return parse_u64(v, n, &out, true) ? out : def;
}

bool rt_arg_flag(const char *key)
{
    return find_key(key) != NULL;
}

/* ---- boot information --------------------------------------------------------- */
static void boot_nestor(const struct nestor_start_info *si)
{
    rt_boot.mem_bytes = si->mem_bytes;
    rt_boot.cmdline = (const char *)(uintptr_t)si->cmdline;
    rt_boot.name = si->name;
    rt_boot.domid = si->domid;
    rt_boot.flags = si->flags;
    rt_boot.created_tsc = si->created_tsc;
    const struct nestor_module *m = (const void *)(uintptr_t)si->modules;
    for (unsigned i = 0; i < si->nr_modules && i < 8; i++) {
        rt_boot.mods[i] = (struct rt_module){ m[i].start, m[i].size,
                                              (const char *)(uintptr_t)m[i].cmdline };
        rt_boot.nr_mods++;
    }
}

static void boot_mb1(const uint32_t *mi)
{
    if (mi[0] & 1)
        rt_boot.mem_bytes = ((uint64_t)mi[2] + 1024) * 1024;
    if (mi[0] & 4)
        rt_boot.cmdline = (const char *)(uintptr_t)mi[4];
    if (mi[0] & 8) {
        const uint32_t *mo = (const uint32_t *)(uintptr_t)mi[6];
        for (unsigned i = 0; i < mi[5] && i < 8; i++) {
            rt_boot.mods[i] = (struct rt_module){ mo[4 * i], mo[4 * i + 1] - mo[4 * i],
                                                  (const char *)(uintptr_t)mo[4 * i + 2] };
            rt_boot.nr_mods++;
        }
    }
}

static void boot_mb2(const uint8_t *mbi)
{
    uint32_t total = *(const uint32_t *)mbi;
    for (uint32_t off = 8; off + 8 <= total;) {
        const uint32_t *t = (const uint32_t *)(mbi + off);
        if (t[0] == 0)
            break;
        if (t[0] == 1)
            rt_boot.cmdline = (const char *)(t + 2);
        else if (t[0] == 4)
            rt_boot.mem_bytes = ((uint64_t)t[3] + 1024) * 1024;
        else if (t[0] == 3 && rt_boot.nr_mods < 8)
            rt_boot.mods[rt_boot.nr_mods++] = (struct rt_module){ t[2], t[3] - t[2], (const char *)(t + 4) };
        off += (t[1] + 7) & ~7u;
    }
}

/* ---- descriptor tables ------------------------------------------------------------ */
struct __attribute__((packed)) tss64 {
    uint32_t r0; uint64_t rsp[3]; uint64_t r1; uint64_t ist[7]; uint64_t r2; uint16_t r3, iomap;
};
struct idt_entry { uint16_t off0, sel; uint8_t ist, type; uint16_t off1; uint32_t off2, r; };
struct __attribute__((packed)) dtr { uint16_t limit; uint64_t base; };

static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss;
static struct idt_entry idt[256] __attribute__((aligned(16)));
static uint8_t trap_stack[16384] __attribute__((aligned(16)));
extern const uint64_t rt_trap_stubs[32];
extern const uint64_t rt_irq_stubs[224];
static void (*irq_handlers[256])(unsigned);

void rt_set_irq_handler(unsigned vector, void (*fn)(unsigned))
{
    if (vector >= 32 && vector < 256)
        irq_handlers[vector] = fn;
}

void rt_irq(uint64_t vector);
void rt_irq(uint64_t vector)
{
    if (irq_handlers[vector])
        irq_handlers[vector]((unsigned)vector);
    else
        rt_printf("FAIL: unexpected interrupt vector %lu\n", vector);
}
extern char rt_user_return_stub[];

static void set_gate(unsigned v, uint64_t h, unsigned dpl)
{
    idt[v] = (struct idt_entry){ (uint16_t)h, 0x08, 0, (uint8_t)(0x8e | (dpl << 5)),
                                 (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
}

static void tables_init(void)
{
    uint64_t tb = (uint64_t)(uintptr_t)&tss;
    gdt[1] = 0x00af9b000000ffffull;         /* 0x08 kernel code */
    gdt[2] = 0x00cf93000000ffffull;         /* 0x10 kernel data */
    gdt[3] = 0x00cff3000000ffffull;         /* 0x1b user data */
    gdt[4] = 0x00affb000000ffffull;         /* 0x23 user code */
    gdt[5] = (sizeof(tss) - 1) | ((tb & 0xffffff) << 16) | (0x89ull << 40) | (((tb >> 24) & 0xff) << 56);
    gdt[6] = tb >> 32;
    tss.rsp[0] = (uint64_t)(uintptr_t)(trap_stack + sizeof(trap_stack));
    tss.iomap = sizeof(tss);
    struct dtr g = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq $0x08\n\tleaq 1f(%%rip), %%rax\n\tpushq %%rax\n\tlretq\n1:\n\t"
                     "mov $0x10, %%eax\n\tmov %%eax, %%ds\n\tmov %%eax, %%es\n\tmov %%eax, %%ss\n\t"
                     "mov $0x28, %%eax\n\tltr %%ax" : : "m"(g) : "rax", "memory");
    for (unsigned v = 0; v < 32; v++)
        set_gate(v, rt_trap_stubs[v], 0);
    for (unsigned v = 32; v < 256; v++)
        set_gate(v, rt_irq_stubs[v - 32], 0);
    set_gate(0x80, (uint64_t)(uintptr_t)rt_user_return_stub, 3);
    struct dtr i = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(i));
}

/* ---- exceptions ------------------------------------------------------------------------ */
struct rt_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern const uint64_t rt_extable_start[], rt_extable_end[];

void rt_trap(struct rt_frame *f);
void rt_trap(struct rt_frame *f)
{
    for (const uint64_t *e = rt_extable_start; e < rt_extable_end; e += 2) {
        if (e[0] == f->rip) {
            rt_fault_vector = (int)f->vector;
            rt_fault_error = f->error;
            f->rip = e[1];
            return;
        }
    }
    rt_printf("FAIL: unexpected exception %lu (error %#lx) at rip %#lx cs %#lx rsp %#lx\n",
              f->vector, f->error, f->rip, f->cs, f->rsp);
    failures++;
    rt_finish();
}

/* ---- entry -------------------------------------------------------------------------------- */
void rt_main(int proto, uint64_t info);
void rt_main(int proto, uint64_t info)
{
    rt_boot.proto = (enum rt_boot_proto)proto;
    rt_boot.name = "guest";
    rt_boot.cmdline = "";
    uart_init();
    if (proto == RT_BOOT_NESTOR)
        boot_nestor((const void *)(uintptr_t)info);
    else if (proto == RT_BOOT_MB1)
        boot_mb1((const void *)(uintptr_t)info);
    else
        boot_mb2((const void *)(uintptr_t)info);
    tables_init();
    test_main();
    rt_finish();
}
