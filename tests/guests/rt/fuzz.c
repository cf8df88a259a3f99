/* Helpers for fuzzing guests: a xorshift PRNG, and page tables that make a
 * guest's own code read-only and its low 64 KiB absent, so that a fuzzed
 * hypercall writing through a random pointer gets -EFAULT instead of
 * corrupting the fuzzer. */
#include "rt.h"

static uint64_t state = 0x9e3779b97f4a7c15ull;

void rt_srand(uint64_t seed)
{
    state = seed | 1;
}

uint64_t rt_rand(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

extern char rt_image_start[], rt_ro_end[];
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt0[512] __attribute__((aligned(4096)));

void rt_protect_self(void)
{
    uint64_t ro_lo = (uint64_t)(uintptr_t)rt_image_start, ro_hi = (uint64_t)(uintptr_t)rt_ro_end;
    pml4[0] = (uint64_t)(uintptr_t)pdpt | 3;
    for (unsigned i = 0; i < 4; i++) {
        pdpt[i] = (uint64_t)(uintptr_t)pd[i] | 3;
        for (unsigned j = 0; j < 512; j++)
            pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | 0x83;
    }
    pd[0][0] = (uint64_t)(uintptr_t)pt0 | 3;
    for (uint64_t p = 0; p < 512; p++) {
        uint64_t a = p << 12;
        pt0[p] = a < 0x10000 ? 0 : (a >= ro_lo && a < ro_hi) ? a | 1 : a | 3;
    }
    __asm__ volatile("mov %0, %%cr3" :: "r"(pml4) : "memory");
}
