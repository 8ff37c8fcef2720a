# phiseal: build, test, demo. Every target installs what it needs, idempotently.
#   make test     install missing tools, build, run every test; prints "N passed, M failed"
#   make demo     build and serve the example apps on 127.0.0.1 (prints the URLs)
#   make vectors  run the upstream test vectors (FILES="a.json b.json" for others)
#   make build    the npm package's wasm in pkg/

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Binaries `cargo install` puts in $CARGO_HOME/bin (wasm-bindgen, wasm-pack,
# geckodriver) are found wherever CARGO_HOME points.
CARGO_HOME      ?= $(HOME)/.cargo
export CARGO_HOME
export PATH := $(CARGO_HOME)/bin:$(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)

SHARED          ?= $(abspath $(CURDIR)/../shared)
VECTORS_DIR     := $(SHARED)/vectors
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
WASM_TARGET     := wasm32-unknown-unknown
CHROMIUM        ?= /usr/bin/chromium
CHROMEDRIVER    ?= /usr/bin/chromedriver
# Strip local absolute paths (registry, checkout) from the shipped .wasm.
# Expanded when a build runs (`=`, not `:=`): on a cold cache the registry
# folders exist only after tool-crates has fetched the crates.
WASM_RUSTFLAGS   = $(foreach d,$(wildcard $(CARGO_HOME)/registry/src/*),--remap-path-prefix=$(d)=/crates) --remap-path-prefix=$(CURDIR)=/phiseal
# The field-encryption build (pkg/fields/) uses sha2's compact (rolled)
# rounds: 4.4 KB less gzip, and there SHA-2 only hashes short inputs (HKDF,
# HMAC of blind indexes, thumbprints). The full build keeps the unrolled
# rounds: SFrame suites 1-3 HMAC-SHA256 every media frame in wasm.
LEAN_RUSTFLAGS  := --cfg sha2_backend_soft=\"compact\"

DEFAULT_VECTORS := \
	$(VECTORS_DIR)/hpke/p384-cross-checked.json \
	$(VECTORS_DIR)/hpke/rfc9180-nist-curves-aes256gcm-subset.json \
	$(VECTORS_DIR)/hpke/draft-ietf-hpke-pq-dhkem-p384-shake256.json \
	$(VECTORS_DIR)/wycheproof/ecdh_secp384r1_test.json \
	$(VECTORS_DIR)/wycheproof/ecdh_secp384r1_ecpoint_test.json \
	$(VECTORS_DIR)/wycheproof/ecdh_secp384r1_webcrypto_test.json \
	$(VECTORS_DIR)/wycheproof/aes_gcm_test.json \
	$(VECTORS_DIR)/wycheproof/hkdf_sha384_test.json \
	$(VECTORS_DIR)/wycheproof/ecdsa_secp384r1_sha384_test.json \
	$(VECTORS_DIR)/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json \
	$(VECTORS_DIR)/sframe/test-vectors.json \
	$(VECTORS_DIR)/sframe/test-vectors-aes256-ctr-hmac-draft.json
FILES ?=

.PHONY: all tools tool-rust tool-crates tool-wasm-bindgen tool-wasm-pack tool-chromium tool-engines tool-npm build size docs test vectors demo bench clean
.PHONY: fuzz

all: build

# ---------------------------------------------------------------- tools
tools: tool-rust tool-crates tool-wasm-bindgen tool-wasm-pack tool-chromium tool-engines tool-npm

tool-rust:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# Every crate of Cargo.lock, for every target (native, wasm32, dev and build
# dependencies), so no later step depends on a warm cache. --locked: a stale
# Cargo.lock fails here rather than being rewritten.
tool-crates:
	@cargo fetch --locked --quiet

tool-wasm-bindgen:
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked --force \
	    || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

tool-wasm-pack:
	@command -v wasm-pack >/dev/null || cargo install wasm-pack --locked || cargo install wasm-pack

tool-chromium:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium chromium-driver; \
	fi

# Firefox (Debian's firefox-esr + geckodriver, a crate) and WebKit (Debian's
# WebKitGTK driver; its MiniBrowser needs Xvfb) for the multi-engine tests.
GECKODRIVER_VERSION := 0.37.1
tool-engines:
	@if [ ! -x /usr/bin/firefox-esr ] || [ ! -x /usr/bin/WebKitWebDriver ] || [ ! -x /usr/bin/xvfb-run ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y firefox-esr webkit2gtk-driver xvfb xauth; \
	fi
	@if [ "$$(geckodriver --version 2>/dev/null | head -1)" != "geckodriver $(GECKODRIVER_VERSION)" ]; then \
	  cargo install geckodriver --version $(GECKODRIVER_VERSION) --locked || cargo install geckodriver --version $(GECKODRIVER_VERSION); \
	fi

# npm devDependencies from the committed lockfile; reinstalled when the lockfile changes.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

tool-npm: node_modules/.installed

# ---------------------------------------------------------------- build
# Release wasm -> wasm-bindgen (ES module, works in browsers, workers and
# Node) -> wasm-opt -Oz from npm binaryen (never Debian's binaryen 108).
# Two builds: pkg/ has every capability; pkg/fields/ only keys, HPKE and
# field encryption (cargo --no-default-features), for apps that need no more.
WASM_OPT_FLAGS := -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals

# wasm_variant OUT_DIR TARGET_DIR CARGO_FEATURE_ARGS EXTRA_RUSTFLAGS
define wasm_variant
	RUSTFLAGS="$(WASM_RUSTFLAGS) $(4)" cargo build --lib --release --target $(WASM_TARGET) --target-dir $(2) $(3)
	wasm-bindgen --target web --out-dir $(1) $(2)/$(WASM_TARGET)/release/phiseal.wasm
	wasm-opt $(WASM_OPT_FLAGS) $(1)/phiseal_bg.wasm -o $(1)/phiseal_bg.wasm
	@printf '%s: %s bytes, %s gzipped\n' $(1)/phiseal_bg.wasm "$$(stat -c %s $(1)/phiseal_bg.wasm)" "$$(gzip -9c $(1)/phiseal_bg.wasm | wc -c)"
endef

build: tool-rust tool-crates tool-wasm-bindgen tool-npm
	$(call wasm_variant,pkg,target,)
	$(call wasm_variant,pkg/fields,target/lean,--no-default-features,$(LEAN_RUSTFLAGS))

# Sizes of every .wasm and JS entry (raw, gzip, brotli), checked against the
# budget in bench/size-budget.json; `make test` runs it.
size: build
	node bench/size.mjs

# ---------------------------------------------------------------- tests
test: tools build
	SHARED="$(SHARED)" CHROMIUM="$(CHROMIUM)" CHROMEDRIVER="$(CHROMEDRIVER)" bash tests/run-all.sh

vectors:
	@test -d $(VECTORS_DIR) || { echo "missing $(VECTORS_DIR) (../shared beside the checkout)"; exit 2; }
	cargo run --quiet --release --features cli -- vectors $(if $(strip $(FILES)),$(FILES),$(DEFAULT_VECTORS))

# ---------------------------------------------------------------- fuzz
# cargo-fuzz targets for every parser and opener (fuzz/fuzz_targets/*.rs),
# not part of `make test`. Each target runs FUZZ_SECONDS from the committed
# seeds in fuzz/corpus/<target>/ (regenerate them with
# `cd fuzz && cargo run --release --bin seeds`); what the fuzzer adds goes to
# fuzz/target/corpus/<target>/ and a crash or leak to fuzz/artifacts/<target>/,
# and fails the run. cargo-fuzz passes nightly-only flags to rustc: with only
# the stable toolchain installed, RUSTC_BOOTSTRAP=1 makes stable rustc accept them.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= key_import hpke_open field_open sframe_open stream_open audit_verify schema_parse json_parse cert_verify directory_lookup

fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked || cargo install cargo-fuzz
	RUSTC_BOOTSTRAP=1 cargo fuzz build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/target/corpus/$$t; \
	  echo "==> fuzz $$t for $(FUZZ_SECONDS)s"; \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $$t fuzz/target/corpus/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    > fuzz/target/$$t.log 2>&1 || true; \
	  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|stat::(number_of_executed_units|peak_rss_mb)|==[0-9]+==|SUMMARY|thread )' \
	    fuzz/target/$$t.log || true; \
	  if ! grep -q '^Done [0-9]* runs' fuzz/target/$$t.log; then \
	    tail -40 fuzz/target/$$t.log; echo "fuzz $$t: FINDING (fuzz/target/$$t.log, fuzz/artifacts/$$t/)"; exit 1; \
	  fi; \
	done
	@echo "fuzz: $(words $(FUZZ_TARGETS)) targets, $(FUZZ_SECONDS)s each, no findings"

# ---------------------------------------------------------------- docs
# API reference: TypeDoc from the TypeScript declarations (docs/api/) and
# rustdoc for the crate (target/doc/phiseal/); warnings are errors.
docs: tool-npm
	typedoc --out docs/api --name phiseal --readme none --disableSources --treatWarningsAsErrors \
	  --entryPoints js/index.d.ts js/fields-entry.d.ts js/media.d.ts js/stream.d.ts js/guard.d.ts js/watermark.d.ts
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib
	@echo "API reference: docs/api/index.html and target/doc/phiseal/index.html"

# ---------------------------------------------------------------- demo
demo: build
	node examples/server.mjs

bench: build tool-chromium
	node bench/run.mjs

clean:
	rm -rf pkg target node_modules
