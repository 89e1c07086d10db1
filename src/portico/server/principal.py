"""Who is calling: the master key, an admin virtual key, a client virtual key, or nobody.

Every route declares the permission it needs; `Permission` is that declaration.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from starlette.requests import Request

from portico.errors import AuthError, InvalidRequest, PermissionDenied
from portico.pipeline.keys import KeyService
from portico.store.records import KeyRecord


class Permission(enum.Enum):
    PUBLIC = "public"   # health probes
    CLIENT = "client"   # any valid virtual key (or the master key)
    ADMIN = "admin"     # the master key or an admin virtual key


@dataclass(frozen=True, slots=True)
class Principal:
    key: KeyRecord | None
    is_master: bool

    @property
    def is_admin(self) -> bool:
        return self.is_master or (self.key is not None and self.key.is_admin)

    @property
    def actor(self) -> str:
        return "master" if self.is_master else (self.key.id if self.key else "anonymous")


ANONYMOUS = Principal(key=None, is_master=False)


def presented_key(request: Request) -> str | None:
    auth = request.headers.getlist("authorization")
    api_key = request.headers.getlist("x-api-key")
    if len(auth) > 1 or len(api_key) > 1:
        raise InvalidRequest("more than one credential header was sent")
    if auth:
        scheme, _, value = auth[0].partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("Authorization header must be 'Bearer <key>'.")
        return value.strip()
    if api_key:
        return api_key[0].strip() or None
    return None


async def authenticate(request: Request, keys: KeyService, needed: Permission) -> Principal:
    if needed is Permission.PUBLIC:
        return ANONYMOUS
    presented = presented_key(request)
    if presented is None:
        raise AuthError("You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
                        code="missing_api_key")
    if keys.is_master(presented):
        return Principal(key=None, is_master=True)
    record = await keys.authenticate(presented)
    principal = Principal(key=record, is_master=False)
    if needed is Permission.ADMIN and not principal.is_admin:
        raise PermissionDenied("this route needs the master key or an admin key")
    return principal
