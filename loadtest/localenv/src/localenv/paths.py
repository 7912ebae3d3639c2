"""Where the workspace keeps what localenv runs: it ships in no image, so it runs from the repo."""

from pathlib import Path

#: The workspace root (localenv lives at ``loadtest/localenv/src/localenv``).
REPO_ROOT = Path(__file__).resolve().parents[4]
#: The load suite's locustfile, for the benchmarks that run Locust directly.
LOCUSTFILE = REPO_ROOT / "loadtest" / "locustfile.py"
