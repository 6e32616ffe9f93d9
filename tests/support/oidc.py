"""GitHub-shaped OIDC tokens for tests (the emulator decodes the payload; it verifies no signature).

The claims are those GitHub's token for a job carries (issuer, audience, subject and the ref,
repository and environment claims); ``subject`` is the part after ``repo:OWNER/REPO:``, e.g.
``environment:dev``, ``pull_request`` or ``ref:refs/heads/main``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def github_token(
    repository: str,
    subject: str,
    *,
    ref: str = "refs/heads/main",
    audience: str = AUDIENCE,
    lifetime: int = 300,
    **claims: Any,
) -> str:
    """A JWT shaped like GitHub Actions' ID token (header.payload.signature, signature not real)."""
    now = int(time.time())
    environment = subject.split(":", 1)[1] if subject.startswith("environment:") else None
    payload = {
        "iss": ISSUER,
        "aud": audience,
        "sub": f"repo:{repository}:{subject}",
        "ref": ref,
        "repository": repository,
        "repository_owner": repository.split("/", 1)[0],
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        **({"environment": environment} if environment else {}),
        **claims,
    }
    header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), _b64(b"not-a-signature")]
    )


def assume_role_env(
    endpoint_url: str, role_arn: str, token: str, region: str = "eu-west-1"
) -> dict[str, str]:
    """Environment of a process acting as ``role_arn`` (what configure-aws-credentials exports),
    obtained from the emulator's STS with ``token`` (an unsigned call, as in AWS)."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    sts = boto3.client(
        "sts", region_name=region, endpoint_url=endpoint_url, config=Config(signature_version=UNSIGNED)
    )
    creds = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="GitHubActions", WebIdentityToken=token
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
    }
