"""tests/support/timing.py and suite_report.py: the schedule and the durations report of `make test`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from types import SimpleNamespace

import pytest
from bench.report import SUITE_BEGIN, suite_block, with_suite_block

from tests.support import suite_report, timing
from tests.support.tools import REPO_ROOT


def _items(*nodeids: str) -> list:
    return [SimpleNamespace(nodeid=n) for n in nodeids]


def _scheduled(*nodeids: str) -> list[str]:
    """The node ids in the order the schedule puts them."""
    items = _items(*nodeids)
    timing.pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    return [i.nodeid for i in items]


def test_longest_files_first_order_inside_a_file_kept_unknown_files_last(monkeypatch, tmp_path) -> None:
    weights = tmp_path / "durations.json"
    weights.write_text(json.dumps({"tests/b/test_slow.py": 300.0, "tests/a/test_mid.py": 20.0}))
    monkeypatch.setattr(timing, "WEIGHTS", weights)
    monkeypatch.setattr(timing, "CPU_WEIGHTS", tmp_path / "absent.json")
    assert _scheduled(
        "tests/a/test_mid.py::t1",
        "tests/new/test_unknown.py::t1",
        "tests/b/test_slow.py::t2",
        "tests/a/test_mid.py::t2",
        "tests/b/test_slow.py::t1",
    ) == [
        "tests/b/test_slow.py::t2",
        "tests/b/test_slow.py::t1",
        "tests/a/test_mid.py::t1",
        "tests/a/test_mid.py::t2",
        "tests/new/test_unknown.py::t1",
    ]


def test_the_files_that_compute_most_start_first_then_the_longest(monkeypatch, tmp_path) -> None:
    """As many files as workers start first, most CPU seconds first; then longest first."""
    seconds = {"t/deploy.py": 550.0, "t/life.py": 350.0, "t/act.py": 250.0, "t/release.py": 230.0,
               "t/static.py": 130.0, "t/small.py": 20.0}  # fmt: skip
    cpu = {"t/deploy.py": 260.0, "t/life.py": 140.0, "t/static.py": 110.0, "t/act.py": 100.0,
           "t/release.py": 65.0, "t/small.py": 15.0}  # fmt: skip
    files = ["t/small.py", "t/new.py", "t/release.py", "t/static.py", "t/act.py", "t/life.py", "t/deploy.py"]
    assert timing.file_order(files, seconds, cpu, 4) == [
        "t/deploy.py", "t/life.py", "t/static.py", "t/act.py", "t/release.py", "t/small.py", "t/new.py"
    ]  # fmt: skip
    assert timing.file_order(files, seconds, cpu, 1)[:3] == ["t/deploy.py", "t/life.py", "t/act.py"]
    assert timing.file_order(files, seconds, {}, 4)[:4] == [
        "t/deploy.py",
        "t/life.py",
        "t/act.py",
        "t/release.py",
    ]
    # The worker count comes from xdist, the same in every worker (xdist checks the collections match).
    for path, values in (("WEIGHTS", seconds), ("CPU_WEIGHTS", cpu)):
        (tmp_path / path).write_text(json.dumps(values))
        monkeypatch.setattr(timing, path, tmp_path / path)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    assert _scheduled("t/release.py::a", "t/static.py::a", "t/deploy.py::a", "t/static.py::b") == [
        "t/deploy.py::a",
        "t/static.py::a",
        "t/static.py::b",
        "t/release.py::a",
    ]


def test_a_missing_or_broken_schedule_keeps_the_collection_order(monkeypatch, tmp_path) -> None:
    broken = tmp_path / "durations.json"
    broken.write_text("{not json")
    for path in (broken, tmp_path / "absent.json"):
        monkeypatch.setattr(timing, "WEIGHTS", path)
        monkeypatch.setattr(timing, "CPU_WEIGHTS", path)
        assert _scheduled("tests/z.py::a", "tests/a.py::b") == ["tests/z.py::a", "tests/a.py::b"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/infra/test_x.py", "tests/infra"),
        ("services/orders/tests/test_api.py", "services/orders"),
        ("tests/test_manifests.py", "tests"),
    ],
)
def test_folders_of_the_report(path: str, expected: str) -> None:
    assert timing.folder(path) == expected


def test_report_sums_per_folder_and_compares_with_the_baseline() -> None:
    after = {
        "files": {"tests/infra/a.py": 100.0, "tests/infra/b.py": 50.0, "tests/docs/c.py": 5.0},
        "run": {"date": "d", "args": "-n 2", "workers": 2, "outcome": {"passed": 3}, "wall_seconds": 120},
    }
    before = {
        "files": {"tests/infra/a.py": 200.0, "tests/pipeline/gone.py": 400.0},
        "run": {"date": "d0", "command": "pytest -n 2", "wall_seconds": 1200, "note": "n"},
    }
    text = suite_report.render(after, before)
    assert "| tests/infra | 200 | 150 |" in text
    assert "| tests/pipeline | 400 | 0 |" in text
    assert "| **total** | 600 | 155 |" in text
    assert "| gone.py (removed) | 400 | gone |" in text
    assert "wall 2.0 min" in text
    assert "wall 20.0 min" in text


def test_each_phase_carries_the_cpu_of_the_worker_and_its_children(monkeypatch) -> None:
    """A child process's CPU (terraform, act, podman...) counts for the test that waited for it."""
    monkeypatch.setitem(timing._cpu_at, "last", timing.cpu_now())
    monkeypatch.setattr(timing, "_cpu", defaultdict(float))
    monkeypatch.setattr(timing, "_seconds", defaultdict(float))
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    report = SimpleNamespace(nodeid="tests/x/test_a.py::t", duration=2.0, user_properties=[])
    wrapper = timing.pytest_runtest_makereport(None, None)  # type: ignore[arg-type]
    next(wrapper)
    with pytest.raises(StopIteration):
        wrapper.send(SimpleNamespace(get_result=lambda: report))
    ((key, spent),) = report.user_properties
    assert key == timing.CPU_KEY
    assert spent >= 0.4
    timing.pytest_runtest_logreport(report)  # type: ignore[arg-type]
    assert timing._cpu["tests/x/test_a.py"] == spent
    assert timing._seconds["tests/x/test_a.py"] == 2.0


