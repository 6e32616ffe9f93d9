"""Which images passed the smoke test in an environment: the rollback target and the release gate.

Records live in SSM Parameter Store of the environment's account (cheap, versioned, IAM-scoped):

    /<project>/<env>/deploy/last-good        images of the last deploy whose smoke test passed
    /<project>/<env>/deploy/passed/<sha>     images of commit <sha>, written when its smoke passed

The content is an images file (scripts/ci/ci_images.py): ``{"tag": <sha>, "images": {...}}``.

    deploy_record.py record    --env dev --images images.json      after a passing smoke test
    deploy_record.py last-good --env dev --out images.json         what to roll back to
    deploy_record.py passed    --env dev --sha SHA --out images.json   the release gate

Exit status: 0 ok; 1 nothing recorded (one line says what is missing); 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import manifests
from ci_images import ImageSet, load_set

ENVIRONMENTS = ("dev", "prod", "local")
SHA = r"^[0-9a-f]{7,64}$"


class NotRecordedError(Exception):
    """Nothing is recorded where the caller expected a record."""


def parameter(env: str, *parts: str) -> str:
    return "/".join(["", manifests.project_name(), env, "deploy", *parts])


def _ssm():
    return boto3.client("ssm")


def _put(name: str, value: str) -> None:
    _ssm().put_parameter(Name=name, Value=value, Type="String", Overwrite=True, Tier="Intelligent-Tiering")


def _get(name: str) -> str | None:
    try:
        return _ssm().get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise


def record(env: str, images: ImageSet) -> None:
    """Mark ``images`` as passed in ``env``; the per-commit record first, then last-good."""
    body = images.model_dump_json()
    _put(parameter(env, "passed", images.tag), body)
    _put(parameter(env, "last-good"), body)


def read(env: str, sha: str | None) -> ImageSet:
    name = parameter(env, "passed", sha) if sha else parameter(env, "last-good")
    value = _get(name)
    if value is None:
        what = f"commit {sha} never passed the smoke test in {env}"
        if not sha:
            what = f"no good deploy recorded in {env}"
        raise NotRecordedError(f"{what} ({name} not found)")
    return ImageSet.model_validate_json(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="record images whose smoke test passed")
    r.add_argument("--env", required=True, choices=ENVIRONMENTS)
    r.add_argument("--images", type=Path, required=True)
    lg = sub.add_parser("last-good", help="images of the last good deploy")
    lg.add_argument("--env", required=True, choices=ENVIRONMENTS)
    lg.add_argument("--out", type=Path, required=True)
    lg.add_argument("--github-output", type=Path, help="also append images=<json> and tag=<sha> to this file")
    p = sub.add_parser("passed", help="images of a commit that passed the smoke test")
    p.add_argument("--env", required=True, choices=ENVIRONMENTS)
    p.add_argument("--sha", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--github-output", type=Path, help="also append images=<json> and tag=<sha> to this file")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "record":
            images = load_set(args.images)
            record(args.env, images)
            print(f"recorded {images.tag} as good in {args.env}: {parameter(args.env, 'last-good')}")
            return 0
        sha = getattr(args, "sha", None)
        if sha is not None and not re.match(SHA, sha):
            raise ValueError(f"invalid commit SHA {sha!r}")
        images = read(args.env, sha)
        args.out.write_text(images.model_dump_json(indent=2) + "\n")
        if args.github_output:
            with args.github_output.open("a") as fh:
                fh.write(f"images={images.model_dump_json()}\n")
                fh.write(f"tag={images.tag}\n")
        print(f"{args.env}: commit {images.tag} passed the smoke test with {len(images.images)} image(s)")
        return 0
    except NotRecordedError as exc:
        print(f"deploy_record: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"deploy_record: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"deploy_record: AWS call failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
