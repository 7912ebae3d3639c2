"""``python -m botapi_emulator --host 127.0.0.1 --port 8081``: serve the emulator (:mod:`.cli`)."""

import sys

from botapi_emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
