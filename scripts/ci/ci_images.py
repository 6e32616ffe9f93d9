"""Pipeline side of the container images: ECR look-ups, digests, promotion by digest.

Images are built once per commit and tagged with the commit SHA in ECR (immutable tags):
``<registry>/<project>/<service>:<sha>``. Every later stage deploys by digest, never by tag.
The same commands run on a laptop with AWS credentials (or against the emulator).

    ci_images.py prepare --service S --registry R --tag SHA [--github-output F]
        exists=true|false, repository, image, digest (when it exists), build-args (from the manifest)
    ci_images.py record  --service S --repository REPO --tag SHA [--digest D] --out FILE
        the digest ECR holds for the tag (must equal --digest when given)
    ci_images.py collect --dir DIR --out images.json [--github-output F]
        one file for all services: {"tag": SHA, "images": {service: {repository, digest}}}
    ci_images.py verify  --images images.json [--registry R]
        every digest exists in ECR (in R's repositories when given)
    ci_images.py promote --images images.json --registry R --out promoted.json
        copy each image BY DIGEST into R (same digest; a no-op when already there)
    ci_images.py summary --images images.json [--title T]   Markdown table (job summary, release notes)
    ci_images.py show    --images images.json [--github-output F]   images=<compact JSON>
    ci_images.py registries --images images.json    ECR accounts involved in a promotion
    ci_images.py tfvars  --images images.json [--fallback-tag T] [--own-registry]
        TF_VAR_image_tag, TF_VAR_image_digests, TF_VAR_image_registry
    ci_images.py keep    --images images.json --env ENV
        tag each image (same digest) ENV-<tag> before ENV runs it: the ECR lifecycle policy never
        expires the last images deployed to an environment (infra/bootstrap, aws_ecr_lifecycle_policy)

Exit status: 0 ok, 1 a check failed (one line on stderr), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import images as image_builds
import manifests

DIGEST = r"^sha256:[0-9a-f]{64}$"
TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


class CheckFailedError(Exception):
    """A pipeline check failed: one line, exit 1."""


class Image(BaseModel):
    repository: str = Field(pattern=r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$")
    digest: str = Field(pattern=DIGEST)

    @property
    def ref(self) -> str:
        return f"{self.repository}@{self.digest}"


class ImageRecord(Image):
    service: str
    tag: str = Field(pattern=TAG)


class ImageSet(BaseModel):
    tag: str = Field(pattern=TAG)
    images: dict[str, Image]

    def digests(self) -> dict[str, str]:
        return {s: i.digest for s, i in sorted(self.images.items())}


def repository_name(service: str) -> str:
    """ECR repository name of a service (the same rule as infra/stack locals.images)."""
    return f"{manifests.project_name()}/{service}"


def split_repository(repository: str) -> tuple[str, str]:
    registry, _, name = repository.partition("/")
    return registry, name


def _ecr():
    return boto3.client("ecr")


def digest_of(repo_name: str, *, tag: str | None = None, digest: str | None = None) -> str | None:
    """The digest ECR holds for a tag (or confirms a digest); None when absent."""
    image_id = {"imageTag": tag} if tag else {"imageDigest": digest}
    try:
        found = _ecr().describe_images(repositoryName=repo_name, imageIds=[image_id])["imageDetails"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
            if code == "RepositoryNotFoundException":
                raise CheckFailedError(
                    f"ECR repository {repo_name} does not exist (terraform creates it)"
                ) from exc
            return None
        raise
    return found[0]["imageDigest"] if found else None


def _write_outputs(path: Path | None, values: dict[str, str]) -> None:
    if path is None:
        for k, v in values.items():
            print(f"{k}={v}")
        return
    with path.open("a") as fh:
        for k, v in values.items():
            if "\n" in v:
                delim = f"EOF_{os.urandom(8).hex()}"
                fh.write(f"{k}<<{delim}\n{v}\n{delim}\n")
            else:
                fh.write(f"{k}={v}\n")


def load_set(path: Path) -> ImageSet:
    try:
        return ImageSet.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise ValueError(f"{path}: not an images file ({exc.__class__.__name__})") from exc


def cmd_prepare(args: argparse.Namespace) -> int:
    manifest = manifests.get(args.service)
    repo_name = repository_name(manifest.name)
    repository = f"{args.registry}/{repo_name}"
    existing = digest_of(repo_name, tag=args.tag)
    build_args = image_builds.build_args(manifest, image_builds.OFFICIAL_BASE, args.tag)
    values = {
        "exists": "true" if existing else "false",
        "repository": repository,
        "image": f"{repository}:{args.tag}",
        "digest": existing or "",
        "build-args": "\n".join(f"{k}={v}" for k, v in build_args.items()),
    }
    _write_outputs(args.github_output, values)
    state = f"already in ECR as {existing} (not rebuilt)" if existing else "not in ECR yet: build it"
    print(f"{manifest.name}: {repository}:{args.tag} {state}", file=sys.stderr)
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    manifests.get(args.service)
    _, repo_name = split_repository(args.repository)
    actual = digest_of(repo_name, tag=args.tag)
    if actual is None:
        raise CheckFailedError(f"{args.repository}:{args.tag} is not in ECR")
    if args.digest and args.digest != actual:
        raise CheckFailedError(
            f"{args.repository}:{args.tag} is {actual} in ECR, but the build produced {args.digest}"
        )
    record = ImageRecord(service=args.service, repository=args.repository, tag=args.tag, digest=actual)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(record.model_dump_json(indent=2) + "\n")
    print(f"{args.service}: {record.ref}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    records = []
    for path in sorted(args.dir.glob("*.json")):
        try:
            records.append(ImageRecord.model_validate_json(path.read_text()))
        except ValidationError as exc:
            raise ValueError(f"{path}: not an image record") from exc
    wanted = {m.name for m in manifests.load_all()}
    got = {r.service for r in records}
    if got != wanted:
        raise CheckFailedError(f"image records for {sorted(got)}, expected {sorted(wanted)}")
    tags = {r.tag for r in records}
    if len(tags) != 1:
        raise CheckFailedError(f"image records carry several tags: {sorted(tags)}")
    image_set = ImageSet(
        tag=tags.pop(), images={r.service: Image(repository=r.repository, digest=r.digest) for r in records}
    )
    args.out.write_text(image_set.model_dump_json(indent=2) + "\n")
    _write_outputs(args.github_output, {"images": image_set.model_dump_json(), "tag": image_set.tag})
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    image_set = load_set(args.images)
    wanted = {m.name for m in manifests.load_all()}
    if set(image_set.images) != wanted:
        raise CheckFailedError(f"images for {sorted(image_set.images)}, expected {sorted(wanted)}")
    for service, image in sorted(image_set.images.items()):
        registry, repo_name = split_repository(image.repository)
        if args.registry and registry != args.registry:
            raise CheckFailedError(f"{service}: {image.repository} is not in registry {args.registry}")
        if digest_of(repo_name, digest=image.digest) is None:
            raise CheckFailedError(f"{service}: {image.ref} does not exist in ECR")
        print(f"{service}: {image.ref} present")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    """Copy images into another registry by digest; run with that registry account's credentials."""
    image_set = load_set(args.images)
    promoted: dict[str, Image] = {}
    for service, image in sorted(image_set.images.items()):
        _, repo_name = split_repository(image.repository)
        target = Image(repository=f"{args.registry}/{repo_name}", digest=image.digest)
        if target.repository != image.repository and digest_of(repo_name, digest=image.digest) is None:
            # Copy the whole image index (platform images, SBOM, provenance) by digest: the
            # manifest bytes are unchanged, so the digest in the target is the same.
            copy = [
                "docker",
                "buildx",
                "imagetools",
                "create",
                "--tag",
                f"{target.repository}:{image_set.tag}",
            ]
            subprocess.run([*copy, image.ref], check=True, timeout=900)
        if digest_of(repo_name, digest=image.digest) is None:
            raise CheckFailedError(f"{service}: {target.ref} is not in the target registry")
        promoted[service] = target
        print(f"{service}: {target.ref}")
    out = ImageSet(tag=image_set.tag, images=promoted)
    args.out.write_text(out.model_dump_json(indent=2) + "\n")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    image_set = load_set(args.images)
    if args.title:
        print(f"## {args.title}\n")
    print("| Service | Image (by digest) |\n|---|---|")
    for service, image in sorted(image_set.images.items()):
        print(f"| {service} | `{image.ref}` |")
    print(f"\nBuilt once from commit `{image_set.tag}`; deployed by digest.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    image_set = load_set(args.images)
    _write_outputs(args.github_output, {"images": image_set.model_dump_json()})
    return 0


def own_registry() -> tuple[str, str]:
    """(account id, registry host) of the current credentials' ECR."""
    account = boto3.client("sts").get_caller_identity()["Account"]
    region = boto3.session.Session().region_name or "eu-west-1"
    return account, f"{account}.dkr.ecr.{region}.amazonaws.com"


def cmd_registries(args: argparse.Namespace) -> int:
    image_set = load_set(args.images)
    accounts = sorted({split_repository(i.repository)[0].split(".", 1)[0] for i in image_set.images.values()})
    account, registry = own_registry()
    if account not in accounts:
        accounts.append(account)
    _write_outputs(args.github_output, {"accounts": ",".join(accounts), "own-registry": registry})
    return 0


def cmd_tfvars(args: argparse.Namespace) -> int:
    """TF_VAR_* values for the images; without an images file only the fallback tag."""
    if not args.images.exists():
        if not args.fallback_tag:
            raise ValueError(f"{args.images} does not exist and no --fallback-tag was given")
        values = {
            "TF_VAR_image_tag": args.fallback_tag,
            "TF_VAR_image_digests": "{}",
            "TF_VAR_image_registry": "",
        }
        _write_outputs(args.github_output, values)
        return 0
    image_set = load_set(args.images)
    registries = {split_repository(i.repository)[0] for i in image_set.images.values()}
    if len(registries) != 1:
        raise CheckFailedError(f"images come from several registries: {sorted(registries)}")
    values = {
        "TF_VAR_image_tag": image_set.tag,
        "TF_VAR_image_digests": json.dumps(image_set.digests(), separators=(",", ":")),
        # Empty: Terraform uses this account's own ECR (where promotion copies the images).
        "TF_VAR_image_registry": "" if args.own_registry else registries.pop(),
    }
    _write_outputs(args.github_output, values)
    return 0


def cmd_keep(args: argparse.Namespace) -> int:
    """Add the tag <env>-<tag> to each image's digest (idempotent; immutable tags allow a new tag)."""
    image_set = load_set(args.images)
    mark = f"{args.env}-{image_set.tag}"[:128]
    ecr = _ecr()
    for service, image in sorted(image_set.images.items()):
        _, repo_name = split_repository(image.repository)
        if digest_of(repo_name, tag=mark) == image.digest:
            print(f"{service}: {mark} already on {image.digest}")
            continue
        found = ecr.batch_get_image(repositoryName=repo_name, imageIds=[{"imageDigest": image.digest}])[
            "images"
        ]
        if not found:
            raise CheckFailedError(f"{service}: {image.ref} is not in ECR")
        media = {k: v for k, v in found[0].items() if k == "imageManifestMediaType"}
        try:
            ecr.put_image(
                repositoryName=repo_name,
                imageManifest=found[0]["imageManifest"],
                imageTag=mark,
                imageDigest=image.digest,
                **media,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ImageTagAlreadyExistsException":
                raise CheckFailedError(
                    f"{service}: tag {mark} is on another image than {image.digest}"
                ) from exc
            raise
        print(f"{service}: tagged {mark} on {image.digest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--service", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--github-output", type=Path)
    r = sub.add_parser("record")
    r.add_argument("--service", required=True)
    r.add_argument("--repository", required=True)
    r.add_argument("--tag", required=True)
    r.add_argument("--digest", default="")
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("collect")
    c.add_argument("--dir", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--github-output", type=Path)
    v = sub.add_parser("verify")
    v.add_argument("--images", type=Path, required=True)
    v.add_argument("--registry")
    m = sub.add_parser("promote")
    m.add_argument("--images", type=Path, required=True)
    m.add_argument("--registry", required=True)
    m.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("summary")
    s.add_argument("--images", type=Path, required=True)
    s.add_argument("--title")
    w = sub.add_parser("show")
    w.add_argument("--images", type=Path, required=True)
    w.add_argument("--github-output", type=Path)
    g = sub.add_parser("registries")
    g.add_argument("--images", type=Path, required=True)
    g.add_argument("--github-output", type=Path)
    t = sub.add_parser("tfvars")
    t.add_argument("--images", type=Path, required=True)
    t.add_argument("--fallback-tag", help="image tag when the images file does not exist")
    t.add_argument("--own-registry", action="store_true", help="images are promoted into this account's ECR")
    t.add_argument("--github-output", type=Path)
    k = sub.add_parser("keep")
    k.add_argument("--images", type=Path, required=True)
    k.add_argument("--env", required=True, choices=("dev", "prod", "local"))
    args = parser.parse_args(argv)
    for name in ("tag", "fallback_tag"):
        value = getattr(args, name, None)
        if value and not re.match(TAG, value):
            print(f"ci_images: invalid --{name.replace('_', '-')} {value!r}", file=sys.stderr)
            return 2
    handlers = {
        "prepare": cmd_prepare,
        "record": cmd_record,
        "collect": cmd_collect,
        "verify": cmd_verify,
        "promote": cmd_promote,
        "summary": cmd_summary,
        "show": cmd_show,
        "registries": cmd_registries,
        "tfvars": cmd_tfvars,
        "keep": cmd_keep,
    }
    try:
        return handlers[args.cmd](args)
    except CheckFailedError as exc:
        print(f"ci_images: {exc}", file=sys.stderr)
        return 1
    except (ValueError, KeyError) as exc:
        print(f"ci_images: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError, subprocess.SubprocessError) as exc:
        print(f"ci_images: AWS or registry call failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
