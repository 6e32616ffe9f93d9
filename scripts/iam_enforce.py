"""IAM enforced by the emulator (scripts/emulator.py), for credentials of an assumed role.

    python scripts/iam_enforce.py report [--endpoint URL]     (what `make iam-report` prints)

moto checks no trust policy and grants any role (TOOLBOX). Installed into the emulator process,
this module makes it behave like AWS where our pipeline depends on it:

- ``AssumeRoleWithWebIdentity`` is refused unless the token's issuer is an OIDC provider of the
  account, its ``aud`` is one of the provider's client ids, it has not expired, the role exists and
  its trust policy allows the ``Federated`` provider principal with every condition satisfied by
  the token's claims (the keys IAM documents for OIDC federation: ``<issuer host>:aud``, ``:sub``,
  ``:amr``, ``:azp``, ``:email``). The token's signature is NOT verified (nor the provider
  thumbprint): the emulator decodes the payload only.
- every later call signed with that role's session credentials is authorized against the role's
  identity policies (inline and managed, iam_policy.py) for the action, resource and condition
  keys iam_requests.py derives from the request, and refused with AccessDenied (EC2:
  UnauthorizedOperation) otherwise; an expired session is refused too.
- calls with any other credentials (the administrator's ``testing`` keys) are not restricted: the
  account bootstrap is applied by a person, once.

Every decision is counted per role; ``GET /_emulator/iam`` answers the report (actions used, actions
granted but never used, denials in order) and ``/moto-api/reset`` clears it with moto's state.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

# Only escape() is used: it escapes our own error text and parses nothing.
from xml.sax.saxutils import escape  # nosec B406

import iam_policy
from iam_requests import Call, authorizations
from werkzeug.exceptions import HTTPException

REPORT_PATH = "/_emulator/iam"
OIDC_CONDITION_CLAIMS = ("aud", "sub", "amr", "azp", "email")
MAX_DENIALS = 200

Log = Callable[[str], None]


class Usage:
    """Decisions per role: used actions (count), denials (first MAX_DENIALS, in order)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used: dict[str, dict[str, int]] = {}
        self.denied: dict[str, list[dict[str, str]]] = {}
        self.roles: dict[str, str] = {}  # role name -> ARN

    def clear(self) -> None:
        with self.lock:
            self.used.clear()
            self.denied.clear()
            self.roles.clear()

    def record(self, role_arn: str, action: str, resource: str | None, decision: iam_policy.Decision) -> None:
        role = role_arn.rsplit("/", 1)[-1]
        with self.lock:
            self.roles[role] = role_arn
            if decision is iam_policy.Decision.ALLOW:
                counts = self.used.setdefault(role, {})
                counts[action] = counts.get(action, 0) + 1
            else:
                denials = self.denied.setdefault(role, [])
                if len(denials) < MAX_DENIALS:
                    denials.append(
                        {"action": action, "resource": resource or "*", "decision": decision.value}
                    )


USAGE = Usage()
_LOG: Log | None = None


# --- moto glue ----------------------------------------------------------------------------------


class Denied(HTTPException):
    """AccessDenied and friends, in the error format of the request's protocol. An HTTPException, so
    moto (and Flask under it) answer it as they answer their own errors."""

    def __init__(self, status: int, code: str, message: str, style: str) -> None:
        super().__init__()
        self.code, self.error_code, self.message, self.style = status, code, message, style
        self.content_type, body = self._render()
        self.description = body

    def _render(self) -> tuple[str, str]:
        code, message = escape(self.error_code), escape(self.message)
        if self.style == "json":
            return "application/x-amz-json-1.1", json.dumps(
                {"__type": self.error_code, "message": self.message}
            )
        if self.style == "ec2":
            xml = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            return "text/xml", xml + "<RequestID>emulator</RequestID></Response>"
        if self.style == "s3":
            return "application/xml", f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        xml = f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        return "text/xml", f"<ErrorResponse>{xml}<RequestId>emulator</RequestId></ErrorResponse>"

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), ("X-Amzn-ErrorType", self.error_code)]

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.description or ""


def _style(service: str, headers: Any, s3: bool) -> str:
    if s3:
        return "s3"
    if service == "ec2":
        return "ec2"
    if headers.get("X-Amz-Target") or "json" in str(headers.get("Content-Type", "")):
        return "json"
    return "xml"


