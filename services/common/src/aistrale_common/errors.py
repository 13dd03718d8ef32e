"""The error tree, written down once.

    AistraleError (status, code, type, log level)
    ├── InvalidRequest          400 invalid_request_error
    ├── AuthenticationFailed    401 invalid_api_key
    ├── PermissionDenied        403 permission_denied / model_not_allowed
    ├── NotFound                404 not_found / model_not_found
    ├── Conflict                409 conflict
    ├── PayloadTooLarge         413 request_too_large
    ├── RateLimited             429 rate_limit_exceeded (Retry-After)
    ├── QuotaExceeded           429 insufficient_quota (Retry-After)
    ├── UpstreamFailed          502 upstream_error
    ├── ServiceUnavailable      503 service_unavailable
    └── UpstreamTimeout         504 upstream_timeout

Every service renders these in OpenAI's shape: {"error": {message, type, param, code}}.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from aistrale_common.logging import get_logger

log = get_logger(__name__)


class AistraleError(Exception):
    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    code: ClassVar[str | None] = "internal_error"
    log_level: ClassVar[int] = logging.ERROR

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.instance_code = code if code is not None else self.code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.instance_code, self.param)


class InvalidRequest(AistraleError):
    status = 400
    type = "invalid_request_error"
    code = None
    log_level = logging.INFO


class AuthenticationFailed(AistraleError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"
    log_level = logging.INFO


class PermissionDenied(AistraleError):
    status = 403
    type = "permission_error"
    code = "permission_denied"
    log_level = logging.INFO


class NotFound(AistraleError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"
    log_level = logging.INFO


class Conflict(AistraleError):
    status = 409
    type = "invalid_request_error"
    code = "conflict"
    log_level = logging.INFO


class PayloadTooLarge(AistraleError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"
    log_level = logging.INFO


class RateLimited(AistraleError):
    status = 429
    type = "requests"
    code = "rate_limit_exceeded"
    log_level = logging.INFO


class QuotaExceeded(AistraleError):
    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"
    log_level = logging.INFO


class UpstreamFailed(AistraleError):
    status = 502
    type = "server_error"
    code = "upstream_error"
    log_level = logging.WARNING


class ServiceUnavailable(AistraleError):
    status = 503
    type = "server_error"
    code = "service_unavailable"
    log_level = logging.WARNING


class UpstreamTimeout(AistraleError):
    status = 504
    type = "server_error"
    code = "upstream_timeout"
    log_level = logging.WARNING


def error_body(message: str, type_: str, code: str | None, param: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(err: AistraleError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


_STATUS_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("requests", "rate_limit_exceeded"),
}


def install_error_handlers(app: FastAPI, *, validation_status: int = 400) -> None:
    """One handler per app: our errors, HTTP errors, validation errors, and the rest."""

    async def on_aistrale(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AistraleError)
        log.log(
            exc.log_level,
            "request_error",
            code=exc.instance_code,
            status=exc.status,
            error=exc.message,
        )
        return error_response(exc)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        type_, code = _STATUS_TYPES.get(exc.status_code, ("server_error", None))
        body = error_body(str(exc.detail), type_, code, None)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_response(exc.errors(), validation_status)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this outside the middleware (whose context var is reset by then):
        # the request id comes from the scope, for the log line and Sentry's tag.
        request_id = request.scope.get("state", {}).get("request_id")
        log.exception("unhandled_error", error_type=type(exc).__name__, request_id=request_id)
        body = error_body("Internal server error", "server_error", "internal_error", None)
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(AistraleError, on_aistrale)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)


def validation_response(errors: Any, status: int) -> JSONResponse:
    """Field-level messages: `param` names the first bad field, `details` lists them all."""
    details = [
        {"param": _loc(e.get("loc", ())), "message": str(e.get("msg", "invalid value"))}
        for e in errors
    ]
    first = details[0] if details else {"param": None, "message": "Invalid request"}
    message = "; ".join(f"{d['param']}: {d['message']}" for d in details) or "Invalid request"
    body = error_body(message, "invalid_request_error", "invalid_request", first["param"])
    body["error"]["details"] = details
    return JSONResponse(body, status_code=status)


def _loc(loc: Any) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None
