"""Application Auto Scaling tags, added to the emulator.

moto 5.2.5 implements scalable targets and scaling policies but not the tag operations, so the
AWS provider (which lists a target's tags after every create and read) got a 500 and retried for
minutes: autoscaling could not be applied against the emulator. Installed into the emulator process
(moto_fidelity.install), this module adds them as the Application Auto Scaling API reference
documents (scalable targets are the taggable resource):

- ``RegisterScalableTarget`` keeps the ``Tags`` it is given (on creation; an update of an existing
  target leaves its tags alone, as AWS does: tags change through TagResource/UntagResource);
- ``ListTagsForResource`` answers ``{"Tags": {key: value}}``;
- ``TagResource`` adds or replaces keys, ``UntagResource`` removes ``TagKeys``;
- an ARN that names no registered target is ``ResourceNotFoundException`` (so a deregistered
  target's tags are gone with it).

The tags live on moto's target objects, so deregistration and ``/moto-api/reset`` clear them.
"""

from __future__ import annotations

import json
from typing import Any


def _target(self: Any, arn: str) -> Any:
    from moto.core.exceptions import JsonRESTError

    for by_resource in self.applicationautoscaling_backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                return target
    raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN {arn}")


def _tags(target: Any) -> dict[str, str]:
    return target.__dict__.setdefault("_storefront_tags", {})


def list_tags_for_resource(self: Any) -> str:
    return json.dumps({"Tags": dict(_tags(_target(self, self._get_param("ResourceARN"))))})


def tag_resource(self: Any) -> str:
    target = _target(self, self._get_param("ResourceARN"))
    _tags(target).update(self._get_param("Tags") or {})
    return "{}"


def untag_resource(self: Any) -> str:
    target = _target(self, self._get_param("ResourceARN"))
    for key in self._get_param("TagKeys") or []:
        _tags(target).pop(key, None)
    return "{}"


def install() -> None:
    """Add the three operations and keep RegisterScalableTarget's tags (idempotent)."""
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    if getattr(ApplicationAutoScalingResponse, "_storefront_tags", False):
        return
    register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        answer = register(self)
        target = _target(self, json.loads(answer)["ScalableTargetARN"])
        if "_storefront_tags" not in target.__dict__:
            _tags(target).update(self._get_param("Tags") or {})
        return answer

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.tag_resource = tag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.untag_resource = untag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse._storefront_tags = True  # type: ignore[attr-defined]
