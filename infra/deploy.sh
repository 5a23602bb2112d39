#!/usr/bin/env bash
# Deploys the stack with PROGRAM as its program file (README "Changing the program"):
#   1. `saguaro check PROGRAM`: an invalid file stops here, nothing is built;
#   2. PROGRAM is copied to program.toml at the workspace root, which shared/lambda/build.rs
#      bundles into every function;
#   3. `sam build` (cargo-lambda + zig from ./.venv, arm64, release) and `sam deploy`.
# Usage: infra/deploy.sh PROGRAM [sam deploy arguments, e.g. --guided]
set -euo pipefail
if [ "$#" -lt 1 ]; then
  echo "usage: infra/deploy.sh PROGRAM.toml [sam deploy arguments]" >&2
  exit 2
fi
program=$(realpath "$1"); shift
cd "$(dirname "$0")/.."
root=$(pwd)

echo "==> saguaro check $program"
cargo run --quiet --release -p saguaro -- check "$program"

if [ "$program" != "$root/program.toml" ]; then
  cp "$program" "$root/program.toml"
fi

venv="$root/.venv"
if [ ! -x "$venv/bin/sam" ]; then
  echo "==> installing the deploy tools into .venv (infra/requirements-test.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
fi
export PATH="$venv/bin:$PATH" SAM_CLI_TELEMETRY=0

echo "==> sam build"
# SAM's Rust (cargo-lambda) build is a beta feature of the SAM CLI.
sam build --beta-features
echo "==> sam deploy $*"
sam deploy "$@"
