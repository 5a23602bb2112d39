#!/usr/bin/env python3
"""Cold start of built Lambda bootstraps against a stub Runtime API (README "Artifacts").

For each BINARY: starts a loopback HTTP server answering the Lambda Runtime API's
`GET /2018-06-01/runtime/invocation/next` (it records the time and holds the request), starts
the binary with AWS_LAMBDA_RUNTIME_API pointing at it and the variables a function needs
(dummy queue/table, a webhook secret, the example program unless one is bundled), and prints
the time from process start to its first poll and the peak RSS (VmHWM) at that moment; then
kills it. Runs each binary RUNS times (default 10) and prints the median and the worst.
Usage: infra/cold_start.py [--runs N] target/lambda/earn/bootstrap ...
Bootstraps must be built for this machine (x86_64: `cargo lambda build --release --x86-64`).
"""

import argparse
import http.server
import os
import statistics
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Stub(http.server.BaseHTTPRequestHandler):
    polled = None  # threading.Event, set per run
    polled_at = None

    def do_GET(self):  # noqa: N802 (the Runtime API's verb)
        if self.path.endswith("/runtime/invocation/next") and Stub.polled_at is None:
            Stub.polled_at = time.perf_counter()
            Stub.polled.set()
        time.sleep(5)  # hold the poll: the process is killed meanwhile

    def log_message(self, *args):
        pass


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def one_run(binary, port):
    Stub.polled = threading.Event()
    Stub.polled_at = None
    env = dict(os.environ)
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}",
        AWS_LAMBDA_FUNCTION_NAME=os.path.basename(os.path.dirname(binary)) or "fn",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_LAMBDA_LOG_GROUP_NAME="bench",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        TABLE_NAME="bench",
        EARN_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo",
        STRIPE_WEBHOOK_SECRET="whsec_bench",
        CHARGEBEE_WEBHOOK_USERNAME="bench",
        CHARGEBEE_WEBHOOK_PASSWORD="bench",
    )
    if not os.path.exists(os.path.join(ROOT, "program.toml")):
        env["SAGUARO_PROGRAM_FILE"] = os.path.join(ROOT, "infra/program.example.toml")
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not Stub.polled.wait(10):
            err = proc.stderr.read1(4000).decode(errors="replace") if proc.poll() is not None else ""
            raise SystemExit(f"{binary}: no poll within 10 s {err}")
        return (Stub.polled_at - started) * 1000, vm_hwm_kib(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(f"{'binary':50} {'first poll ms (median / max)':>30} {'peak RSS MiB':>14}")
    for binary in args.binaries:
        runs = [one_run(binary, port) for _ in range(args.runs)]
        ms = [r[0] for r in runs]
        rss = max(r[1] for r in runs) / 1024
        print(f"{binary:50} {statistics.median(ms):>18.1f} / {max(ms):>8.1f} {rss:>14.1f}")
    server.shutdown()


if __name__ == "__main__":
    main()
