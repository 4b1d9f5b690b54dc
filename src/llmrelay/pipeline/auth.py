"""Bearer token → Principal: the master key, a bypass key, a virtual key, open mode, or a token only
passthrough providers accept; then what that principal may do.

Open mode: no master key, no bypass key and no stored (unrevoked) key; anyone may call, and the
client's token (if any) is kept for passthrough providers.

Permissions: `read` may list models; `read-write` may also run inference; `admin` may also use
/admin. The master key may do everything; a bypass key everything but /admin (and rate limits skip it).

    >>> await Authenticator(master_key="sk-master").authenticate("Bearer sk-master")
    Principal(kind='master', token='sk-master', key=None)
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TypeVar

from llmrelay.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from llmrelay.pipeline.context import Permission, Principal
from llmrelay.pipeline.keys import KeyCache, key_info
from llmrelay.pipeline.routing import Deployment, Plan
from llmrelay.storage.keys import KeyRow

_OPEN = Principal("open")
_RANK: dict[Permission, int] = {"read": 0, "read-write": 1, "admin": 2}
_WHAT: dict[Permission, str] = {"read": "list models", "read-write": "run inference", "admin": "use the admin API"}
T = TypeVar("T")


class Authenticator:
    def __init__(self, master_key: str | None, bypass_keys: Sequence[str] = (), keys: KeyCache | None = None) -> None:
        self._master = master_key.encode() if master_key else None
        self._bypass = tuple(k.encode() for k in bypass_keys if k)
        self.keys = keys

    @property
    def open_mode(self) -> bool:
        """As last known (the stored-keys part is cached); `authenticate` refreshes it."""
        return self._configured_open and not (self.keys is not None and self.keys.any_active_cached())

    @property
    def mode(self) -> str:
        if self._master is not None:
            return "master_key"
        return "open" if self.open_mode else "keys"

    @property
    def _configured_open(self) -> bool:
        return self._master is None and not self._bypass

    async def _is_open(self) -> bool:
        if not self._configured_open:
            return False
        keys = self.keys
        if keys is None:
            return True
        entry = keys.fresh_any()
        return not (entry.value if entry is not None else await keys.any_active())

    async def authenticate(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        if await self._is_open():
            return _open(token)
        if token is None:
            raise AuthenticationError(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code="missing_api_key"
            )
        presented = token.encode()
        if self._master is not None and hmac.compare_digest(presented, self._master):
            return Principal("master", token)
        if any(hmac.compare_digest(presented, bypass) for bypass in self._bypass):
            return Principal("bypass", token)
        row = await self.keys.resolve(token) if self.keys is not None else None
        if row is None:
            return Principal("unverified", token)
        return Principal("key", token, key_info(_usable(row)))

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
    def require(principal: Principal, permission: Permission) -> None:
        """401 for an unknown token, 403 `permission_error` when the principal lacks `permission`."""
        Authenticator.require_verified(principal)
        if principal.kind == "key" and principal.key is not None:
            if _RANK[principal.key.permissions] >= _RANK[permission]:
                return
            raise PermissionDeniedError(
                f"This key has '{principal.key.permissions}' permission and may not {_WHAT[permission]}.",
                code="permission_denied",
            )
        if permission == "admin" and principal.kind != "master":
            raise PermissionDeniedError(
                "The admin API needs the master key or a key with 'admin' permission.", code="permission_denied"
            )

    @staticmethod
    def parse_for(principal: Principal, parse: Callable[[bytes], T], body: bytes) -> T:
        """Parse a body; a caller with an unknown token gets 401, not the details of a 400."""
        try:
            return parse(body)
        except InvalidRequestError:
            Authenticator.require_verified(principal)
            raise

    @staticmethod
    def authorize(principal: Principal, plan: Plan) -> Plan:
        """An unverified token may only go to providers that forward the client's own token upstream;
        a virtual key only to the models its allowlist matches (fnmatch patterns, e.g. `gpt-4o*`).

        The plan's fallbacks are held to the same rules: the plan comes back without those the
        principal may not use (the requested model itself is refused with 401/403)."""
        if principal.kind == "unverified" and not all(d.passthrough_auth for d in plan.deployments):
            raise AuthenticationError("Incorrect API key provided.")
        key = principal.key
        patterns = key.models if key is not None else ()
        if patterns and not any(fnmatchcase(plan.model, p) for p in patterns):
            raise PermissionDeniedError(
                f"This key may not use the model '{plan.model}'.", param="model", code="model_not_allowed"
            )
        if not plan.fallbacks and not plan.context_fallbacks:
            return plan

        def allowed(d: Deployment) -> bool:
            if principal.kind == "unverified" and not d.passthrough_auth:
                return False
            return not patterns or any(fnmatchcase(d.public_name, p) for p in patterns)

        return replace(
            plan,
            fallbacks=tuple(d for d in plan.fallbacks if allowed(d)),
            context_fallbacks=tuple(d for d in plan.context_fallbacks if allowed(d)),
        )


_OPEN_BY_TOKEN: dict[str, Principal] = {}


def _open(token: str | None) -> Principal:
    """Open mode's principal for `token`, made once per token (a client sends the same one each time)."""
    if token is None:
        return _OPEN
    principal = _OPEN_BY_TOKEN.get(token)
    if principal is None:
        if len(_OPEN_BY_TOKEN) >= 1024:
            _OPEN_BY_TOKEN.clear()
        principal = _OPEN_BY_TOKEN[token] = Principal("open", token)
    return principal


def _usable(row: KeyRow) -> KeyRow:
    """The row of a key that may be used now: 401 saying so for a revoked or expired one."""
    if row.revoked_at is not None:
        raise AuthenticationError("This API key has been revoked.", code="api_key_revoked")
    if row.expired(datetime.now(UTC)):
        assert row.expires_at is not None
        raise AuthenticationError(f"This API key expired at {row.expires_at.isoformat()}.", code="api_key_expired")
    return row


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return authorization.strip() or None
    return token.strip() or None
