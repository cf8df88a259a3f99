/* I/O instruction exits (SDM 28.2.1, table 28-5): decode, route to the
 * device, and emulate string I/O (INS/OUTS, with REP) element by element. */
#include "exit.h"
#include "console.h"
#include "guest_mem.h"
#include "vcpu.h"
#include "vdev.h"
#include "vmx.h"
#include "x86.h"

#define IOQ_SIZE(q)    (((q) & 7) + 1)
#define IOQ_IN(q)      ((q) & BIT(3))
#define IOQ_STRING(q)  ((q) & BIT(4))
#define IOQ_REP(q)     ((q) & BIT(5))
#define IOQ_PORT(q)    ((uint16_t)((q) >> 16))
/* At most this many string elements per exit, so one REP OUTS cannot hog
 * the CPU: the instruction restarts with the remaining count. */
#define STRING_BATCH   1024

static uint32_t port_read(struct vcpu *v, uint16_t port, unsigned size)
{
    const struct io_dev *dev = vdev_find(port);
    if (dev && dev->read)
        return dev->read(v, port, size);
    return 0xffffffff;          /* nothing decodes this port */
}

static void port_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
    const struct io_dev *dev = vdev_find(port);
    if (dev && dev->write)
        dev->write(v, port, size, val);
}

static void simple_io(struct vcpu *v, uint64_t q)
{
    unsigned size = IOQ_SIZE(q);
    uint32_t mask = size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
    uint64_t *rax = &v->regs.gpr[R_AX];

    if (IOQ_IN(q)) {
        uint32_t val = port_read(v, IOQ_PORT(q), size) & mask;
        /* IN to AL/AX keeps the rest of RAX; IN to EAX zero-extends. */
        *rax = size == 4 ? val : (*rax & ~(uint64_t)mask) | val;
    } else {
        port_write(v, IOQ_PORT(q), size, (uint32_t)*rax & mask);
    }
    if (v->state != VCPU_DEAD)
        vcpu_skip_instruction(v);
}

/* Instruction-information fields for INS/OUTS (IA32_VMX_BASIC[54]). */
static uint64_t addr_mask(uint32_t info)
{
    unsigned asz = (info >> 7) & 7;     /* 0: 16-bit, 1: 32-bit, 2: 64-bit */
    return asz == 0 ? 0xffff : asz == 1 ? 0xffffffff : ~0ull;
}

static void string_io(struct vcpu *v, uint64_t q)
{
    unsigned size = IOQ_SIZE(q);
    uint32_t info = (uint32_t)vmread(VMCS_EXIT_INSTR_INFO);
    uint64_t amask = addr_mask(info);
    bool in = IOQ_IN(q);
    /* INS always writes ES:rDI; OUTS reads seg:rSI (segment in info[17:15]). */
    unsigned seg = in ? 0 : (info >> 15) & 7;
    uint64_t seg_base = vmread(VMCS_GUEST_ES_BASE + 2 * seg);
    if (!(vmread(VMCS_GUEST_CS_AR) & BIT(13)) || seg >= 4)
        ;   /* outside 64-bit mode every base applies; in 64-bit only FS/GS do */
    else
        seg_base = 0;
    uint64_t *idx = &v->regs.gpr[in ? R_DI : R_SI];
    uint64_t *rcx = &v->regs.gpr[R_CX];
    int64_t step = (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    uint64_t count = IOQ_REP(q) ? (*rcx & amask) : 1;

    for (unsigned n = 0; count && n < STRING_BATCH; n++, count--) {
        uint64_t gla = seg_base + (*idx & amask);
        uint32_t val = 0;
        if (in) {
            val = port_read(v, IOQ_PORT(q), size);
            if (copy_to_guest(v, gla, &val, size))
                goto fault;
        } else {
            if (copy_from_guest(v, &val, gla, size))
                goto fault;
            port_write(v, IOQ_PORT(q), size, val);
            if (v->state == VCPU_DEAD)
                return;
        }
        *idx = (*idx & ~amask) | ((*idx + step) & amask);
        if (IOQ_REP(q))
            *rcx = (*rcx & ~amask) | ((*rcx - 1) & amask);
    }
    if (!count)
        vcpu_skip_instruction(v);
    return;
fault:
    /* The buffer is not mapped in the guest's page tables. */
    vcpu_inject_gp0(v);
}

void handle_io(struct vcpu *v)
{
    uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
    if (IOQ_STRING(q))
        string_io(v, q);
    else
        simple_io(v, q);
}
