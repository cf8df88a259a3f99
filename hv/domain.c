/* Domain creation from boot modules, guest-physical access, and the end of
 * a domain (statistics, freeing everything it owned). */
#include "domain.h"
#include "pml.h"
#include "bootinfo.h"
#include "console.h"
#include "loader.h"
#include "pmm.h"
#include "sched.h"
#include "stats.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

struct domain domains[HV_MAX_DOMAINS];
unsigned domains_rejected;

static uint64_t ept_alloc(void *ctx) { return pmm_alloc_zeroed_page(); }
static void ept_free(void *ctx, uint64_t pa) { pmm_free(pa, 1); }
static void *ept_map_table(void *ctx, uint64_t pa) { return phys_to_virt(pa); }
static const struct ept_mm hv_ept_mm = { ept_alloc, ept_free, ept_map_table, NULL };

struct domain *domain_by_id(unsigned id)
{
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++)
        if (domains[i].used && domains[i].id == id)
            return &domains[i];
    return NULL;
}

struct domain *domain_first_from(unsigned id)
{
    struct domain *best = NULL;
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++) {
        struct domain *d = &domains[i];
        if (d->used && d->id >= id && (!best || d->id < best->id))
            best = d;
    }
    return best;
}

void *gpa_to_hva(struct domain *d, uint64_t gpa)
{
    if (gpa >= d->mem_bytes)
        return NULL;
    return phys_to_virt(d->chunk[gpa / DOM_CHUNK] + gpa % DOM_CHUNK);
}

/* Copies between hv memory and guest RAM chunk by chunk; fails (copying
 * nothing) if any byte is outside the domain's RAM. */
static int copy_gpa(struct domain *d, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
    if (gpa >= d->mem_bytes || len > d->mem_bytes - gpa)
        return -1;
    if (to_guest)
        logdirty_hv_write(d, gpa, len);
    uint8_t *p = buf;
    while (len) {
        uint64_t n = MIN(len, DOM_CHUNK - gpa % DOM_CHUNK);
        uint8_t *h = gpa_to_hva(d, gpa);
        if (to_guest)
            memcpy(h, p, n);
        else
            memcpy(p, h, n);
        p += n;
        gpa += n;
        len -= n;
    }
    return 0;
}

int copy_to_gpa(struct domain *d, uint64_t gpa, const void *src, uint64_t len)
{
    return copy_gpa(d, gpa, (void *)src, len, true);
}

int copy_from_gpa(struct domain *d, void *dst, uint64_t gpa, uint64_t len)
{
    return copy_gpa(d, gpa, dst, len, false);
}

static struct domain *alloc_slot(const struct domcfg *cfg, char *err, size_t errlen)
{
    unsigned id;
    if (cfg->priv) {
        id = 0;
        if (domain_by_id(0)) {
            snprintf(err, errlen, "a privileged domain (dom0) already exists");
            return NULL;
        }
    } else {
        for (id = 1; domain_by_id(id); id++)
            ;
    }
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++) {
        if (!domains[i].used) {
            memset(&domains[i], 0, sizeof(domains[i]));
            domains[i].used = true;
            domains[i].id = (uint16_t)id;
            return &domains[i];
        }
    }
    snprintf(err, errlen, "too many domains (at most %d)", HV_MAX_DOMAINS);
    return NULL;
}

void domain_ept_flush(struct domain *d)
{
    invept(INVEPT_SINGLE_CONTEXT, ept_eptp(&d->ept, vmx_caps.has_ept_ad));
    /* EPT02 entries copy EPT01's permissions: they go too. */
    if (unlikely(d->cfg.nested))
        nested_ept02_flush_domain(d);
}

static void free_resources(struct domain *d)
{
    pml_domain_destroy(d);
    spp_domain_destroy(d);
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        nested_vcpu_destroy(&d->vcpu[i]);
        vmcs_destroy(&d->vcpu[i]);
    }
    nested_domain_destroy(d);
    if (d->ept.root)
        ept_destroy(&d->ept);
    if (d->io_bitmap_pa)
        pmm_free(d->io_bitmap_pa, 2);
    if (d->msr_bitmap_pa)
        pmm_free(d->msr_bitmap_pa, 1);
    for (unsigned i = 0; i < d->nr_chunks; i++)
        pmm_free(d->chunk[i], DOM_CHUNK / PAGE_SIZE);
    d->io_bitmap_pa = d->msr_bitmap_pa = 0;
    d->nr_chunks = 0;
}

