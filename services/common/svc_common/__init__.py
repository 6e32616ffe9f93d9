"""Shared runtime library of the storefront services (copied into every service image).

Modules:
- ``settings``: environment-driven settings every service shares (pydantic-settings).
- ``logs``: one-line JSON logging to stdout.
- ``middleware``: request id, access log, CloudWatch EMF metrics, body size limit.
- ``security``: X-Api-Key and X-Service-Token dependencies (constant-time comparison).
- ``errors``: exception handlers (every bad input is a 4xx with a clear body; AWS trouble is 503)
  and the domain errors (NotFoundError, ConflictError, ...) repositories raise.
- ``fields``: bounded request field types (patterns with JSON Schema semantics, JSON integers).
- ``cursor``: opaque, strictly validated pagination cursors.
- ``context``: the per-request id (X-Request-Id) shared by logs and outgoing calls.
- ``dynamo``: the DynamoDB client factory (AWS_* env, short timeouts, bounded retries).
- ``app``: ``create_service_app`` wiring all of the above plus /health, /ready and docs.
- ``serve``: ``python -m svc_common.serve <package>.main:create_app`` (uvicorn, graceful SIGTERM).
- ``healthcheck``: ``python -m svc_common.healthcheck`` (container and ECS health check).
"""
