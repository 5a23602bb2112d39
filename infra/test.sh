#!/usr/bin/env bash
# Runs every test of the workspace, doing all set-up itself:
#   1. a Python venv (./.venv) with the pinned test tools (infra/requirements-test.txt);
#   2. the local AWS emulator (moto server) on a free loopback port, stopped on exit;
#   3. cfn-lint and `sam validate` on template.yaml (no AWS account needed);
#   4. Debian's chromium when missing (the report's browser test);
#   5. cargo test over the whole workspace (unit, property, contract, HTTP, end-to-end).
# Extra arguments go to cargo test (e.g. `infra/test.sh -p saguaro-domain`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want=$(sha256sum infra/requirements-test.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing test tools into .venv (infra/requirements-test.txt)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
  echo "$want" > "$stamp"
fi
export SAGUARO_PYTHON="$venv/bin/python"

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$root/target/moto-server.log"
mkdir -p "$root/target"
echo "==> starting moto server on 127.0.0.1:$port (log: target/moto-server.log)"
# One request at a time: see infra/scripts/moto_server.py for why.
"$venv/bin/python" infra/scripts/moto_server.py "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
ready=no
for _ in $(seq 1 300); do
  if "$venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.2)" "$port" 2>/dev/null; then
    ready=yes; break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ "$ready" != yes ]; then
  echo "moto server did not start on port $port; its log (target/moto-server.log):" >&2
  cat "$log" >&2
  exit 1
fi
export SAGUARO_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1

echo "==> cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml
echo "==> sam validate --region us-east-1"
SAM_CLI_TELEMETRY=0 "$venv/bin/sam" validate --region us-east-1 --template template.yaml

# The simulation report's browser test (shared/saguaro/tests/report_browser.rs) opens the
# report in headless Chromium: Debian's package, installed here when missing.
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium (Debian package) for the report's browser test"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >"$root/target/chromium-install.log" 2>&1; then
    echo "could not install chromium: install Debian's package with 'apt-get install chromium' (as root); log: target/chromium-install.log" >&2
    exit 1
  fi
fi

# With no arguments, the whole workspace; with arguments (`-p crate`, a test filter), just those.
if [ "$#" -eq 0 ]; then set -- --workspace; fi
echo "==> cargo test --all-targets $*"
cargo test --all-targets "$@"
