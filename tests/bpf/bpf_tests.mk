# SPDX-License-Identifier: GPL-2.0
# BPF_PROG_TEST_RUN tests (tests/bpf/run.sh runs them inside a scratch netns).
#
# Built with ASan and UBSan like the unit tests: libbpf and the bpf() syscall
# only see memory that the test owns, so the sanitizers do not get in the
# way, and they check the packet builder and the harness.
BPF_TEST_SRCS := $(wildcard tests/bpf/*.c)
BPF_TEST_OBJS := $(patsubst %.c,$(O)/san/%.o,$(BPF_TEST_SRCS))

BPF_TESTS += $(O)/tests/test_xdp

# The skeleton is generated: make sure it exists before the first compile.
$(BPF_TEST_OBJS): $(BPF_SKEL)

$(O)/tests/test_xdp: $(BPF_TEST_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $^ -lcmocka $(LDLIBS)
