# SPDX-License-Identifier: GPL-2.0
# mqlb, the CLI, and the stats HTTP module the daemon links.
#
# snapshot.c reads the pinned maps for both the CLI and mqlbd's stats page;
# stats_http.c is libmicrohttpd-based: whoever links STATS_HTTP_SRCS also
# adds $(STATS_HTTP_LIBS) to its link line.
CLI_SRCS        := userspace/mqlb.c userspace/cli_common.c userspace/cli_backend.c \
		   userspace/cli_flow.c userspace/cli_stats.c userspace/cli_prog.c \
		   userspace/snapshot.c
CLI_OBJS        := $(patsubst %.c,$(O)/obj/%.o,$(CLI_SRCS))
STATS_HTTP_SRCS := userspace/stats_http.c userspace/snapshot.c
STATS_HTTP_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(STATS_HTTP_SRCS))
STATS_HTTP_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
BINS += $(O)/mqlb

$(O)/mqlb: $(CLI_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: the renderers over fixture snapshots, the JSON writer, the HTTP module.
CLI_TEST_SRCS := userspace/cli_common.c userspace/cli_backend.c userspace/cli_flow.c \
		 userspace/cli_stats.c userspace/cli_prog.c userspace/snapshot.c
$(eval $(call unit_test,test_json_writer,))
$(eval $(call unit_test,test_cli_render,$(CLI_TEST_SRCS)))
$(eval $(call unit_test,test_cli_dispatch,$(CLI_TEST_SRCS)))
$(eval $(call unit_test,test_stats_http,$(STATS_HTTP_SRCS)))
$(O)/tests/test_stats_http: LDLIBS += $(STATS_HTTP_LIBS)
$(eval $(call unit_test,test_cli_snapshot,userspace/snapshot.c))

# mqlbd serves the stats page: its link gets the module and libmicrohttpd
# from here (userspace.mk is read first; make drops duplicate prerequisites
# if the daemon's fragment lists snapshot.o too).
$(O)/mqlbd: $(STATS_HTTP_OBJS)
$(O)/mqlbd: LDLIBS += $(STATS_HTTP_LIBS)
