/* GDT/TSS/IDT setup and the hv's fatal-exception handler. */
#include "cpu.h"
#include "console.h"
#include "power.h"
#include "x86.h"

struct __attribute__((packed)) tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3;
    uint16_t iomap_base;
};

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, rsvd;
};

static uint64_t gdt[6] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_entry idt[256] __attribute__((aligned(16)));
static uint8_t ist_stacks[3][8192] __attribute__((aligned(16)));

extern const uint64_t trap_stub_table[32];

static void set_gate(int vec, uint64_t handler, int ist)
{
    struct idt_entry *e = &idt[vec];
    e->off0 = (uint16_t)handler;
    e->sel = HV_CS;
    e->ist = (uint8_t)ist;
    e->type = 0x8e;                 /* present, DPL0, 64-bit interrupt gate */
    e->off1 = (uint16_t)(handler >> 16);
    e->off2 = (uint32_t)(handler >> 32);
    e->rsvd = 0;
}

void cpu_init(void)
{
    uint64_t tb = (uint64_t)(uintptr_t)&tss;

    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffull;                 /* HV_CS: 64-bit code */
    gdt[2] = 0x00cf92000000ffffull;                 /* HV_DS */
    gdt[3] = (sizeof(tss) - 1) | ((tb & 0xffffff) << 16) |
             (0x89ull << 40) | (((tb >> 24) & 0xff) << 56);
    gdt[4] = tb >> 32;
    tss.ist[0] = (uint64_t)(uintptr_t)(ist_stacks[0] + sizeof(ist_stacks[0]));
    tss.ist[1] = (uint64_t)(uintptr_t)(ist_stacks[1] + sizeof(ist_stacks[1]));
    tss.ist[2] = (uint64_t)(uintptr_t)(ist_stacks[2] + sizeof(ist_stacks[2]));
    tss.iomap_base = sizeof(tss);

    struct desc_ptr gp = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
    __asm__ volatile("lgdt %0\n\t"
                     "pushq %1\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %2, %%ds\n\t"
                     "mov %2, %%es\n\t"
                     "mov %2, %%ss\n\t"
                     "ltr %w3"
                     : : "m"(gp), "i"(HV_CS), "r"(HV_DS), "r"(HV_TSS) : "rax", "memory");

    for (int v = 0; v < 32; v++) {
        int ist = v == X86_EXC_DF ? 1 : v == X86_EXC_NMI ? 2 : v == X86_EXC_MC ? 3 : 0;
        set_gate(v, trap_stub_table[v], ist);
    }
    struct desc_ptr ip = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(ip));
}

uint64_t cpu_gdt_base(void) { return (uint64_t)(uintptr_t)gdt; }
uint64_t cpu_idt_base(void) { return (uint64_t)(uintptr_t)idt; }
uint64_t cpu_tss_base(void) { return (uint64_t)(uintptr_t)&tss; }

static const char *const exc_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound", "#UD invalid opcode", "#NM no FPU", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
    "#MF x87 error", "#AC alignment", "#MC machine check", "#XM SIMD",
    "#VE virtualization", "#CP control protection",
};

void trap_handler(struct trap_frame *f)
{
    const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "exception";
    hv_err("PANIC: hypervisor exception %lu (%s), error code %#lx",
           f->vector, name, f->error);
    hv_err("rip=%016lx cs=%04lx rflags=%016lx rsp=%016lx ss=%04lx",
           f->rip, f->cs, f->rflags, f->rsp, f->ss);
    hv_err("rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", f->rax, f->rbx, f->rcx, f->rdx);
    hv_err("rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx", f->rsi, f->rdi, f->rbp, f->r8);
    hv_err("r9 =%016lx r10=%016lx r11=%016lx r12=%016lx", f->r9, f->r10, f->r11, f->r12);
    hv_err("r13=%016lx r14=%016lx r15=%016lx", f->r13, f->r14, f->r15);
    hv_err("cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx",
           read_cr0(), read_cr2(), read_cr3(), read_cr4());
    power_off(NESTOR_EXIT_PANIC, "hypervisor exception");
}