def test_benchmarks_get_the_per_folder_block_and_bench_keeps_it() -> None:
    after = {
        "files": {"tests/infra/a.py": 100.0, "tests/infra/b.py": 50.0, "tests/docs/c.py": 5.0},
        "cpu": {"tests/infra/a.py": 30.0, "tests/infra/b.py": 10.0, "tests/docs/c.py": 4.0},
        "run": {
            "date": "d",
            "args": "-n 2 --dist loadfile",
            "workers": 2,
            "outcome": {"passed": 3},
            "wall_seconds": 120,
            "load_average": [1.5, 3.25],
        },
    }
    block = suite_report.benchmarks_block(after)
    assert "| tests/infra | 2 | 150 | 40 |" in block
    assert "| tests/docs | 1 | 5 | 4 |" in block
    assert "| **total** | 3 | 155 | 44 |" in block
    assert "`pytest -n 2 --dist loadfile`" in block
    assert "load average 1.5 at the start, 3.25 at the end" in block
    doc = "# Benchmarks\n\nrows\n"
    written = with_suite_block(doc, block)
    assert written.startswith(doc)
    assert suite_block(written) == block
    newer = block.replace("| 150 |", "| 90 |")
    rewritten = with_suite_block(written, newer)
    assert suite_block(rewritten) == newer
    assert rewritten.count(SUITE_BEGIN) == 1
    # `make bench` renders a document without the block and carries the old one over.
    assert suite_block(with_suite_block("# Benchmarks\n\nnew rows\n", suite_block(rewritten))) == newer
    assert with_suite_block(doc, "") == doc


