"""Render any failure as OpenAI's error envelope, with the right status and headers; never a trace.

>>> error_response(ModelNotFoundError("no such model", param="model")).status_code
404
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from llmrelay.errors import InvalidRequestError, NotFoundError, RelayError


def error_response(error: RelayError) -> Response:
    return Response(
        orjson.dumps(error.to_body()),
        status_code=error.status_code,
        headers=dict(error.headers),
        media_type="application/json",
    )


def _http_error(exc: HTTPException) -> RelayError:
    if exc.status_code == 404:
        return NotFoundError("Unknown request URL. See /docs for the routes this gateway serves.")
    if exc.status_code == 405:
        error = InvalidRequestError("This method is not allowed on this URL.", code="method_not_allowed")
        return _WithStatus(error, 405)
    return _WithStatus(InvalidRequestError(str(exc.detail)), exc.status_code)


class _WithStatus(RelayError):
    def __init__(self, error: RelayError, status: int) -> None:
        super().__init__(error.message, param=error.param, code=error.code, headers=error.headers)
        self._status, self._type = status, error.error_type

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def error_type(self) -> str:
        return self._type


def install(app: FastAPI) -> None:
    async def relay_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RelayError)
        return error_response(exc)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(_http_error(exc))

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return error_response(InvalidRequestError(str(first.get("msg", "Invalid request.")), param=param))

    app.add_exception_handler(RelayError, relay_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
