# SPDX-License-Identifier: GPL-2.0
# mqbench, the MQTT load generator (issue 7), its unit test, and 'make bench':
# the side-by-side benchmark. 'make bench' is not part of 'make test'.
MQBENCH_SRCS := tests/bench/mqbench.c tests/bench/mqbench_args.c tests/bench/mqbench_conn.c \
		tests/bench/mqbench_stats.c tests/bench/mqbench_track.c
BINS += $(O)/mqbench

# --tls-cafile: libssl.
$(O)/mqbench: $(patsubst %.c,$(O)/obj/%.o,$(MQBENCH_SRCS)) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lssl -lcrypto

# tcpspray: the off-path attacker of tests/e2e/35-36 and tests/bench/attack.sh.
BINS += $(O)/tcpspray
$(O)/tcpspray: $(O)/obj/tests/bench/tcpspray.o $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^

$(eval $(call unit_test,test_mqbench_args,tests/bench/mqbench_args.c))
$(O)/san/tests/unit/test_mqbench_args.o: CFLAGS += -Itests/bench
$(eval $(call unit_test,test_mqbench_track,tests/bench/mqbench_track.c tests/bench/mqbench_args.c))
$(O)/san/tests/unit/test_mqbench_track.o: CFLAGS += -Itests/bench

# BENCH_ROUNDS=N (default 3), BENCH_QUICK=1 for a ~2-minute smoke run.
bench: all $(O)/bench/bench_xdp
	$(Q)BENCH_ROUNDS=$(BENCH_ROUNDS) BENCH_QUICK=$(BENCH_QUICK) tests/bench/bench.sh

.PHONY: bench

# The balancers under an off-path attacker (issue 13): not part of 'make test'.
attack: all
	$(Q)tests/bench/attack.sh

.PHONY: attack
