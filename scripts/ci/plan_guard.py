"""Seal a saved Terraform plan after `plan`, and refuse to apply anything but that exact plan.

`seal` runs right after the plan: it records the plan file's SHA-256, the SHA-256 of its
human-readable rendering (`terraform show -no-color`), the environment and the commit, and writes
the renderings beside it (plan.txt for humans and artifacts, plan.json for scripts/plan_report.py;
plan.json holds sensitive values in clear, so it never goes into an artifact).

`verify` runs right before the apply. The pipeline never moves the binary plan between jobs (its
embedded state holds secret values in clear): the apply job plans again with the same inputs and
`verify --replanned` requires that new plan to be for this environment and commit and to render to
exactly the text that was reviewed (the seal travels as a job output: hashes only). Without
--replanned the plan file itself must also hash to the sealed value. Terraform then refuses a
stale plan (state changed since the plan) at apply time.

    plan_guard.py seal   --chdir infra/stack --plan PLAN --env dev --commit SHA --out-dir DIR
                         [--github-output FILE]   (appends seal=<one-line JSON>)
                         [--plan-json FILE]       (the plan's show -json, made by make plan: moved;
                                                   FILE.plan-sha256 must hold the plan's SHA-256)
    plan_guard.py verify --chdir infra/stack --plan PLAN --env dev --commit SHA --seal DIR/seal.json
                         [--replanned]

Exit status: 0 ok; 1 the plan does not match its seal (one line says why); 2 bad input.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

SEAL_NAME = "seal.json"


class Seal(BaseModel):
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    commit: str = Field(pattern=r"^[0-9a-f]{7,64}$|^local$")
    plan_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    show_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class MismatchError(Exception):
    """The plan is not the one that was sealed."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def terraform_show(chdir: Path, plan: Path, *flags: str) -> str:
    result = subprocess.run(
        ["terraform", f"-chdir={chdir}", "show", *flags, str(plan.resolve())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise MismatchError(f"terraform show cannot read {plan}: {result.stderr.strip().splitlines()[-1:]}")
    return result.stdout


def seal(
    chdir: Path, plan: Path, env: str, commit: str, out_dir: Path, plan_json: Path | None = None
) -> Seal:
    """Seal ``plan`` and write its renderings into ``out_dir``. ``plan_json``: the plan's
    ``terraform show -json`` already rendered by ``make plan`` (for its quota check), moved into
    ``out_dir`` instead of asking terraform again (every show loads the provider's schemas)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = terraform_show(chdir, plan, "-no-color")
    (out_dir / "plan.txt").write_text(text)
    if plan_json is None:
        (out_dir / "plan.json").write_text(terraform_show(chdir, plan, "-json"))
    else:
        shutil.move(plan_json, out_dir / "plan.json")  # also across file systems
        plan_json.with_name(plan_json.name + ".plan-sha256").unlink(missing_ok=True)
    record = Seal(
        environment=env,
        commit=commit,
        plan_sha256=sha256_file(plan),
        show_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )
    (out_dir / SEAL_NAME).write_text(record.model_dump_json(indent=2) + "\n")
    return record


def verify(chdir: Path, plan: Path, env: str, commit: str, seal_file: Path, replanned: bool = False) -> Seal:
    try:
        record = Seal.model_validate_json(seal_file.read_text())
    except (OSError, ValidationError) as exc:
        raise MismatchError(f"{seal_file}: no valid plan seal ({exc.__class__.__name__})") from exc
    if record.environment != env:
        raise MismatchError(f"the plan was made for {record.environment}, not {env}")
    if record.commit != commit:
        raise MismatchError(f"the plan was made at commit {record.commit}, not {commit}")
    if not plan.is_file():
        raise MismatchError(f"{plan}: plan file missing")
    actual = sha256_file(plan)
    if not replanned and actual != record.plan_sha256:
        sealed = record.plan_sha256[:12]
        raise MismatchError(f"{plan}: checksum {actual[:12]} does not match the sealed {sealed}")
    shown = hashlib.sha256(terraform_show(chdir, plan, "-no-color").encode()).hexdigest()
    if shown != record.show_sha256:
        what = "the new plan differs from the reviewed one" if replanned else "config/providers changed"
        raise MismatchError(f"terraform renders the plan differently than at plan time ({what})")
    return record


def _not_the_plans_json(plan: Path, plan_json: Path | None) -> str | None:
    """Why ``plan_json`` cannot be ``plan``'s rendering, or None. make plan writes, beside the
    JSON, the SHA-256 of the plan it rendered (``<json>.plan-sha256``): any other plan is refused,
    whatever the files' times."""
    if plan_json is None:
        return None
    recorded = plan_json.with_name(plan_json.name + ".plan-sha256")
    for path in (plan, plan_json, recorded):
        if not path.is_file():
            return f"{path}: missing (run make plan again)"
    if recorded.read_text().strip() != sha256_file(plan):
        return f"{plan_json} renders another plan than {plan} (run make plan again)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("seal", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--chdir", type=Path, required=True, help="the Terraform root module (initialised)")
        p.add_argument("--plan", type=Path, required=True)
        p.add_argument("--env", required=True)
        p.add_argument("--commit", required=True)
        if name == "seal":
            p.add_argument("--out-dir", type=Path, required=True)
            p.add_argument("--github-output", type=Path, help="append seal=<one-line JSON> to this file")
            p.add_argument(
                "--plan-json", type=Path, help="the plan's `terraform show -json`, made with it (moved)"
            )
        else:
            p.add_argument("--seal", type=Path, required=True)
            p.add_argument(
                "--replanned", action="store_true", help="a fresh plan: compare its rendering only"
            )
    args = parser.parse_args(argv)
    try:
        if args.cmd == "seal":
            problem = _not_the_plans_json(args.plan, args.plan_json)
            if problem:
                print(f"plan_guard: invalid argument: {problem}", file=sys.stderr)
                return 2
            record = seal(args.chdir, args.plan, args.env, args.commit, args.out_dir, args.plan_json)
            if args.github_output:
                with args.github_output.open("a") as fh:
                    fh.write(f"seal={record.model_dump_json()}\n")
            print(f"sealed plan for {record.environment} at {record.commit}: sha256 {record.plan_sha256}")
        else:
            record = verify(args.chdir, args.plan, args.env, args.commit, args.seal, args.replanned)
            print(f"plan matches its seal: {record.environment} at {record.commit}, {record.plan_sha256}")
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"plan_guard: invalid argument: {first['loc'][0]} {first['msg']}", file=sys.stderr)
        return 2
    except MismatchError as exc:
        print(f"plan_guard: REFUSING TO APPLY: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file that cannot be read, written or moved
        print(f"plan_guard: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
