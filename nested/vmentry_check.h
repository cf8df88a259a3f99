/* The checks a VM entry (VMLAUNCH/VMRESUME) makes on an L1 hypervisor's
 * vmcs12 before it runs L2: Intel SDM Vol. 3, 27.2 (VMX controls, host
 * state, address-space size) and 27.3.1 (guest state), against the
 * capabilities L1 sees (struct nested_caps).  Pure: it reads the fields
 * with vmcs12_get() and nothing else, so it is linked into the hv and
 * into the host unit tests (tests/unit/test_vmentry_check.c).
 *
 * The caller runs them in the SDM's order, after the 27.1 checks
 * (current VMCS, MOV-SS blocking, launch state):
 *
 *   1. vmentry_check_controls()  != 0: VMfailValid(7)
 *   2. vmentry_check_host()      != 0: VMfailValid(8)
 *      vmentry_check_host_lma()  != 0: VMfailValid(8)  (needs L1's EFER.LMA)
 *   3. vmentry_check_guest()     != 0: VM-entry failure, exit reason
 *      33 | BIT(31) with the returned exit qualification, host state of
 *      vmcs12 loaded into L1 (SDM 27.8).
 *
 * What the caller must still do itself (it needs L1 memory or vCPU state):
 *   - VMCS link pointer: when the field is not all ones and passes
 *     vmentry_check_guest(), read the 32 bits at that guest-physical
 *     address: bits 30:0 must be VMCS12_REVISION and bit 31 must equal the
 *     "VMCS shadowing" control; otherwise fail with exit reason 33 and
 *     qualification VMENTRY_QUAL_LINK_PTR (SDM 27.3.1.5).
 *   - PAE paging without EPT (CR0.PG = 1, CR4.PAE = 1, "IA-32e mode
 *     guest" = 0, "enable EPT" = 0): the four PDPTEs come from L2's CR3 in
 *     memory; each must pass vmentry_pdpte_valid(), else fail with exit
 *     reason 33 and qualification VMENTRY_QUAL_PDPTE (SDM 27.3.1.6).
 *     With EPT they come from the vmcs12 fields, which
 *     vmentry_check_guest() checks (qualification 0).
 *   - The VM-entry MSR-load list (SDM 27.4): exit reason 34.
 */
#ifndef NESTED_VMENTRY_CHECK_H
#define NESTED_VMENTRY_CHECK_H

#include "lib.h"
#include "nested_caps.h"

/* Results (SDM 31.4 VM-instruction errors; Appendix C basic exit reason). */
#define VMENTRY_ERR_CONTROLS      7     /* VM entry with invalid control field(s) */
#define VMENTRY_ERR_HOST          8     /* VM entry with invalid host-state field(s) */
#define VMENTRY_FAIL_GUEST        33    /* VM-entry failure due to invalid guest state */

/* Exit qualifications of a VM-entry failure (SDM 27.8). */
#define VMENTRY_QUAL_DEFAULT      0
#define VMENTRY_QUAL_PDPTE        2     /* PDPTEs loaded from memory (no EPT) */
#define VMENTRY_QUAL_LINK_PTR     4     /* invalid VMCS link pointer */

/* The IA32_EFER and IA32_DEBUGCTL bits Nestor's virtual CPU has (the ones
 * WRMSR accepts in hv/exit_msr.c): every other bit is reserved, so a
 * vmcs12 that loads it fails VM entry.  Keep in step with exit_msr.c. */
#define NESTED_EFER_BITS      (BIT(0) /* SCE */ | BIT(8) /* LME */ | BIT(10) /* LMA */ | \
                               BIT(11) /* NXE */)
#define NESTED_DEBUGCTL_BITS  (BIT(0) /* LBR */ | BIT(1) /* BTF */)

/* Each returns 0 if the checks pass (leaving *why alone), else the code
 * below with *why (if `why` is non-NULL) set to a static string naming
 * the first failed check, e.g. "I/O bitmap A address not 4 KiB aligned". */

/* SDM 27.2.1 (VM-execution, VM-exit and VM-entry control fields):
 * 0 or VMENTRY_ERR_CONTROLS. */
int vmentry_check_controls(const struct nested_caps *c, const uint8_t *vmcs12, const char **why);
/* Only the event-injection checks of 27.2.1.3 (part of the above): what a
 * VM entry must re-check when only fields L1 writes through the shadow
 * VMCS changed since the full checks passed.  0 or VMENTRY_ERR_CONTROLS. */
int vmentry_check_injection(const struct nested_caps *c, const uint8_t *vmcs12, const char **why);

/* SDM 27.2.2-27.2.4 (host control registers and MSRs, host segment and
 * descriptor-table registers, address-space size) as far as they depend
 * on vmcs12 alone: 0 or VMENTRY_ERR_HOST. */
int vmentry_check_host(const struct nested_caps *c, const uint8_t *vmcs12, const char **why);

/* SDM 27.2.4, the rules that depend on the logical processor's
 * IA32_EFER.LMA at the time of VM entry (L1's, passed as `l1_lma`):
 * 0 or VMENTRY_ERR_HOST. */
int vmentry_check_host_lma(const uint8_t *vmcs12, bool l1_lma, const char **why);

/* SDM 27.3.1 (guest control registers, debug registers and MSRs, segment
 * registers, descriptor-table registers, RIP and RFLAGS, non-register
 * state, and the PDPTE fields under EPT): 0 or VMENTRY_FAIL_GUEST with
 * *qual (if non-NULL) set to the exit qualification: VMENTRY_QUAL_LINK_PTR
 * for the VMCS link pointer, VMENTRY_QUAL_DEFAULT for everything else.
 * *qual is 0 when the checks pass. */
int vmentry_check_guest(const struct nested_caps *c, const uint8_t *vmcs12, uint64_t *qual,
                        const char **why);

/* A PAE page-directory-pointer-table entry VM entry accepts (SDM 4.4.1,
 * 27.3.1.6): not present, or no reserved bit (2:1, 8:5, 63:MAXPHYADDR). */
bool vmentry_pdpte_valid(const struct nested_caps *c, uint64_t pdpte);

#endif
