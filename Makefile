# Nestor top-level build.  `make demo` and `make test` are the two entry points
# of the README; `make deps` installs every Debian package the project needs.

# Debian's interpreter: it is the one that gets python3-pytest/matplotlib.
PYTHON  ?= /usr/bin/python3
CC      ?= gcc
BUILD   := build
# V=1 shows full compiler command lines.
Q       := $(if $(V),,@)

.PHONY: all build deps demo test unit-test integration-test bench clean hv guests

all: build
build: hv guests unit-bin

# ---------------------------------------------------------------- packages --
DEB_PACKAGES := bochs bochsbios vgabios bochs-term grub-pc-bin grub-common \
                xorriso mtools libxen-dev qemu-system-x86 libcmocka-dev \
                python3-pytest python3-matplotlib gcc make binutils

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	        || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

# --------------------------------------------------------------- toolchain --
# Xen public headers are included from libxen-dev, never copied: the build
# tree gets an include dir holding only a link to them, so freestanding code
# can use -nostdinc and still say #include <xen/xen.h>.
XENINC  := $(BUILD)/xeninc
$(XENINC)/xen:
	@mkdir -p $(XENINC)
	@test -d /usr/include/xen || { echo "libxen-dev missing: run make deps"; exit 1; }
	ln -sfn /usr/include/xen $@

FREESTANDING_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdinc \
    -isystem $(shell $(CC) -print-file-name=include) -I$(XENINC) -Iinclude \
    -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
    -mno-red-zone -mgeneral-regs-only -mcmodel=small -fno-common \
    -Wall -Wextra -Werror -Wno-unused-parameter -D__XEN_TOOLS__
FREESTANDING_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
    -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack

include hv/hv.mk
include tests/guests/guests.mk
include tests/unit/unit.mk

# -------------------------------------------------------------------- demo --
# Turtles: L0 runs Nestor itself as an L1 hypervisor (nested=1), which runs
# two test guests as L2; an ordinary domain runs next to it.  Prints the
# exit statistics and the exit-amplification table.
DEMO_ARGS := --turtles hello:name=l2-hello --turtles cpuid_msr_io --guest hello
demo: deps
	$(MAKE) build
	./nestor run $(DEMO_ARGS) --table --json $(BUILD)/demo.json

# -------------------------------------------------------------------- test --
test: build
	@bash tests/run_all.sh

unit-test: unit-bin
	@bash tests/run_all.sh unit

integration-test: build
	@bash tests/run_all.sh integration

# ------------------------------------------------------------------- bench --
bench: build
	$(PYTHON) bench/run_all.py

clean:
	rm -rf $(BUILD)
