/* EPT12: the walk of an L1 hypervisor's EPT paging structures (in L1
 * guest-physical memory) for one L2 guest-physical address, as the SDM
 * defines it (Vol. 3, "The Extended Page Table Mechanism (EPT)": the
 * translation, EPT misconfigurations and violations, accessed and dirty
 * flags, memory type).  L0 uses it to build the shadow EPT02 = EPT12 ∘ EPT01
 * on L2's EPT violations, and to reflect EPT violations and
 * misconfigurations to L1.
 *
 * Pure and freestanding (only lib.h): L1 memory is reached through
 * `struct ept12_mem`.  Nothing in EPT12 is trusted: every entry is checked
 * as the CPU checks it, tables outside L1 RAM are reported, the walk reads
 * at most 4 entries (a table that points to itself is just walked on), and
 * A/D flags are set only in an entry that still holds what the walk read.
 *
 * Levels as in hv/ept.h: 4 = PML4E, 3 = PDPTE (1 GiB leaf), 2 = PDE
 * (2 MiB leaf), 1 = PTE.  Permissions are EPT_R, EPT_W, EPT_X.
 */
#ifndef NESTED_EPT12_H
#define NESTED_EPT12_H

#include "lib.h"
#include "ept.h"

struct ept12_mem {
    /* Reads the 8-byte entry at L1 guest-physical `gpa` (8-aligned);
     * returns 0, or -1 if gpa is not L1 RAM. */
    int (*read)(void *ctx, uint64_t gpa, uint64_t *val);
    /* Atomically sets `bits` in the entry at gpa if it still equals `old`
     * (for A/D flags); returns 0, or -1 if the entry changed or gpa is not
     * L1 RAM (the walk tells them apart by reading the entry again). */
    int (*set_bits)(void *ctx, uint64_t gpa, uint64_t old, uint64_t bits);
    void *ctx;
};

enum ept12_status {
    EPT12_OK,
    EPT12_VIOLATION,        /* reflect an EPT violation to L1 */
    EPT12_MISCONFIG,        /* reflect an EPT misconfiguration to L1 */
    /* An EPT12 table (the PML4 named by the EPTP, or a table named by an
     * entry) lies outside L1 RAM: L1 pointed its EPT outside its own
     * memory.  A real CPU would read whatever is there (MMIO, nothing);
     * there is no SDM outcome to give, the caller decides. */
    EPT12_BAD_TABLE,
    /* L1 kept changing entries of this walk while the accessed/dirty flags
     * were being set (EPT12_AD_TRIES walks in a row).  No flag is missing
     * from an entry of a completed walk because nothing completed: the
     * caller should resume L2 as is; the access will fault again. */
    EPT12_RETRY,
};

#define EPT12_AD_TRIES 4

/* What L1 was offered (IA32_VMX_EPT_VPID_CAP as L1 reads it) and its
 * physical-address width. */
struct ept12_caps {
    unsigned maxphyaddr;    /* CPUID.80000008H:EAX[7:0] as L1 sees it */
    bool exec_only;         /* EPT_VPID_CAP[0]: bits 2:0 = 100b allowed */
    bool page_2m;           /* EPT_VPID_CAP[16]: bit 7 of a PDE may be 1 */
    bool page_1g;           /* EPT_VPID_CAP[17]: bit 7 of a PDPTE may be 1 */
};

struct ept12_result {
    enum ept12_status status;
    /* A valid leaf was reached (OK, or a VIOLATION for lack of permission):
     * l1_gpa, memtype and ipat are meaningful; otherwise they are 0. */
    bool mapped;
    uint64_t l1_gpa;        /* the translation of the L2 gpa (L1 guest-physical) */
    /* OK: the leaf level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB).  VIOLATION /
     * MISCONFIG: the level of the entry where the walk stopped (the not
     * present or misconfigured entry; the leaf for a permission violation;
     * 4 for an address beyond 48 bits).  BAD_TABLE: the level of the table
     * that could not be read (4 = the PML4 named by the EPTP).  RETRY: 0
     * (so is every other field). */
    unsigned level;
    /* OK / VIOLATION: the AND of bits 2:0 over the entries read, as the exit
     * qualification of an EPT violation reports them (0 when an entry is
     * not present).  MISCONFIG / BAD_TABLE / RETRY: 0. */
    uint8_t perms;
    uint8_t memtype;        /* leaf bits 5:3 */
    bool ipat;              /* leaf bit 6 */
    /* The last entry read, as read: the leaf for OK, the not-present,
     * misconfigured or leaf entry for a fault; BAD_TABLE: the entry naming
     * the table (0 at level 4). */
    uint64_t leaf;
};

/* The caps from L1's IA32_VMX_EPT_VPID_CAP value and width. */
void ept12_caps_from_msr(struct ept12_caps *c, uint64_t ept_vpid_cap, unsigned maxphyaddr);

/* Walks EPT12 rooted by `eptp` (an EPTP L1 wrote, already accepted by VM
 * entry: 4-level walk, WB or UC, bit 6 = A/D flags enabled; only bits 51:12
 * and 6 are used) for L2 guest-physical address `gpa` and an access
 * `access` (a mask of EPT_R, EPT_W, EPT_X; with A/D flags enabled the
 * caller passes EPT_W for L2's paging-structure accesses too, as the SDM
 * requires).
 *
 * Order of the checks, as the CPU's: each entry down the walk is checked
 * for "not present" (VIOLATION) and then misconfiguration (MISCONFIG); only
 * a complete walk is checked against `access` with the AND of the
 * permissions (VIOLATION).  On OK with A/D flags enabled, sets the
 * accessed flag (bit 8) in every entry used that lacks it and the dirty
 * flag (bit 9) in the leaf for a write, in the order of the walk, each
 * through mem->set_bits against the value the walk read; nothing is set
 * on a fault.  An entry changed under the walk restarts it (EPT12_RETRY
 * after EPT12_AD_TRIES walks).
 *
 * A caller building EPT02 from an OK result of a read or fetch with A/D
 * flags enabled must not make the page writable in EPT02 while the leaf's
 * dirty flag is clear: the first write has to come back here to set it. */
enum ept12_status ept12_walk_caps(uint64_t eptp, uint64_t gpa, unsigned access,
                                  const struct ept12_caps *caps,
                                  const struct ept12_mem *mem, struct ept12_result *r);

/* ept12_walk_caps for an L1 offered 2 MiB and 1 GiB pages (as on the
 * reference machine), execute-only entries when `exec_only_ok`. */
enum ept12_status ept12_walk(uint64_t eptp, uint64_t gpa, unsigned access,
                             unsigned maxphyaddr, bool exec_only_ok,
                             const struct ept12_mem *mem, struct ept12_result *r);

/* Bits 3..6 of the exit qualification of an EPT violation for a VIOLATION
 * result (SDM "Exit Qualification for EPT Violations"): bit 3/4/5 = the AND
 * of bit 0/1/2 of the entries used (all 0 when one is not present); bit 6
 * is defined only with mode-based execute control, which L1 is not
 * offered: 0.  0 for any other status. */
uint64_t ept12_violation_qual_perms(const struct ept12_result *r);

#endif