def _credential(response: Any) -> tuple[str, str, str] | None:
    """(access key id, region, signing service) from the SigV4 Authorization header or a presigned URL."""
    auth = str(response.headers.get("Authorization") or "")
    scope = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        scope = str((response.querystring.get("X-Amz-Credential") or [""])[0])
    parts = scope.split("/")
    return (parts[0], parts[2], parts[3]) if len(parts) >= 5 else None


def _params(response: Any) -> dict[str, Any]:
    """The request's parameters: JSON body (moto may have parsed it already), or query/form values."""
    body = getattr(response, "body", None)
    if isinstance(body, dict):
        return body
    if response.headers.get("X-Amz-Target") or "json" in str(response.headers.get("Content-Type", "")):
        try:
            parsed = json.loads(body or "{}")
        except (TypeError, ValueError):
            parsed = {}
        return parsed if isinstance(parsed, dict) else {}
    return {k: (v[0] if isinstance(v, list) and v else v) for k, v in response.querystring.items()}


def _iam(account: str, partition: str = "aws") -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account][partition]


def role_documents(account: str, role_arn: str) -> list[str]:
    """The identity policies of a role: inline, then the default version of each attached one."""
    role = _iam(account).get_role_by_arn(role_arn)
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        (version,) = [v for v in policy.versions if v.version_id == policy.default_version_id]
        documents.append(version.document)
    return documents


def _secret_arn(account: str, region: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    from moto.secretsmanager.models import secretsmanager_backends

    secrets = secretsmanager_backends[account][region].secrets
    found = secrets.get(name)
    arn = getattr(found, "arn", None)
    return str(arn) if arn else f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-XXXXXX"


def _role_boundary(account: str, role_name: str) -> str | None:
    try:
        boundary = _iam(account).get_role(role_name).permissions_boundary_arn
    except Exception:  # no such role: the call itself will say so
        return None
    return str(boundary) if boundary else None


def _session(account: str, access_key_id: str) -> Any | None:
    from moto.sts.models import sts_backends

    for assumed in sts_backends[account]["aws"].assumed_roles:
        if assumed.access_key_id == access_key_id:
            return assumed
    return None


def _deny(style: str, code: str, message: str, status: int = 403) -> Denied:
    if _LOG is not None:
        _LOG(f"IAM: {code}: {message}")
    return Denied(status, code, message, style)


def authorize(response: Any, iam_request_cls: type, resource: str = "*") -> None:
    """Replaces moto's ActionAuthenticatorMixin._authenticate_and_authorize_action."""
    s3 = iam_request_cls.__name__.startswith("S3")
    try:
        operation = "" if s3 else str(response._get_action() or "")
    except Exception:
        operation = ""
    if operation == "AssumeRoleWithWebIdentity":
        check_web_identity(response)
        return
    credential = _credential(response)
    if credential is None:
        return  # unsigned (moto-api, public calls)
    key_id, region, service = credential
    account = response.current_account
    session = _session(account, key_id)
    if session is None:
        return  # administrator credentials: not restricted
    style = _style(service, response.headers, s3)
    token = (
        response.headers.get("X-Amz-Security-Token")
        or (response.querystring.get("X-Amz-Security-Token") or [""])[0]
    )
    if token != session.session_token:
        raise _deny(
            style, "InvalidClientTokenId", "The security token included in the request is invalid.", 403
        )
    if session.expiration.timestamp() < time.time():
        raise _deny(style, "ExpiredToken", "The security token included in the request is expired", 400)
    if service == "sts" and operation == "GetCallerIdentity":
        return  # AWS: no permission needed
    call = Call(
        service=service,
        operation=operation,
        region=region,
        account=account,
        params=_params(response),
        method=str(response.method),
        query=dict(response.querystring),
        s3_resource=resource if s3 else None,
    )
    documents = role_documents(account, session.role_arn)
    caller = (
        f"arn:aws:sts::{account}:assumed-role/{session.role_arn.rsplit('/', 1)[-1]}/{session.session_name}"
    )
    for action, arn, context in authorizations(call, _secret_arn, _role_boundary):
        decision = iam_policy.evaluate(documents, action, arn, context)
        USAGE.record(session.role_arn, action, arn, decision)
        if decision is not iam_policy.Decision.ALLOW:
            why = (
                "with an explicit deny in an identity-based policy"
                if decision is iam_policy.Decision.EXPLICIT_DENY
                else f"because no identity-based policy allows the {action} action"
            )
            code = (
                "UnauthorizedOperation"
                if style == "ec2"
                else ("AccessDeniedException" if style == "json" else "AccessDenied")
            )
            raise _deny(
                style,
                code,
                f"User: {caller} is not authorized to perform: {action} on resource: {arn or '*'} {why}",
            )


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload))
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not an object")
    return claims


