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

/* ---- Dirty tracking for guest kernels (nestor_op 0x100-0x1ff) --------------
 * A tracking context is a ring in the caller's guest-physical memory.  While
 * a context is enabled on a vCPU, the guest-physical address of every 4 KiB
 * page first written in that window is appended to the ring (the hv drains
 * the CPU's PML log into it).  A page is reported once per window, or again
 * after NESTOR_OP_track_clear names it.  Pages written while no context is
 * enabled are not reported to any context.  When an append finds the ring
 * full, the entry is dropped and counted in `overflow`, and the vector the
 * guest chose is raised (once, until the consumer makes room).
 * The hv keeps its own copy of the ring's size: a guest changing the header
 * can only lose its own entries.  All commands act on the calling domain.
 */
#define NESTOR_OP_track_register   0x100   /* arg: struct nestor_track_register */
#define NESTOR_OP_track_unregister 0x101   /* arg: context id */
#define NESTOR_OP_track_enable     0x102   /* arg: context id; this vCPU */
#define NESTOR_OP_track_disable    0x103   /* arg: ignored; this vCPU */
#define NESTOR_OP_track_flush      0x104   /* arg: ignored; returns entries appended */
#define NESTOR_OP_track_clear      0x105   /* arg: struct nestor_track_clear */

#define NESTOR_TRACK_MAGIC         0x4b54534eu  /* "NSTK" */
#define NESTOR_TRACK_MAX_CONTEXTS  16
#define NESTOR_TRACK_MAX_PAGES     64          /* ring size limit, pages */
#define NESTOR_TRACK_CLEAR_MAX     4096        /* gfns per clear call */
#define NESTOR_TRACK_HEADER        64          /* entries start at this offset */

struct nestor_track_ring {
    uint32_t magic;             /* written by the hv at registration */
    uint32_t size;              /* entries the ring holds (informative) */
    uint64_t producer;          /* hv: entries ever appended */
    uint64_t consumer;          /* guest: entries ever consumed */
    uint64_t overflow;          /* hv: entries dropped because it was full */
    uint64_t reserved[4];
    /* uint64_t entry[size] at offset NESTOR_TRACK_HEADER; entry i lives at
     * index i % size.  Each is a page-aligned guest-physical address. */
};

struct nestor_track_register {
    uint64_t ring_gpa;          /* IN: page-aligned, inside the caller's RAM */
    uint32_t ring_pages;        /* IN: 1..NESTOR_TRACK_MAX_PAGES */
    uint8_t  vector;            /* IN: raised when the ring fills; 0 = none, else 32..255 */
    uint8_t  pad[3];
    uint32_t id;                /* OUT: context id */
    uint32_t pad2;
};

