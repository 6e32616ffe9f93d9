"""GitHub itself, played on loopback for the workflow proof: the REST calls our workflows make and
the OIDC token endpoint of a job.

REST (what actions/github-script and our doubles call; recorded in ``calls``):
  GET/POST   /repos/{o}/{r}/issues/{n}/comments      list / create a comment
  PATCH      /repos/{o}/{r}/issues/comments/{id}      update a comment
  GET/POST   /repos/{o}/{r}/issues                    list (state, labels filters) / create an issue
  PATCH      /repos/{o}/{r}/issues/{n}                update an issue (title, body, state)
  POST       /repos/{o}/{r}/code-scanning/sarifs      a SARIF upload (the upload-sarif double)
  POST       /repos/{o}/{r}/releases                  create a release (the gh double, doubles/bin/gh)
  GET        commits, compare, a commit's pull requests, workflow runs and their jobs: fake_git.py
             (``git``: point ``git.repo`` at the repository; record pull requests and runs there)
Every request must carry ``Authorization: token|Bearer <the job token>`` (401 otherwise).

OIDC (what aws-actions/configure-aws-credentials calls, ACTIONS_ID_TOKEN_REQUEST_URL):
  GET /token?audience=...   ``{"value": <JWT>}``, RS256-signed, GitHub-shaped claims: iss
  https://token.actions.githubusercontent.com, aud, sub (``repo:OWNER/REPO:environment:ENV`` when
  the job has an environment, else ``repo:OWNER/REPO:pull_request`` or ``repo:OWNER/REPO:ref:REF``),
  ref, repository, repository_owner, environment, event_name, job_workflow_ref, run_id, iat/nbf/exp.
  Which job asks is told by ``claims_for`` (the runner knows the job that is running).
  GET /.well-known/jwks   the public key, for anyone who verifies signatures.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.pipeline.gha.fake_git import GitData

ISSUER = "https://token.actions.githubusercontent.com"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


@dataclass
class JobIdentity:
    """What GitHub knows about the job asking for a token."""

    repository: str
    ref: str
    event_name: str
    workflow: str
    environment: str | None = None
    sha: str = ""
    run_id: str = "1"


# Immutable owner and repository IDs, as GitHub writes them into the default `sub` of repositories
# created or renamed on or after 2026-07-15 (changelog 2026-04-23, "Immutable subject claims for
# GitHub Actions OIDC tokens"): repo:owner@OWNER_ID/name@REPO_ID:... The `repository` claim keeps
# the plain owner/name. A repository created from this template today gets this form.
REPOSITORY_IDS = (1001, 2002)


def subject_repository(repository: str) -> str:
    """owner@OWNER_ID/name@REPO_ID: the repository part of the default `sub` claim."""
    owner, name = repository.split("/")
    return f"{owner}@{REPOSITORY_IDS[0]}/{name}@{REPOSITORY_IDS[1]}"


def subject(job: JobIdentity) -> str:
    """GitHub's default `sub` claim for this job (environment first, then pull request, then ref)."""
    repo = subject_repository(job.repository)
    if job.environment:
        return f"repo:{repo}:environment:{job.environment}"
    if job.event_name.startswith("pull_request"):
        return f"repo:{repo}:pull_request"
    return f"repo:{repo}:ref:{job.ref}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _patch(record: dict[str, Any] | None, body: dict[str, Any], keys: tuple[str, ...]) -> tuple[int, Any]:
    """PATCH semantics: the given keys change, the record counts its updates; 404 when absent."""
    if record is None:
        return 404, {"message": "Not Found"}
    record.update({k: body[k] for k in keys if k in body})
    record["updates"] = record.get("updates", 0) + 1
    return 200, record


@dataclass
class State:
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    sarifs: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


