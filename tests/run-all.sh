#!/usr/bin/env bash
# Runs every test suite of phiseal, keeps going when one fails, and ends
# with one line for the whole run: "N passed, M failed". Called by `make test`
# (which installs the tools and builds pkg/ first).
set -uo pipefail
cd "$(dirname "$0")/.."

SHARED=${SHARED:-$(cd .. && pwd)/shared}
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export SHARED CHROMEDRIVER
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
# geckodriver is installed by `make tool-engines` with cargo install, into
# $CARGO_HOME/bin: found on PATH, not at a fixed place.
GECKODRIVER=${GECKODRIVER:-$(command -v geckodriver || echo "${CARGO_HOME:-$HOME/.cargo}/bin/geckodriver")}
export GECKODRIVER
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# Browser flags for wasm-bindgen-test-runner (root, sandbox-free headless
# Chromium, Firefox ESR): webdriver.json at the crate root, where the runner
# (and so `wasm-pack test`) finds it by itself.
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT=300

LOG_DIR=$(mktemp -d)
total_pass=0
total_fail=0
summary=()

# step NAME PARSER COMMAND...
step() {
  local name=$1 parser=$2
  shift 2
  local log="$LOG_DIR/${name// /_}.log"
  echo
  echo "==> $name: $*"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local pass=0 fail=0
  case $parser in
    cargo)
      pass=$(sed -n 's/.*test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
      fail=$(sed -n 's/.*test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$log" | awk '{s+=$1} END {print s+0}') ;;
    node)
      pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -1)
      fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -1) ;;
    check)
      # A lint/format check: one case, passed when the command succeeds.
      if [ "$status" -eq 0 ]; then pass=1; fi ;;
    *)
      # Runners that end with "PARSER: N passed, M failed" (vectors: "total").
      pass=$(sed -n "s/^$parser: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p" "$log" | tail -1)
      fail=$(sed -n "s/^$parser: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p" "$log" | tail -1) ;;
  esac
  pass=${pass:-0}
  fail=${fail:-0}
  if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1 # the step failed without reporting a failed test (build error, crash)
  fi
  if [ "$status" -eq 0 ] && [ "$pass" -eq 0 ]; then
    fail=$((fail + 1)) # a step that ran nothing proves nothing
  fi
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  summary+=("$(printf '%-34s %6d passed, %d failed (exit %d)' "$name" "$pass" "$fail" "$status")")
}


step "cargo fmt --check" check cargo fmt --all -- --check
step "clippy -D warnings (native)" check cargo clippy --features cli,hazmat --all-targets -- -D warnings
step "clippy -D warnings (wasm32)" check cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
step "clippy -D warnings (wasm32, fields build)" check \
  cargo clippy --target wasm32-unknown-unknown --lib --no-default-features -- -D warnings
step "dependency checks" deps node tests/deps-check.mjs
step "cargo test (native)" cargo cargo test --features cli,hazmat
step "vectors (native)" total make --no-print-directory vectors
step "wasm-bindgen-test (Node)" cargo cargo test --target wasm32-unknown-unknown --features conformance --test web_node
# The browser cases the way a Rust-to-wasm developer runs them (README, Testing).
step "wasm-pack test (Chromium)" cargo wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" -- --features conformance
step "wasm-bindgen-test (Firefox)" cargo env -u CHROMEDRIVER GECKODRIVER="$GECKODRIVER" \
  cargo test --target wasm32-unknown-unknown --features conformance --test web
step "node --test (npm package)" node node --test tests/js/
step "size budget (gzip)" size node bench/size.mjs
step "API reference (TypeDoc, rustdoc)" check make --no-print-directory docs
step "npm package: tarball, Vite, webpack (Chromium)" package node tests/package/run.mjs
step "README and docs snippets (strict TS, Chromium)" snippets node tests/snippets/run.mjs
step "Firefox and WebKit capability matrix" engines node tests/engines/run.mjs
step "browser (Chromium, playwright)" browser node tests/browser/run.mjs
step "KeyStore custody (Chromium)" keystore node tests/browser/keystore.mjs
step "media E2EE (Chromium, WebRTC)" media node tests/browser/media.mjs
step "encrypted streams (Chromium)" stream node tests/browser/stream.mjs
step "capture guard (Chromium)" guard node tests/browser/guard.mjs chromium
step "capture guard (Firefox)" guard node tests/browser/guard.mjs firefox
step "capture guard (WebKit)" guard node tests/browser/guard.mjs webkit
step "watermarks (Chromium)" watermark node tests/browser/watermark.mjs
step "watermarks (Firefox)" watermark node tests/browser/watermark.mjs firefox
step "examples (Chromium)" examples node tests/examples/run.mjs

echo
echo "==> summary"
printf '%s\n' "${summary[@]}"
rm -rf "$LOG_DIR"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
