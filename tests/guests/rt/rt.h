/*
 * The Nestor test-guest runtime, in the style of Xen's XTF: a guest is one
 * test_main() that makes checks; each check prints "PASS: ..." or
 * "FAIL: ...", and the runtime ends with one summary line
 * "RESULT: N passed, M failed" and the verdict on the isa-debug-exit port
 * (0 = success).
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../../hv/lib.h"

enum rt_boot_proto { RT_BOOT_NESTOR = 0, RT_BOOT_MB1 = 1, RT_BOOT_MB2 = 2 };

struct rt_module { uint64_t start, size; const char *cmdline; };

struct rt_boot {
    enum rt_boot_proto proto;
    uint64_t mem_bytes;
    const char *cmdline;
    const char *name;
    unsigned domid;
    uint32_t flags;
    uint64_t created_tsc;
    unsigned nr_mods;
    struct rt_module mods[8];
};
extern struct rt_boot rt_boot;

/* Provided by each test. */
void test_main(void);

void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One PASS/FAIL line; returns cond. */
bool rt_check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define CHECK(cond, ...) rt_check(!!(cond), __VA_ARGS__)
/* Ends the test with the summary line and verdict. */
__attribute__((noreturn)) void rt_finish(void);
/* Ends with an explicit isa-debug-exit value (no summary). */
__attribute__((noreturn)) void rt_exit(uint32_t code);
unsigned rt_failures(void);

/* Substring search (the hv's lib has none). */
const char *strstr_local(const char *h, const char *n);

/* "key=value" from the command line, or def. */
uint64_t rt_arg_u64(const char *key, uint64_t def);
bool rt_arg_flag(const char *key);

/* Faults: code placed between a label pair registered with RT_EXTABLE
 * resumes at the fixup; the vector lands in rt_fault_vector. */
extern volatile int rt_fault_vector;
extern volatile uint64_t rt_fault_error;
#define RT_EXTABLE(from, to) \
    ".pushsection .ex_table, \"a\"\n\t.balign 8\n\t.quad " #from ", " #to "\n\t.popsection\n\t"

/* Fuzzing helpers (rt/fuzz.c). */
void rt_srand(uint64_t seed);
uint64_t rt_rand(void);
/* Own page tables: code read-only, low 64 KiB absent (see fuzz.c). */
void rt_protect_self(void);

/* Interrupt handlers for vectors 32-255 (called with interrupts off). */
void rt_set_irq_handler(unsigned vector, void (*fn)(unsigned vector));
static inline void rt_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void rt_cli(void) { __asm__ volatile("cli" ::: "memory"); }

/* Runs fn(arg) at CPL 3 and returns when it returns. */
void rt_run_user(void (*fn)(void *), void *arg);

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* Returns the exception vector raised, or -1 if none. */
static inline int rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    rt_fault_vector = -1;
    __asm__ volatile("1: rdmsr\n2:\n\t" RT_EXTABLE(1b, 2b)
                     : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
    *val = ((uint64_t)hi << 32) | lo;
    return rt_fault_vector;
}

static inline int wrmsr_safe(uint32_t msr, uint64_t val)
{
    rt_fault_vector = -1;
    __asm__ volatile("1: wrmsr\n2:\n\t" RT_EXTABLE(1b, 2b)
                     :: "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
    return rt_fault_vector;
}

/* Xen HVM hypercall: rax = nr, args in rdi, rsi, rdx, r10, r8. */
static inline long hypercall5(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
                              uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    __asm__ volatile("vmcall"
                     : "+a"(nr), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : : "memory");
    return (long)nr;
}
#define hypercall1(nr, a) hypercall5(nr, (uint64_t)(a), 0, 0, 0, 0)
#define hypercall2(nr, a, b) hypercall5(nr, (uint64_t)(a), (uint64_t)(b), 0, 0, 0)
#define hypercall3(nr, a, b, c) hypercall5(nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0)

#endif
