"""catalog settings (environment) and the service's own API facts."""

from __future__ import annotations

from pydantic import Field, SecretStr
from svc_common.settings import ServiceSettings

# The public path prefix of this service's API; tests check it equals path_prefix in service.yaml.
PATH_PREFIX = "/catalog"
API_VERSION = "1.0.0"


class Settings(ServiceSettings):
    """Environment of the catalog service (see the runtime contract)."""

    # Other services present this in X-Service-Token to use the reservations API.
    service_token: SecretStr = Field(min_length=16)
