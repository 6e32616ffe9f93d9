"""Suite time: the files that compute start first, then the longest files; a per-folder durations
table at the end of every run.

Scheduling. `make test` runs ``pytest -n $(TEST_WORKERS) --dist loadfile
--no-loadscope-reorder`` (4 workers by default): xdist hands whole files to the workers in
collection order, the next file to whichever worker is nearly done. This plugin sorts the
collection: first the N files (N = the number of workers) that spent the most CPU seconds in the
last full run (tests/cpu-seconds.json), then the others by their measured seconds, longest first
(tests/durations.json; a file not listed yet goes last, in its usual order), so the short files
fill the gaps at the end and the workers finish close together. Why the CPU first: on 2 cores
the four longest files, started together, are the four whose Terraform applies wait in the AWS
provider's polls at the same time; on 2026-12-06 that left the CPUs about a third idle for two
minutes (design.md, "Stop of 2026-12-06 12:15-"). The order INSIDE a file never changes (stable sort).

Report. Every run (with or without xdist) sums each file's setup, call and teardown durations
(as --durations does), prints them per folder with the run's wall time, and writes them to
test-output/durations-by-file.json. Beside each file's seconds it also sums the CPU seconds spent
on them (user + system of the worker process and of the child processes it waited for:
terraform, the provider, act, podman, a module's emulator once stopped), written to
test-output/cpu-by-file.json: a folder whose CPU is far below its seconds is waiting (provider
polls, sleeps), not computing. `make test-schedule` copies both to tests/durations.json and
tests/cpu-seconds.json after a full run, so the schedule follows the suite as it changes.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.tools import REPO_ROOT, output_dir

WEIGHTS = REPO_ROOT / "tests" / "durations.json"
CPU_WEIGHTS = REPO_ROOT / "tests" / "cpu-seconds.json"
REPORT_NAME = "durations-by-file.json"
RUN_NAME = "durations-run.json"
CPU_NAME = "cpu-by-file.json"
CPU_KEY = "cpu_seconds"
OUTCOMES = ("passed", "failed", "error", "skipped")

_seconds: dict[str, float] = defaultdict(float)
_cpu: dict[str, float] = defaultdict(float)
_cpu_at: dict[str, float] = {}
_started = time.monotonic()
_load_at_start = os.getloadavg()[0]


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def folder(path: str) -> str:
    """The folder a file is reported under: tests/<area> or services/<name>, else its parent."""
    parts = Path(path).parts
    if len(parts) > 2 and parts[0] in ("tests", "services"):
        return "/".join(parts[:2])
    return str(Path(path).parent)


def _read(path: Path) -> dict[str, float]:
    """A schedule file's numbers; {} when it is absent or not a JSON object of numbers."""
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def workers() -> int:
    """How many workers share the files (xdist tells each worker; 1 without xdist)."""
    try:
        return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


def file_order(files: list[str], seconds: dict[str, float], cpu: dict[str, float], n: int) -> list[str]:
    """The N files with the most CPU seconds (known ones, most first), then the rest by seconds,
    longest first; unknown files last, in their given order."""
    first = sorted((f for f in files if cpu.get(f, 0.0) > 0), key=lambda f: -cpu[f])[:n]
    rest = sorted((f for f in files if f not in first), key=lambda f: -seconds.get(f, 0.0))
    return first + rest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    files = list(dict.fromkeys(_file(item.nodeid) for item in items))
    rank = {f: i for i, f in enumerate(file_order(files, _read(WEIGHTS), _read(CPU_WEIGHTS), workers()))}
    items.sort(key=lambda item: rank[_file(item.nodeid)])


def cpu_now() -> float:
    """CPU seconds (user + system) of this process and of the children it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Each phase's report carries the CPU seconds spent since the previous phase ended (in
    user_properties, which xdist sends to the controller with the report)."""
    outcome = yield
    now = cpu_now()
    spent = now - _cpu_at.get("last", now)
    _cpu_at["last"] = now
    outcome.get_result().user_properties.append((CPU_KEY, round(max(spent, 0.0), 3)))


