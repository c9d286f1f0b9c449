"""Runs a test directory N times in a row, each in a fresh pytest, with load beside it.

    python -m tests.support.repeat                    # tests/tui, 10 runs, a tests/unit loop beside
    python -m tests.support.repeat --runs 3 --burn 2 tests/tui/test_live.py -- -k quit

(what follows ``--`` is passed to each pytest).

Each run is its own ``python -m pytest`` process (JUnit XML in ``--keep``); the load is a
loop of ``pytest tests/unit`` (``--unit-loop``, on by default) and/or ``--burn N`` busy
processes, in their own process groups, stopped at the end. It prints each run's pass and
fail counts, the failing test ids with the first line of their error, the run's wall time
and the load average seen (sampled each second), then a summary; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import REPO as ROOT

#: a busy loop: one core's worth of load
_BURN = "while True:\n    pass\n"
#: the unit loop: pytest tests/unit again and again until stopped
_UNIT_LOOP = (
    "import subprocess, sys\n"
    "while True:\n"
    "    subprocess.run([sys.executable, '-m', 'pytest', 'tests/unit', '-q', '-x',\n"
    "                    '-p', 'no:cacheprovider'], stdout=subprocess.DEVNULL,\n"
    "                   stderr=subprocess.DEVNULL)\n"
    "    print('loop', flush=True)\n"
)


@dataclass
class RunResult:
    """One pytest run: its counts, failing tests (id, first line), time and load seen."""

    number: int
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failed and not self.errors

    def line(self, runs: int) -> str:
        return (f"run {self.number}/{runs}: {self.passed} passed, {self.failed} failed, "
                f"{self.errors} errors, {self.skipped} skipped in {self.seconds:.1f} s, "
                f"load average {self.load[0]:.1f}-{self.load[1]:.1f}, pytest exit {self.exit_code}")


def _test_id(case: ET.Element) -> str:
    """``tests/tui/test_x.py::test_y[param]`` from a JUnit testcase (classname is dotted)."""
    classname, name = case.get("classname", ""), case.get("name", "")
    parts = classname.split(".")
    # the module is the longest dotted prefix that is a file; the rest are classes
    for cut in range(len(parts), 0, -1):
        path = Path(*parts[:cut]).with_suffix(".py")
        if (ROOT / path).is_file():
            return "::".join([path.as_posix(), *parts[cut:], name])
    return "::".join([*parts, name])


def _first_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[0][:200] if lines else "(no message)"


def parse_junit(path: Path, number: int) -> RunResult:
    """The counts and failures of one run from its JUnit XML (pytest's ``--junitxml``)."""
    result = RunResult(number)
    for case in ET.parse(path).getroot().iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            if bad.tag == "failure":
                result.failed += 1
            else:
                result.errors += 1
            result.failures.append((_test_id(case), _first_line(bad.get("message") or bad.text)))
        elif case.find("skipped") is not None:
            result.skipped += 1
        else:
            result.passed += 1
    return result


class LoadWatch:
    """The 1-minute load average, sampled each second while it runs: its min and max."""

    def __init__(self) -> None:
        self.seen: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.seen.append(os.getloadavg()[0])

    def __enter__(self) -> LoadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seen.append(os.getloadavg()[0])

    @property
    def span(self) -> tuple[float, float]:
        return min(self.seen), max(self.seen)


class Load:
    """The load generators: a tests/unit loop and/or busy processes, each in its own
    process group (so pytest's children stop with it)."""

    def __init__(self, unit_loop: bool, burn: int) -> None:
        self.procs: list[subprocess.Popen] = []
        self.unit: subprocess.Popen | None = None
        if unit_loop:
            self.unit = self._start(_UNIT_LOOP, stdout=subprocess.PIPE)
            self.procs.append(self.unit)
        self.procs += [self._start(_BURN) for _ in range(burn)]

    @staticmethod
    def _start(code: str, stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=stdout,
                                stderr=subprocess.DEVNULL, start_new_session=True, text=True)

    def stop(self) -> int:
        """Stop every generator (their process groups); how many unit loops completed."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            proc.wait()
        if self.unit is None or self.unit.stdout is None:
            return 0
        return self.unit.stdout.read().count("loop")


#: the pytest runs under way (stopped, with their children, if the runner is stopped)
_RUNNING: set[subprocess.Popen] = set()


def run_once(number: int, targets: list[str], extra: list[str], keep: Path) -> RunResult:
    """One fresh pytest over ``targets``; its output and JUnit XML are kept in ``keep``."""
    xml, log = keep / f"run-{number}.xml", keep / f"run-{number}.log"
    cmd = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider",
           f"--junitxml={xml}", *extra]
    start = time.monotonic()
    with LoadWatch() as watch, log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        _RUNNING.add(proc)
        code = proc.wait()
        _RUNNING.discard(proc)
    seconds = time.monotonic() - start
    if xml.is_file():
        result = parse_junit(xml, number)
    else:
        result = RunResult(number, failures=[("(session)", f"no JUnit XML: see {log}")])
    result.seconds, result.load, result.exit_code = seconds, watch.span, code
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.repeat",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["tests/tui"],
                        help="what pytest runs (default: tests/tui)")
    parser.add_argument("--runs", type=int, default=10, help="runs in a row (default 10)")
    parser.add_argument("--unit-loop", action=argparse.BooleanOptionalAction, default=True,
                        help="loop pytest tests/unit beside the runs (default: on)")
    parser.add_argument("--burn", type=int, default=0, metavar="N",
                        help="also run N busy processes beside the runs")
    parser.add_argument("--jobs", type=int, default=1, metavar="K",
                        help="K runs at once (each still a fresh pytest; default 1)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder for each run's log and JUnit XML (default: a new temp dir)")
    argv = sys.argv[1:] if argv is None else argv
    # what follows "--" goes to each pytest as it is
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = parser.parse_args(argv[:cut]), argv[cut + 1:]
    if args.runs < 1 or args.burn < 0 or args.jobs < 1:
        parser.error("--runs and --jobs must be at least 1, --burn at least 0")
    keep = args.keep or Path(tempfile.mkdtemp(prefix="tui-repeat-"))
    keep.mkdir(parents=True, exist_ok=True)
    print(f"{args.runs} runs of pytest {' '.join(args.targets + extra)}; unit loop "
          f"{'on' if args.unit_loop else 'off'}, {args.burn} burners, {args.jobs} at once; "
          f"logs in {keep}", flush=True)
    # a TERM (or an INT, ignored in a background job) ends it as ^C does: the load stopped
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    load = Load(args.unit_loop, args.burn)
    results: list[RunResult] = []
    start = time.monotonic()
    pool = ThreadPoolExecutor(args.jobs)
    try:
        runs = [pool.submit(run_once, n, args.targets, extra, keep)
                for n in range(1, args.runs + 1)]
        for done in as_completed(runs):
            result = done.result()
            results.append(result)
            print(result.line(args.runs), flush=True)
            for test_id, first in result.failures:
                print(f"  FAILED {test_id}: {first}", flush=True)
    except KeyboardInterrupt:
        print(f"stopped after {len(results)} of {args.runs} runs", flush=True)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(_RUNNING):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        loops = load.stop()
    if not results:
        return 130
    bad = [r for r in results if not r.ok]
    lows, highs = [r.load[0] for r in results], [r.load[1] for r in results]
    print(f"{len(results)} runs, {sum(r.passed for r in results)} passed, "
          f"{sum(r.failed + r.errors for r in results)} failed or errors, "
          f"{len(bad)} runs not clean, {time.monotonic() - start:.0f} s in all "
          f"(runs {min(r.seconds for r in results):.0f}-{max(r.seconds for r in results):.0f} s), "
          f"load average {min(lows):.1f}-{max(highs):.1f}, {loops} tests/unit loops beside")
    return 1 if bad or len(results) < args.runs else 0


if __name__ == "__main__":
    sys.exit(main())
