# SPDX-License-Identifier: GPL-2.0
# The XDP object and its generated skeleton.
BPF_OBJ  := $(O)/bpf/mqlb_xdp.bpf.o
BPF_SKEL := $(O)/mqlb_xdp.skel.h

$(BPF_OBJ): bpf/mqlb_xdp.bpf.c $(wildcard bpf/*.h) include/mqlb_abi.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_SKEL): $(BPF_OBJ) bpf/bpf.mk
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mqlb_xdp_bpf > $@