def pytest_runtestloop(session: pytest.Session) -> None:
    _cpu_at["last"] = cpu_now()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[_file(report.nodeid)] += report.duration
    _cpu[_file(report.nodeid)] += sum(v for k, v in report.user_properties if k == CPU_KEY)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def table(per_file: dict[str, float], wall: float, cpu: dict[str, float] | None = None) -> list[str]:
    per_folder: dict[str, float] = defaultdict(float)
    cpu_folder: dict[str, float] = defaultdict(float)
    for path, seconds in per_file.items():
        per_folder[folder(path)] += seconds
        cpu_folder[folder(path)] += (cpu or {}).get(path, 0.0)
    lines = [f"{'folder':<28}{'seconds':>9}{'cpu s':>9}  (sum of test durations; wall time {wall:.0f} s)"]
    lines += [
        f"{f:<28}{s:>9.1f}{cpu_folder[f]:>9.1f}" for f, s in sorted(per_folder.items(), key=lambda kv: -kv[1])
    ]
    lines.append(f"{'total':<28}{sum(per_folder.values()):>9.1f}{sum(cpu_folder.values()):>9.1f}")
    slowest = sorted(per_file.items(), key=lambda kv: -kv[1])[:8]
    lines.append("slowest files: " + ", ".join(f"{Path(p).name} {s:.0f}s" for p, s in slowest))
    return lines


def is_full_run(config: pytest.Config) -> bool:
    """The whole suite: no test paths on the command line, no -k/-m selection, no --lf/--ff subset."""
    option = config.option
    return (
        config.args_source != pytest.Config.ArgsSource.ARGS
        and not getattr(option, "keyword", "")
        and not getattr(option, "markexpr", "")
        and not getattr(option, "lf", False)
    )


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if _is_worker(config) or not _seconds:
        return
    wall = time.monotonic() - _started
    terminalreporter.section("durations per folder")
    for line in table(_seconds, wall, _cpu):
        terminalreporter.write_line(line)
    report = {k: round(v, 1) for k, v in sorted(_seconds.items(), key=lambda kv: -kv[1])}
    (output_dir() / REPORT_NAME).write_text(json.dumps(report, indent=1) + "\n")
    cpu = {k: round(_cpu.get(k, 0.0), 1) for k in report}
    (output_dir() / CPU_NAME).write_text(json.dumps(cpu, indent=1) + "\n")
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "wall_seconds": round(wall),
        "workers": getattr(config.option, "numprocesses", None) or 1,
        "args": " ".join(config.invocation_params.args),
        "full": is_full_run(config),
        "outcome": {k: len(v) for k, v in terminalreporter.stats.items() if k in OUTCOMES},
        # 1-minute load average when the run started and ended (the machine may be shared).
        "load_average": [round(_load_at_start, 2), round(os.getloadavg()[0], 2)],
    }
    (output_dir() / RUN_NAME).write_text(json.dumps(run, indent=1) + "\n")


def _merge(path: Path, measured: dict[str, float]) -> int:
    merged = {**_read(path), **measured}
    merged = {k: v for k, v in merged.items() if (REPO_ROOT / k).is_file()}
    ordered = dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))
    path.write_text(json.dumps(ordered, indent=1) + "\n")
    return len(ordered)


class NotAFullRunError(Exception):
    """The last run's reports are missing, or describe only part of the suite (every pytest run
    rewrites them: a targeted run after `make test` must not become the suite's time)."""


def full_run_reports(out: Path) -> tuple[dict[str, Any], dict[str, float], dict[str, float]]:
    """The last run's summary, per-file seconds and per-file CPU seconds (in ``out``, test-output/),
    or NotAFullRunError (one line says why) unless that run was the whole suite."""
    try:
        run, seconds, cpu = (
            json.loads((out / name).read_text()) for name in (RUN_NAME, REPORT_NAME, CPU_NAME)
        )
    except (OSError, ValueError) as exc:
        raise NotAFullRunError(
            f"no complete report of a run in {out} ({exc.__class__.__name__}): run `make test`"
        ) from exc
    if not run.get("full"):
        raise NotAFullRunError(
            f"the last run was not the whole suite (`pytest {run.get('args')}`): run `make test` first"
        )
    return run, seconds, cpu


def refresh_schedule() -> str:
    """Merge the last full run's per-file seconds and CPU seconds into tests/durations.json and
    tests/cpu-seconds.json (files gone are dropped); nothing is written unless it was one."""
    _, measured, cpu = full_run_reports(output_dir())
    listed = _merge(WEIGHTS, measured)
    _merge(CPU_WEIGHTS, cpu)
    return f"{WEIGHTS.relative_to(REPO_ROOT)}: {len(measured)} file(s) measured, {listed} listed"


if __name__ == "__main__":
    try:
        print(refresh_schedule())
    except NotAFullRunError as exc:
        print(f"test-schedule: {exc}; schedule left unchanged", file=sys.stderr)
        raise SystemExit(2) from None