def _dry_make_test(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_WORKERS", "MAKEFLAGS")}
    dry = subprocess.run(
        ["make", "-n", "test", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dry.stdout


def test_make_test_runs_four_workers_whole_files_longest_first() -> None:
    """Two cores, four workers: the Terraform files mostly wait (design.md, "The test suite")."""
    dry = _dry_make_test("PYTEST_ARGS=tests/test_manifests.py")
    assert "pytest -n 4 --dist loadfile --no-loadscope-reorder tests/test_manifests.py" in dry


def test_make_test_builds_both_venvs_at_once_and_checkov_only_when_needed() -> None:
    """The venv and checkov's venv are built side by side (make -j2) before pytest starts."""
    whole = _dry_make_test()
    assert "-j2 venv checkov-venv" in whole
    assert whole.index("-j2 venv") < whole.index("pytest -n")
    services_only = _dry_make_test("PYTEST_ARGS=services/catalog")
    assert "-j2 venv" in services_only
    assert "checkov-venv" not in services_only


def test_suite_report_refuses_a_partial_run_and_changes_no_doc(monkeypatch, tmp_path) -> None:
    """A targeted pytest run after `make test` rewrites test-output/: it must not become the suite's time."""
    out = tmp_path / "out"
    out.mkdir()
    (out / timing.REPORT_NAME).write_text(json.dumps({"tests/x/test_a.py": 3.0}))
    (out / timing.CPU_NAME).write_text(json.dumps({"tests/x/test_a.py": 1.0}))
    run = {"date": "d", "args": "tests/x", "workers": 1, "outcome": {"passed": 1}, "wall_seconds": 3}
    (out / timing.RUN_NAME).write_text(json.dumps({**run, "full": False}))
    doc, bench = tmp_path / "suite-time.md", tmp_path / "benchmarks.md"
    doc.write_text("old\n")
    bench.write_text("# Benchmarks\n")
    monkeypatch.setattr(suite_report, "output_dir", lambda: out)
    monkeypatch.setattr(suite_report, "DOC", doc)
    monkeypatch.setattr(suite_report, "BENCHMARKS", bench)
    monkeypatch.setattr(suite_report, "BASELINE", tmp_path / "absent.json")
    monkeypatch.setattr(suite_report, "REPO_ROOT", tmp_path)
    with pytest.raises(suite_report.NotAFullRunError, match="not the whole suite"):
        suite_report.main()
    assert doc.read_text() == "old\n"
    assert bench.read_text() == "# Benchmarks\n"
    (out / timing.RUN_NAME).write_text(json.dumps({**run, "full": True}))
    assert suite_report.main() == "suite-time.md, benchmarks.md"
    assert "| tests/x | - | 3 |" in doc.read_text()
    assert "| tests/x | 1 | 3 | 1 |" in bench.read_text()


def test_the_schedule_takes_only_a_full_run_and_writes_both_files_or_none(monkeypatch, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    seconds, cpu = tmp_path / "durations.json", tmp_path / "cpu.json"
    for path in (seconds, cpu):
        path.write_text('{"tests/test_a.py": 1.0, "tests/gone.py": 5.0}')
    monkeypatch.setattr(timing, "output_dir", lambda: out)
    monkeypatch.setattr(timing, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(timing, "WEIGHTS", seconds)
    monkeypatch.setattr(timing, "CPU_WEIGHTS", cpu)
    (out / timing.REPORT_NAME).write_text('{"tests/test_a.py": 30.0}')
    (out / timing.RUN_NAME).write_text(json.dumps({"full": True, "args": "-n 4"}))
    with pytest.raises(timing.NotAFullRunError, match="no complete report"):  # no CPU report
        timing.refresh_schedule()
    (out / timing.CPU_NAME).write_text('{"tests/test_a.py": 12.0}')
    (out / timing.RUN_NAME).write_text(json.dumps({"full": False, "args": "tests/x"}))
    with pytest.raises(timing.NotAFullRunError, match="not the whole suite"):
        timing.refresh_schedule()
    assert (
        json.loads(seconds.read_text())
        == json.loads(cpu.read_text())
        == {"tests/test_a.py": 1.0, "tests/gone.py": 5.0}
    )
    (out / timing.RUN_NAME).write_text(json.dumps({"full": True, "args": "-n 4"}))
    timing.refresh_schedule()
    assert json.loads(seconds.read_text()) == {"tests/test_a.py": 30.0}
    assert json.loads(cpu.read_text()) == {"tests/test_a.py": 12.0}
    cpu.write_text('{"tests/test_a.py": null}')  # bad values: no schedule, not a crash
    assert timing._read(cpu) == {}


def test_a_run_is_full_only_without_paths_or_selection() -> None:
    source = pytest.Config.ArgsSource

    def config(args_source, keyword="", markexpr="", lf=False) -> SimpleNamespace:
        return SimpleNamespace(
            args_source=args_source, option=SimpleNamespace(keyword=keyword, markexpr=markexpr, lf=lf)
        )

    assert timing.is_full_run(config(source.TESTPATHS))  # type: ignore[arg-type]
    assert timing.is_full_run(config(source.INVOCATION_DIR))  # type: ignore[arg-type]
    assert not timing.is_full_run(config(source.ARGS))  # type: ignore[arg-type]
    assert not timing.is_full_run(config(source.TESTPATHS, keyword="lifecycle"))  # type: ignore[arg-type]
    assert not timing.is_full_run(config(source.TESTPATHS, markexpr="not slow"))  # type: ignore[arg-type]
    assert not timing.is_full_run(config(source.TESTPATHS, lf=True))  # type: ignore[arg-type]
