/* hello: the smallest guest.  Proves boot (by any of the three protocols),
 * the console, the start-of-day information and a clean exit. */
#include "rt.h"

void test_main(void)
{
    static const char *const protos[] = { "ELF64 (Nestor start info)", "multiboot v1", "multiboot v2" };
    rt_printf("Hello from %s, booted by %s, %lu MiB of RAM, command line '%s'\n",
              rt_boot.name, protos[rt_boot.proto], rt_boot.mem_bytes >> 20, rt_boot.cmdline);
    CHECK(rt_boot.mem_bytes >= 4u << 20, "RAM size %lu bytes reported", rt_boot.mem_bytes);
    for (unsigned i = 0; i < rt_boot.nr_mods; i++) {
        const char *data = (const char *)(uintptr_t)rt_boot.mods[i].start;
        CHECK(rt_boot.mods[i].size > 0, "module %u '%s': %lu bytes, starts with '%.16s'", i,
              rt_boot.mods[i].cmdline, rt_boot.mods[i].size, data);
    }
    uint32_t r[4];
    cpuid(0x40000000, 0, r);
    CHECK(r[1] == 0x7473654e && r[2] == 0x654e726f && r[3] == 0x726f7473,
          "hypervisor CPUID signature is NestorNestor");
}
