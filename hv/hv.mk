# The L0 hypervisor: freestanding, linked at its load address (1 MiB) and run
# identity-mapped.
HV_DIR   := hv
HV_OUT   := $(BUILD)/hv
HV_SRCS  := $(wildcard $(HV_DIR)/*.c) $(wildcard $(HV_DIR)/arch/*.S)
HV_OBJS  := $(patsubst $(HV_DIR)/%,$(HV_OUT)/%.o,$(HV_SRCS))
# Feature modules linked into the hv, each behind a small interface header.
HV_FEATURE_DIRS := features-pml features-spp nested
HV_FEATURE_SRCS := $(foreach d,$(HV_FEATURE_DIRS),$(wildcard $(d)/*.c))
HV_OBJS  += $(patsubst %,$(HV_OUT)/%.o,$(HV_FEATURE_SRCS))
HV_CFLAGS := $(FREESTANDING_CFLAGS) -I$(HV_DIR) $(addprefix -I,$(HV_FEATURE_DIRS)) -D__XEN__HV_BUILD

hv: $(HV_OUT)/nestor.elf

$(HV_OUT)/nestor.elf: $(HV_OBJS) $(HV_DIR)/linker.ld
	@echo "  LD      $@"
	$(Q)$(CC) $(FREESTANDING_LDFLAGS) -T $(HV_DIR)/linker.ld -o $@ $(HV_OBJS)

$(HV_OUT)/%.c.o: $(HV_DIR)/%.c | $(XENINC)/xen
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(HV_OUT)/features-%.c.o: features-%.c | $(XENINC)/xen
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(HV_OUT)/nested/%.c.o: nested/%.c | $(XENINC)/xen
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

$(HV_OUT)/%.S.o: $(HV_DIR)/%.S
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(HV_CFLAGS) -MMD -MP -c $< -o $@

-include $(HV_OBJS:.o=.d)
