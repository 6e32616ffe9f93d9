"""What Python packages a workflow job needs: the commands its steps run and what they import.

A job asks `.github/actions/setup` for a toolchain: ``full`` (requirements/dev.txt) or ``deploy``
(requirements/deploy.txt). Its commands are the ``run:`` texts of its steps and of the local
composite actions it uses; each ``make TARGET`` in them is expanded with ``make -n`` (the recipes
make would run, prerequisites included). In those commands, ``.venv/bin/python SCRIPT`` runs a
script, ``.venv/bin/python -m MODULE`` a module and ``.venv/bin/TOOL`` a console script; a target
that installs a lock (``venv``, ``venv-deploy``) shows it as ``--require-hashes -r <lock>``.

A script's imports are read from its source (every ``import``, at any depth, except under
``if TYPE_CHECKING:``), following our own modules and the scripts it starts by file name, so an
import inside a function counts as much as one at the top. Third-party top-level names are
mapped to distributions with the metadata of the venv running the tests (the full toolchain).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from tests.pipeline.workflows import GITHUB_DIR, load, workflow_files
from tests.support.tools import MAKE_CHANNELS, REPO_ROOT

SETUP = "./.github/actions/setup"
LOCKS = {"full": REPO_ROOT / "requirements" / "dev.txt", "deploy": REPO_ROOT / "requirements" / "deploy.txt"}
DEPLOY_IN = REPO_ROOT / "requirements" / "deploy.in"
# Where our scripts find each other: their own folder, and the folders they put on sys.path.
LOCAL_ROOTS = (REPO_ROOT / "scripts", REPO_ROOT / "scripts" / "ci", REPO_ROOT)
# A venv made by `python3 -m venv` has pip and the standard library: the venv recipe's
# `python -m pip install` needs no lock. With pip it installs the installer, uv, from its own
# hashed lock (INSTALLER_LOCK), into every venv it makes, then runs it (`python -m uv pip
# install`) to install the venv's lock.
VENV_MODULES = {"pip", "uv"}
INSTALLER_LOCK = "uv.txt"
_VENV_BIN = re.compile(r"(?<![\w.-])\.venv/bin/(?P<tool>[\w.-]+)$")
_MAKE = re.compile(r"(?:^|[\s;&|(])make\s+(?P<args>[^\n;&|)]*)")
_SEPARATORS = re.compile(r"\\\n")
_INSTALLS = re.compile(r"--require-hashes -r requirements/(\S+\.txt)")


def normalize(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """normalized name -> (version, hashes) of every package a hashed lock pins."""
    pins = {}
    for block in re.split(r"\n(?=\S)", path.read_text()):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if m:
            pins[normalize(m.group(1))] = (m.group(2), frozenset(re.findall(r"sha256:([0-9a-f]{64})", block)))
    return pins


def direct_requirements(path: Path = DEPLOY_IN) -> set[str]:
    """Normalized names a requirements .in file asks for (options and comments left out)."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalize(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


@dataclass
class Job:
    """A job that runs the setup action: which toolchain it asks for, what it runs."""

    where: str
    toolchain: str
    runs: list[str] = field(default_factory=list)


def _local_action_runs(ref: str) -> list[str]:
    action = load(GITHUB_DIR.parent / ref / "action.yml")
    return [step["run"] for step in action["runs"].get("steps", []) if "run" in step]


def setup_jobs() -> list[Job]:
    """Every job, in every workflow, that uses the setup action."""
    found = []
    for path in workflow_files():
        for job_id, job in (load(path).get("jobs") or {}).items():
            steps = job.get("steps") or []
            setup = [s for s in steps if s.get("uses") == SETUP]
            if not setup:
                continue
            item = Job(f"{path.name}:{job_id}", str((setup[0].get("with") or {}).get("toolchain", "full")))
            for step in steps:
                if "run" in step:
                    item.runs.append(step["run"])
                elif str(step.get("uses", "")).startswith("./.github/actions/") and step["uses"] != SETUP:
                    item.runs.extend(_local_action_runs(step["uses"]))
            found.append(item)
    return found


def make_invocations(run: str) -> list[list[str]]:
    """The argument lists of every `make` a run text calls (quotes dropped)."""
    text = _SEPARATORS.sub(" ", run)
    return [[a.strip("'\"") for a in m.group("args").split()] for m in _MAKE.finditer(text)]


@cache
def _make_dry_run(args: tuple[str, ...]) -> str:
    """What `make` would run for these arguments (ENV=dev; shell variables made placeholders)."""
    target, assigns = None, {"ENV": "dev"}
    for arg in args:
        name, eq, value = arg.partition("=")
        if not eq:
            if "$" in arg:
                raise ValueError(f"make target '{arg}' is only known at run time")
            target = target or arg
        elif name != "ENV":
            assigns[name] = "placeholder" if "$" in value else value
    env = {k: v for k, v in os.environ.items() if k not in MAKE_CHANNELS}
    argv = [
        "make",
        "-n",
        "--no-print-directory",
        *([target] if target else []),
        *(f"{k}={v}" for k, v in assigns.items()),
    ]
    result = subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise ValueError(f"make -n {' '.join(args)} failed: {result.stderr.strip()[-300:]}")
    return result.stdout


@dataclass
class Commands:
    """The Python a job runs: scripts (repo-relative), modules (-m) and console scripts."""

    scripts: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    tools: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    locks: set[str] = field(default_factory=set)  # the locks its make targets install (venv, venv-deploy)


