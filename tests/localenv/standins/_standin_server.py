"""A tiny HTTP server standing in for the bot or the emulator (stdlib only).

STANDIN_CRASH_AFTER_S: exit with status 7 after this many seconds.
STANDIN_FAIL=1: exit with status 5 before listening (a start-up failure).
STANDIN_CHILDREN=N: fork N children that sleep (as uvicorn workers would) in the same group.
STANDIN_IGNORE_TERM=1: ignore SIGTERM (to prove the SIGKILL escalation).
"""

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format, *args):
        sys.stdout.write("standin: " + (format % args) + "\n")


def serve(name, port):
    if os.environ.get("STANDIN_FAIL") == "1":
        print(f"{name}: refusing to start (STANDIN_FAIL=1)", flush=True)
        sys.exit(5)
    children = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        for _ in range(int(os.environ.get("STANDIN_CHILDREN", "0")))
    ]
    print(f"{name}: children {[c.pid for c in children]}", flush=True)

    def stop(signum, frame):
        # Like uvicorn's supervisor: stop the workers, then exit. Only async-signal-safe calls
        # (no print, no Popen.wait: the main thread may hold their locks right now).
        for child in children:
            os.kill(child.pid, signal.SIGTERM)
        os._exit(0)

    if os.environ.get("STANDIN_IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, stop)
    crash_after = os.environ.get("STANDIN_CRASH_AFTER_S")
    if crash_after:

        def crash():
            time.sleep(float(crash_after))
            print(f"{name}: crashing on purpose", flush=True)
            os._exit(7)

        threading.Thread(target=crash, daemon=True).start()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"{name}: listening on {port}", flush=True)
    server.serve_forever()
