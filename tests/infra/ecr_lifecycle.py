"""ECR lifecycle policy evaluation, as AWS documents it, for tests of our rendered policies.

"Lifecycle policy properties in Amazon ECR" and "How lifecycle policies work" (ECR user guide):
- rules are applied from the lowest ``rulePriority``; the ``any`` rule must have the highest;
- ``tagStatus``: ``tagged`` needs ``tagPatternList`` (or ``tagPrefixList``) and selects an image
  only when every pattern (prefix) of the list matches one of its tags (``*`` is a wildcard);
  ``untagged`` selects images without tags; ``any`` selects every image;
- ``imageCountMoreThan N``: of the images the rule selects, ordered by push time, all but the N
  most recently pushed are expired (older ones first);
- an image is expired by at most one rule; an image that matches the tag requirements of a rule
  cannot be expired by a rule with a lower priority, though lower rules still see (count) it.
Counting images claimed by a higher rule in a lower rule's count is the conservative reading: it
keeps fewer unclaimed images, never more.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    pushed: int  # push order (larger = newer)


def _selects(selection: dict[str, Any], image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    patterns = selection.get("tagPatternList")
    if patterns is not None:
        return bool(image.tags) and all(any(fnmatch.fnmatchcase(t, p) for t in image.tags) for p in patterns)
    prefixes = selection["tagPrefixList"]
    return bool(image.tags) and all(any(t.startswith(p) for t in image.tags) for p in prefixes)


def expired(policy: dict[str, Any], images: list[Image]) -> set[str]:
    """Digests the policy expires (imageCountMoreThan rules; other count types are refused)."""
    rules = sorted(policy["rules"], key=lambda r: r["rulePriority"])
    assert [r["selection"]["tagStatus"] for r in rules].count("any") <= 1
    assert all(r["selection"]["tagStatus"] != "any" for r in rules[:-1]), "the any rule must be last"
    claimed: set[str] = set()
    gone: set[str] = set()
    for rule in rules:
        selection = rule["selection"]
        assert selection["countType"] == "imageCountMoreThan", selection
        selected = sorted((i for i in images if _selects(selection, i)), key=lambda i: -i.pushed)
        for image in selected[selection["countNumber"] :]:
            if image.digest not in claimed:
                gone.add(image.digest)
        claimed |= {i.digest for i in selected}
    return gone
