/* VMX bring-up: check every requirement explicitly, then VMXON. */
#include "vmx.h"
#include "console.h"
#include "pmm.h"
#include "power.h"
#include "x86.h"

struct vmx_caps vmx_caps;

#define BASIC_TRUE_CONTROLS    BIT(55)
#define BASIC_MEMTYPE(b)       (((b) >> 50) & 0xf)
#define BASIC_REGION_SIZE(b)   (((b) >> 32) & 0x1fff)
#define MEMTYPE_WB             6

#define EPT_CAP_WALK4          BIT(6)
#define EPT_CAP_WB             BIT(14)
#define EPT_CAP_2M             BIT(16)
#define EPT_CAP_INVEPT         BIT(20)
#define EPT_CAP_AD             BIT(21)
#define EPT_CAP_INVEPT_SINGLE  BIT(25)
#define EPT_CAP_INVEPT_ALL     BIT(26)
#define VPID_CAP_INVVPID       BIT(32)
#define VPID_CAP_SINGLE        BIT(41)
#define VPID_CAP_ALL           BIT(42)

static unsigned nr_missing;

static void missing(const char *what)
{
    /* One line per requirement, each naming exactly what is absent. */
    hv_err("VMX requirement missing: %s", what);
    nr_missing++;
}

/* Chooses controls: `need` must all be settable, `want` are taken if they are. */
static uint32_t choose(const char *kind, uint32_t need, uint32_t want, uint32_t msr)
{
    uint32_t miss;
    uint64_t cap = rdmsr(msr);
    uint32_t v = vmx_adjust_controls(need | want, cap, &miss);
    for (int b = 0; b < 32; b++) {
        if (miss & need & (1u << b)) {
            char line[96];
            snprintf(line, sizeof(line), "%s control bit %d (MSR %#x allowed-1 %#x)",
                     kind, b, msr, (uint32_t)(cap >> 32));
            missing(line);
        }
    }
    return v;
}

static bool check_cpuid_vmx(void)
{
    uint32_t a, b, c, d;
    cpuid_count(1, 0, &a, &b, &c, &d);
    if (!(c & BIT(5))) {
        hv_err("VMX requirement missing: CPUID.1:ECX.VMX[bit 5] = 0 "
               "(this CPU or emulator has no VT-x; use Bochs with cpu model tigerlake)");
        return false;
    }
    return true;
}

static void check_feature_control(void)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (fc & FEATURE_CONTROL_LOCK) {
        if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX))
            missing("IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled (enable VT-x in firmware)");
        return;
    }
    wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
}

static void check_basic(uint64_t basic)
{
    vmx_caps.revision = (uint32_t)basic & 0x7fffffff;
    if (!(basic & BASIC_TRUE_CONTROLS))
        missing("IA32_VMX_BASIC[55] (true VMX control MSRs)");
    if (BASIC_MEMTYPE(basic) != MEMTYPE_WB)
        missing("IA32_VMX_BASIC write-back VMCS memory type");
    if (BASIC_REGION_SIZE(basic) > PAGE_SIZE)
        missing("IA32_VMX_BASIC VMCS region size <= 4 KiB");
}

static void check_ept_vpid(void)
{
    static const struct { uint64_t bit; const char *name; } need[] = {
        { EPT_CAP_WALK4, "EPT page-walk length 4" },
        { EPT_CAP_WB, "EPT write-back memory type" },
        { EPT_CAP_2M, "EPT 2 MiB pages" },
        { EPT_CAP_INVEPT, "INVEPT" },
        { EPT_CAP_INVEPT_SINGLE, "INVEPT single-context" },
        { EPT_CAP_INVEPT_ALL, "INVEPT all-context" },
        { VPID_CAP_INVVPID, "INVVPID" },
        { VPID_CAP_SINGLE, "INVVPID single-context" },
        { VPID_CAP_ALL, "INVVPID all-context" },
    };
    vmx_caps.ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
    for (unsigned i = 0; i < ARRAY_SIZE(need); i++) {
        if (!(vmx_caps.ept_vpid & need[i].bit)) {
            char line[96];
            snprintf(line, sizeof(line), "IA32_VMX_EPT_VPID_CAP: %s", need[i].name);
            missing(line);
        }
    }
    vmx_caps.has_ept_ad = vmx_caps.ept_vpid & EPT_CAP_AD;
}

