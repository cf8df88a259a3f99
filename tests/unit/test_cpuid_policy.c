/* hv/cpuid_policy.c: what guests see in CPUID. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpuid_policy.h"
#include <nestor/abi.h>

enum { EAX, EBX, ECX, EDX };

static const struct cpuid_ctx ctx = {
    .vcpu_id = 0, .domid = 5, .dom_flags = NESTOR_DOMF_PRIVILEGED, .rdtscp = true, .invpcid = true,
};

/* Runs the policy on host values r0..r3. */
static void run(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub, uint32_t r[4],
                uint32_t a, uint32_t b, uint32_t cc, uint32_t d)
{
    r[EAX] = a;
    r[EBX] = b;
    r[ECX] = cc;
    r[EDX] = d;
    cpuid_policy(c, leaf, sub, r);
}

static void leaf1_clears_hidden_features(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, 1, 0, r, 0x000906ea, 0xffffffff, 0x7fffffff, 0xffffffff);
    assert_int_equal(r[EAX], 0x000906ea);                    /* family/model kept */
    assert_int_equal(r[ECX] & (uint32_t)CPUID1_ECX_HIDDEN, 0);
    assert_int_equal(r[EDX] & (uint32_t)CPUID1_EDX_HIDDEN, 0);
    assert_int_equal(r[ECX], (0x7fffffff & ~(uint32_t)CPUID1_ECX_HIDDEN) | BIT(31));
    assert_int_equal(r[EDX], 0xffffffff & ~(uint32_t)(CPUID1_EDX_HIDDEN | CPUID1_EDX_APIC));
    /* Among them: MONITOR, VMX, x2APIC, TSC deadline, XSAVE, OSXSAVE, AVX. */
    assert_int_equal(r[ECX] & (BIT(5) | BIT(3) | BIT(26) | BIT(27) | BIT(28) | BIT(21) | BIT(24)), 0);
    /* The local APIC flag follows IA32_APIC_BASE.EN (ctx.apic is false). */
    assert_int_equal(r[EDX] & BIT(9), 0);
}

static void leaf1_apic_flag_follows_global_enable(void **state)
{
    (void)state;
    uint32_t r[4];
    struct cpuid_ctx c = ctx;
    c.apic = true;
    run(&c, 1, 0, r, 0, 0, BIT(21) | BIT(24), 0);
    assert_int_equal(r[EDX], BIT(9));                       /* even where the host has none */
    assert_int_equal(r[ECX], CPUID1_ECX_HV);                /* no x2APIC, no TSC deadline */
    run(&c, 1, 0, r, 0, 0, 0, 0xffffffff);
    assert_true(r[EDX] & BIT(9));
    c.apic = false;
    run(&c, 1, 0, r, 0, 0, 0, 0xffffffff);
    assert_false(r[EDX] & BIT(9));
}

static void leaf1_keeps_other_features(void **state)
{
    (void)state;
    uint32_t r[4];
    uint32_t ecx = BIT(0) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(23) | BIT(25) | BIT(30);
    uint32_t edx = BIT(0) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | BIT(15) | BIT(25) | BIT(26);
    run(&ctx, 1, 0, r, 0, 0, ecx, edx);
    assert_int_equal(r[ECX], ecx | BIT(31));
    assert_int_equal(r[EDX], edx);
}

static void leaf1_sets_hypervisor_bit(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, 1, 0, r, 0, 0, 0, 0);
    assert_int_equal(r[ECX], CPUID1_ECX_HV);
    assert_int_equal(CPUID1_ECX_HV, BIT(31));
}

static void leaf1_reports_one_logical_cpu_and_vcpu_apic_id(void **state)
{
    (void)state;
    uint32_t r[4];
    struct cpuid_ctx c = ctx;
    c.vcpu_id = 0x2a;
    /* Host: brand 0x12, CLFLUSH 8 (64 B), 16 logical CPUs, APIC id 7. */
    run(&c, 1, 0, r, 0, 0x07100812, 0, 0);
    assert_int_equal(r[EBX], 0x2a010812);
}

static void hypervisor_leaf_has_nestor_signature(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, NESTOR_CPUID_BASE, 0, r, 1, 2, 3, 4);
    assert_int_equal(r[EAX], NESTOR_CPUID_MAX);
    char sig[13];
    memcpy(sig, &r[EBX], 4);
    memcpy(sig + 4, &r[ECX], 4);
    memcpy(sig + 8, &r[EDX], 4);
    sig[12] = '\0';
    assert_string_equal(sig, "NestorNestor");
}

static void nestor_version_leaf(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, NESTOR_CPUID_BASE + 1, 0, r, 1, 2, 3, 4);
    assert_int_equal(r[EAX], (NESTOR_VERSION_MAJOR << 16) | NESTOR_VERSION_MINOR);
    assert_int_equal(r[EBX], 0);
    assert_int_equal(r[ECX], 0);
    assert_int_equal(r[EDX], 0);
}

