# Host unit tests (cmocka) for the hv's pure logic.
#
# One binary per test file: $(BUILD)/unit/test_<module>, linking the test
# with the pure hv sources it covers.  The hv's lib.h declares the standard
# C functions with their standard signatures, so libc provides them here
# (hv/lib.c and hv/printf.c are never compiled for the host).
# tests/run_unit.sh runs the binaries.

UNIT_DIR := tests/unit
UNIT_OUT := $(BUILD)/unit
UNIT_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror $(UNIT_SAN) -Ifeatures-pml -Ifeatures-spp \
    -fno-omit-frame-pointer -I$(XENINC) -Iinclude -Ihv -D__XEN_TOOLS__
UNIT_LDLIBS := -lcmocka

# Each test and the hv sources it links.
UNIT_SRCS_test_ept          := hv/ept.c
UNIT_SRCS_test_loader       := hv/loader.c
UNIT_SRCS_test_domcfg       := hv/domcfg.c hv/parse.c
UNIT_SRCS_test_bootinfo     := hv/bootinfo.c hv/parse.c
UNIT_SRCS_test_guest_walk   := hv/guest_walk.c
UNIT_SRCS_test_hc_policy    := hv/hc_policy.c
UNIT_SRCS_test_vmx_caps     := hv/vmx_caps.c
UNIT_SRCS_test_exit_reasons := hv/exit_reasons.c
UNIT_SRCS_test_cpuid_policy := hv/cpuid_policy.c
UNIT_SRCS_test_vmcs_check   := hv/vmcs_check.c
UNIT_SRCS_test_parse        := hv/parse.c
UNIT_SRCS_test_lapic        := hv/lapic.c
UNIT_SRCS_test_mmio_decode  := hv/mmio_decode.c

UNIT_TESTS := test_ept test_loader test_domcfg test_bootinfo test_guest_walk \
              test_hc_policy test_vmx_caps test_exit_reasons test_cpuid_policy \
              test_vmcs_check test_parse test_lapic test_mmio_decode
UNIT_BINS  := $(addprefix $(UNIT_OUT)/,$(UNIT_TESTS))
UNIT_OBJS  := $(sort $(foreach t,$(UNIT_TESTS),$(UNIT_OUT)/obj/$(UNIT_DIR)/$(t).o \
                  $(patsubst %.c,$(UNIT_OUT)/obj/%.o,$(UNIT_SRCS_$(t)))))

.PHONY: unit-bin
unit-bin: $(UNIT_BINS)

$(UNIT_OUT)/obj/%.o: %.c | $(XENINC)/xen
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	$(Q)$(CC) $(UNIT_CFLAGS) -MMD -MP -c $< -o $@

define UNIT_LINK
$(UNIT_OUT)/$(1): $(UNIT_OUT)/obj/$(UNIT_DIR)/$(1).o $(patsubst %.c,$(UNIT_OUT)/obj/%.o,$(UNIT_SRCS_$(1)))
	@echo "  HOSTLD  $$@"
	$$(Q)$$(CC) $$(UNIT_CFLAGS) -o $$@ $$^ $$(UNIT_LDLIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call UNIT_LINK,$(t))))

-include $(UNIT_OBJS:.o=.d)

# features-spp: the SPP table and vector conversion.
UNIT_SRCS_test_spp := features-spp/sppt.c
$(eval $(call UNIT_LINK,test_spp))
unit-bin: $(UNIT_OUT)/test_spp
-include $(UNIT_OUT)/obj/$(UNIT_DIR)/test_spp.d $(UNIT_OUT)/obj/features-spp/sppt.d

# nested/: the vmcs12 field table and layout, VMX operand decoding, the
# capability MSRs L1 sees, the EPT12 walk, the VM-entry checks on a vmcs12,
# which L2 exits are L1's.
# (domain.h includes nested/nested.h.)
UNIT_CFLAGS += -Inested
UNIT_SRCS_test_vmcs12      := nested/vmcs12.c
UNIT_SRCS_test_vmx_operand := nested/vmx_operand.c
UNIT_SRCS_test_nested_caps := nested/nested_caps.c nested/vmcs12.c
UNIT_SRCS_test_ept12       := nested/ept12.c
UNIT_SRCS_test_vmentry_check := nested/vmentry_check.c nested/nested_caps.c nested/vmcs12.c
UNIT_SRCS_test_exit_reflect := nested/exit_reflect.c nested/vmcs12.c
NESTED_UNIT_TESTS := test_vmcs12 test_vmx_operand test_nested_caps test_ept12 test_vmentry_check \
                     test_exit_reflect
$(foreach t,$(NESTED_UNIT_TESTS),$(eval $(call UNIT_LINK,$(t))))
unit-bin: $(addprefix $(UNIT_OUT)/,$(NESTED_UNIT_TESTS))
-include $(foreach t,$(NESTED_UNIT_TESTS),$(UNIT_OUT)/obj/$(UNIT_DIR)/$(t).d) \
         $(UNIT_OUT)/obj/nested/vmcs12.d $(UNIT_OUT)/obj/nested/vmx_operand.d \
         $(UNIT_OUT)/obj/nested/nested_caps.d $(UNIT_OUT)/obj/nested/ept12.d \
         $(UNIT_OUT)/obj/nested/vmentry_check.d $(UNIT_OUT)/obj/nested/exit_reflect.d
