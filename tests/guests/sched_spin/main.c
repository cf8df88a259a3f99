/*
 * sched_spin: a CPU-bound domain.  It counts loop iterations until the TSC
 * passes created_tsc + window (the same instant for every boot domain), and
 * prints "iterations=N".  Several copies side by side measure scheduling
 * fairness: with round-robin slices their counts must agree closely.
 */
#include "rt.h"

void test_main(void)
{
    uint64_t window = rt_arg_u64("window", 200000000);
    uint64_t deadline = rt_boot.created_tsc + window;
    uint64_t n = 0;
    while (rdtsc() < deadline) {
        for (volatile int i = 0; i < 100; i++)
            ;
        n++;
    }
    rt_printf("iterations=%lu window=%lu\n", n, window);
    CHECK(n > 0, "made progress within the window");
}
