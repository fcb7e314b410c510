# ai_guard: PGXS build.
#
#   make && make install          build and install into the pg_config found
#   make installcheck             pg_regress against a running server that has
#                                 shared_preload_libraries = 'ai_guard'
#   make installcheck-nopreload   pg_regress against a server WITHOUT the preload
#   make unit [SANITIZE=1]        cmocka tests of src/core (no server needed)
#   make fuzz [FUZZ_SECONDS=N]    libFuzzer targets of src/core (clang)
#   make valgrind-check           pg_regress with the server under valgrind
#                                 (scripts/valgrind.sh; slow, not in CI)
#   make crash-check [ROUNDS=20]  SIGKILL crash rounds under mixed load
#   make soak [SOAK_SECONDS=180]  16-client pgbench soak (docs/RELIABILITY.md)
#
# The whole set-up on a throwaway cluster is scripts/test.sh (see README.md).

EXTENSION = ai_guard
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = ai_guard
CORE_SRCS = $(sort $(wildcard src/core/*.c))
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)) $(CORE_SRCS))

# The install script is assembled from one fragment per concern, in order.
SQL_FRAGMENTS = $(sort $(wildcard src/sql/*.sql))

# Upgrades (docs/UPGRADING.md). Released install and upgrade scripts are
# frozen, committed files at the top (ai_guard--0.1.sql). The upgrade from
# the previous release is generated: src/sql/upgrade/<script> (hand-written
# changes to objects the previous release had) followed by every fragment
# that the previous release did not have (src/sql/upgrade/<prev>.fragments).
PREV_VERSION = 0.2
PREV_FRAGMENTS = $(addprefix src/sql/,$(shell cat src/sql/upgrade/$(PREV_VERSION).fragments))
NEW_FRAGMENTS = $(filter-out $(PREV_FRAGMENTS),$(SQL_FRAGMENTS))
UPGRADE_SCRIPT = $(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql

DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_SCRIPT)
DATA = $(filter-out $(DATA_built),$(wildcard $(EXTENSION)--*.sql))

# init must run first: it creates the extension the other tests use.
REGRESS_TESTS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS = init $(filter-out init,$(REGRESS_TESTS))
REGRESS_OPTS = --dbname=contrib_regression

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/src/core -DAI_GUARD_VERSION='"$(EXTVERSION)"'
SHLIB_LINK = -lssl -lcrypto

EXTRA_CLEAN = test/unit/bin test/fuzz/bin tools/datagen/datagen src/cli/ai-guard \
	test/nopreload/results test/nopreload/regression.diffs \
	test/nopreload/regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_FRAGMENTS) $(EXTENSION).control
	cat $(SQL_FRAGMENTS) > $@

# the version is compiled in (-DAI_GUARD_VERSION): rebuild when it changes
src/ai_guard.o: $(EXTENSION).control

$(UPGRADE_SCRIPT): src/sql/upgrade/$(UPGRADE_SCRIPT) $(NEW_FRAGMENTS) \
		src/sql/upgrade/$(PREV_VERSION).fragments $(EXTENSION).control
	cat src/sql/upgrade/$(UPGRADE_SCRIPT) $(NEW_FRAGMENTS) > $@

all: tools/datagen/datagen src/cli/ai-guard

# ---- ai-guard, the libpq client (installed into bindir) ----
CLI_SRCS = $(sort $(wildcard src/cli/*.c)) src/core/json.c src/core/digest.c src/core/sign.c \
	src/core/envelope.c
src/cli/ai-guard: $(CLI_SRCS) src/cli/cli.h src/core/json.h src/core/digest.h src/core/sign.h \
		src/core/envelope.h $(EXTENSION).control
	$(CC) -std=gnu99 -O2 -g -Wall -Wextra -Wno-format-truncation \
		-Isrc/cli -Isrc/core -I$(includedir) -DAI_GUARD_VERSION='"$(EXTVERSION)"' \
		-o $@ $(CLI_SRCS) -L$(libdir) -lpq -lcrypto

# PostgreSQL's bindir is not on users' PATH on Debian: a link in
# $(CLI_LINK_DIR) (default /usr/local/bin; empty: none) makes "ai-guard" a
# command; an existing file there that is not our link is left alone.
CLI_LINK_DIR ?= /usr/local/bin
install: install-cli
install-cli: src/cli/ai-guard
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) src/cli/ai-guard '$(DESTDIR)$(bindir)/ai-guard'
	@if [ -n '$(CLI_LINK_DIR)' ] && $(MKDIR_P) '$(DESTDIR)$(CLI_LINK_DIR)' 2>/dev/null; then \
		if [ ! -e '$(DESTDIR)$(CLI_LINK_DIR)/ai-guard' ] || [ -L '$(DESTDIR)$(CLI_LINK_DIR)/ai-guard' ]; then \
			ln -sf '$(bindir)/ai-guard' '$(DESTDIR)$(CLI_LINK_DIR)/ai-guard' || \
				echo "could not link $(CLI_LINK_DIR)/ai-guard; run $(bindir)/ai-guard"; \
		else \
			echo "not linking $(CLI_LINK_DIR)/ai-guard: a file of that name exists"; \
		fi; \
	fi
uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/ai-guard'
	@if [ -n '$(CLI_LINK_DIR)' ] && [ -L '$(DESTDIR)$(CLI_LINK_DIR)/ai-guard' ]; then \
		rm -f '$(DESTDIR)$(CLI_LINK_DIR)/ai-guard'; \
	fi

# ---- the demo data generator (a plain C program, not installed) ----
DATAGEN_SRCS = tools/datagen/datagen.c tools/datagen/gen.c src/core/checksum.c
tools/datagen/datagen: $(DATAGEN_SRCS) tools/datagen/gen.h src/core/checksum.h
	$(CC) -std=gnu99 -O2 -Wall -Wextra -Wno-format-truncation -Isrc/core -o $@ $(DATAGEN_SRCS)

# ---- pg_regress without the preload: the missing-preload error ----
installcheck-nopreload:
	$(pg_regress_installcheck) --inputdir=test/nopreload \
		--outputdir=test/nopreload --dbname=contrib_regression_nopreload \
		nopreload

# ---- cmocka unit tests of src/core ----
UNIT_CFLAGS = -std=gnu99 -g -O1 -Wall -Wextra -Wno-format-truncation -Isrc/core -Itools/datagen
ifdef SANITIZE
UNIT_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
endif
UNIT_TESTS = $(patsubst test/unit/%.c,test/unit/bin/%,$(sort $(wildcard test/unit/test_*.c)))
UNIT_EXTRA = tools/datagen/gen.c

test/unit/bin/%: test/unit/%.c $(CORE_SRCS) $(UNIT_EXTRA) $(wildcard src/core/*.h)
	@mkdir -p test/unit/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_EXTRA) -lcmocka -lcrypto

unit-build: $(UNIT_TESTS)

# Each binary prints TAP; scripts/test.sh counts the lines.
unit: unit-build
	@status=0; for t in $(UNIT_TESTS); do \
		CMOCKA_MESSAGE_OUTPUT=TAP $$t || status=1; \
	done; exit $$status

# ---- libFuzzer targets of src/core ----
FUZZ_SECONDS ?= 30
FUZZ_TARGETS = $(patsubst test/fuzz/%.c,test/fuzz/bin/%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc/core

test/fuzz/bin/%: test/fuzz/%.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/bin
	clang $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRCS) -lcrypto

fuzz-build: $(FUZZ_TARGETS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		name=$$(basename $$t); mkdir -p test/fuzz/corpus/$$name; \
		work=$$(mktemp -d); \
		echo "== $$name ($(FUZZ_SECONDS)s)"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=test/fuzz/bin/$$name- \
			$$work test/fuzz/corpus/$$name || { rm -rf $$work; exit 1; }; \
		rm -rf $$work; \
	done

valgrind-check:
	bash scripts/valgrind.sh

# long variants of scripted tests that scripts/test.sh runs briefly
ROUNDS ?= 20
SOAK_SECONDS ?= 180
crash-check:
	AG_CRASH_ROUNDS=$(ROUNDS) bash scripts/run-script.sh test/scripts/crash_rounds.sh
soak:
	AG_SOAK_SECONDS=$(SOAK_SECONDS) bash scripts/run-script.sh test/scripts/soak.sh

.PHONY: valgrind-check crash-check soak installcheck-nopreload unit unit-build fuzz fuzz-build \
	install-cli uninstall-cli
