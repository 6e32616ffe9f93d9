"""CloudFront VPC origins in the emulator (moto 5.2.5 has none of the API).

A VPC origin lets CloudFront reach an internal load balancer in private subnets over AWS's network
("Restrict access with VPC origins", CloudFront developer guide); Terraform's
``aws_cloudfront_vpc_origin`` (provider 5.100.0) manages it with five calls, added here with the
semantics the provider relies on (CloudFront API reference: CreateVpcOrigin, GetVpcOrigin,
UpdateVpcOrigin, DeleteVpcOrigin, ListVpcOrigins):

- Create answers 202 with the origin ``Deploying``, its ``Id``, ``Arn``
  (``arn:aws:cloudfront::<account>:vpcorigin/<id>``) and an ``ETag``; its tags go to the
  resource's ARN (ListTagsForResource, TagResource work on it as on a distribution);
- Get answers ``Deployed`` (AWS takes minutes; the provider waits for this state), and
  ``EntityNotFound`` (404) for an unknown or deleted id;
- Update and Delete need ``If-Match`` equal to the current ``ETag`` (``InvalidIfMatchVersion``
  when absent, ``PreconditionFailed`` when stale); every update issues a new ETag.

The XML of requests and answers is moto's, from botocore's CloudFront model, like every other
CloudFront call. Installed by scripts/emulator.py. Tried with Terraform: ``aws_cloudfront_vpc_origin``
applies, re-plans with no change and destroys. A distribution's origin keeps its
``VpcOriginConfig`` through scripts/emu_cloudfront_distribution.py. Not emulated: AWS's refusal to
delete a VPC origin a distribution still uses (``CannotDeleteEntityWhileInUse``).
"""

from __future__ import annotations

import copy
import secrets
from datetime import UTC, datetime
from typing import Any

INSTALLED = "_storefront_vpc_origins"
ROUTES = {
    "{0}/2020-05-31/vpc-origin$": "list-or-create",
    "{0}/2020-05-31/vpc-origin/(?P<Id>[^/]+)$": "one",
}


def _error(code: str, message: str) -> Exception:
    from moto.cloudfront.exceptions import CloudFrontException

    return CloudFrontException(code, message)


class VpcOrigin:
    def __init__(self, account: str, config: dict[str, Any]) -> None:
        self.id = "vo_" + secrets.token_hex(11)
        self.arn = f"arn:aws:cloudfront::{account}:vpcorigin/{self.id}"
        self.account = account
        self.config = copy.deepcopy(config)
        self.created = self.modified = datetime.now(UTC)
        self.etag = secrets.token_hex(7).upper()

    def answer(self, status: str) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Arn": self.arn,
            "AccountId": self.account,
            "Status": status,
            "CreatedTime": self.created,
            "LastModifiedTime": self.modified,
            "VpcOriginEndpointConfig": self.config,
        }


def _store(backend: Any) -> dict[str, VpcOrigin]:
    if not hasattr(backend, "_vpc_origins"):
        backend._vpc_origins = {}
    return backend._vpc_origins  # type: ignore[no-any-return]


def _find(backend: Any, origin_id: str) -> VpcOrigin:
    found = _store(backend).get(origin_id)
    if found is None:
        raise _error("EntityNotFound", f"The VPC origin {origin_id} does not exist.")
    return found


def _check_etag(origin: VpcOrigin, if_match: str | None) -> None:
    if not if_match:
        raise _error(
            "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource."
        )
    if if_match != origin.etag:
        raise _error(
            "PreconditionFailed",
            "The precondition given in one or more of the request fields evaluated to false.",
        )


def create_vpc_origin(self: Any) -> Any:
    from moto.core.responses import ActionResult

    config = self._get_param("VpcOriginEndpointConfig", {})
    origin = VpcOrigin(self.current_account, config)
    _store(self.backend)[origin.id] = origin
    tags = self._get_param("Tags.Items", []) or []
    if tags:
        self.backend.tag_resource(origin.arn, {t["Key"]: t.get("Value") for t in tags})
    location = f"https://cloudfront.amazonaws.com/2020-05-31/vpc-origin/{origin.id}"
    return ActionResult({"VpcOrigin": origin.answer("Deploying"), "Location": location, "ETag": origin.etag})


def get_vpc_origin(self: Any) -> Any:
    from moto.core.responses import ActionResult

    origin = _find(self.backend, self._get_param("Id"))
    return ActionResult({"VpcOrigin": origin.answer("Deployed"), "ETag": origin.etag})


def update_vpc_origin(self: Any) -> Any:
    from moto.core.responses import ActionResult

    origin = _find(self.backend, self._get_param("Id"))
    _check_etag(origin, self._get_param("IfMatch"))
    origin.config = copy.deepcopy(self._get_param("VpcOriginEndpointConfig", {}))
    origin.modified = datetime.now(UTC)
    origin.etag = secrets.token_hex(7).upper()
    return ActionResult({"VpcOrigin": origin.answer("Deploying"), "ETag": origin.etag})


def delete_vpc_origin(self: Any) -> Any:
    from moto.core.responses import ActionResult

    origin = _find(self.backend, self._get_param("Id"))
    _check_etag(origin, self._get_param("IfMatch"))
    del _store(self.backend)[origin.id]
    return ActionResult({"VpcOrigin": origin.answer("Deleting"), "ETag": origin.etag})


def list_vpc_origins(self: Any) -> Any:
    from moto.core.responses import ActionResult

    items = [
        {
            "Id": o.id,
            "Name": o.config.get("Name", ""),
            "Status": "Deployed",
            "CreatedTime": o.created,
            "LastModifiedTime": o.modified,
            "Arn": o.arn,
            "OriginEndpointArn": o.config.get("Arn", ""),
        }
        for o in _store(self.backend).values()
    ]
    return ActionResult(
        {
            "VpcOriginList": {
                "Marker": "",
                "MaxItems": 100,
                "IsTruncated": False,
                "Quantity": len(items),
                "Items": items,
            }
        }
    )


def install() -> None:
    """Add the VPC origin calls to moto's CloudFront (idempotent; before the server starts)."""
    from moto.cloudfront import urls
    from moto.cloudfront.responses import CloudFrontResponse

    if getattr(CloudFrontResponse, INSTALLED, False):
        return
    for pattern in ROUTES:
        urls.url_paths[pattern] = CloudFrontResponse.dispatch
    CloudFrontResponse.create_vpc_origin = create_vpc_origin  # type: ignore[attr-defined]
    CloudFrontResponse.get_vpc_origin = get_vpc_origin  # type: ignore[attr-defined]
    CloudFrontResponse.update_vpc_origin = update_vpc_origin  # type: ignore[attr-defined]
    CloudFrontResponse.delete_vpc_origin = delete_vpc_origin  # type: ignore[attr-defined]
    CloudFrontResponse.list_vpc_origins = list_vpc_origins  # type: ignore[attr-defined]
    setattr(CloudFrontResponse, INSTALLED, True)
