#!/usr/bin/env bash
# Runs every Sluice test: installs the pinned npm dev services (Azurite, s3rver) the tests start themselves,
# runs `dotnet test` on the solution, then prints each skipped test with its reason and, as the last line,
# "tests: N passed, N failed, N skipped". Extra arguments go to dotnet test (e.g. ./test.sh --filter Kafka).
# Exits non-zero if dotnet test failed or no test ran.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

results_dir=TestResults
npm_stamp=node_modules/.sluice-npm-ci.sha256

install_dev_services() {
  if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    echo "test.sh needs node and npm for the dev services (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  local want have=""
  want="$( { node --version; cat package.json package-lock.json; } | sha256sum | cut -d' ' -f1)"
  if [[ -f "$npm_stamp" ]]; then
    have="$(cat "$npm_stamp")"
  fi
  if [[ "$have" == "$want" ]]; then
    echo "npm dev services: node_modules matches package-lock.json, skipping npm ci"
    return
  fi
  echo "npm dev services: installing from package-lock.json"
  # --loglevel=error: azurite declares node >= 22, but runs on the node 20 these machines have, and npm
  # would otherwise print a page of EBADENGINE warnings on every install.
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$npm_stamp"
}

install_dev_services

# The dashboard test drives Debian's chromium (headless, through Playwright with ExecutablePath); without it
# that test is skipped with its reason. Installed here when missing and running as root (CI).
install_chromium() {
  if command -v chromium > /dev/null; then
    return
  fi
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get > /dev/null; then
    echo "chromium: installing with apt-get (for the dashboard test)"
    apt-get update -qq && apt-get install -y -qq chromium > /dev/null || echo "chromium: install failed; the dashboard test will be skipped" >&2
  else
    echo "chromium: not installed and not root; the dashboard test will be skipped (apt-get install chromium)"
  fi
}

install_chromium

rm -rf "$results_dir"

# LogFilePrefix (not LogFileName): with several test projects a fixed LogFileName makes each project
# overwrite the previous one's file; a prefix gives every project its own timestamped .trx.
status=0
dotnet test Orleans.sln -c Release \
  --logger "trx;LogFilePrefix=results" \
  --results-directory "$results_dir" \
  "$@" || status=$?

summary_status=0
summary="$(python3 .ci/trx_summary.py "$results_dir")" || summary_status=$?

echo
if [[ $summary_status -ne 0 && $summary_status -ne 3 ]]; then
  printf '%s\n' "$summary"
  echo "could not read the .trx files under $results_dir (parser exit code $summary_status)"
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "dotnet test failed with exit code $status"
fi
if [[ $summary_status -eq 3 ]]; then
  echo "no test ran"
fi
printf '%s\n' "$summary"

if [[ $status -ne 0 ]]; then
  exit "$status"
fi
if [[ $summary_status -ne 0 ]]; then
  exit 1
fi