static int alloc_memory(struct domain *d, uint64_t mem, char *err, size_t errlen)
{
    uint64_t free_before = pmm_free_bytes();
    for (uint64_t gpa = 0; gpa < mem; gpa += DOM_CHUNK) {
        uint64_t pa = pmm_alloc(DOM_CHUNK / PAGE_SIZE, DOM_CHUNK);
        if (!pa) {
            snprintf(err, errlen, "needs %lu MiB of RAM but only %lu MiB are free",
                     mem / MiB, free_before / MiB);
            return -1;
        }
        memset(phys_to_virt(pa), 0, DOM_CHUNK);
        d->chunk[d->nr_chunks++] = pa;
    }
    d->mem_bytes = mem;
    if (ept_init(&d->ept, &hv_ept_mm))
        goto oom;
    for (unsigned i = 0; i < d->nr_chunks; i++)
        if (ept_map(&d->ept, (uint64_t)i * DOM_CHUNK, d->chunk[i], DOM_CHUNK,
                    EPT_RWX | EPT_MT_WB, EPT_LEVEL_2M))
            goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory for its page tables");
    return -1;
}

/* Every port exits; MSRs exit except those whose guest values are either
 * switched by VMX itself (FS/GS base, SYSENTER) or by the hv on vCPU switch. */
static int alloc_bitmaps(struct domain *d, char *err, size_t errlen)
{
    static const uint32_t passthrough[] = {
        MSR_IA32_FS_BASE, MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE,
        MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR, MSR_IA32_FMASK,
        MSR_IA32_TSC_AUX, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
        MSR_IA32_SYSENTER_EIP,
    };
    d->io_bitmap_pa = pmm_alloc(2, PAGE_SIZE);
    d->msr_bitmap_pa = pmm_alloc(1, PAGE_SIZE);
    if (!d->io_bitmap_pa || !d->msr_bitmap_pa) {
        snprintf(err, errlen, "out of memory for its bitmaps");
        return -1;
    }
    memset(phys_to_virt(d->io_bitmap_pa), 0xff, 2 * PAGE_SIZE);
    uint8_t *msr = phys_to_virt(d->msr_bitmap_pa);
    memset(msr, 0xff, PAGE_SIZE);
    for (unsigned i = 0; i < ARRAY_SIZE(passthrough); i++) {
        uint32_t m = passthrough[i];
        /* read-low 0x000, read-high 0x400, write-low 0x800, write-high 0xc00 */
        unsigned base = m >= 0xc0000000 ? 0x400 : 0, bit = m & 0x1fff;
        msr[base + bit / 8] &= ~(1u << (bit % 8));
        msr[base + 0x800 + bit / 8] &= ~(1u << (bit % 8));
    }
    return 0;
}

static int plan_image(const struct domcfg *cfg, const void *image, uint64_t size,
                      uint64_t mem, struct load_plan *plan, char *err, size_t errlen)
{
    switch (cfg->kind) {
    case KIND_ELF: {
        if (elf_plan(image, size, NESTOR_GUEST_LOAD_MIN, mem, plan, err, errlen))
            return -1;
        if (((const uint8_t *)image)[4] != 2) {
            snprintf(err, errlen, "kind elf needs an ELF64 image (use mb1/mb2 for 32-bit kernels)");
            return -1;
        }
        return 0;
    }
    case KIND_MB1:
        return mb1_plan(image, size, NESTOR_GUEST_LOAD_MIN, mem, plan, err, errlen);
    case KIND_MB2:
        return mb2_plan(image, size, NESTOR_GUEST_LOAD_MIN, mem, plan, err, errlen);
    default:
        snprintf(err, errlen, "a module of kind mod has no domain before it");
        return -1;
    }
}

static int load_image(struct domain *d, const void *image, const struct load_plan *plan)
{
    /* RAM is zeroed at allocation, so only file bytes are copied. */
    for (unsigned i = 0; i < plan->nr; i++) {
        const struct load_seg *s = &plan->seg[i];
        if (copy_to_gpa(d, s->gpa, (const uint8_t *)image + s->file_off, s->filesz))
            return -1;
    }
    return 0;
}