def check_web_identity(response: Any) -> None:
    """AWS's checks of AssumeRoleWithWebIdentity (signature and thumbprint excepted, see above)."""
    params = _params(response)
    role_arn, token = str(params.get("RoleArn", "")), str(params.get("WebIdentityToken", ""))
    account = response.current_account
    try:
        claims = _claims(token)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _deny(
            "xml", "InvalidIdentityToken", f"Couldn't parse the web identity token: {exc}", 400
        ) from exc
    issuer = str(claims.get("iss", ""))
    host = issuer.removeprefix("https://").rstrip("/")
    provider_arn = f"arn:aws:iam::{account}:oidc-provider/{host}"
    try:
        provider = _iam(account).get_open_id_connect_provider(provider_arn)
    except Exception as exc:
        raise _deny(
            "xml",
            "InvalidIdentityToken",
            f"No OpenIDConnect provider found in your account for {issuer}",
            400,
        ) from exc
    audiences = iam_policy.as_list(claims.get("aud"))
    if not set(audiences) & set(provider.client_id_list):
        raise _deny("xml", "InvalidIdentityToken", "Incorrect token audience", 400)
    if float(claims.get("exp", 0)) < time.time():
        raise _deny("xml", "ExpiredTokenException", "Token expired", 400)
    try:
        role = _iam(account).get_role_by_arn(role_arn)
    except Exception as exc:
        raise _deny("xml", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity") from exc
    context = {f"{host}:{k}": claims[k] for k in OIDC_CONDITION_CLAIMS if k in claims}
    decision = iam_policy.trust_allows(
        role.assume_role_policy_document, "sts:AssumeRoleWithWebIdentity", "Federated", provider_arn, context
    )
    USAGE.record(role.arn, "sts:AssumeRoleWithWebIdentity", role.arn, decision)
    if decision is not iam_policy.Decision.ALLOW:
        raise _deny("xml", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def install(log: Log | None = None) -> None:
    """Put ``authorize`` in place of moto's (lenient, opt-in) access control, in this process."""
    global _LOG
    from moto.core.authorization import ActionAuthenticatorMixin

    _LOG = log
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]


# --- report ---------------------------------------------------------------------------------------


def report(account: str = "123456789012") -> dict[str, Any]:
    """Per role that made calls: actions used (count), granted but never used, denials."""
    out: dict[str, Any] = {}
    with USAGE.lock:
        roles = dict(USAGE.roles)
        used = {r: dict(c) for r, c in USAGE.used.items()}
        denied = {r: list(d) for r, d in USAGE.denied.items()}
    for role, arn in sorted(roles.items()):
        try:
            granted = iam_policy.granted_actions(role_documents(account, arn))
        except Exception:
            granted = []
        actions = sorted(used.get(role, {}))
        unused = [
            g for g in granted if not any(iam_policy.glob_match(g, a, ignore_case=True) for a in actions)
        ]
        out[role] = {"used": used.get(role, {}), "granted_never_used": unused, "denied": denied.get(role, [])}
    return out


def wrap(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """WSGI: the report at REPORT_PATH; usage cleared on moto's reset."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == REPORT_PATH:
            body = json.dumps(report(), indent=2, sort_keys=True).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if path == "/moto-api/reset":
            USAGE.clear()
        return app(environ, start_response)

    return middleware


def print_report(data: dict[str, Any], out: Any = sys.stdout) -> None:
    if not data:
        print("IAM report: no call was made with a role's credentials", file=out)
    for role, entry in data.items():
        used = entry["used"]
        print(f"== role {role}: {len(used)} action(s) used, {sum(used.values())} call(s)", file=out)
        for action, count in sorted(used.items()):
            print(f"   used     {action} x{count}", file=out)
        for action in entry["granted_never_used"]:
            print(f"   unused   {action}", file=out)
        for denial in entry["denied"]:
            print(f"   DENIED   {denial['action']} on {denial['resource']} ({denial['decision']})", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="print the emulator's IAM report")
    rep.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    args = parser.parse_args(argv)
    import httpx

    try:
        answer = httpx.get(args.endpoint.rstrip("/") + REPORT_PATH, timeout=10)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        print(f"iam_enforce: no IAM report from the emulator at {args.endpoint}: {exc}", file=sys.stderr)
        return 1
    print_report(answer.json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
