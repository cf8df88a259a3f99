/*
 * Nestor's own ABI, shared by the hypervisor, guests and host tools.
 *
 * The hypercall transport and most hypercalls are Xen's (see docs/ABI.md and
 * the Xen public headers from libxen-dev).  This header holds only what Nestor
 * adds: its CPUID leaves, the start-of-day state of ELF64 guests, the
 * nestor_op hypercall and the hypervisor's power-off status codes.
 *
 * Everything here is fixed-layout, little-endian, and must stay compatible:
 * the Linux module and user library of guest-lib/ build against it.
 */
#ifndef NESTOR_ABI_H
#define NESTOR_ABI_H

#include <stdint.h>

#define NESTOR_VERSION_MAJOR 0
#define NESTOR_VERSION_MINOR 1

/* ---- CPUID leaves (hypervisor range) ------------------------------------
 * 0x40000000: eax = highest Nestor leaf, ebx:ecx:edx = "NestorNestor".
 * 0x40000001: eax = (major << 16) | minor.
 * 0x40000002: eax = number of hypercall pages (1), ebx = hypercall-page MSR.
 * 0x40000003: eax = vCPU id, ebx = domain id, ecx = NESTOR_DOMF_* flags.
 * The signature is deliberately not Xen's: guests must not assume Xen PV
 * devices (xenstore, grant tables, event channels) exist.
 */
#define NESTOR_CPUID_BASE        0x40000000u
#define NESTOR_CPUID_MAX         0x40000003u
#define NESTOR_CPUID_SIG_EBX     0x7473654eu /* "Nest" */
#define NESTOR_CPUID_SIG_ECX     0x654e726fu /* "orNe" */
#define NESTOR_CPUID_SIG_EDX     0x726f7473u /* "stor" */
#define NESTOR_HYPERCALL_MSR     0x40000000u

#define NESTOR_DOMF_PRIVILEGED   (1u << 0)   /* domain is dom0-like */

/* ---- Hypercall transport (Xen HVM ABI) -----------------------------------
 * VMCALL from CPL 0; rax = hypercall number; arguments in rdi, rsi, rdx,
 * r10, r8; result in rax (>= 0 success, negative Xen errno on failure).
 * Callers at CPL > 0 get -EPERM.
 */

/* Nestor's extension hypercall, in Xen's arch-reserved range. */
#define __HYPERVISOR_nestor_op   54          /* == __HYPERVISOR_arch_6 */

/* nestor_op(cmd, arg) commands.  Ranges: 0x001-0x0ff general,
 * 0x100-0x1ff dirty tracking for guest kernels, 0x200-0x2ff SPP. */
#define NESTOR_OP_get_exit_stats 1           /* arg: struct nestor_exit_stats */

/*
 * Exit statistics of one vCPU.  The caller fills domid (DOMID_SELF = 0x7ff0
 * allowed) and vcpu; the hypervisor fills the rest.  Only the privileged
 * domain may name another domain.  reason[] is indexed by the basic VM-exit
 * reason (SDM Appendix C); cycles are TSC cycles spent in the hypervisor
 * handling exits of that reason.
 */
#define NESTOR_NR_EXIT_REASONS   80
struct nestor_exit_stats {
    uint16_t domid;             /* IN */
    uint16_t vcpu;              /* IN */
    uint32_t nr_reasons;        /* OUT: NESTOR_NR_EXIT_REASONS */
    uint64_t total_exits;       /* OUT */
    uint64_t total_cycles;      /* OUT */
    struct {
        uint64_t count;
        uint64_t cycles;
    } reason[NESTOR_NR_EXIT_REASONS];   /* OUT */
};

/* ---- ELF64 guest start-of-day state ---------------------------------------
 * An ELF64 guest starts in 64-bit mode at CPL 0 with:
 *   rip = e_entry, rdi = NESTOR_START_INFO_GPA, rsp = NESTOR_BOOT_STACK_GPA,
 *   rflags = 0x2 (interrupts off), cr0 = PE|MP|ET|NE|WP|PG, cr4 = PAE,
 *   efer = LME|LMA|NXE, cs = 0x08 (64-bit code), ds/es/ss/fs/gs = 0x10,
 *   gdtr at NESTOR_BOOT_GDT_GPA, idtr limit 0 (the guest installs its own),
 *   cr3 = NESTOR_BOOT_PML4_GPA: the first 4 GiB identity-mapped with 2 MiB
 *   pages, writable, user-accessible (only guest RAM is backed; touching
 *   anything else is an EPT violation and kills the domain).
 * Loadable segments must lie in [NESTOR_GUEST_LOAD_MIN, RAM end).
 * Multiboot v1/v2 guests instead start exactly as their specification says.
 */
#define NESTOR_START_INFO_GPA    0x1000u     /* start info + strings, 28 KiB */
#define NESTOR_BOOT_INFO_END     0x8000u
#define NESTOR_BOOT_GDT_GPA      0x8000u
#define NESTOR_BOOT_PML4_GPA     0x9000u     /* PML4, PDPT, 4 PDs to 0xEFFF */
#define NESTOR_BOOT_STACK_GPA    0x80000u
#define NESTOR_GUEST_LOAD_MIN    0x100000u

#define NESTOR_START_MAGIC       0x5254534eu /* "NSTR" */

struct nestor_module {
    uint64_t start;             /* GPA */
    uint64_t size;              /* bytes */
    uint64_t cmdline;           /* GPA of NUL-terminated string, 0 if none */
};

struct nestor_start_info {
    uint32_t magic;             /* NESTOR_START_MAGIC */
    uint32_t version;           /* 1 */
    uint64_t mem_bytes;         /* guest RAM: [0, mem_bytes) */
    uint16_t domid;
    uint16_t nr_vcpus;
    uint32_t flags;             /* NESTOR_DOMF_* */
    uint64_t cmdline;           /* GPA of the domain's argument string */
    uint64_t modules;           /* GPA of struct nestor_module[nr_modules] */
    uint32_t nr_modules;
    uint32_t pad;
    uint64_t created_tsc;       /* TSC when the hv created all boot domains */
    char     name[32];          /* NUL-terminated domain name */
};

/* ---- Guest devices ---------------------------------------------------------
 * 0x3f8-0x3ff 16550 UART subset (per domain, transmit only)
 * 0xe9        byte-wide debug console (same stream as the UART)
 * 0xf4        isa-debug-exit: writing v ends the domain with exit(v);
 *             v == 0 counts as success
 * 0x510/0x511 QEMU fw_cfg subset: selector (16-bit) / data (8-bit):
 *             signature "QEMU", id 0, RAM size (u64), CPU counts (u16)
 */
#define NESTOR_PORT_DEBUG_EXIT   0xf4
#define NESTOR_PORT_E9           0xe9

/* ---- Hypervisor power-off status --------------------------------------------
 * When every domain has ended the hv prints
 *   "[hv] poweroff: status=N (...)"
 * and leaves the machine: through isa-debug-exit (QEMU exits with 2N+1), then
 * the Bochs shutdown port.
 */
enum nestor_exit_status {
    NESTOR_EXIT_OK            = 0,  /* every domain succeeded */
    NESTOR_EXIT_DOMAIN_FAILED = 1,  /* some domain failed, crashed or was killed */
    NESTOR_EXIT_NO_DOMAINS    = 2,  /* no domain could be created */
    NESTOR_EXIT_NO_VMX        = 3,  /* the CPU lacks a VMX feature Nestor needs */
    NESTOR_EXIT_PANIC         = 4,  /* the hypervisor itself failed */
};

#endif /* NESTOR_ABI_H */
