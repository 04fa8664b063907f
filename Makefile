# Thin wrapper over meson/ninja so that `make`, `make test`, `make demo` and
# `make bench` work on a fresh Debian 12 machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps test-deps build asan test unit cli style demo bench clean \
	install uninstall

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

# Reconfigure when the set of source files changes (sources are globbed).
define configure
	@mkdir -p $(1)
	@find src tests/unit -name '*.c' | LC_ALL=C sort > $(1).srclist.new
	@if [ ! -f $(1)/build.ninja ]; then \
	  meson setup $(1) $(2) $(MESON_OPTS) >/dev/null; \
	elif ! cmp -s $(1).srclist.new $(1)/.srclist; then \
	  meson setup --reconfigure $(1) $(2) $(MESON_OPTS) >/dev/null; \
	fi
	@mv $(1).srclist.new $(1)/.srclist
endef

build: deps
	$(call configure,$(BUILD),)
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

asan: deps
	$(call configure,$(ASAN_BUILD),-Db_sanitize=address,undefined -Db_lundef=false)
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)

# Every test: style, unit (cmocka), CLI (bats), all under ASan + UBSan, with
# the store's automatic layer backend (erofs where the kernel mounts it),
# and the unit tests and a few CLI commands under valgrind on the plain
# build; at the same time, the CLI suite again on the plain build with the
# directory backend, so both backends pass the whole CLI suite. The two
# runs share one lock (tests/run.sh, CI_LOCK) so that the files that check
# timings run apart from the other jobs, and four job slots (CI_SLOTS);
# the second run's report is printed after the first.
test: test-deps asan build
	@rc=0; lock=$$(mktemp /tmp/strata-test-lock.XXXXXX); \
	dirlog=$$(mktemp /tmp/strata-test-dir.XXXXXX); \
	STRATA_STORAGE_DRIVER=dir SUITES=cli CI_LOCK=$$lock CI_SLOTS=4 CLI_JOBS=4 \
	  tests/run.sh $(BUILD) >$$dirlog 2>&1 & dirpid=$$!; \
	CI_LOCK=$$lock CI_SLOTS=4 CLI_JOBS=4 tests/run.sh $(ASAN_BUILD) $(BUILD) || rc=1; \
	wait $$dirpid || rc=1; \
	printf '\n######## the CLI suite again: directory layer backend, plain build\n'; \
	cat $$dirlog; rm -f $$lock $$lock.slot* $$dirlog; \
	exit $$rc

style:
	@scripts/check-style.sh

# The binary, bash completion and man pages (made from the --help texts)
# under $(DESTDIR)$(PREFIX).
install: build
	@scripts/install.sh $(BUILD)/strata "$(DESTDIR)" "$(PREFIX)"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/strata \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/strata \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/strata.fish \
	  $(DESTDIR)$(PREFIX)/share/man/man1/strata.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/strata-*.1

demo: build
	@scripts/demo.sh $(BUILD)/strata

bench: build
	@bench/run.sh $(BUILD)/strata

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
