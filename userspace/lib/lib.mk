# SPDX-License-Identifier: GPL-2.0
# libmqlbutil.a: what every userspace program shares (STYLE.md layout).
# Other fragments may append sources to LIB_SRCS (evloop.c, mqtt_codec.c, ...).
LIB_SRCS += userspace/lib/log.c userspace/lib/conf.c userspace/lib/netutil.c userspace/lib/siphash.c
LIB_SRCS += $(wildcard userspace/lib/evloop.c userspace/lib/mqtt_codec.c userspace/lib/json_writer.c)
LIB_SRCS := $(sort $(LIB_SRCS))
LIB      := $(O)/libmqlbutil.a
LIB_SAN  := $(O)/libmqlbutil-san.a

$(LIB): $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(LIB_SAN): $(patsubst %.c,$(O)/san/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^
