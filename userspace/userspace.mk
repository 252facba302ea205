# SPDX-License-Identifier: GPL-2.0
# mqlbd, the control daemon.
MQLBD_SRCS := userspace/mqlbd.c userspace/config.c userspace/pool.c userspace/loader.c \
	      userspace/dataplane.c userspace/neigh.c userspace/sysprobe.c userspace/flowgc.c \
	      userspace/health.c userspace/ctl.c userspace/ops.c userspace/kick.c \
	      userspace/pin_compat.c
MQLBD_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(MQLBD_SRCS))
BINS += $(O)/mqlbd

# Objects that include the generated skeleton must wait for it.
$(O)/obj/userspace/loader.o $(O)/obj/userspace/dataplane.o $(O)/obj/userspace/mqlbd.o: $(BPF_SKEL)

$(O)/mqlbd: $(MQLBD_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