static int place_modules(struct domain *d, uint64_t after, const struct domcfg_module *mods,
                         unsigned nr, struct bootinfo_params *bp, char *err, size_t errlen)
{
    uint64_t gpa = ALIGN_UP(after, PAGE_SIZE);
    if (nr > BOOTINFO_MAX_MODS) {
        snprintf(err, errlen, "more than %d modules", BOOTINFO_MAX_MODS);
        return -1;
    }
    for (unsigned i = 0; i < nr; i++) {
        if (copy_to_gpa(d, gpa, mods[i].data, mods[i].size)) {
            snprintf(err, errlen, "module %u (%lu bytes) does not fit in guest RAM", i, mods[i].size);
            return -1;
        }
        bp->mods[i].gpa = gpa;
        bp->mods[i].size = mods[i].size;
        bp->mods[i].cmdline = mods[i].cmdline;
        gpa = ALIGN_UP(gpa + mods[i].size, PAGE_SIZE);
    }
    bp->nr_mods = nr;
    return 0;
}

static int build_boot_info(struct domain *d, const struct load_plan *plan, char *err, size_t errlen,
                           struct bootinfo_params *bp)
{
    struct bootinfo_area a = { gpa_to_hva(d, NESTOR_START_INFO_GPA), NESTOR_START_INFO_GPA,
                               NESTOR_BOOT_INFO_END - NESTOR_START_INFO_GPA, 0 };
    struct vcpu *v = &d->vcpu[0];
    uint64_t info;

    bootinfo_gdt(gpa_to_hva(d, NESTOR_BOOT_GDT_GPA));
    switch (d->cfg.kind) {
    case KIND_ELF:
        bootinfo_page_tables(gpa_to_hva(d, NESTOR_BOOT_PML4_GPA), NESTOR_BOOT_PML4_GPA);
        info = bootinfo_start_info(&a, bp);
        if (info)
            vmcs_guest_long_mode(v, plan->entry, info);
        d->start_info_gpa = info;
        break;
    case KIND_MB1:
        info = bootinfo_mbi1(&a, bp);
        if (info)
            vmcs_guest_multiboot(v, plan->entry, MB1_BOOT_MAGIC, (uint32_t)info);
        break;
    default:
        info = bootinfo_mbi2(&a, bp);
        if (info)
            vmcs_guest_multiboot(v, plan->entry, MB2_BOOT_MAGIC, (uint32_t)info);
        break;
    }
    if (!info) {
        snprintf(err, errlen, "boot information does not fit in %u bytes (command line too long?)",
                 NESTOR_BOOT_INFO_END - NESTOR_START_INFO_GPA);
        return -1;
    }
    return 0;
}

static void apply_debug_knobs(struct domain *d)
{
    /* Deliberately broken VMCS values, so tests can prove that a failed
     * VM entry kills only this domain. */
    if (d->cfg.debug == DEBUG_BAD_GUEST_STATE)
        vmwrite(VMCS_GUEST_CS_AR, 0x10000);     /* unusable CS: invalid guest state */
    else if (d->cfg.debug == DEBUG_BAD_CONTROLS)
        vmwrite(VMCS_CR3_TARGET_COUNT, 1000);   /* > 4: invalid control field */
}

static int create_vcpu(struct domain *d, char *err, size_t errlen)
{
    struct vcpu *v = &d->vcpu[0];
    d->nr_vcpus = 1;
    v->dom = d;
    v->id = 0;
    v->vpid = (uint16_t)(1 + d->id * HV_MAX_VCPUS + v->id);
    v->state = VCPU_RUNNABLE;
    v->pml.ctx = -1;
    lapic_init(&v->lapic, (uint8_t)v->id, v->id == 0);   /* enabled, vCPU 0 the BSP */
    v->timer_deadline = LAPIC_NEVER;
    /* A fresh FPU/SSE image for the guest: FCW 0x37f, MXCSR 0x1f80. */
    *(uint16_t *)&v->fxsave[0] = 0x37f;
    *(uint32_t *)&v->fxsave[24] = 0x1f80;
    if (vmcs_create(v)) {
        snprintf(err, errlen, "cannot create its VMCS");
        return -1;
    }
    return 0;
}

