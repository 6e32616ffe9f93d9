"""The data plane of one environment, played on loopback, following the emulator (the workflow proof).

In AWS the distribution's URL reaches CloudFront, which serves the site from its S3 bucket and
sends the API paths to the ALB, whose listener rules forward each service's path prefix to the
tasks ECS runs from the service's current task definition. The emulator keeps all of that as
configuration and serves none of it. This stand-in, started by the test fixture, makes the same
decisions from the emulator's state, every POLL_SECONDS:

* ECS: for each service of the cluster ``<project>-<env>``, the PRIMARY deployment's task
  definition decides what runs. A new task is started when it changes (a new task definition, or
  a new deployment of the same one: UpdateService forceNewDeployment). The task gets the container
  definition's `environment`, its `secrets` resolved from Secrets Manager when the task starts (as
  ECS does; a secret without a value keeps the task from starting: ResourceInitializationError),
  DynamoDB and the other AWS APIs pointed at the emulator, and the dependency URLs pointed at the
  other services' tasks (service discovery in AWS). The CODE it runs is the image's: the image
  (`<repository>@<digest>` in the task definition) is read from the emulator's ECR (BatchGetImage)
  and its layer from the registry's blob store filled by the build-push double
  (tests/pipeline/gha/doubles/image_push.py), so a broken commit serves broken code and a
  rollback serves the old code again. An image that cannot be pulled, or a secret without a
  value, leaves the previous task serving (the task never starts); a task that starts but does
  not get healthy replaces it anyway (one port per service here), unlike ECS, whose circuit
  breaker would keep the old tasks: the proof's scenarios break a route, not the health check.
* ALB + CloudFront: the local edge (scripts/tooling/edge_config.py: each manifest's path prefix to
  its service, internal paths refused, the security headers), its static root a copy of the site
  bucket's objects, synced from S3 at every poll.

Not emulated (design.md, "Not emulated"): CloudFront caching and invalidation timing, the WAF,
ECS rolling timings (the old task stops as soon as the new one is healthy: one task per service),
health-check grace periods, autoscaling.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import manifests
import publish_static
import roll_services
from botocore.exceptions import BotoCoreError, ClientError
from tooling.edge_config import caddyfile, edge_env
from tooling.net import HOST, ProcessExitedError
from tooling.services import start_order
from tooling.stack_settings import EMULATOR_AWS_ENV, Settings, base_env

from tests.support.aws import REGION
from tests.support.procs import Proc, free_port, wait_http

# How often the stand-in reads the emulator. ECS and CloudFront take seconds to act on a change as
# well; each poll is five API calls per environment, so a faster poll only costs the suite CPU.
POLL_SECONDS = 2.0
IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/([a-z0-9._/-]+)@(sha256:[0-9a-f]{64})$")


@dataclass
class Task:
    key: str  # deployment id + task definition ARN: what it was started for
    image: str
    revision: str
    proc: Proc


class DataPlane:
    """The services and the edge of ``env_name`` as the emulator configures them."""

    def __init__(self, env_name: str, aws_url: str, work: Path, blob_store: Path) -> None:
        self.env_name = env_name
        self.work = work / f"data-plane-{env_name}"
        self.blob_store = blob_store
        self.aws_url = aws_url
        self.cluster = f"{manifests.project_name()}-{env_name}"
        self.ports = {m.name: free_port() for m in manifests.load_all()}
        self.edge_port = free_port()
        self.site = self.work / "site"
        self.tasks: dict[str, Task] = {}
        self.events: list[str] = []  # what happened, in order (the test's report)
        self._site_etags: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._edge: Proc | None = None
        creds = {k.lower(): v for k, v in EMULATOR_AWS_ENV.items() if k.startswith("AWS_") and "KEY" in k}
        session = boto3.session.Session(region_name=REGION, **creds)
        clients: dict[str, Any] = {}  # one client per service, made once: a poll makes no new client

        def client(name: str) -> Any:
            if name not in clients:
                clients[name] = session.client(name, endpoint_url=aws_url)
            return clients[name]

        self.client: Callable[[str], Any] = client
        self._account: str | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.edge_port}"

    def start(self) -> None:
        self.site.mkdir(parents=True, exist_ok=True)
        settings = Settings(self.work / "edge", self.edge_port, 0, self.ports)
        config = settings.state / "caddy" / "Caddyfile"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(caddyfile(settings, web_root=self.site))
        argv = [settings.caddy, "run", "--config", str(config), "--adapter", "caddyfile"]
        self._edge = Proc(argv, self.work / "edge.log", env=edge_env(settings))
        wait_http(f"{self.url}/", timeout=30, status=None)
        self._thread = threading.Thread(target=self._follow, name=f"data-plane-{self.env_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)
        for task in self.tasks.values():
            task.proc.stop()
        if self._edge:
            self._edge.stop()

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.reconcile()
            except (BotoCoreError, ClientError) as exc:  # the emulator is busy: try again
                self._event(f"emulator: {type(exc).__name__}")
            except Exception as exc:  # a bug here must show in the report, not stop the following
                self._event(f"data plane error: {type(exc).__name__}: {exc}")

    def _event(self, text: str) -> None:
        if not self.events or self.events[-1] != text:
            self.events.append(text)

    def reconcile(self) -> None:
        self._sync_site()
        ecs = self.client("ecs")
        arns = (
            ecs.list_services(cluster=self.cluster).get("serviceArns", [])
            if self._cluster_exists(ecs)
            else []
        )
        wanted = {}
        if arns:
            for svc in ecs.describe_services(cluster=self.cluster, services=arns)["services"]:
                primary = roll_services.primary(svc) or {}
                task_definition = primary.get("taskDefinition") or svc["taskDefinition"]
                wanted[svc["serviceName"]] = (f"{primary.get('id', '')} {task_definition}", task_definition)
        for m in start_order(manifests.load_all()):  # the ECS service is named after the manifest
            if m.name not in wanted:
                continue
            key, task_definition = wanted[m.name]
            current = self.tasks.get(m.name)
            if current is None or current.key != key:
                self._deploy(m, key, task_definition)

    def _cluster_exists(self, ecs: Any) -> bool:
        clusters = ecs.describe_clusters(clusters=[self.cluster]).get("clusters", [])
        return any(c.get("status") == "ACTIVE" for c in clusters)

    def _deploy(self, m: manifests.Manifest, key: str, task_definition: str) -> None:
        """Start a task of ``task_definition`` in place of the running one (stopped first: one port)."""
        definition = self.client("ecs").describe_task_definition(taskDefinition=task_definition)[
            "taskDefinition"
        ]
        container = next(c for c in definition["containerDefinitions"] if c["name"] == m.name)
        image = container["image"]
        try:
            root = self._pull(image)
            env = self._task_env(m, container, root)
        except TaskStartError as exc:
            self._event(f"{m.name}: {revision_of(definition)} cannot start: {exc}")
            return
        old = self.tasks.get(m.name)
        if old:  # one task per service here: stop the old one, then start on the same port
            old.proc.stop()
        log = self.work / "logs" / f"{m.name}-{definition['revision']}-{len(self.events)}.log"
        proc = Proc([sys.executable, "-m", "svc_common.serve", m.app], log, env=env, cwd=root)
        revision = env.get("REVISION", "")
        try:
            wait_http(f"http://{HOST}:{self.ports[m.name]}{m.ready_path}", timeout=60, proc=proc.popen)
        except (TimeoutError, ProcessExitedError) as exc:
            self._event(f"{m.name}: task of {revision_of(definition)} unhealthy ({exc}): {proc.tail(5)}")
        self.tasks[m.name] = Task(key, image, revision, proc)
        self._event(f"{m.name}: running {image} (revision {revision}, {revision_of(definition)})")

    def _pull(self, image: str) -> Path:
        """The image's file system (its one layer) under work/images/<digest>/; TaskStartError if absent."""
        found = IMAGE.match(image)
        if not found:
            raise TaskStartError(f"CannotPullContainerError: {image} is not an ECR image by digest")
        registry, repository, digest = found.groups()
        root = self.work / "images" / digest.replace(":", "-")
        if root.is_dir():
            return root
        try:
            got = self.client("ecr").batch_get_image(
                registryId=registry, repositoryName=repository, imageIds=[{"imageDigest": digest}]
            )
        except ClientError as exc:
            raise TaskStartError(f"CannotPullContainerError: {exc.response['Error']['Code']}") from exc
        if not got.get("images"):
            raise TaskStartError(f"CannotPullContainerError: {image} not found")
        manifest = json.loads(got["images"][0]["imageManifest"])
        partial = root.with_suffix(".partial")
        partial.mkdir(parents=True, exist_ok=True)
        for layer in manifest.get("layers", []):
            blob = self.blob_store / layer["digest"].replace(":", "-")
            if not blob.is_file():
                raise TaskStartError(f"CannotPullContainerError: layer {layer['digest']} not in the registry")
            with tarfile.open(blob) as tar:
                tar.extractall(partial, filter="data")
        partial.rename(root)
        return root

    def _task_env(self, m: manifests.Manifest, container: dict, root: Path) -> dict[str, str]:
        env = {**base_env(), **{e["name"]: e["value"] for e in container.get("environment", [])}}
        sm = self.client("secretsmanager")
        for secret in container.get("secrets", []):
            try:
                env[secret["name"]] = sm.get_secret_value(SecretId=secret["valueFrom"])["SecretString"]
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                raise TaskStartError(f"ResourceInitializationError: secret {secret['name']}: {code}") from exc
        env.update(EMULATOR_AWS_ENV)  # the task role's credentials, here the emulator's
        env.update(
            AWS_ENDPOINT_URL=self.aws_url,
            PORT=str(self.ports[m.name]),
            HOST=HOST,
            PYTHONPATH=f"{root / 'common'}:{root / m.directory.name}",
            PYTHONUNBUFFERED="1",
        )
        for dep in m.dependencies:  # service discovery in AWS; the dependency's task here
            env[dep.env] = f"http://{HOST}:{self.ports[dep.service]}"
        return env

    def _sync_site(self) -> None:
        """The site bucket's objects into the edge's root (CloudFront's S3 origin)."""
        s3 = self.client("s3")
        if self._account is None:
            self._account = self.client("sts").get_caller_identity()["Account"]
        bucket = publish_static.site_bucket(self.env_name, self._account)
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            objects = {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}
        except ClientError:
            return
        for key, etag in objects.items():
            target = self.site / key
            if self._site_etags.get(key) == etag or ".." in Path(key).parts:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            self._site_etags[key] = etag
        for key in set(self._site_etags) - set(objects):
            with contextlib.suppress(FileNotFoundError):
                (self.site / key).unlink()
            del self._site_etags[key]


def revision_of(definition: dict) -> str:
    return f"{definition['family']}:{definition['revision']}"


class TaskStartError(Exception):
    """ECS would not start the task: the stopped reason, one line."""
