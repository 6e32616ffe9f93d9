"""The bench's instructions-per-request figure (scripts/bench/instructions.py), without valgrind.

callgrind's output is parsed, the per-request arithmetic done and the runs driven exactly as with
the real tool: a stand-in ``valgrind`` on PATH writes what callgrind writes (a total that grows by
a known amount per request), so the whole path is checked on any machine. The figure is printed,
never asserted on the real code.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from bench import inprocess, instructions
from bench import report as bench_report

FAKE_VALGRIND = """#!{python}
import sys
args = sys.argv[1:]
out = next(a.split("=", 1)[1] for a in args if a.startswith("--callgrind-out-file="))
calls = int(args[args.index("--calls") + 1])
target = args[-1]
per_call = 1234 if target.startswith("bare=") else 5678
with open(out, "w") as f:
    f.write("events: Ir\\nfn=main\\n0 7\\nsummary: %d\\n" % (40_000_000 + per_call * calls))
"""


def test_the_total_is_read_from_a_callgrind_file() -> None:
    assert instructions.total_instructions("events: Ir\nfn=x\n0 3\nsummary: 123456\n") == 123456
    assert instructions.total_instructions("events: Ir\ntotals: 99\n") == 99  # older callgrind
    with pytest.raises(instructions.InstructionsError, match="no summary"):
        instructions.total_instructions("events: Ir\nfn=x\n0 3\n")


def test_per_request_is_the_difference_over_the_calls() -> None:
    assert instructions.per_request(1_300_000, 300_000, 1000) == 1000
    assert instructions.per_request(1_000_600, 1_000_000, 1000) == 1  # rounded
    for bad in ((100, 200, 10), (200, 100, 0)):
        with pytest.raises(instructions.InstructionsError):
            instructions.per_request(*bad)


def test_runs_are_driven_and_differenced_like_callgrind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "valgrind"
    fake.write_text(FAKE_VALGRIND.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert instructions.missing_reason() is None
    counts = instructions.measure(
        ["python", "driver.py"], {"bare": "m:app=/h", "logged": "n:app=/h"}, dict(os.environ), calls=500
    )
    assert counts == {"bare": 1234, "logged": 5678}
    assert instructions.summary(counts, "bare", "logged") == (
        "bare 1.2k, logged 5.7k; our middleware with its access line adds 4.4k"
    )


def test_without_valgrind_the_reason_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = instructions.missing_reason()
    assert reason is not None
    assert "valgrind is not on PATH" in reason


def test_the_driver_refuses_calls_with_more_than_one_target() -> None:
    with pytest.raises(SystemExit) as exc:
        inprocess.main(["--calls", "10", "a=m:app=/x", "b=m:app=/x"])
    assert exc.value.code == 2


def test_the_report_shows_the_figure_or_why_not() -> None:
    line = bench_report.instructions_line("bare 301.0k, logged 325.0k; our middleware adds 24.0k")
    assert "callgrind" in line
    assert "adds 24.0k" in line
    assert "not measured by this run" in bench_report.instructions_line("")
