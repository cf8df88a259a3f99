/*
 * isolation: a domain tries to reach memory that is not its own.
 *   op=read|write|exec  addr=GPA   touches one guest-physical address;
 *        any address outside the domain's RAM (where, on the host, the hv
 *        or other domains live) must get the domain killed, never reach
 *        that memory.  The test fails if the access completes.
 *   op=fill (default)   writes a pattern over all of its free RAM,
 *        including the guest-physical range where the hv sits on the host
 *        (1 MiB up), reads it back, and passes hypercall buffers whose
 *        page-table mapping points beyond its RAM: they must be refused
 *        with -EFAULT, so no hypercall can be made to touch foreign memory.
 */
#include "rt.h"
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/errno.h>

extern char rt_image_end[];

static void touch(const char *op, uint64_t addr)
{
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)addr;
    rt_printf("%s of guest-physical %#lx (RAM ends at %#lx)\n", op, addr, rt_boot.mem_bytes);
    if (!strcmp(op, "read")) {
        uint64_t v = *p;
        rt_check(false, "read beyond RAM completed (value %#lx)", v);
    } else if (!strcmp(op, "write")) {
        *p = 0xdeadbeefdeadbeefull;
        rt_check(false, "write beyond RAM completed");
    } else {
        ((void (*)(void))p)();
        rt_check(false, "execution beyond RAM returned");
    }
}

/* Maps linear 0x7f0000000000 to `gpa` with a page table of our own. */
static uint64_t map_alias(uint64_t gpa)
{
    static uint64_t pdpt[512] __attribute__((aligned(4096)));
    static uint64_t pd[512] __attribute__((aligned(4096)));
    uint64_t *pml4;
    __asm__ volatile("mov %%cr3, %0" : "=r"(pml4));
    pd[0] = (gpa & ~0x1fffffull) | 0x83;            /* 2 MiB page, present, writable */
    pdpt[0] = (uint64_t)(uintptr_t)pd | 3;
    pml4[0x7f0000000000ull >> 39] = (uint64_t)(uintptr_t)pdpt | 3;
    __asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    return 0x7f0000000000ull + (gpa & 0x1fffff);
}

static void fill(void)
{
    uint64_t start = ((uint64_t)(uintptr_t)rt_image_end + 0xfff) & ~0xfffull;
    uint64_t end = rt_boot.mem_bytes;
    for (uint64_t a = start; a < end; a += 8)
        *(volatile uint64_t *)(uintptr_t)a = a ^ 0x5a5a5a5a5a5a5a5aull;
    uint64_t bad = 0;
    for (uint64_t a = start; a < end; a += 8)
        bad += *(volatile uint64_t *)(uintptr_t)a != (a ^ 0x5a5a5a5a5a5a5a5aull);
    CHECK(bad == 0, "filled and verified its RAM [%#lx, %#lx): %lu mismatches", start, end, bad);

    static const uint64_t targets[] = { 0x40000000, 0xfee00000, 0x100000000ull };
    for (unsigned i = 0; i < ARRAY_SIZE(targets); i++) {
        uint64_t la = map_alias(targets[i]);
        long r = hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 8, la);
        CHECK(r == -XEN_EFAULT, "console_io from a mapping of guest-physical %#lx -> -EFAULT (got %ld)",
              targets[i], r);
        r = hypercall2(__HYPERVISOR_xen_version, 1 /* extraversion */, la);
        CHECK(r == -XEN_EFAULT, "xen_version into a mapping of guest-physical %#lx -> -EFAULT (got %ld)",
              targets[i], r);
    }
}

void test_main(void)
{
    static const char *const ops[] = { "read", "write", "exec" };
    for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
        if (rt_arg_flag(ops[i]) || (rt_arg_u64("addr", 0) && strstr_local(rt_boot.cmdline, ops[i]))) {
            touch(ops[i], rt_arg_u64("addr", rt_boot.mem_bytes));
            return;
        }
    }
    fill();
}
