"""Shared fixtures: the real-kernel VM (tests/support/vm), booted once per test session.

* `vm` (session): a booted `tests/support/vm/vm.py:VM`.  Tests using it get the `vm` marker.
  Outside CI it skips with the reason when the VM cannot boot; with CI set it fails.
  Guest TCP ports 5555 and 8000 are forwarded: `vm.ports[5555]` is the host port.
* `scenario` (function): tests/support/vm/scenario.py running in the guest (`.record` is its
  ground truth); stopped after the test, which must leave no dma-buf behind. When the next
  test on the same VM uses it too (the VM tests that do run one after another, on each
  kernel) and the scene is intact (the kernel's dma-bufs are still exactly the record's),
  the same run serves it: a scenario is built once per kernel, not once per test.
* `pidns` (function): a private PID namespace with its own /proc; `mappers` start in it
  when the test has one (tests/support/pidns.py, mappers.py).
* `prometheus` (session): a real Prometheus server on loopback (Debian's binary), scraping
  what each test adds (tests/support/prometheus_harness.py).

Hypothesis profiles (the fuzz tests, tests/unit/*/test_fuzz_*.py): "ci" (selected when CI
is set) is derandomized with each test's own example count; "dev" (the default) is the
same count, random; "long" (`pytest --hypothesis-profile=long`) runs ten times as many.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

FORWARDED_GUEST_PORTS = (5555, 8000)
_boot_report: list[str] = []

# each fuzz test asks tests.support.fuzz.examples(N) for its count: N in "ci" and "dev"
# (max_examples 100 = 1x), ten times N in "long"
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, **_FUZZ)
settings.register_profile("dev", max_examples=100, **_FUZZ)
settings.register_profile("long", max_examples=1000, **_FUZZ)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


settings.load_profile("ci" if in_ci() else "dev")  # --hypothesis-profile=NAME overrides


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test that uses the VM gets it as a session-wide parameter: the kernel
    series. Tests marked ``kernels`` run on the whole matrix (``kernels("6.18")``: on
    the series named, of those in the matrix), others on 6.1; pytest groups the tests
    by series, so each kernel boots once per session."""
    if "vm" not in metafunc.fixturenames:
        return
    from tests.support.vm.kernels import DEFAULT_SERIES, matrix

    marker = metafunc.definition.get_closest_marker("kernels")
    if marker is None:
        series = [DEFAULT_SERIES]
    else:
        series = [s for s in matrix() if not marker.args or s in marker.args]
    metafunc.parametrize("vm", series, indirect=True, scope="session")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark the VM tests (and give the xdist groups: see below, before xdist reads them)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if {"vm", "scenario"} & fixtures:
        item.add_marker(pytest.mark.vm)
        item.add_marker(pytest.mark.xdist_group("vm"))
    elif "mappers" in fixtures or (item.path.parent.name == "integration"
                                   and item.path.name.startswith("test_adb_")):
        item.add_marker(pytest.mark.xdist_group("host-scans"))


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture parameters
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the VM tests last, grouped by kernel in the matrix's order (stable: each
    group keeps its collection order), so each kernel boots once.

    With pytest-xdist (``-n 2 --dist loadgroup``, what .ci/run does) the VM tests are one
    xdist group, so one worker runs them all in that order (each kernel still boots
    once, one VM at a time). The tests that compare two scans of this machine's whole
    /proc (adb against local, delta against full, shell collector against native: the
    adb server tests and those with processes mapping dma-buf look-alikes) are another
    group, so none of them runs while another of them changes what it scans. xdist sends
    the biggest groups first, one to each worker; the other tests go to either."""
    from tests.support.vm.kernels import SERIES

    order = list(SERIES)

    def group(item: pytest.Item) -> int:
        callspec = getattr(item, "callspec", None)
        series = callspec.params.get("vm") if callspec is not None else None
        # (not a series: an empty parameter set, a kernels("6.18") test outside the matrix)
        return order.index(series) if series in order else -1

    # on each kernel the tests with a scenario first, one after another: one scenario.py
    # run serves them all (see ``scenario``)
    items.sort(key=lambda item: (group(item), "scenario" not in getattr(item, "fixturenames", ())))


#: the test after the one being torn down (``scenario`` keeps its run for it)
_next_item: list[pytest.Item | None] = [None]
#: a scenario.py run kept for the next test, by VM
_kept_scenarios: dict[int, object] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _next_item[0] = nextitem
    # a run kept for a test that did not take it (skipped before its scenario): stopped
    # now, if the next one does not want it either (before the VM may go)
    for key, run in list(_kept_scenarios.items()):
        if not _scenario_next_on(run.vm):
            del _kept_scenarios[key]
            _stop_scenario(run)
    yield


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _boot_report:
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its VM boot lines to the main process (workeroutput)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["vm_boots"] = list(_boot_report)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """(xdist, in the main process) a worker's VM boot lines, for the summary."""
    _boot_report.extend(getattr(node, "workeroutput", {}).get("vm_boots", []))


