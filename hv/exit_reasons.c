/* Basic VM-exit reason names (SDM Appendix C). Pure; unit-tested. */
#include "stats.h"

const char *exit_reason_name(unsigned reason)
{
    static const char *const names[NESTOR_NR_EXIT_REASONS] = {
        [0] = "EXCEPTION_NMI", [1] = "EXTERNAL_INTERRUPT", [2] = "TRIPLE_FAULT",
        [3] = "INIT", [4] = "SIPI", [5] = "IO_SMI", [6] = "OTHER_SMI",
        [7] = "INTERRUPT_WINDOW", [8] = "NMI_WINDOW", [9] = "TASK_SWITCH",
        [10] = "CPUID", [11] = "GETSEC", [12] = "HLT", [13] = "INVD",
        [14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC", [17] = "RSM",
        [18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD",
        [22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE",
        [26] = "VMXOFF", [27] = "VMXON", [28] = "CR_ACCESS", [29] = "DR_ACCESS",
        [30] = "IO_INSTRUCTION", [31] = "RDMSR", [32] = "WRMSR",
        [33] = "ENTRY_FAIL_GUEST_STATE", [34] = "ENTRY_FAIL_MSR_LOADING",
        [36] = "MWAIT", [37] = "MONITOR_TRAP_FLAG", [39] = "MONITOR",
        [40] = "PAUSE", [41] = "ENTRY_FAIL_MACHINE_CHECK",
        [43] = "TPR_BELOW_THRESHOLD", [44] = "APIC_ACCESS", [45] = "VIRTUALIZED_EOI",
        [46] = "GDTR_IDTR_ACCESS", [47] = "LDTR_TR_ACCESS", [48] = "EPT_VIOLATION",
        [49] = "EPT_MISCONFIG", [50] = "INVEPT", [51] = "RDTSCP",
        [52] = "PREEMPTION_TIMER", [53] = "INVVPID", [54] = "WBINVD",
        [55] = "XSETBV", [56] = "APIC_WRITE", [57] = "RDRAND", [58] = "INVPCID",
        [59] = "VMFUNC", [60] = "ENCLS", [61] = "RDSEED", [62] = "PML_FULL",
        [63] = "XSAVES", [64] = "XRSTORS", [65] = "PCONFIG", [66] = "SPP_EVENT",
        [67] = "UMWAIT", [68] = "TPAUSE", [69] = "LOADIWKEY", [70] = "ENCLV",
        [72] = "ENQCMD_PASID_FAIL", [73] = "ENQCMDS_PASID_FAIL", [74] = "BUS_LOCK",
        [75] = "NOTIFY", [76] = "SEAMCALL", [77] = "TDCALL",
    };
    if (reason < NESTOR_NR_EXIT_REASONS && names[reason])
        return names[reason];
    return "UNKNOWN";
}
