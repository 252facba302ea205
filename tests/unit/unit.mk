# SPDX-License-Identifier: GPL-2.0
# Unit tests of the shared library and the daemon's pure modules.
$(eval $(call unit_test,test_conf,))
$(eval $(call unit_test,test_netutil,))
$(eval $(call unit_test,test_mqlbd_config,userspace/config.c))
$(eval $(call unit_test,test_pool,userspace/pool.c))
$(eval $(call unit_test,test_flowgc,userspace/flowgc.c))
$(eval $(call unit_test,test_kick,userspace/kick.c))
$(eval $(call unit_test,test_pin_compat,userspace/pin_compat.c))
# It opens the real XDP object against maps it pins itself.
$(O)/san/tests/unit/test_pin_compat.o: $(BPF_SKEL)
