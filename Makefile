# auriga: a GitOps deployment controller for containers on Docker hosts.
#
#   make                 build ./build/auriga
#   make test            every test layer (unit, integration, e2e); ends in "N passed, N failed"
#   make SANITIZE=1 test the same, built with AddressSanitizer and UndefinedBehaviorSanitizer
#   make check-unit | check-integration | check-e2e | lint | fuzz | bench | soak | demo | image
#   make install PREFIX=/usr/local DESTDIR=

CC ?= gcc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0-dev)

PKGS := libgit2 yaml-0.1 jansson libcurl openssl libmicrohttpd
# Asked of pkg-config once, and only by a rule that compiles or links: `make test` and `make demo`
# install the libraries first, so nothing may ask before (lazy, then kept: the $(eval) idiom).
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell $(PKG_CONFIG) --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(shell $(PKG_CONFIG) --libs $(PKGS)))$(PKG_LIBS)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -fno-common -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iapi -Icontroller \
	-DAURIGA_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) -lpthread -lm

ifeq ($(SANITIZE),1)
B := build-san
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
else
B := build
endif

LIB_SRC := $(wildcard api/*.c) $(filter-out controller/cmd/main.c,$(wildcard controller/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
# The CRDs in crds/ are the schema the validator enforces; they are embedded in the library.
CRD_YAML := $(sort $(wildcard crds/*.yaml))
CRD_GEN := $(B)/gen/crds.c
LIB_OBJ += $(B)/gen/crds.o
# The status page `auriga run` serves: its files are embedded in the library too.
UI_FILES := $(sort $(wildcard controller/surface/ui/*))
UI_GEN := $(B)/gen/ui.c
LIB_OBJ += $(B)/gen/ui.o
MAIN_OBJ := $(B)/controller/cmd/main.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
ITEST_SRC := $(wildcard tests/integration/test_*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(B)/tests/integration/%)
TEST_HELPER_SRC := $(wildcard tests/helpers/*.c)
TEST_HELPER_OBJ := $(TEST_HELPER_SRC:%.c=$(B)/%.o)
TEST_LIBS = $(eval TEST_LIBS := $$(shell $(PKG_CONFIG) --libs cmocka))$(TEST_LIBS)

AURIGA := $(B)/auriga
export AURIGA_BIN := $(abspath $(AURIGA))
export AURIGA_BUILD := $(abspath $(B))

.PHONY: check-tools all test check-unit check-integration check-e2e lint fuzz bench soak demo image \
	demo-node images clean install tests-build test-all

all: $(AURIGA)

$(AURIGA): $(MAIN_OBJ) $(B)/libauriga.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libauriga.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CRD_GEN): $(CRD_YAML) hack/embed-crds.sh hack/embed-lib.bash
	@mkdir -p $(dir $@)
	hack/embed-crds.sh $@ $(CRD_YAML)

$(B)/gen/crds.o: $(CRD_GEN)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(UI_GEN): $(UI_FILES) hack/embed-ui.sh hack/embed-lib.bash
	@mkdir -p $(dir $@)
	hack/embed-ui.sh $@ $(UI_FILES)

$(B)/gen/ui.o: $(UI_GEN)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/unit/%: tests/unit/%.c $(TEST_HELPER_OBJ) $(B)/libauriga.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/helpers $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJ) $(B)/libauriga.a $(TEST_LIBS) $(LDLIBS)

$(B)/tests/integration/%: tests/integration/%.c $(TEST_HELPER_OBJ) $(B)/libauriga.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/helpers $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJ) $(B)/libauriga.a $(TEST_LIBS) $(LDLIBS)

tests-build: $(AURIGA) $(UNIT_BIN) $(ITEST_BIN)

# Each layer appends its counts to $(B)/results; `test` prints the sum last.
check-unit: tests-build
	@hack/run-tests.sh unit $(B) $(UNIT_BIN)

check-integration: tests-build images
	@hack/run-tests.sh -j$(TEST_JOBS) integration $(B) $(ITEST_BIN) $(sort $(wildcard tests/integration/*.sh))

check-e2e: tests-build images
	@hack/run-tests.sh -j$(TEST_JOBS) e2e $(B) $(sort $(wildcard tests/e2e/*.sh))

# TEST_JOBS=N runs up to N integration or end-to-end tests at a time (hack/run-tests.sh -jN; the
# tests marked "# run-tests: alone" run first, each by itself). The tests wait on containers far
# more than they compute, and each takes its ports from one register (tests/helpers/free-ports.py),
# so none takes another's: 4 by default, 3 under SANITIZE=1, whose binaries compute two to three
# times as long; TEST_JOBS=1 runs them one at a time.
TEST_JOBS ?= $(if $(SANITIZE),3,4)

# `test` and `demo` install their own dependencies and start the engine first, then run
# in a sub-make so pkg-config sees the libraries that were just installed.
test:
	@hack/deps.sh
	@hack/dockerd.sh
	@$(MAKE) --no-print-directory -j"$$(nproc)" tests-build
	@$(MAKE) --no-print-directory test-all

test-all: tests-build images
	@rm -rf $(B)/results
	@status=0; \
	hack/run-tests.sh unit $(B) $(UNIT_BIN) || status=1; \
	hack/run-tests.sh -j$(TEST_JOBS) integration $(B) $(ITEST_BIN) $(sort $(wildcard tests/integration/*.sh)) || status=1; \
	hack/run-tests.sh -j$(TEST_JOBS) e2e $(B) $(sort $(wildcard tests/e2e/*.sh)) || status=1; \
	hack/run-tests.sh --summary $(B) unit integration e2e || status=1; \
	exit $$status

# The demo node and its images, and PostgreSQL from Debian's packages (no registry here: everything
# is built locally).
demo-node:
	$(MAKE) -C hack/demo-node

images: demo-node
	@hack/build-images.sh
	@hack/build-postgres-image.sh

LINT_SRC := $(wildcard api/*.c controller/*/*.c)
lint:
	@hack/check-layers.py
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
		--std=c11 --inline-suppr --suppress=missingIncludeSystem \
		--suppressions-list=.cppcheck-suppressions -Iapi -Icontroller $(LINT_SRC)
	clang-tidy --quiet $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE -Iapi -Icontroller $(PKG_CFLAGS)
	@echo "lint: clean"

# Every command the scripts and tests run comes from a package hack/deps.sh installs.
check-tools:
	@hack/check-tools.py

fuzz:
	@hack/fuzz.sh

bench: all images
	@hack/bench/run.sh

soak: all images
	@hack/soak.sh

demo:
	@hack/deps.sh
	@hack/dockerd.sh
	@$(MAKE) --no-print-directory all images
	@hack/demo.sh

image:
	@hack/base-image.sh
	docker build --network host -t auriga:$(VERSION) -t auriga:latest .

install: $(AURIGA)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/auriga/crds
	install -m 0755 $(AURIGA) $(DESTDIR)$(PREFIX)/bin/auriga
	for f in crds/*.yaml; do [ -e "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(PREFIX)/share/auriga/crds/ || true; done
	if [ -f doc/auriga.1 ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
		install -m 0644 doc/auriga.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf build build-san
	$(MAKE) -C hack/demo-node clean

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