class FakeGitHub:
    """The server; start() it, point GITHUB_API_URL and ACTIONS_ID_TOKEN_REQUEST_URL at it."""

    def __init__(self, token: str, claims_for: Callable[[], JobIdentity]):
        self.token = token
        self.claims_for = claims_for
        self.state = State()
        self.git = GitData()
        self.lock = threading.Lock()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:16]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- OIDC ---------------------------------------------------------------------------------
    def mint(self, audience: str, job: JobIdentity) -> str:
        now = int(time.time())
        owner = job.repository.split("/", 1)[0]
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "sub": subject(job),
            "ref": job.ref,
            "sha": job.sha,
            "repository": job.repository,
            "repository_owner": owner,
            "event_name": job.event_name,
            "workflow": job.workflow,
            "job_workflow_ref": f"{job.repository}/.github/workflows/{job.workflow}@{job.ref}",
            "run_id": job.run_id,
            "runner_environment": "self-hosted",
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        }
        if job.environment:
            claims["environment"] = job.environment
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        with self.lock:
            self.state.tokens.append(claims)
        return f"{signing_input}.{_b64(signature)}"

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def as_b64(n: int) -> str:
            return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid}
        return {"keys": [{**key, "n": as_b64(numbers.n), "e": as_b64(numbers.e)}]}

    # ---- REST ---------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        st = self.state
        with self.lock:
            st.calls.append((method, path))
            if (answer := self.git.route(method, path, query)) is not None:
                return answer
            if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
                number = int(m.group(1))
                if method == "GET":
                    return 200, [c for c in st.comments.values() if c["issue"] == number]
                if method == "POST":
                    cid = st.new_id()
                    st.comments[cid] = {"id": cid, "issue": number, "body": body["body"], "user": BOT}
                    return 201, st.comments[cid]
            if (m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", path)) and method == "PATCH":
                return _patch(st.comments.get(int(m.group(1))), body, ("body",))
            if re.fullmatch(r"/repos/[^/]+/[^/]+/issues", path):
                if method == "GET":
                    state = query.get("state", ["open"])[0]
                    labels = set(filter(None, query.get("labels", [""])[0].split(",")))
                    found = [
                        i
                        for i in st.issues.values()
                        if (state == "all" or i["state"] == state)
                        and labels <= {lab["name"] for lab in i["labels"]}
                    ]
                    return 200, found
                if method == "POST":
                    number = st.new_id()
                    st.issues[number] = {
                        "number": number,
                        "title": body["title"],
                        "body": body.get("body", ""),
                        "labels": [{"name": n} for n in body.get("labels", [])],
                        "state": "open",
                        "user": BOT,
                    }
                    return 201, st.issues[number]
            if (m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)", path)) and method == "PATCH":
                return _patch(
                    st.issues.get(int(m.group(1))), body, ("title", "body", "state", "state_reason")
                )
            if re.fullmatch(r"/repos/[^/]+/[^/]+/releases", path) and method == "POST":
                tag = body["tag_name"]
                release = {"id": st.new_id(), "tag_name": tag, "name": body.get("name", ""),
                           "body": body.get("body", ""), "html_url": f"{path}/{tag}"}  # fmt: skip
                st.releases.append(release)
                return 201, release
            if re.fullmatch(r"/repos/[^/]+/[^/]+/code-scanning/sarifs", path) and method == "POST":
                st.sarifs.append(body)
                return 202, {"id": str(len(st.sarifs)), "url": ""}
        return 404, {"message": f"fake GitHub has no {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: the calls are recorded instead
                return

            def _send(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method: str) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/.well-known/jwks":
                    return self._send(200, fake.jwks())
                auth = self.headers.get("Authorization", "")
                if auth.split(" ", 1)[-1] != fake.token:
                    return self._send(401, {"message": "Bad credentials"})
                if url.path == "/token":
                    audience = query.get("audience", [""])[0]
                    if not audience:
                        return self._send(400, {"message": "audience is required"})
                    return self._send(200, {"value": fake.mint(audience, fake.claims_for())})
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    return self._send(400, {"message": "Problems parsing JSON"})
                status, payload = fake.route(method, url.path, query, body)
                return self._send(status, payload)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

        return Handler
