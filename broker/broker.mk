# SPDX-License-Identifier: GPL-2.0
# mqbroker, its unit tests, and two libFuzzer targets (codec, whole read path) that
# 'make test' runs for FUZZ_SECONDS each.
BROKER_SRCS := $(filter-out broker/mqbroker.c,$(wildcard broker/*.c))
BINS += $(O)/mqbroker
# password_file hashes (auth.c): PBKDF2-HMAC-SHA512 and SHA-512 from libcrypto; TLS
# (tls.c) from libssl.
CRYPTO_LIBS := $(shell pkg-config --libs libssl libcrypto 2>/dev/null || echo -lssl -lcrypto)

$(O)/mqbroker: $(patsubst %.c,$(O)/obj/%.o,broker/mqbroker.c $(BROKER_SRCS)) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CRYPTO_LIBS)

$(eval $(call unit_test,test_topic,broker/topic.c broker/subs.c broker/msg.c broker/mem.c))
$(eval $(call unit_test,test_subs,$(BROKER_SRCS)))
CONF_SRCS := broker/conf.c broker/conf_listener.c broker/conf_include.c broker/conf_unsupported.c \
	broker/bridge_conf.c broker/topic.c
$(eval $(call unit_test,test_broker_conf,$(CONF_SRCS)))
$(eval $(call unit_test,test_bridge_conf,$(CONF_SRCS)))
$(eval $(call unit_test,test_bridge_topic,$(CONF_SRCS) broker/bridge_topic.c))
$(eval $(call unit_test,test_broker_auth,broker/auth.c))
$(eval $(call unit_test,test_broker_out,$(BROKER_SRCS)))
$(eval $(call unit_test,test_broker_logdest,$(BROKER_SRCS)))
$(eval $(call unit_test,test_broker_mosq,$(BROKER_SRCS) tests/unit/broker_harness.c))
$(eval $(call unit_test,test_broker_limits,$(BROKER_SRCS) tests/unit/broker_harness.c))
$(eval $(call unit_test,test_broker_proxy,$(BROKER_SRCS) tests/unit/broker_harness.c))
$(eval $(call unit_test,test_broker_acl,$(BROKER_SRCS) tests/unit/broker_harness.c))
$(eval $(call unit_test,test_broker_store,$(BROKER_SRCS) tests/unit/broker_harness.c))
# Tests linking the whole broker need libcrypto (auth.c).
BROKER_FULL_TESTS := test_subs test_broker_auth test_broker_out test_broker_logdest \
	test_broker_mosq test_broker_limits test_broker_proxy test_broker_acl test_broker_store
$(patsubst %,$(O)/tests/%,$(BROKER_FULL_TESTS)): LDLIBS += $(CRYPTO_LIBS)

# libFuzzer target for the codec; 'make fuzz-codec FUZZ_SECONDS=N'.
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -Iinclude -Iuserspace/lib -Wall -Werror
EXTRA_TESTS += fuzz-codec fuzz-broker
FUZZ_LIB := userspace/lib/log.c userspace/lib/conf.c userspace/lib/netutil.c \
	userspace/lib/evloop.c userspace/lib/mqtt_codec.c userspace/lib/siphash.c

$(O)/fuzz/fuzz_codec: tests/fuzz/fuzz_codec.c userspace/lib/mqtt_codec.c userspace/lib/mqtt_codec.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_codec.c userspace/lib/mqtt_codec.c

fuzz-codec: $(O)/fuzz/fuzz_codec
	$(Q)mkdir -p $(O)/fuzz/corpus
	$(Q)$(O)/fuzz/fuzz_codec -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=1024 \
		-print_final_stats=1 $(O)/fuzz/corpus tests/fuzz/corpus 2>$(O)/fuzz/fuzz.log || \
		{ tail -n 50 $(O)/fuzz/fuzz.log; exit 1; }
	$(Q)grep -E '^(Done|stat::number_of_executed_units)' $(O)/fuzz/fuzz.log || true

# The whole read path: a broker per input, three TCP clients (fuzz_broker.c).
$(O)/fuzz/fuzz_broker: tests/fuzz/fuzz_broker.c $(BROKER_SRCS) $(FUZZ_LIB) $(wildcard broker/*.h)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Ibroker -Wno-unused-parameter -o $@ tests/fuzz/fuzz_broker.c \
		$(BROKER_SRCS) $(FUZZ_LIB) $(CRYPTO_LIBS)

fuzz-broker: $(O)/fuzz/fuzz_broker
	$(Q)mkdir -p $(O)/fuzz/corpus_broker
	$(Q)$(O)/fuzz/fuzz_broker -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 $(O)/fuzz/corpus_broker tests/fuzz/corpus_broker \
		2>$(O)/fuzz/fuzz_broker.log || { tail -n 60 $(O)/fuzz/fuzz_broker.log; exit 1; }
	$(Q)grep -E '^(Done|stat::number_of_executed_units)' $(O)/fuzz/fuzz_broker.log || true

.PHONY: fuzz-codec fuzz-broker

# The broker's tests include broker/broker.h.
BROKER_UNIT_TESTS := test_topic test_broker_conf test_bridge_conf test_bridge_topic \
	$(BROKER_FULL_TESTS)
$(patsubst %,$(O)/san/tests/unit/%.o,$(BROKER_UNIT_TESTS) broker_harness): CFLAGS += -Ibroker

# The broker's integration tests against an ASan+UBSan build of it:
# 'make broker-e2e-asan' (not part of 'make test', which runs them on the normal build).
$(O)/asan/mqbroker: $(patsubst %.c,$(O)/san/%.o,broker/mqbroker.c $(BROKER_SRCS)) $(LIB_SAN)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $^ $(CRYPTO_LIBS)

broker-e2e-asan: $(O)/asan/mqbroker
	$(Q)BUILD=$(abspath $(O)/asan) MQLB_E2E_FILTER='^tests/e2e/1[0-9]-broker' tests/e2e/run.sh

.PHONY: broker-e2e-asan
