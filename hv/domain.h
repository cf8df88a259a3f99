/* Domains and vCPUs: everything that belongs to one guest lives here. */
#ifndef HV_DOMAIN_H
#define HV_DOMAIN_H

#include <nestor/abi.h>
#include "ept.h"
#include "domcfg.h"
#include "lapic.h"
#include "pml.h"
#include "spp.h"
#include "nested.h"

#define HV_MAX_DOMAINS      16
#define HV_MAX_VCPUS        1       /* per domain */
#define DOM_MAX_CHUNKS      1024    /* 2 MiB chunks: 2 GiB per domain */
#define DOM_CHUNK           (2 * MiB)

/* General-purpose registers, indexed by the SDM's register numbers (the
 * encoding used in exit qualifications): rax, rcx, rdx, rbx, rsp, rbp, rsi,
 * rdi, r8..r15.  rsp lives in the VMCS; its slot is unused. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
       R_8, R_9, R_10, R_11, R_12, R_13, R_14, R_15, NR_GPRS };

struct guest_regs {
    uint64_t gpr[NR_GPRS];
};

struct exit_counter {
    uint64_t count;
    uint64_t cycles;
};

enum vcpu_state { VCPU_RUNNABLE, VCPU_BLOCKED, VCPU_DEAD };

struct vcpu {
    struct guest_regs regs;         /* first: the entry stub indexes it */
    struct domain *dom;
    unsigned id;
    uint16_t vpid;
    uint64_t vmcs_pa;
    bool launched;
    enum vcpu_state state;

    /* Guest state the VMCS does not hold, swapped on vCPU switch. */
    uint64_t cr2, dr[4], dr6;
    uint64_t kernel_gs_base, star, lstar, cstar, fmask, tsc_aux;
    uint8_t fxsave[512] __attribute__((aligned(16)));
    struct lapic lapic;             /* its local APIC (lapic.h); CR8 is its TPR */
    uint64_t tsc_offset;            /* its TSC = host TSC + this (WRMSR IA32_TSC moves it) */
    bool irq_any;                   /* the local APIC presents a vector (vcpu_lapic_sync) */
    uint64_t timer_deadline;        /* sched.c: TSC of its next APIC timer interrupt */

    struct vcpu_pml pml;            /* features-pml */
    struct vcpu_nested nested;      /* nested/: virtual VT-x */

    /* Statistics, indexed by basic exit reason. */
    struct exit_counter exits[NESTOR_NR_EXIT_REASONS];
};

enum dom_state { DOM_RUNNING, DOM_DEAD };

enum dom_end {
    END_NONE,
    END_EXIT,           /* isa-debug-exit write: code */
    END_SHUTDOWN,       /* SCHEDOP_shutdown: code = reason */
    END_KILLED,         /* killed by the hv: why */
};

struct domain {
    uint16_t id;
    bool used;
    enum dom_state state;
    struct domcfg cfg;
    uint32_t flags;                 /* NESTOR_DOMF_* */
    unsigned pause_count;           /* domctl pause nesting */
    uint64_t mem_bytes;
    uint64_t chunk[DOM_MAX_CHUNKS]; /* backing 2 MiB host chunks */
    unsigned nr_chunks;
    struct ept ept;
    uint64_t io_bitmap_pa;          /* two pages: ports 0-0x7fff, 0x8000-0xffff */
    uint64_t msr_bitmap_pa;
    uint64_t hypercall_page_gpa;
    uint64_t created_tsc;
    uint64_t start_info_gpa;        /* ELF64 guests: where their start info is */

    enum dom_end end;
    int64_t end_code;
    char end_why[160];

    /* Emulated devices */
    char uart_line[160];
    unsigned uart_len;
    uint8_t uart_lcr, uart_ier, uart_mcr, uart_scr, uart_dll, uart_dlm;
    uint16_t fwcfg_key;
    uint32_t fwcfg_off;

    struct dom_logdirty logdirty;   /* features-pml */
    struct dom_spp spp;             /* features-spp */
    struct dom_nested nested;       /* nested/: EPT02 */

    unsigned nr_vcpus;
    struct vcpu vcpu[HV_MAX_VCPUS];
};

extern struct domain domains[HV_MAX_DOMAINS];
/* Boot modules that named a domain which could not be created. */
extern unsigned domains_rejected;

struct domain *domain_by_id(unsigned id);
/* The domain with the smallest id >= id (dead ones included), or NULL. */
struct domain *domain_first_from(unsigned id);
/* Builds a domain from a boot module.  On any error prints one line naming
 * the module and returns NULL; nothing is left allocated. */
struct domain *domain_create(const struct domcfg *cfg, const void *image,
                             uint64_t image_size, const struct domcfg_module *mods,
                             unsigned nr_mods);
/* Ends a domain: records why, prints its statistics, frees its memory. */
void domain_end(struct domain *d, enum dom_end how, int64_t code, const char *why);
/* Kills the domain for a guest error, with a formatted reason. */
void domain_crash(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool domain_ok(const struct domain *d);
/* Records the TSC at which all boot domains exist (ELF64 start info). */
void domain_set_created_tsc(struct domain *d, uint64_t tsc);
/* Describes the result, e.g. "exit(0)", "shutdown(poweroff)", "killed: ..." */
void domain_result(const struct domain *d, char *buf, size_t size);

/* Invalidates cached EPT translations of d (after tightening permissions
 * or clearing dirty flags). */
void domain_ept_flush(struct domain *d);

/* Guest-physical access (EPT translation; never touches non-RAM). */
void *gpa_to_hva(struct domain *d, uint64_t gpa);
int copy_to_gpa(struct domain *d, uint64_t gpa, const void *src, uint64_t len);
int copy_from_gpa(struct domain *d, void *dst, uint64_t gpa, uint64_t len);

#endif
