# SPDX-License-Identifier: GPL-2.0
# BPF_PROG_TEST_RUN tests (tests/bpf/run.sh runs them inside a scratch netns):
# one binary per tests/bpf/test_*.c, each linked with the packet builder.
#
# Built with ASan and UBSan like the unit tests: libbpf and the bpf() syscall
# only see memory that the test owns, so the sanitizers do not get in the
# way, and they check the packet builder and the harness.
BPF_TEST_MAINS  := $(wildcard tests/bpf/test_*.c)
BPF_TEST_COMMON := $(O)/san/tests/bpf/pktbuild.o
BPF_TEST_OBJS   := $(patsubst %.c,$(O)/san/%.o,$(BPF_TEST_MAINS)) $(BPF_TEST_COMMON)

BPF_TEST_BINS   := $(patsubst tests/bpf/%.c,$(O)/tests/%,$(BPF_TEST_MAINS))
BPF_TESTS       += $(BPF_TEST_BINS)

# The skeleton is generated: make sure it exists before the first compile.
$(BPF_TEST_OBJS): $(BPF_SKEL)

$(BPF_TEST_BINS): $(O)/tests/%: $(O)/san/tests/bpf/%.o $(BPF_TEST_COMMON) $(LIB_SAN)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $^ -lcmocka $(LDLIBS)

# The XDP program's cost per packet (tests/bpf/bench_xdp.c): a benchmark, not a test.
$(O)/san/tests/bpf/bench_xdp.o: $(BPF_SKEL)
$(O)/bench/bench_xdp: $(O)/san/tests/bpf/bench_xdp.o $(BPF_TEST_COMMON) $(LIB_SAN)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $^ -lcmocka $(LDLIBS)

bench-xdp: $(O)/bench/bench_xdp
	$(Q)tests/bpf/run.sh $(abspath $<)

.PHONY: bench-xdp
