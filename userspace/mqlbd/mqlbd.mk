# SPDX-License-Identifier: GPL-2.0
# mqlbd, the control daemon: loader, pool, health checks, flow collector,
# control socket and the stats page (libmicrohttpd).
MQLBD_SRCS := $(wildcard userspace/mqlbd/*.c)
MQLBD_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(MQLBD_SRCS))
HTTP_LIBS  := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
BINS += $(O)/mqlbd

# Objects that include the generated skeleton must wait for it.
$(O)/obj/userspace/mqlbd/loader.o $(O)/obj/userspace/mqlbd/dataplane.o \
$(O)/obj/userspace/mqlbd/mqlbd.o: $(BPF_SKEL)

$(O)/mqlbd: $(MQLBD_OBJS) $(COMMON) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(HTTP_LIBS)

# Unit tests of the daemon's pure modules, each against the real source.
MQLBD_TESTS := test_mqlbd_config test_mqlbd_config_login test_watermark test_pool test_flowgc \
	       test_kick test_pin_compat test_stats_http test_maglev
$(eval $(call unit_test,test_mqlbd_config,userspace/mqlbd/config.c))
$(eval $(call unit_test,test_mqlbd_config_login,userspace/mqlbd/config.c))
$(eval $(call unit_test,test_pool,userspace/mqlbd/pool.c))
$(eval $(call unit_test,test_watermark,userspace/mqlbd/watermark.c))
$(eval $(call unit_test,test_flowgc,userspace/mqlbd/flowgc.c))
$(eval $(call unit_test,test_kick,userspace/mqlbd/kick.c))
$(eval $(call unit_test,test_pin_compat,userspace/mqlbd/pin_compat.c))
$(eval $(call unit_test,test_maglev,userspace/mqlbd/maglev.c))
$(eval $(call unit_test,test_stats_http,userspace/mqlbd/stats_http.c $(COMMON_SRCS)))
$(O)/tests/test_stats_http: LDLIBS += $(HTTP_LIBS)
$(patsubst %,$(O)/san/tests/unit/%.o,$(MQLBD_TESTS)): CFLAGS += -Iuserspace/mqlbd
# It opens the real XDP object against maps it pins itself.
$(O)/san/tests/unit/test_pin_compat.o: $(BPF_SKEL)