struct nestor_track_clear {
    uint32_t id;                /* context */
    uint32_t nr;                /* 0: every page logged in the current window */
    uint64_t gfns;              /* linear address of uint64_t gfn[nr] */
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

/* ---- SPP: sub-page write protection (nestor_op 0x200-0x2ff) ----------------
 * A domain write-protects 128-byte sub-pages of its own RAM (SDM 29.3.4,
 * EPT sub-page write permissions).  A page's vector has one bit per
 * sub-page: bit i set = bytes [128*i, 128*i+128) of the page are writable.
 * NESTOR_SPP_UNPROTECTED (all ones) is an unprotected page; any other
 * vector, 0 included, protects the page.  Writes to permitted sub-pages of a
 * protected page cost no VM exit; a write to another sub-page is stopped
 * before it reaches memory and the caller gets #GP(0) at the faulting
 * instruction (RIP not advanced), and the hv records {gpa, gla, rip}.
 * The caller always acts on its own domain.  Errors: gfn outside the
 * caller's RAM -EINVAL; nonzero pad/flags -EINVAL; more than
 * NESTOR_SPP_MAX_PAGES protected pages -ENOSPC; a batch of more than
 * NESTOR_SPP_MAX_BATCH entries -E2BIG; bad pointers -EFAULT; out of hv
 * memory -ENOMEM; no SPP on this CPU -EOPNOTSUPP (95); unknown command
 * -ENOSYS.  set and set_range are all or nothing.
 */
#define NESTOR_OP_spp_info           0x200   /* arg: struct nestor_spp_info (OUT) */
#define NESTOR_OP_spp_set            0x201   /* arg: struct nestor_spp_set (batch) */
#define NESTOR_OP_spp_set_range      0x202   /* arg: struct nestor_spp_range */
#define NESTOR_OP_spp_get            0x203   /* arg: struct nestor_spp_get */
#define NESTOR_OP_spp_get_violations 0x204   /* arg: struct nestor_spp_violations */

#define NESTOR_SPP_SUBPAGE_SIZE  128
#define NESTOR_SPP_SUBPAGES      32          /* per 4 KiB page */
#define NESTOR_SPP_UNPROTECTED   0xffffffffu
#define NESTOR_SPP_MAX_PAGES     4096        /* protected pages per domain */
#define NESTOR_SPP_MAX_BATCH     512         /* entries per NESTOR_OP_spp_set */
#define NESTOR_SPP_RING          64          /* violation records kept */

struct nestor_spp_info {
    uint32_t max_pages;         /* OUT: NESTOR_SPP_MAX_PAGES */
    uint32_t nr_protected;      /* OUT: pages protected now */
    uint32_t max_batch;         /* OUT: NESTOR_SPP_MAX_BATCH */
    uint32_t nr_tables;         /* OUT: SPP table pages the hv holds for the caller */
    uint64_t nr_violations;     /* OUT: stopped writes since the domain started */
};
_Static_assert(sizeof(struct nestor_spp_info) == 24, "nestor_spp_info layout");

struct nestor_spp_entry {
    uint64_t gfn;               /* guest frame number (GPA >> 12) */
    uint32_t vector;            /* bit i: sub-page i writable */
    uint32_t pad;               /* must be 0 */
};
_Static_assert(sizeof(struct nestor_spp_entry) == 16, "nestor_spp_entry layout");

/* Batch: nr entries at guest-linear address `entries`.  Every entry is
 * checked before any is applied; a gfn given twice takes its last vector. */
struct nestor_spp_set {
    uint32_t nr;                /* <= NESTOR_SPP_MAX_BATCH; 0 does nothing */
    uint32_t pad;               /* must be 0 */
    uint64_t entries;           /* guest-linear: struct nestor_spp_entry[nr] */
};
_Static_assert(sizeof(struct nestor_spp_set) == 16, "nestor_spp_set layout");

/* Range: the same vector for gfn .. gfn+nr_pages-1 (0 pages does nothing). */
struct nestor_spp_range {
    uint64_t gfn;
    uint64_t nr_pages;
    uint32_t vector;
    uint32_t pad;               /* must be 0 */
};
_Static_assert(sizeof(struct nestor_spp_range) == 24, "nestor_spp_range layout");

struct nestor_spp_get {
    uint64_t gfn;               /* IN */
    uint32_t vector;            /* OUT: NESTOR_SPP_UNPROTECTED if not protected */
    uint32_t pad;               /* IN: must be 0 */
};
_Static_assert(sizeof(struct nestor_spp_get) == 16, "nestor_spp_get layout");

/* One stopped write. */
struct nestor_spp_violation {
    uint64_t gpa;               /* guest-physical address written */
    uint64_t gla;               /* guest-linear address written */
    uint64_t rip;               /* the faulting instruction */
};
_Static_assert(sizeof(struct nestor_spp_violation) == 24, "nestor_spp_violation layout");

/* The newest min(max, kept) records, oldest first, into buf.  The hv keeps
 * the last NESTOR_SPP_RING; NESTOR_SPP_VIOL_CLEAR forgets the kept records
 * after copying them (total is never reset). */
#define NESTOR_SPP_VIOL_CLEAR    (1u << 0)
struct nestor_spp_violations {
    uint32_t max;               /* IN: room in buf, in records */
    uint32_t count;             /* OUT: records copied */
    uint64_t total;             /* OUT: stopped writes since the domain started */
    uint64_t buf;               /* IN: guest-linear struct nestor_spp_violation[max] */
    uint32_t flags;             /* IN: NESTOR_SPP_VIOL_* */
    uint32_t pad;               /* IN: must be 0 */
};
_Static_assert(sizeof(struct nestor_spp_violations) == 32, "nestor_spp_violations layout");

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
