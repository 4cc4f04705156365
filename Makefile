# Klammer - the only build file.  Targets: all test demo fuzz bench lint clean deps
# Variants: build/ (release, -O2), build/asan/ (-fsanitize=address,undefined),
# build/fuzz/ (clang, libFuzzer).

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 jansson libmosquitto openssl libpq
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla
CSTD    := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE
CFLAGS_COMMON = $(CSTD) $(WARN) -Isrc -MMD -MP -pthread $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_COMMON = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm

SRCS    := $(sort $(wildcard src/*/*.c))
LIBSRCS := $(filter-out src/app/main.c,$(SRCS))
UNITS   := $(patsubst tests/unit/%.c,%,$(sort $(wildcard tests/unit/test_*.c)))

# --- release -----------------------------------------------------------------
B        := build
OPT      := -O2 -g
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC  $<"
	@$(CC) $(CFLAGS_COMMON) $(OPT) -c $< -o $@

$(B)/klammer: $(patsubst %.c,$(B)/%.o,$(SRCS))
	$(CC) -o $@ $(filter %.c %.o,$^) $(LDLIBS_COMMON)

$(B)/tests/%: tests/unit/%.c $(patsubst %.c,$(B)/%.o,$(LIBSRCS))
	@mkdir -p $(dir $@)
	@echo "LD  $@"
	@$(CC) $(CFLAGS_COMMON) $(OPT) -o $@ $(filter %.c %.o,$^) $(LDLIBS_COMMON) -lcmocka

# The Mosquitto 2.0 plugin that tells klammer which $select topics clients
# subscribe to (mosquitto/klammer_plugin.c, docs/mqtt.md); loaded by the
# broker, not linked into klammer.  Needs Debian's mosquitto-dev headers.
$(B)/klammer_mosquitto.so: mosquitto/klammer_plugin.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -fPIC -shared -o $@ $<

# The MQTT publisher of bench/ingest.sh (LoRaWAN uplinks at QoS 1).
$(B)/bench/uplink_pub: bench/uplink_pub.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -pthread -o $@ $< $(shell pkg-config --cflags --libs libmosquitto)

# --- ASan + UBSan ------------------------------------------------------------
A        := build/asan
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
$(A)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC  $< (asan)"
	@$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -c $< -o $@

$(A)/klammer: $(patsubst %.c,$(A)/%.o,$(SRCS))
	$(CC) $(SANFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS_COMMON)

$(A)/tests/%: tests/unit/%.c $(patsubst %.c,$(A)/%.o,$(LIBSRCS))
	@mkdir -p $(dir $@)
	@echo "LD  $@"
	@$(CC) $(CFLAGS_COMMON) $(SANFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS_COMMON) -lcmocka

# --- libFuzzer ---------------------------------------------------------------
F        := build/fuzz
FUZZCC   := clang
FUZZFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
FUZZERS  := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 20
$(F)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZCC) $(CSTD) -Wall -Wextra -Werror -Isrc -MMD -MP -pthread $(shell pkg-config --cflags $(PKGS)) $(FUZZFLAGS) -c $< -o $@

$(F)/%: fuzz/%.c $(patsubst %.c,$(F)/%.o,$(LIBSRCS))
	$(FUZZCC) $(CSTD) -Isrc $(shell pkg-config --cflags $(PKGS)) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $(filter %.c %.o,$^) $(LDLIBS_COMMON)

# --- entry points ------------------------------------------------------------
.PHONY: all test unit unit-asan e2e e2e-pg e2e-asan e2e-pg-asan demo fuzz bench lint clean deps node-deps
.DEFAULT_GOAL := all
all: deps-check $(B)/klammer $(B)/klammer_mosquitto.so

deps-check:
	@pkg-config --exists $(PKGS) && [ -f /usr/include/mosquitto_plugin.h ] || $(MAKE) deps

# Installs the Debian packages the build and the tests need (as root).
deps:
	@sh tools/install-deps.sh

unit: $(addprefix $(B)/tests/,$(UNITS))
	@set -e; for t in $^; do echo "== $$t"; $$t; done

unit-asan: $(addprefix $(A)/tests/,$(UNITS))
	@set -e; for t in $^; do echo "== $$t (asan)"; ASAN_OPTIONS=detect_leaks=1 $$t; done

E2E_FILES := $(sort $(wildcard tests/e2e/*.test.mjs))
# Test files run one after another (timing-sensitive tests such as SIGKILL and
# broker restarts must not share two cores with other files).  Node 18 (Debian 12)
# knows no --test-concurrency, so there each file gets its own runner.
NODE_SERIAL := $(shell node --help 2>/dev/null | grep -q -- --test-concurrency && echo yes)
ifeq ($(NODE_SERIAL),yes)
NODE_TEST = node --test --test-concurrency=1 $(1)
else
NODE_TEST = set -e; for f in $(1); do node --test $$f; done
endif
e2e: $(B)/klammer $(B)/klammer_mosquitto.so
	export KLAMMER_BIN=$(abspath $(B)/klammer); $(call NODE_TEST,$(E2E_FILES))

# The store's unit tests and the e2e suite on PostgreSQL: a private cluster
# (tools/pg-cluster.sh) in a temporary folder, a fresh database per test or
# server start, the cluster stopped and removed afterwards whatever the outcome.
# $(call PG_SUITE,klammer binary,store unit test command,extra environment)
PG_SUITE = dir=$$(mktemp -d /tmp/klammer-pg.XXXXXX); \
	if ! url=$$(sh tools/pg-cluster.sh start $$dir); then rm -rf $$dir; exit 1; fi; \
	echo "store and e2e tests on PostgreSQL: $$url"; \
	( export KLAMMER_BIN=$(abspath $(1)) KLAMMER_TEST_PG=$$url KLAMMER_TEST_PG_DIR=$$dir $(3); \
	  set -e; $(2); \
	  $(call NODE_TEST,$(E2E_FILES)) ); rc=$$?; \
	sh tools/pg-cluster.sh stop $$dir; rm -rf $$dir; exit $$rc

e2e-pg: $(B)/klammer $(B)/klammer_mosquitto.so $(B)/tests/test_store
	@$(call PG_SUITE,$(B)/klammer,$(B)/tests/test_store,)

e2e-pg-asan: $(A)/klammer $(B)/klammer_mosquitto.so $(A)/tests/test_store
	@$(call PG_SUITE,$(A)/klammer,ASAN_OPTIONS=detect_leaks=1 $(A)/tests/test_store,KLAMMER_ASAN=1)

e2e-asan: $(A)/klammer $(B)/klammer_mosquitto.so
	export KLAMMER_BIN=$(abspath $(A)/klammer) KLAMMER_ASAN=1; $(call NODE_TEST,$(E2E_FILES))

test: deps
	$(MAKE) lint
	$(MAKE) unit unit-asan
	$(MAKE) e2e
	$(MAKE) e2e-pg
	$(MAKE) e2e-asan
	$(MAKE) e2e-pg-asan

# With the mosquitto broker installed, the demo runs a private one on
# 127.0.0.1:1883 (plugin loaded) and publishes to it; without, MQTT is off.
demo: deps $(B)/klammer $(B)/klammer_mosquitto.so
	@sh mosquitto/demo.sh $(B)/klammer $(B)/klammer_mosquitto.so \
	  demo --db klammer-demo.db --listen 127.0.0.1:8080

# Each target's output goes to build/fuzz/<target>.log; its last line (the
# totals) is shown, the whole tail when it finds something.
fuzz: $(addprefix $(F)/,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p build/fuzz/corpus/$$f; \
	  echo "== $$f ($(FUZZ_SECONDS)s)"; \
	  if ! $(F)/$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
	      $$( [ -f fuzz/$$f.dict ] && echo -dict=fuzz/$$f.dict ) \
	      build/fuzz/corpus/$$f fuzz/corpus/$$f > build/fuzz/$$f.log 2>&1; then \
	    tail -60 build/fuzz/$$f.log; exit 1; \
	  fi; \
	  grep -E '^stat::number_of_executed_units|^Done' build/fuzz/$$f.log | tr '\n' ' '; echo; \
	done

# make bench BENCH_DB=pg: on PostgreSQL; BENCH_DB=both: SQLite and PostgreSQL side by side.
bench: $(B)/klammer $(B)/bench/uplink_pub
	sh bench/run.sh

lint:
	@sh tools/lint-includes.sh

clean:
	rm -rf build

.SECONDARY:

-include $(shell find build -name '*.d' 2>/dev/null)
