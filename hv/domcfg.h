/* A domain's configuration, parsed from its boot module's command line:
 *   <kind> [name=NAME] [mem=SIZE] [priv] [debug=KNOB] [logdirty=pml|wp] [nested=0|1]
 *          [vmcs_shadowing=0|1]
 *          [-- ARGS...]
 * kind: elf (ELF64 guest), mb1 (multiboot v1 kernel), mb2 (multiboot2
 * kernel), or mod (a module for the domain declared before it). */
#ifndef HV_DOMCFG_H
#define HV_DOMCFG_H

#include "lib.h"

enum dom_kind { KIND_ELF, KIND_MB1, KIND_MB2, KIND_MOD };

#define DOMCFG_NAME_MAX     32
#define DOMCFG_ARGS_MAX     512
#define DOMCFG_MEM_DEFAULT  (32 * MiB)
#define DOMCFG_MEM_MIN      (4 * MiB)
#define DOMCFG_MEM_MAX      (2 * GiB)

/* Test knobs: deliberately broken set-ups that prove the hv's failure paths. */
enum dom_debug { DEBUG_NONE, DEBUG_BAD_GUEST_STATE, DEBUG_BAD_CONTROLS };

/* How log-dirty tracks writes: PML (default) or the classic pre-PML way,
 * EPT write protection with one fault per first write to a page. */
enum logdirty_kind { LOGDIRTY_PML, LOGDIRTY_WP };

struct domcfg {
    enum dom_kind kind;
    char name[DOMCFG_NAME_MAX];
    uint64_t mem;               /* rounded up to 2 MiB */
    bool priv;
    enum dom_debug debug;
    enum logdirty_kind logdirty;
    bool nested;                /* virtual VT-x for the domain (nested/) */
    bool no_vmcs_shadowing;     /* nested: every VMREAD/VMWRITE of L1 exits */
    char args[DOMCFG_ARGS_MAX]; /* guest command line (after "--") */
};

struct domcfg_module {
    const void *data;
    uint64_t size;
    const char *cmdline;        /* text after "mod " */
};

/* Returns 0, or -1 with a message in err. Pure; unit-tested. */
int domcfg_parse(const char *cmdline, struct domcfg *out, char *err, size_t errlen);

#endif
