# Test guests: one folder per test under tests/guests/, each a main.c (plus
# optional extra .c files) linked with the runtime in tests/guests/rt/.
# Guests listed in MB_GUESTS are also built as NAME_mb.elf with multiboot
# v1/v2 headers, so the same test runs through the multiboot loaders.
GUEST_DIR   := tests/guests
GUEST_OUT   := $(BUILD)/guests
GUEST_NAMES := $(filter-out rt,$(notdir $(patsubst %/,%,$(dir $(wildcard $(GUEST_DIR)/*/main.c)))))
MB_GUESTS   := hello vmx_l2 vmlaunchfuzz apic
GUEST_CFLAGS := $(FREESTANDING_CFLAGS) -I$(GUEST_DIR)/rt
RT_SRCS     := $(GUEST_DIR)/rt/rt.c $(GUEST_DIR)/rt/fuzz.c $(GUEST_DIR)/rt/entry.S $(GUEST_DIR)/rt/traps.S \
               hv/printf.c hv/lib.c hv/parse.c
RT_OBJS     := $(patsubst %,$(GUEST_OUT)/rt/%.o,$(notdir $(RT_SRCS)))
RT_MB_OBJ   := $(GUEST_OUT)/rt/mbentry.S.o
GUEST_ELFS  := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES)) \
               $(patsubst %,$(GUEST_OUT)/%_mb.elf,$(MB_GUESTS))

guests: $(GUEST_ELFS)

$(GUEST_OUT)/rt/%.c.o: $(GUEST_DIR)/rt/%.c | $(XENINC)/xen
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@
$(GUEST_OUT)/rt/%.c.o: hv/%.c | $(XENINC)/xen
	@mkdir -p $(dir $@)
	@echo "  CC      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@
$(GUEST_OUT)/rt/%.S.o: $(GUEST_DIR)/rt/%.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

# Each guest's objects: every .c in its folder.
define guest_rules
$(1)_OBJS := $$(patsubst $(GUEST_DIR)/$(1)/%.c,$(GUEST_OUT)/$(1)/%.o,$$(wildcard $(GUEST_DIR)/$(1)/*.c))
$(GUEST_OUT)/$(1)/%.o: $(GUEST_DIR)/$(1)/%.c | $(XENINC)/xen
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$<"
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c $$< -o $$@
$(GUEST_OUT)/$(1).elf: $$($(1)_OBJS) $(RT_OBJS) $(GUEST_DIR)/rt/link.ld
	@echo "  LD      $$@"
	$(Q)$(CC) $(FREESTANDING_LDFLAGS) -Wl,--no-warn-rwx-segments -T $(GUEST_DIR)/rt/link.ld -o $$@ $$($(1)_OBJS) $(RT_OBJS)
$(GUEST_OUT)/$(1)_mb.elf: $$($(1)_OBJS) $(RT_OBJS) $(RT_MB_OBJ) $(GUEST_DIR)/rt/link.ld
	@echo "  LD      $$@"
	$(Q)$(CC) $(FREESTANDING_LDFLAGS) -Wl,--no-warn-rwx-segments -T $(GUEST_DIR)/rt/link.ld -o $$@ $$($(1)_OBJS) $(RT_OBJS) $(RT_MB_OBJ)
-include $$($(1)_OBJS:.o=.d)
endef
$(foreach g,$(GUEST_NAMES),$(eval $(call guest_rules,$(g))))
-include $(RT_OBJS:.o=.d)
