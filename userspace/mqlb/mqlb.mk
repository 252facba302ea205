# SPDX-License-Identifier: GPL-2.0
# mqlb, the bpftool-style CLI: reads the pinned maps, asks mqlbd over its
# control socket for changes.
MQLB_SRCS := $(wildcard userspace/mqlb/*.c)
BINS += $(O)/mqlb

$(O)/mqlb: $(patsubst %.c,$(O)/obj/%.o,$(MQLB_SRCS)) $(COMMON) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The renderers over fixture snapshots (golden) and the command tables.
MQLB_TEST_SRCS := $(filter-out userspace/mqlb/mqlb.c,$(MQLB_SRCS)) $(COMMON_SRCS)
$(eval $(call unit_test,test_cli_render,$(MQLB_TEST_SRCS)))
$(eval $(call unit_test,test_cli_dispatch,$(MQLB_TEST_SRCS)))
$(O)/san/tests/unit/test_cli_render.o $(O)/san/tests/unit/test_cli_dispatch.o: \
	CFLAGS += -Iuserspace/mqlb
$(eval $(call unit_test,test_cli_opts,userspace/mqlb/cli_opts.c))
$(O)/san/tests/unit/test_cli_opts.o: CFLAGS += -Iuserspace/mqlb