@pytest.fixture(scope="session")
def vm(request: pytest.FixtureRequest) -> Iterator:
    from tests.support.vm import vm as vmlib

    try:
        fwd = [(vmlib.free_port(), g) for g in FORWARDED_GUEST_PORTS]
        machine = vmlib.VM(hostfwd=fwd, series=request.param).start()
    except (vmlib.VMError, vmlib.VMAssetError, OSError) as e:
        msg = f"the real-kernel test VM cannot boot: {e}"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    _boot_report.append(
        f"test VM [{request.param}]: Linux {machine.kernel_release} booted in "
        f"{machine.boot_time:.1f}s"
    )
    try:
        yield machine
    finally:
        machine.close()


def _scenario_next_on(vm) -> bool:
    """The next test uses ``scenario`` on this VM."""
    nxt = _next_item[0]
    callspec = getattr(nxt, "callspec", None)
    return (nxt is not None and "scenario" in getattr(nxt, "fixturenames", ())
            and callspec is not None and callspec.params.get("vm") == vm.series)


def _stop_scenario(run) -> None:
    from tests.support.vm.guest import assert_no_dmabufs_left

    run.stop()
    assert_no_dmabufs_left(run.vm, "the scenario")


@pytest.fixture
def scenario(vm) -> Iterator:
    from tests.support.vm.guest import start_scenario

    kept = _kept_scenarios.pop(id(vm), None)
    run = kept.fresh() if kept is not None else start_scenario(vm)
    yield run
    if _scenario_next_on(vm) and run.intact():
        _kept_scenarios[id(vm)] = run
    else:
        _stop_scenario(run)


@pytest.fixture
def pidns() -> Iterator:
    """A private PID namespace with its own /proc (tests/support/pidns.py): what a test
    scans there twice is the same whatever else runs on the machine."""
    from tests.support.pidns import PidNamespace

    ns = PidNamespace()
    try:
        yield ns
    finally:
        ns.close()


@pytest.fixture
def mappers(request: pytest.FixtureRequest) -> Iterator:
    """Processes mapping files named like dma-bufs (tests/support/mappers.py); in the
    test's PID namespace when it has one (it asks for ``pidns``)."""
    from tests.support.mappers import Mappers

    m = Mappers(request.getfixturevalue("pidns") if "pidns" in request.fixturenames else None)
    try:
        yield m
    finally:
        m.close()


@pytest.fixture(scope="module")
def server() -> Iterator:
    """A real adb server (Debian's adb) on a private port with its own HOME."""
    from tests.support.adb_harness import AdbServer

    srv = AdbServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def peer(server) -> Iterator:
    """tests/support/adbpeer.py on this machine, connected to ``server``."""
    from tests.support.adb_harness import HostPeer, connected

    with connected(server, HostPeer()) as p:
        yield p


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A real Prometheus server (tests/support/prometheus_harness.py), started once:
    each test adds the exporters it scrapes. Outside CI it skips without the binary."""
    from tests.support.prometheus_harness import Prometheus, PrometheusError, binary

    try:
        binary()
    except PrometheusError as e:
        if in_ci():
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))
    server = Prometheus(tmp_path_factory.mktemp("prometheus"))
    try:
        yield server
    finally:
        server.stop()
