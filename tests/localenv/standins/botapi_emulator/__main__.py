"""Stand-in for ``python -m botapi_emulator --host H --port P`` (tests only)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _standin_server import serve

if os.environ.get("STANDIN_EMULATOR_FAIL") == "1":
    os.environ["STANDIN_FAIL"] = "1"
serve("emulator", int(sys.argv[sys.argv.index("--port") + 1]))