struct domain *domain_create(const struct domcfg *cfg, const void *image, uint64_t image_size,
                             const struct domcfg_module *mods, unsigned nr_mods)
{
    char err[160] = "";
    struct load_plan plan;
    struct bootinfo_params bp = { 0 };
    struct domain *d = alloc_slot(cfg, err, sizeof(err));

    if (!d)
        goto fail_noslot;
    d->cfg = *cfg;
    d->flags = cfg->priv ? NESTOR_DOMF_PRIVILEGED : 0;
    if (plan_image(cfg, image, image_size, cfg->mem, &plan, err, sizeof(err)) ||
        alloc_memory(d, cfg->mem, err, sizeof(err)) ||
        alloc_bitmaps(d, err, sizeof(err)) ||
        create_vcpu(d, err, sizeof(err)))
        goto fail;
    if (load_image(d, image, &plan)) {
        snprintf(err, sizeof(err), "image does not fit in guest RAM");
        goto fail;
    }
    if (place_modules(d, plan.end, mods, nr_mods, &bp, err, sizeof(err)))
        goto fail;
    bp.mem_bytes = d->mem_bytes;
    bp.cmdline = cfg->args;
    bp.name = cfg->name;
    bp.domid = d->id;
    bp.flags = d->flags;
    bp.created_tsc = rdtsc();
    d->created_tsc = bp.created_tsc;
    if (build_boot_info(d, &plan, err, sizeof(err), &bp))
        goto fail;
    apply_debug_knobs(d);
    d->logdirty.wp = cfg->logdirty == LOGDIRTY_WP;
    spp_domain_init(d);
    d->state = DOM_RUNNING;
    sched_add(&d->vcpu[0]);
    hv_info("domain %u (%s) created: %lu MiB, entry %#lx, %u module(s)%s",
            d->id, cfg->name, d->mem_bytes / MiB, plan.entry, nr_mods,
            cfg->priv ? ", privileged" : "");
    return d;

fail:
    free_resources(d);
    d->used = false;
fail_noslot:
    domains_rejected++;
    hv_err("domain '%s' not created: %s", cfg->name, err);
    return NULL;
}

void domain_set_created_tsc(struct domain *d, uint64_t tsc)
{
    d->created_tsc = tsc;
    if (d->start_info_gpa) {
        struct nestor_start_info *si = gpa_to_hva(d, d->start_info_gpa);
        si->created_tsc = tsc;
    }
}

bool domain_ok(const struct domain *d)
{
    return (d->end == END_EXIT && d->end_code == 0) ||
           (d->end == END_SHUTDOWN && d->end_code == 0 /* SHUTDOWN_poweroff */);
}

void domain_result(const struct domain *d, char *buf, size_t size)
{
    static const char *const reasons[] = { "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset" };
    switch (d->end) {
    case END_EXIT:
        snprintf(buf, size, "exit(%ld)", d->end_code);
        break;
    case END_SHUTDOWN:
        snprintf(buf, size, "shutdown(%s)", d->end_code >= 0 && d->end_code < 6 ? reasons[d->end_code] : "unknown");
        break;
    case END_KILLED:
        snprintf(buf, size, "killed: %s", d->end_why);
        break;
    default:
        snprintf(buf, size, "running");
    }
}

void domain_end(struct domain *d, enum dom_end how, int64_t code, const char *why)
{
    char result[200];
    if (d->state == DOM_DEAD)
        return;
    d->end = how;
    d->end_code = code;
    strcpy_bounded(d->end_why, why ? why : "", sizeof(d->end_why));
    domain_result(d, result, sizeof(result));
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        sched_remove(&d->vcpu[i]);
    if (d->uart_len)
        console_line("", "[d%u] %.*s", d->id, (int)d->uart_len, d->uart_line);
    d->uart_len = 0;
    hv_info("domain %u (%s) ended: %s", d->id, d->cfg.name, result);
    stats_print_domain(d);
    free_resources(d);
    d->state = DOM_DEAD;
}

void domain_crash(struct domain *d, const char *fmt, ...)
{
    char why[sizeof(d->end_why)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    hv_err("domain %u (%s) killed: %s", d->id, d->cfg.name, why);
    domain_end(d, END_KILLED, -1, why);
}