def _venv_calls(text: str, into: Commands) -> None:
    tokens = [t.strip("'\"") for t in _SEPARATORS.sub(" ", text).split()]
    for i, token in enumerate(tokens):
        m = _VENV_BIN.search(token)
        if not m:
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if i and tokens[i - 1] in ("-x", "--python"):
            continue  # `test -x .venv/bin/python`, `... pip install --python .venv/bin/python`: not a run
        if m.group("tool") not in ("python", "python3"):
            into.tools.add(m.group("tool"))
        elif following == "-m" and i + 2 < len(tokens):
            into.modules.add(tokens[i + 2].split(".")[0])
        elif following.endswith(".py"):
            into.scripts.add(following.removeprefix(f"{REPO_ROOT}/"))
        else:
            into.unknown.add(f"python {following}".strip())


def job_commands(job: Job) -> Commands:
    """Everything Python the job's steps run, with every make target expanded."""
    found = Commands()
    for run in job.runs:
        _venv_calls(run, found)
        for args in make_invocations(run):
            expanded = _make_dry_run(tuple(args))
            _venv_calls(expanded, found)
            found.locks.update(_INSTALLS.findall(expanded))
    return found


def _resolve_local(name: str, here: Path) -> Path | None:
    parts = name.split(".")
    for root in (here, *LOCAL_ROOTS):
        for size in range(len(parts), 0, -1):
            base = root.joinpath(*parts[:size])
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
    return None


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(ast.walk(child))
    return skipped


def _imports(path: Path) -> tuple[set[str], set[Path]]:
    """(absolute module names imported, our files it imports or starts) of one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_only(tree)
    names: set[str] = set()
    files: set[Path] = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            for mod in [node.module or "", *(f"{node.module or ''}.{a.name}".strip(".") for a in node.names)]:
                found = _resolve_local(mod, base) if mod else base / "__init__.py"
                if found and found.is_file():
                    files.add(found)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".py"):
            for root in (path.parent, *LOCAL_ROOTS):
                if " " not in node.value and (root / node.value).is_file():
                    files.add(root / node.value)  # a script this one starts by file name
                    break
    return names, files


@dataclass
class Needs:
    """Third-party top-level modules a set of scripts imports: name -> files importing it."""

    modules: dict[str, set[str]] = field(default_factory=dict)
    missing_files: set[str] = field(default_factory=set)


@cache
def script_needs(scripts: frozenset[str]) -> Needs:
    """Follow our own modules from these scripts; collect every third-party import."""
    needs = Needs()
    todo = []
    for script in sorted(scripts):
        path = REPO_ROOT / script
        if path.is_file():
            todo.append(path)
        else:
            needs.missing_files.add(script)
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        names, files = _imports(path)
        todo.extend(files)
        for name in names:
            top = name.split(".")[0]
            if not top or top in sys.stdlib_module_names or top == "__future__":
                continue
            local = _resolve_local(name, path.parent)
            if local is not None:
                todo.append(local)
            else:
                needs.modules.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return needs


@cache
def _module_distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


@cache
def _console_scripts() -> dict[str, str]:
    """Executable in the venv's bin -> normalized distribution (entry points and shipped binaries)."""
    found = {}
    for dist in metadata.distributions():
        for f in dist.files or []:
            if f.parts[0] == ".." and f.parent.name == "bin":
                found[f.name] = normalize(dist.name)
    return found


def distributions_needed(job: Job) -> tuple[set[str], list[str]]:
    """(normalized distributions the job's commands need, reasons nothing in a lock can satisfy)."""
    problems: list[str] = []
    try:
        commands = job_commands(job)
    except ValueError as exc:
        return set(), [str(exc)]
    needs = script_needs(frozenset(commands.scripts))
    problems += [f"runs {s}, which does not exist" for s in sorted(needs.missing_files)]
    problems += [f"runs `{u}`: what it imports cannot be told" for u in sorted(commands.unknown)]
    problems += [
        f"a make target installs requirements/{lock}" for lock in sorted(commands.locks - {INSTALLER_LOCK})
    ]
    dists = set()
    for top, users in sorted(needs.modules.items()):
        owners = _module_distributions().get(top)
        if not owners:
            problems.append(
                f"imports {top} ({', '.join(sorted(users))}), which no installed distribution provides"
            )
        dists.update(normalize(d) for d in owners or [])
    for module in sorted(commands.modules - VENV_MODULES):
        dists.update(
            normalize(d) for d in _module_distributions().get(module, [f"<unknown module {module}>"])
        )
    scripts = _console_scripts()
    for tool in sorted(commands.tools):
        dists.add(scripts.get(tool) or f"<unknown console script {tool}>")
    return dists, problems


def unmet(job: Job, lock: Path) -> list[str]:
    """Why this job's commands would fail in a venv holding only ``lock``'s packages (empty: none)."""
    dists, problems = distributions_needed(job)
    problems = [p for p in problems if p != f"a make target installs requirements/{lock.name}"]
    pinned = lock_pins(lock)
    return problems + [f"needs {d}, not in {lock.name}" for d in sorted(dists - set(pinned))]


def lock_venv(lock: Path, dest: Path, without: frozenset[str] = frozenset()) -> Path:
    """A venv holding exactly ``lock``'s distributions (minus ``without``): the files the running
    (full) venv installed for them, linked. Refuses a pin the running venv holds in another version.
    Returns its python."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(dest)], check=True, timeout=120)
    site = next(dest.glob("lib/python*/site-packages"))
    for name, (version, _) in lock_pins(lock).items():
        if name in without:
            continue
        dist = metadata.distribution(name)
        assert dist.version == version, (
            f"{name}: the running venv has {dist.version}, {lock.name} pins {version}"
        )
        tops = {Path(f).parts[0] for f in dist.files or []} - {"..", "__pycache__"}
        for top in tops:
            (site / top).symlink_to(dist.locate_file(top))
    return dest / "bin" / "python"
