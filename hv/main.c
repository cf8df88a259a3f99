/* hv entry: bring the machine up, build the boot domains, run them. */
#include "console.h"
#include "cpu.h"
#include "domain.h"
#include "domcfg.h"
#include "mb2info.h"
#include "pmm.h"
#include "power.h"
#include "sched.h"
#include "vmx.h"
#include "x86.h"

static struct boot_info boot_info;
const char *hv_cmdline = "";

void hv_main(uint32_t magic, uint64_t mbi);

/* hv command line: loglvl=error|warn|info|debug, slice=TSC-cycles,
 * selftest=exception (raise #UD in the hv after bring-up, to prove that an
 * hv fault dumps state and powers off instead of triple-faulting). */
static bool selftest_exception;

static void parse_cmdline(const char *s)
{
    static const char *const levels[] = { "error", "warn", "info", "debug" };
    while (*s) {
        while (*s == ' ')
            s++;
        size_t n = 0;
        while (s[n] && s[n] != ' ')
            n++;
        if (n > 7 && !strncmp(s, "loglvl=", 7)) {
            for (unsigned i = 0; i < ARRAY_SIZE(levels); i++)
                if (n - 7 == strlen(levels[i]) && !strncmp(s + 7, levels[i], n - 7))
                    hv_loglvl = (int)i;
        } else if (n > 6 && !strncmp(s, "slice=", 6)) {
            uint64_t v;
            if (parse_u64(s + 6, n - 6, &v, false) && v >= 10000)
                sched_slice_tsc = v;
            else
                hv_warn("ignoring bad slice '%.*s' (need >= 10000 TSC cycles)", (int)n, s);
        } else if (n == 18 && !strncmp(s, "selftest=exception", 18)) {
            selftest_exception = true;
        } else if (n) {
            hv_warn("ignoring unknown option '%.*s'", (int)n, s);
        }
        s += n;
    }
}

/* The legacy PIC: remapped off the exception vectors and fully masked, so
 * no device interrupt ever disturbs a guest. */
static void pic_mask_all(void)
{
    outb(0x20, 0x11); outb(0xa0, 0x11);
    outb(0x21, 0x20); outb(0xa1, 0x28);
    outb(0x21, 0x04); outb(0xa1, 0x02);
    outb(0x21, 0x01); outb(0xa1, 0x01);
    outb(0x21, 0xff); outb(0xa1, 0xff);
}

/* Collects the "mod" modules following domain module i. */
static unsigned guest_modules(unsigned i, struct domcfg_module *mods, unsigned max)
{
    unsigned n = 0;
    for (unsigned j = i + 1; j < boot_info.nr_modules; j++) {
        const char *c = boot_info.modules[j].cmdline;
        while (*c == ' ')
            c++;
        if (strncmp(c, "mod", 3) || (c[3] && c[3] != ' '))
            break;
        if (n < max) {
            mods[n].data = phys_to_virt(boot_info.modules[j].start);
            mods[n].size = boot_info.modules[j].end - boot_info.modules[j].start;
            mods[n].cmdline = c[3] ? c + 4 : "";
        }
        n++;
    }
    return n;
}

static void create_boot_domains(void)
{
    for (unsigned i = 0; i < boot_info.nr_modules; i++) {
        const struct boot_module *m = &boot_info.modules[i];
        struct domcfg cfg;
        char err[128];
        struct domcfg_module mods[8];

        if (domcfg_parse(m->cmdline, &cfg, err, sizeof(err))) {
            hv_err("module %u ('%s') rejected: %s", i, m->cmdline, err);
            domains_rejected++;
            continue;
        }
        if (cfg.kind == KIND_MOD) {
            hv_err("module %u ('%s') rejected: a mod module needs a domain module before it", i, m->cmdline);
            domains_rejected++;
            continue;
        }
        unsigned nr = guest_modules(i, mods, ARRAY_SIZE(mods));
        if (m->end <= m->start) {
            hv_err("domain '%s' not created: module %u is empty", cfg.name, i);
            domains_rejected++;
        } else if (nr > ARRAY_SIZE(mods)) {
            hv_err("domain '%s' not created: %u modules (at most %zu)", cfg.name, nr, ARRAY_SIZE(mods));
            domains_rejected++;
        } else
            domain_create(&cfg, phys_to_virt(m->start), m->end - m->start, mods, nr);
        i += nr;
    }
    if (boot_info.modules_dropped)
        hv_err("%u boot modules beyond the first %d ignored", boot_info.modules_dropped, HV_MAX_MODULES);
    /* One start time for all, so guests can measure fairness from it. */
    uint64_t now = rdtsc();
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++)
        if (domains[i].used)
            domain_set_created_tsc(&domains[i], now);
    /* Images were copied into their domains: the module memory is free now. */
    for (unsigned i = 0; i < boot_info.nr_modules; i++)
        pmm_release_range(boot_info.modules[i].start,
                          boot_info.modules[i].end - boot_info.modules[i].start);
}

void hv_main(uint32_t magic, uint64_t mbi)
{
    console_init();
    cpu_init();
    if (!mb2info_parse(magic, mbi, &boot_info)) {
        hv_err("not booted by a multiboot2 loader (magic %#x)", magic);
        power_off(NESTOR_EXIT_PANIC, "bad boot");
    }
    hv_cmdline = boot_info.cmdline;
    parse_cmdline(boot_info.cmdline);
    hv_info("Nestor %d.%d starting; command line: %s", NESTOR_VERSION_MAJOR,
            NESTOR_VERSION_MINOR, boot_info.cmdline);
    pmm_init(&boot_info);
    hv_info("%lu MiB free, %u boot modules", pmm_free_bytes() / MiB, boot_info.nr_modules);
    pic_mask_all();
    /* The hv switches guests' SSE state with FXSAVE/FXRSTOR. */
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    vmx_init();
    if (selftest_exception)
        __asm__ volatile("ud2");
    create_boot_domains();
    sched_run();
}
