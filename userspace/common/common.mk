# SPDX-License-Identifier: GPL-2.0
# libmqlbcommon.a: what the daemon and the CLI share that needs libbpf:
# reading the pinned maps into a snapshot, and the names of what they hold.
COMMON_SRCS := $(wildcard userspace/common/*.c)
COMMON      := $(O)/libmqlbcommon.a

$(COMMON): $(patsubst %.c,$(O)/obj/%.o,$(COMMON_SRCS))
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(eval $(call unit_test,test_cli_snapshot,$(COMMON_SRCS)))
