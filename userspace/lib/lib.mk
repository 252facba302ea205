# SPDX-License-Identifier: GPL-2.0
# libmqlbutil.a: what every userspace program shares, with no libbpf in it
# (daemon, CLI, broker, load generator, tests). One archive, and a twin
# built with ASan and UBSan for the unit tests.
LIB_SRCS := $(wildcard userspace/lib/*.c)
LIB      := $(O)/libmqlbutil.a
LIB_SAN  := $(O)/libmqlbutil-san.a

$(LIB): $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(LIB_SAN): $(patsubst %.c,$(O)/san/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(eval $(call unit_test,test_conf,))
$(eval $(call unit_test,test_netutil,))
$(eval $(call unit_test,test_json_writer,))
$(eval $(call unit_test,test_evloop,))
$(eval $(call unit_test,test_packet,))
$(eval $(call unit_test,test_varint,))
$(eval $(call unit_test,test_log,))
$(eval $(call unit_test,test_sd_notify,))
$(eval $(call unit_test,test_siphash,))
