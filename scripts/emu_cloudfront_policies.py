"""CloudFront cache, origin request and response headers policies, added to the emulator.

moto 5.2.5 has no CloudFront policy API (its router answers 404), so a stack that creates its own
policies (ours, everywhere on AWS) could not apply against it. Installed into the emulator process
(moto_fidelity.install), this module adds the five operations of each kind as the CloudFront API
reference documents them (2020-05-31 API: Create*, Get*, Get*Config, Update*, Delete*, List*):

- Create answers 201 with the policy, its ``Location`` and an ``ETag``; a second policy of the same
  name in the account is refused (``<Kind>AlreadyExists``);
- Get / GetConfig answer the policy or its config and the current ``ETag``;
- Update and Delete need ``If-Match`` equal to the current ETag (``InvalidIfMatchVersion`` when
  missing, ``PreconditionFailed`` (412) when stale), as CloudFront's optimistic locking does; each
  update issues a new ETag; an unknown id is ``NoSuch<Kind>`` (404);
- a policy a distribution still uses cannot be deleted (``<Kind>InUse``);
- List answers the account's policies (Type=custom), with no AWS managed ones (our stack names those
  by their documented, fixed IDs and never lists them).

The config is kept as the request carried it (moto's request parser and response serializer work
from botocore's model of the API), so Get answers what Create or Update sent, as AWS does.
Everything lives on moto's CloudFront backend, so ``/moto-api/reset`` clears it.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

API = "2020-05-31"


@dataclass(frozen=True)
class Kind:
    name: str  # CachePolicy
    path: str  # cache-policy
    error: str  # the error-code stem, usually = name
    distribution_key: str  # the cache behaviour field that references it


KINDS = (
    Kind("CachePolicy", "cache-policy", "CachePolicy", "CachePolicyId"),
    Kind("OriginRequestPolicy", "origin-request-policy", "OriginRequestPolicy", "OriginRequestPolicyId"),
    Kind(
        "ResponseHeadersPolicy", "response-headers-policy", "ResponseHeadersPolicy", "ResponseHeadersPolicyId"
    ),
)


def _error(code: str, message: str) -> Exception:
    """An error of the API's model (its HTTP status comes from the model: 404, 409, 412...)."""
    from moto.cloudfront.exceptions import CloudFrontException

    return CloudFrontException(code, message)


def _store(backend: Any, kind: Kind) -> dict[str, dict[str, Any]]:
    """id -> {"config", "etag", "modified"} for one kind, on the backend (reset with it)."""
    stores = backend.__dict__.setdefault("_storefront_cdn_policies", {})
    return stores.setdefault(kind.name, {})


def _summary(kind: Kind, policy_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"Id": policy_id, "LastModifiedTime": entry["modified"], f"{kind.name}Config": entry["config"]}


def _in_use(backend: Any, kind: Kind, policy_id: str) -> bool:
    """Does a distribution's default or path behaviour reference the policy? (moto keeps the
    config's fields as attributes named like the API's: DefaultCacheBehavior, CacheBehaviors.)"""
    attribute = {"CachePolicyId": "cache_policy_id", "OriginRequestPolicyId": "origin_request_policy_id",
                 "ResponseHeadersPolicyId": "response_headers_policy_id"}[kind.distribution_key]  # fmt: skip
    for dist in getattr(backend, "distributions", {}).values():
        config = vars(dist.distribution_config)
        behaviours = [
            config.get("DefaultCacheBehavior"),
            *(config.get("CacheBehaviors") or {}).get("Items", []),
        ]
        if any(getattr(b, attribute, None) == policy_id for b in behaviours):
            return True
    return False


def _entry(self: Any, kind: Kind, policy_id: str) -> dict[str, Any]:
    entry = _store(self.backend, kind).get(policy_id)
    if entry is None:
        raise _error(f"NoSuch{kind.error}", f"The {kind.name} does not exist.")
    return entry


def _check_name(self: Any, kind: Kind, name: str, except_id: str | None = None) -> None:
    for other_id, other in _store(self.backend, kind).items():
        if other_id != except_id and other["config"].get("Name") == name:
            raise _error(f"{kind.error}AlreadyExists", f"A {kind.name} with this name already exists.")


def _check_etag(self: Any, entry: dict[str, Any]) -> None:
    if_match = self._get_param("IfMatch") or self.headers.get("If-Match")
    if not if_match:
        raise _error(
            "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource."
        )
    if if_match != entry["etag"]:
        raise _error(
            "PreconditionFailed",
            "The precondition given in one or more of the request fields evaluated to false.",
        )


