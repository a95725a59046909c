"""Shared fixtures: real data locations (skipped with a reason when absent), seeds, threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (developers and CI have it); DEEPSCOPE_SHARED overrides.
SHARED = Path(os.environ.get("DEEPSCOPE_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(autouse=True)
def _pinned_threads_and_seed():
    import torch

    # 2 threads (the CI machine's cores); DEEPSCOPE_TEST_THREADS=1 lets a slow run share the
    # machine with a benchmark without oversubscribing it.
    torch.set_num_threads(int(os.environ.get("DEEPSCOPE_TEST_THREADS", "2")))
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (see shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    path = shared_data / "mnist"
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST IDX files are absent from {path}")
    return path


@pytest.fixture(scope="session")
def digits():
    from deepscope.data import load

    return load("digits")


# ----------------------------------------------------------------------------- hostile input
# Every generated hostile case goes through `hostile(call)`: it must load or raise deepscope's
# own error, within a time bound and a bound on resident memory growth. Outcomes are counted
# (per parser) and written to $DEEPSCOPE_HOSTILE_REPORT as JSON at the end of the session
# (benchmarks/hostile_inputs.py reads it for the closing figures).
_HOSTILE: dict[str, dict[str, float]] = {}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Hostile:
    """``hostile(parser, call)``: run ``call()`` under a small memory cap (deepscope.limits)
    and a wall-clock alarm; return 'loaded' or 'error'. Anything else fails the test:
    a non-deepscope exception, a hang past ``seconds``, resident memory growing past
    ``max_rss_mib``."""

    def __call__(
        self, parser: str, call, *, memory: str = "64MB", seconds: float = 10.0, max_rss_mib: float = 512.0
    ) -> str:
        import signal

        from deepscope import limits
        from deepscope.errors import DeepscopeError

        def alarm(signum, frame):
            raise TimeoutError(f"{parser}: a hostile input ran past {seconds} s")

        try:  # reset the peak resident set size (Linux): VmHWM then measures this call only
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        before = _rss_kib("VmRSS")
        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            with limits.override(memory=memory):
                call()
            outcome = "loaded"
        except DeepscopeError:
            outcome = "error"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        grown = max(_rss_kib("VmHWM") - before, 0) / 1024
        stats = _HOSTILE.setdefault(parser, {"cases": 0, "loaded": 0, "error": 0, "peak_rss_mib": 0.0})
        stats["cases"] += 1
        stats[outcome] += 1
        stats["peak_rss_mib"] = max(stats["peak_rss_mib"], round(grown, 1))
        assert grown <= max_rss_mib, f"{parser}: resident memory grew by {grown:.0f} MiB on one hostile input"
        return outcome


@pytest.fixture
def hostile() -> Hostile:
    return Hostile()


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("DEEPSCOPE_HOSTILE_REPORT")
    if target and _HOSTILE:
        import json

        Path(target).write_text(json.dumps(_HOSTILE, indent=2, sort_keys=True) + "\n", encoding="utf-8")
