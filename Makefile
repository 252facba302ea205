# SPDX-License-Identifier: GPL-2.0
#
# mqlb: one non-recursive Makefile. Each component adds its objects and
# binaries from its own fragment (*.mk); everything generated lands in $(O).
#
#   make             build every binary into build/
#   make test        every test tier (unit, bpf, e2e); fails on any failure
#   make deps        install the Debian packages the build, tests and demo need
#   make V=1         show the commands

O        ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PKGS     := libbpf libmnl libelf zlib
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2
CFLAGS   ?= -O2 -g
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuserspace/lib -Iuserspace/common -I$(O)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lmnl -lelf -lz)

# Unit tests always run under AddressSanitizer and UBSan.
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_CFLAGS := -target bpf -O2 -g -mcpu=v3 -Wall -Werror -Iinclude -I$(ARCH_INC)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

BINS        :=
UNIT_TESTS  :=
BPF_TESTS   :=
EXTRA_TESTS :=   # phony targets that fragments add to 'make test' (fuzzing, ...)

all:

# $(call unit_test,NAME,SOURCES): build/tests/NAME from tests/unit/NAME.c plus
# the real sources under test, with ASan+UBSan and cmocka.
define unit_test
UNIT_TESTS += $(O)/tests/$(1)
$(O)/tests/$(1): $(O)/san/tests/unit/$(1).o $(patsubst %.c,$(O)/san/%.o,$(2)) $(LIB_SAN)
	$$(call msg,LD,$$@)
	$(Q)mkdir -p $$(dir $$@)
	$(Q)$$(CC) $$(SAN) -o $$@ $$^ -lcmocka $$(LDLIBS)
endef

# One fragment per folder, each with its own sources and tests.
include userspace/lib/lib.mk
include userspace/common/common.mk
include bpf/bpf.mk
include userspace/mqlbd/mqlbd.mk
include userspace/mqlb/mqlb.mk
include broker/broker.mk
include tests/bench/bench.mk
include tests/bpf/bpf_tests.mk

all: $(BINS)

$(O)/obj/%.o: %.c | $(O)/obj
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/san/%.o: %.c | $(O)/obj
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(SAN) -MMD -MP -c $< -o $@

$(O)/obj:
	$(Q)mkdir -p $@

test: all test-unit test-bpf $(EXTRA_TESTS) test-e2e

test-unit: $(UNIT_TESTS)
	$(Q)tests/run_unit.sh $(UNIT_TESTS)

test-bpf: $(BPF_TESTS) $(O)/mqlbd
	$(Q)tests/bpf/run.sh $(BPF_TESTS)

test-e2e: all
	$(Q)tests/e2e/run.sh

deps:
	$(Q)scripts/deps.sh

demo:
	$(Q)KEEP=$(KEEP) scripts/demo.sh

demo-down:
	$(Q)scripts/demo.sh down

clean:
	rm -rf $(O)

.PHONY: all test test-unit test-bpf test-e2e deps demo demo-down clean
.DELETE_ON_ERROR:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
