"""Stand-in for ``python -m bot serve|migrate|set-webhook`` (tests only)."""

import os
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _standin_server import serve

command = sys.argv[1]
# The test checks that only the server gets the multiprocess metrics dir.
print("metrics dir:", os.environ.get("PROMETHEUS_MULTIPROC_DIR", "unset"), flush=True)
if command == "migrate":
    if os.environ.get("STANDIN_MIGRATE_FAIL") == "1":
        print("migrate: relation already exists (STANDIN_MIGRATE_FAIL=1)", flush=True)
        sys.exit(1)
    print("migrate: ok", os.environ["DATABASE_URL"], flush=True)
elif command == "set-webhook":
    url = sys.argv[sys.argv.index("--url") + 1]
    base = os.environ["BOT_API_BASE_URL"]
    call = f"{base}/bot{os.environ['BOT_TOKEN']}/setWebhook?url={url}"
    with urllib.request.urlopen(call) as r:  # noqa: S310 (the emulator's http URL)
        print("set-webhook:", r.status, flush=True)
elif command == "serve":
    workers = int(sys.argv[sys.argv.index("--workers") + 1])
    os.environ.setdefault("STANDIN_CHILDREN", str(workers))
    serve("bot", int(os.environ["BOT_PORT"]))
else:
    sys.exit(f"unknown command {command}")