static void choose_controls(void)
{
    vmx_caps.pin = choose("pin-based", PIN_EXT_INTR_EXITING | PIN_NMI_EXITING |
                          PIN_PREEMPTION_TIMER, 0, MSR_IA32_VMX_TRUE_PINBASED);
    vmx_caps.proc = choose("processor-based",
                           PROC_HLT_EXITING | PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
                           PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY |
                           PROC_USE_TSC_OFFSETTING,
                           PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_RDPMC_EXITING,
                           MSR_IA32_VMX_TRUE_PROCBASED);
    /* CR3 accesses need not exit under EPT: drop the default-1 bits if the
     * CPU allows (true controls make them optional). */
    uint64_t tp = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED);
    vmx_caps.proc &= ~(PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING) | (uint32_t)tp;

    uint32_t proc2_avail = (uint32_t)(rdmsr(MSR_IA32_VMX_PROCBASED2) >> 32);
    vmx_caps.proc2 = choose("secondary processor-based",
                            PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST,
                            PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID,
                            MSR_IA32_VMX_PROCBASED2);
    vmx_caps.has_pml = proc2_avail & PROC2_ENABLE_PML;
    vmx_caps.has_spp = proc2_avail & PROC2_ENABLE_SPP;
    vmx_caps.has_vmcs_shadowing = proc2_avail & PROC2_VMCS_SHADOWING;

    vmx_caps.exit = choose("VM-exit", EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT |
                           EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT |
                           EXIT_LOAD_IA32_PAT | EXIT_SAVE_PREEMPTION_TIMER |
                           EXIT_SAVE_DEBUG_CONTROLS, 0, MSR_IA32_VMX_TRUE_EXIT);
    vmx_caps.entry = choose("VM-entry", ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT |
                            ENTRY_LOAD_DEBUG_CONTROLS, 0, MSR_IA32_VMX_TRUE_ENTRY);
}

static uint64_t vmxon_region;

void vmx_init(void)
{
    if (!check_cpuid_vmx())
        power_off(NESTOR_EXIT_NO_VMX, "no VMX");
    check_feature_control();
    check_basic(rdmsr(MSR_IA32_VMX_BASIC));
    choose_controls();
    check_ept_vpid();
    vmx_caps.misc = rdmsr(MSR_IA32_VMX_MISC);
    vmx_caps.preemption_shift = vmx_caps.misc & 0x1f;
    vmx_caps.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    vmx_caps.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    vmx_caps.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    vmx_caps.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    if (nr_missing)
        power_off(NESTOR_EXIT_NO_VMX, "missing VMX features");

    /* The host must satisfy the VMX fixed bits of CR0/CR4 (SDM 24.8). */
    write_cr4((read_cr4() | CR4_VMXE | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);

    vmxon_region = pmm_alloc_zeroed_page();
    *(uint32_t *)phys_to_virt(vmxon_region) = vmx_caps.revision;
    uint8_t fail;
    __asm__ volatile("vmxon %1; setbe %0" : "=qm"(fail) : "m"(vmxon_region) : "cc", "memory");
    if (fail) {
        missing("VMXON failed");
        power_off(NESTOR_EXIT_NO_VMX, "VMXON failed");
    }
    hv_info("VMX on: revision %u, pin %#x proc %#x proc2 %#x exit %#x entry %#x",
            vmx_caps.revision, vmx_caps.pin, vmx_caps.proc, vmx_caps.proc2,
            vmx_caps.exit, vmx_caps.entry);
    hv_info("VMX features: EPT A/D %s, PML %s, SPP %s, VMCS shadowing %s, preemption timer rate TSC>>%u",
            vmx_caps.has_ept_ad ? "yes" : "no", vmx_caps.has_pml ? "yes" : "no",
            vmx_caps.has_spp ? "yes" : "no", vmx_caps.has_vmcs_shadowing ? "yes" : "no",
            vmx_caps.preemption_shift);
}
