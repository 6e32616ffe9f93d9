"""The bare "hello" app behind the services' own middleware, for the in-process bench only.

Health is not a probe path here, so every call writes its JSON access + EMF line: the difference
from the bare app is what our middleware costs on every logged request (the services' liveness
probes skip the line; their other routes do not).
"""

from __future__ import annotations

from hello_app import app as bare
from svc_common.middleware import RequestContextMiddleware

app = RequestContextMiddleware(bare, service="hello", environment="bench", max_body_bytes=64 * 1024)
