# SPDX-License-Identifier: GPL-2.0
# The data plane: each bpf/*.bpf.c is one unit (the XDP program, the
# reaper, and the global functions the verifier checks on their own),
# linked by bpftool into one object, so that they share their maps, and
# one skeleton for mqlbd and the tests.
BPF_UNITS := $(wildcard bpf/*.bpf.c)
BPF_UNIT_OBJS := $(patsubst bpf/%.c,$(O)/bpf/%.o,$(BPF_UNITS))
BPF_OBJ   := $(O)/bpf/mqlb.bpf.o
BPF_SKEL  := $(O)/mqlb.skel.h

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/mqlb_abi.h include/mqtt_proto.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_OBJ): $(BPF_UNIT_OBJS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BPF_SKEL): $(BPF_OBJ) bpf/bpf.mk
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mqlb_bpf > $@
