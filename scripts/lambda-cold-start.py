#!/usr/bin/env python3
"""Times each function from process start to its first answered invocation.

A minimal Lambda Runtime API (the interface AWS serves to a `provided.al2023` function: GET
`/2018-06-01/runtime/invocation/next`, POST `.../{id}/response` or `.../{id}/error`) runs on
loopback; each function's bootstrap is started against it with one sample event of `events/`,
and the time from spawn to its first poll for an event (its init) and to its response is
recorded. Runs each function N times (a new process each time) and prints the medians. The environment (tables, queue, endpoints) comes from the
caller, as `scripts/lambda-packages` sets it up on the emulators.

    scripts/lambda-cold-start.py DIR RUNS   # DIR holds <function>/bootstrap
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

# (function, sample event, what the run changes in it, as shown in the table)
SAMPLES = [
    ("autolock-api", "events/api-get-rights.json", {}),
    # A proxy's first gate check in a new process, as the demo's gateway asks it for bob, who
    # used gitlab an hour ago: the gateway principal read (nothing kept yet), the right read
    # and the access written.
    ("autolock-api", "events/api-gate-check.json", {"sub": "gateway", "x-forwarded-user": "bob"}),
    ("autolock-ingest", "events/ingest-resource-accessed.json", {}),
    ("autolock-sweep", "events/sweep-tick.json", {}),
    ("autolock-notify", "events/notify-request-created.json", {}),
]


def patched(event, changes):
    """The sample event with the gateway's subject and the user's header replaced."""
    if not changes:
        return event
    e = json.loads(event)
    e["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = changes["sub"]
    e["headers"]["x-forwarded-user"] = changes["x-forwarded-user"]
    return json.dumps(e).encode()


class Runtime(http.server.ThreadingHTTPServer):
    """Hands out one event and waits for its outcome."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = b""
        self.request_id = ""
        self.handed = False
        self.outcome = None  # ("response" | "error", body, monotonic time)
        self.polled = None  # when the function first asked for an event: its init done
        self.done = threading.Event()

    def handle_error(self, request, client_address):
        # The measured process is killed while its next poll is open: nothing to report.
        pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if self.path != "/2018-06-01/runtime/invocation/next" or server.handed:
            # A second poll waits: the measured process is stopped after its first answer.
            server.done.wait(30)
            self.send_response(410)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        server.handed = True
        server.polled = time.monotonic()
        deadline = int(time.time() * 1000) + 30_000
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("lambda-runtime-aws-request-id", server.request_id)
        self.send_header("lambda-runtime-deadline-ms", str(deadline))
        self.send_header(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:cold-start",
        )
        self.send_header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
        self.send_header("content-length", str(len(server.event)))
        self.end_headers()
        self.wfile.write(server.event)

    def do_POST(self):
        at = time.monotonic()
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        kind = self.path.rsplit("/", 1)[-1]
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()
        if self.server.outcome is None:
            self.server.outcome = (kind, body, at)
            self.server.done.set()


def cold_start(binary, event, name):
    runtime = Runtime()
    runtime.event = event
    runtime.request_id = str(uuid.uuid4())
    threading.Thread(target=runtime.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{runtime.server_address[1]}",
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
        AWS_LAMBDA_LOG_STREAM_NAME="cold-start",
        RUST_LOG="warn",
    )
    started = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    answered = runtime.done.wait(30)
    proc.kill()
    _, stderr = proc.communicate()
    runtime.shutdown()
    runtime.server_close()
    if not answered:
        sys.exit(f"{name}: no answer within 30 s\n{stderr.decode(errors='replace')}")
    kind, body, at = runtime.outcome
    if kind != "response":
        sys.exit(f"{name}: the invocation failed: {body.decode(errors='replace')}")
    return (at - started) * 1000.0, (runtime.polled - started) * 1000.0, body


def main():
    directory, runs = sys.argv[1], int(sys.argv[2])
    print(
        "| function | sample event | init: start to first poll | first answered invocation "
        "(median of %d) | answer |" % runs
    )
    print("|---|---|---:|---:|---|")
    for name, event_file, changes in SAMPLES:
        with open(event_file, "rb") as f:
            event = patched(f.read(), changes)
        times, inits = [], []
        body = b""
        for _ in range(runs):
            ms, init, body = cold_start(os.path.join(directory, name, "bootstrap"), event, name)
            times.append(ms)
            inits.append(init)
        answer = body.decode(errors="replace")
        try:
            parsed = json.loads(answer)
            if isinstance(parsed, dict) and "statusCode" in parsed:
                if parsed["statusCode"] >= 400:
                    sys.exit(f"{name}: answered {answer}")
                answer = f"HTTP {parsed['statusCode']}"
        except ValueError:
            pass
        if len(answer) > 60:
            answer = answer[:57] + "..."
        sample = f"`{event_file}`" + "".join(f", {k}: {v}" for k, v in changes.items())
        print(
            f"| {name} | {sample} | {statistics.median(inits):.0f} ms "
            f"| {statistics.median(times):.0f} ms | {answer} |"
        )


if __name__ == "__main__":
    main()