def _operations(kind: Kind) -> dict[str, Any]:
    from moto.core.responses import ActionResult, EmptyResult

    config_key = f"{kind.name}Config"

    def create(self: Any) -> Any:
        config = copy.deepcopy(self._get_param(config_key) or {})
        if not config.get("Name"):
            raise _error("InvalidArgument", f"{config_key}.Name is required.")
        _check_name(self, kind, config["Name"])
        policy_id = str(uuid.uuid4())
        entry = {"config": config, "etag": uuid.uuid4().hex.upper()[:14], "modified": datetime.now(UTC)}
        _store(self.backend, kind)[policy_id] = entry
        location = f"https://cloudfront.amazonaws.com/{API}/{kind.path}/{policy_id}"
        return ActionResult(
            {kind.name: _summary(kind, policy_id, entry), "Location": location, "ETag": entry["etag"]}
        )

    def get(self: Any) -> Any:
        policy_id = self._get_param("Id")
        entry = _entry(self, kind, policy_id)
        return ActionResult({kind.name: _summary(kind, policy_id, entry), "ETag": entry["etag"]})

    def get_config(self: Any) -> Any:
        entry = _entry(self, kind, self._get_param("Id"))
        return ActionResult({config_key: entry["config"], "ETag": entry["etag"]})

    def update(self: Any) -> Any:
        policy_id = self._get_param("Id")
        entry = _entry(self, kind, policy_id)
        _check_etag(self, entry)
        config = copy.deepcopy(self._get_param(config_key) or {})
        _check_name(self, kind, config.get("Name", ""), except_id=policy_id)
        entry.update(config=config, etag=uuid.uuid4().hex.upper()[:14], modified=datetime.now(UTC))
        return ActionResult({kind.name: _summary(kind, policy_id, entry), "ETag": entry["etag"]})

    def delete(self: Any) -> Any:
        policy_id = self._get_param("Id")
        entry = _entry(self, kind, policy_id)
        _check_etag(self, entry)
        if _in_use(self.backend, kind, policy_id):
            raise _error(f"{kind.error}InUse", f"The {kind.name} is in use by a distribution.")
        del _store(self.backend, kind)[policy_id]
        return EmptyResult()

    def list_(self: Any) -> Any:
        wanted = self._get_param("Type")
        items = [] if wanted == "managed" else [
            {"Type": "custom", kind.name: _summary(kind, i, e)} for i, e in _store(self.backend, kind).items()
        ]  # fmt: skip
        listed = {"MaxItems": 100, "Quantity": len(items), "Items": items}
        return ActionResult({f"{kind.name}List": listed})

    snake = {"CachePolicy": "cache_policy", "OriginRequestPolicy": "origin_request_policy",
             "ResponseHeadersPolicy": "response_headers_policy"}[kind.name]  # fmt: skip
    plural = {"CachePolicy": "cache_policies", "OriginRequestPolicy": "origin_request_policies",
              "ResponseHeadersPolicy": "response_headers_policies"}[kind.name]  # fmt: skip
    return {
        f"create_{snake}": create,
        f"get_{snake}": get,
        f"get_{snake}_config": get_config,
        f"update_{snake}": update,
        f"delete_{snake}": delete,
        f"list_{plural}": list_,
    }


def install() -> None:
    """Route the policy paths to moto's CloudFront responder and add the operations (idempotent).
    Must run before the emulator builds its CloudFront app (scripts/emulator.py installs it first)."""
    from moto.cloudfront import urls
    from moto.cloudfront.responses import CloudFrontResponse

    if getattr(CloudFrontResponse, "_storefront_cdn_policies", False):
        return
    for kind in KINDS:
        urls.url_paths[f"{{0}}/{API}/{kind.path}$"] = CloudFrontResponse.dispatch
        urls.url_paths[f"{{0}}/{API}/{kind.path}/(?P<Id>[^/]+)$"] = CloudFrontResponse.dispatch
        urls.url_paths[f"{{0}}/{API}/{kind.path}/(?P<Id>[^/]+)/config$"] = CloudFrontResponse.dispatch
        for name, function in _operations(kind).items():
            setattr(CloudFrontResponse, name, function)
    CloudFrontResponse._storefront_cdn_policies = True  # type: ignore[attr-defined]
