"""Bearer token → Principal: the master key, open mode, or a token only passthrough providers accept.

>>> Authenticator(master_key="sk-master").authenticate("Bearer sk-master").kind
'master'
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TypeVar

from llmrelay.errors import AuthenticationError, InvalidRequestError
from llmrelay.pipeline.context import Principal
from llmrelay.pipeline.routing import Plan

_OPEN = Principal("open")
T = TypeVar("T")


class Authenticator:
    def __init__(self, master_key: str | None) -> None:
        self._master = master_key.encode() if master_key else None

    @property
    def open_mode(self) -> bool:
        return self._master is None

    def authenticate(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        if self._master is None:
            return Principal("open", token) if token else _OPEN
        if token is None:
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code="missing_api_key"
            )
        if hmac.compare_digest(token.encode(), self._master):
            return Principal("master", token)
        return Principal("unverified", token)

    @staticmethod
    def require_verified(principal: Principal) -> None:
        if principal.kind == "unverified":
            raise AuthenticationError("Incorrect API key provided.")

    @staticmethod
    def require_verified_unless(principal: Principal, passthrough_possible: bool) -> None:
        """Reject an unknown token at once unless some provider may accept it as the client's own key."""
        if not passthrough_possible:
            Authenticator.require_verified(principal)

    @staticmethod
    def parse_for(principal: Principal, parse: Callable[[bytes], T], body: bytes) -> T:
        """Parse a body; a caller with an unknown token gets 401, not the details of a 400."""
        try:
            return parse(body)
        except InvalidRequestError:
            Authenticator.require_verified(principal)
            raise

    @staticmethod
    def authorize(principal: Principal, plan: Plan) -> None:
        """An unverified token may only go to providers that forward the client's own token upstream."""
        if principal.kind == "unverified" and not all(d.passthrough_auth for d in plan.deployments):
            raise AuthenticationError("Incorrect API key provided.")


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return authorization.strip() or None
    return token.strip() or None