static void nestor_hypercall_leaf(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, NESTOR_CPUID_BASE + 2, 0, r, 9, 9, 9, 9);
    assert_int_equal(r[EAX], 1);
    assert_int_equal(r[EBX], NESTOR_HYPERCALL_MSR);
    assert_int_equal(r[ECX], 0);
    assert_int_equal(r[EDX], 0);
}

static void nestor_domain_leaf(void **state)
{
    (void)state;
    uint32_t r[4];
    struct cpuid_ctx c = { .vcpu_id = 3, .domid = 0x7fef, .dom_flags = 0 };
    run(&c, NESTOR_CPUID_BASE + 3, 0, r, 9, 9, 9, 9);
    assert_int_equal(r[EAX], 3);
    assert_int_equal(r[EBX], 0x7fef);
    assert_int_equal(r[ECX], 0);
    assert_int_equal(r[EDX], 0);
    run(&ctx, NESTOR_CPUID_BASE + 3, 0, r, 9, 9, 9, 9);
    assert_int_equal(r[ECX], NESTOR_DOMF_PRIVILEGED);
}

static void hypervisor_range_beyond_nestor_leaves_is_zero(void **state)
{
    (void)state;
    static const uint32_t leaves[] = { NESTOR_CPUID_MAX + 1, 0x40000010, 0x400000ff };
    for (unsigned i = 0; i < 3; i++) {
        uint32_t r[4];
        run(&ctx, leaves[i], 0, r, 0x564b4d56, 0x564b4d56, 0x564b4d56, 0x4d);
        for (unsigned j = 0; j < 4; j++)
            assert_int_equal(r[j], 0);
    }
}

static void leaves_above_hypervisor_range_pass_through(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, 0x40000100, 0, r, 1, 2, 3, 4);
    assert_int_equal(r[EAX], 1);
    assert_int_equal(r[EDX], 4);
}

static void unfiltered_leaves_pass_through(void **state)
{
    (void)state;
    static const uint32_t leaves[] = { 0, 2, 3, 0x15, 0x16, 0x80000000, 0x80000002, 0x80000008 };
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        uint32_t r[4];
        run(&ctx, leaves[i], 0, r, 0x11, 0x22, 0x33, 0x44);
        assert_int_equal(r[EAX], 0x11);
        assert_int_equal(r[EBX], 0x22);
        assert_int_equal(r[ECX], 0x33);
        assert_int_equal(r[EDX], 0x44);
    }
}

static void leaf4_reports_one_core_and_thread_per_cache(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, 4, 1, r, 0x1c004121, 0x01c0003f, 0x3f, 0);
    assert_int_equal(r[EAX], 0x0121);
    assert_int_equal(r[EBX], 0x01c0003f);
    assert_int_equal(r[ECX], 0x3f);
}

static void power_pmu_xsave_sgx_pt_leaves_are_zero(void **state)
{
    (void)state;
    static const uint32_t leaves[] = { 5, 6, 0xa, 0xd, 0x12, 0x14, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e };
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        for (uint32_t sub = 0; sub < 3; sub++) {
            uint32_t r[4];
            run(&ctx, leaves[i], sub, r, ~0u, ~0u, ~0u, ~0u);
            for (unsigned j = 0; j < 4; j++)
                if (r[j])
                    fail_msg("leaf %#x.%u reg %u = %#x", leaves[i], sub, j, r[j]);
        }
    }
}

static void leaf7_clears_hidden_features(void **state)
{
    (void)state;
    uint32_t r[4];
    run(&ctx, 7, 0, r, 2, ~0u, ~0u, ~0u);
    assert_int_equal(r[EAX], 2);
    assert_int_equal(r[EBX], ~(uint32_t)CPUID7_EBX_HIDDEN);
    assert_int_equal(r[ECX], ~(uint32_t)CPUID7_ECX_HIDDEN);
    assert_int_equal(r[EDX], ~(uint32_t)CPUID7_EDX_HIDDEN);
    assert_int_equal(r[EBX] & (BIT(5) | BIT(16) | BIT(2)), 0);  /* AVX2, AVX512F, SGX */
    assert_int_equal(r[ECX] & BIT(16), 0);                      /* LA57 */
    assert_int_equal(r[EDX] & BIT(4), 0);                       /* FSRM */
}

static void leaf7_invpcid_follows_the_vmx_control(void **state)
{
    (void)state;
    uint32_t r[4];
    struct cpuid_ctx c = ctx;
    c.invpcid = true;
    run(&c, 7, 0, r, 0, BIT(10), 0, 0);
    assert_int_equal(r[EBX], BIT(10));
    c.invpcid = false;
    run(&c, 7, 0, r, 0, BIT(10) | BIT(0) | BIT(9), 0, 0);
    assert_int_equal(r[EBX], BIT(0) | BIT(9));
}

static void leaf7_other_subleaves_are_zero(void **state)
{
    (void)state;
    for (uint32_t sub = 1; sub < 4; sub++) {
        uint32_t r[4];
        run(&ctx, 7, sub, r, ~0u, ~0u, ~0u, ~0u);
        for (unsigned j = 0; j < 4; j++)
            assert_int_equal(r[j], 0);
    }
}

