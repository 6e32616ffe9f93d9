"""CloudFront distribution fields the emulator answers differently from AWS, corrected.

moto 5.2.5 stores a distribution's config in its own objects and loses or invents fields on the
way, so Terraform saw a perpetual in-place change of every distribution after apply (an "apply
then plan shows no changes" check, and a drift check, could never be clean). Installed into the
emulator process (moto_fidelity.install), this module makes GetDistribution(Config) answer what
CreateDistribution / UpdateDistribution were given, as the CloudFront API reference describes the
DistributionConfig:

- ``Origin.OriginAccessControlId``: kept (moto dropped it, so an S3 origin lost its OAC);
- ``Origin.VpcOriginConfig`` (``VpcOriginId``, ``OriginReadTimeout``, ``OriginKeepaliveTimeout``):
  kept (moto dropped it, so an origin naming a VPC origin read back as one without any config);
- ``CacheBehavior.ForwardedValues``: answered only when it was given (moto invented the legacy
  ``ForwardedValues`` for behaviours that use a cache policy; AWS omits the legacy cache settings);
- ``ViewerCertificate.SSLSupportMethod``: answered only when given (moto invented ``sni-only`` for
  the default ``*.cloudfront.net`` certificate, where the field does not apply).
"""

from __future__ import annotations

from typing import Any


def _vpc_origin_config(config: dict[str, Any]) -> dict[str, Any]:
    """The origin's VpcOriginConfig as given; the timeouts as integers (the query parser's strings)."""
    answer: dict[str, Any] = {"VpcOriginId": config["VpcOriginId"]}
    for key in ("OriginReadTimeout", "OriginKeepaliveTimeout"):
        if config.get(key) is not None:
            answer[key] = int(config[key])
    return answer


def install() -> None:
    """Wrap the three config classes' constructors (idempotent)."""
    from moto.cloudfront import models

    if getattr(models, "_storefront_distribution_fields", False):
        return
    origin_init = models.Origin.__init__
    behaviour_init = models.DefaultCacheBehaviour.__init__
    certificate_init = models.ViewerCertificate.__init__

    def origin(self: Any, config: dict[str, Any]) -> None:
        origin_init(self, config)
        self.origin_access_control_id = config.get("OriginAccessControlId") or ""
        vpc_origin = config.get("VpcOriginConfig")
        self.vpc_origin_config = _vpc_origin_config(vpc_origin) if vpc_origin else None

    def behaviour(self: Any, config: dict[str, Any]) -> None:
        behaviour_init(self, config)
        if "ForwardedValues" not in config:
            self.forwarded_values = None

    def certificate(self: Any, config: dict[str, Any]) -> None:
        certificate_init(self, config)
        if not config.get("SSLSupportMethod"):
            self.ssl_support_method = None

    models.Origin.__init__ = origin  # type: ignore[method-assign]
    models.DefaultCacheBehaviour.__init__ = behaviour  # type: ignore[method-assign]
    models.ViewerCertificate.__init__ = certificate  # type: ignore[method-assign]
    models._storefront_distribution_fields = True  # type: ignore[attr-defined]