static void topology_leaves_describe_one_thread_one_core(void **state)
{
    (void)state;
    static const uint32_t leaves[] = { 0xb, 0x1f };
    struct cpuid_ctx c = ctx;
    c.vcpu_id = 7;
    for (unsigned i = 0; i < 2; i++) {
        uint32_t r[4];
        run(&c, leaves[i], 0, r, 1, 2, 0x100, 0x55);    /* SMT level */
        assert_int_equal(r[EAX], 0);
        assert_int_equal(r[EBX], 1);
        assert_int_equal(r[ECX], 0x100);
        assert_int_equal(r[EDX], 7);
        run(&c, leaves[i], 1, r, 4, 16, 0x201, 0x55);   /* core level */
        assert_int_equal(r[EAX], 0);
        assert_int_equal(r[EBX], 1);
        assert_int_equal(r[ECX], 0x201);
        assert_int_equal(r[EDX], 7);
        for (uint32_t sub = 2; sub < 5; sub++) {        /* invalid levels */
            run(&c, leaves[i], sub, r, 4, 16, 0x502, 0x55);
            assert_int_equal(r[EAX], 0);
            assert_int_equal(r[EBX], 0);
            assert_int_equal(r[ECX], sub);              /* type 0, echoes the subleaf */
            assert_int_equal(r[EDX], 7);
        }
    }
}

static void rdtscp_follows_the_vmx_control(void **state)
{
    (void)state;
    uint32_t r[4];
    struct cpuid_ctx c = ctx;
    c.rdtscp = true;
    run(&c, 0x80000001, 0, r, 0, 0, 0x121, BIT(27) | BIT(29) | BIT(20));
    assert_int_equal(r[EDX], BIT(27) | BIT(29) | BIT(20));
    assert_int_equal(r[ECX], 0x121);
    c.rdtscp = false;
    run(&c, 0x80000001, 0, r, 0, 0, 0x121, BIT(27) | BIT(29) | BIT(20));
    assert_int_equal(r[EDX], BIT(29) | BIT(20));
}

static void vmx_is_visible_only_with_nested(void **state)
{
    (void)state;
    uint32_t r[4];
    struct cpuid_ctx c = ctx;
    c.nested = true;
    run(&c, 1, 0, r, 0, 0, 0x7fffffff, 0xffffffff);
    assert_int_equal(r[ECX] & CPUID1_ECX_VMX, CPUID1_ECX_VMX);
    /* Everything else hidden stays hidden. */
    assert_int_equal(r[ECX] & (uint32_t)(CPUID1_ECX_HIDDEN & ~CPUID1_ECX_VMX), 0);
    assert_int_equal(r[ECX], (0x7fffffff & ~(uint32_t)CPUID1_ECX_HIDDEN) | CPUID1_ECX_VMX | BIT(31));
    /* A host without VMX cannot offer it. */
    run(&c, 1, 0, r, 0, 0, 0x7fffffff & ~CPUID1_ECX_VMX, 0);
    assert_int_equal(r[ECX] & CPUID1_ECX_VMX, 0);
    c.nested = false;
    run(&c, 1, 0, r, 0, 0, 0x7fffffff, 0xffffffff);
    assert_int_equal(r[ECX] & CPUID1_ECX_VMX, 0);
    /* Only leaf 1 changes. */
    c.nested = true;
    run(&c, 7, 0, r, 0, ~0u, ~0u, ~0u);
    assert_int_equal(r[EBX] & (uint32_t)CPUID7_EBX_HIDDEN, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaf1_clears_hidden_features),
        cmocka_unit_test(leaf1_keeps_other_features),
        cmocka_unit_test(leaf1_sets_hypervisor_bit),
        cmocka_unit_test(leaf1_reports_one_logical_cpu_and_vcpu_apic_id),
        cmocka_unit_test(leaf1_apic_flag_follows_global_enable),
        cmocka_unit_test(hypervisor_leaf_has_nestor_signature),
        cmocka_unit_test(nestor_version_leaf),
        cmocka_unit_test(nestor_hypercall_leaf),
        cmocka_unit_test(nestor_domain_leaf),
        cmocka_unit_test(hypervisor_range_beyond_nestor_leaves_is_zero),
        cmocka_unit_test(leaves_above_hypervisor_range_pass_through),
        cmocka_unit_test(unfiltered_leaves_pass_through),
        cmocka_unit_test(leaf4_reports_one_core_and_thread_per_cache),
        cmocka_unit_test(power_pmu_xsave_sgx_pt_leaves_are_zero),
        cmocka_unit_test(leaf7_clears_hidden_features),
        cmocka_unit_test(leaf7_invpcid_follows_the_vmx_control),
        cmocka_unit_test(leaf7_other_subleaves_are_zero),
        cmocka_unit_test(topology_leaves_describe_one_thread_one_core),
        cmocka_unit_test(rdtscp_follows_the_vmx_control),
        cmocka_unit_test(vmx_is_visible_only_with_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
