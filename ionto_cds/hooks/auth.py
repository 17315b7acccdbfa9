"""Which CDS Clients may call the service: the CDS Hooks 2.0 JWT bearer token.

A trusted client is an issuer (``iss``) with its JWK Set, given as a file (configured offline:
the ``jku`` header of a token is never followed, so a token cannot point the service at a key
of its own). Every service call and feedback then needs ``Authorization: Bearer <JWT>`` signed
with ES384 or RS384 by a key of that set, with ``aud`` the URL of the service called, ``exp``
not passed, ``iat`` and a ``jti`` not seen before (a token is used once).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionto_cds.errors import HookAuthError, JSONRefused, UsageError
from ionto_cds.inputs import MAX_FILE_BYTES
from ionto_cds.language.jsonsource import strict_json

ALGORITHMS = ("ES384", "RS384")
"""The signatures CDS Hooks 2.0 names for the client's JWT (a service supports both)."""
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti")
LEEWAY_SECONDS = 30
"""Clock difference allowed between the client and this machine."""
MAX_TOKEN_CHARS = 16_384


def check_public_url(url: str) -> str:
    """The ``--public-url`` option: an absolute http(s) URL, without a trailing slash."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"--public-url {url!r}: write the base URL the EHR calls, e.g. "
                         "https://cds.example.org")
    return url.strip().rstrip("/")


def read_trust(pairs: list[str]) -> dict[str, Any]:
    """``ISSUER=JWKS_FILE`` pairs (the ``--trust`` option) as issuer: JWK Set."""
    import jwt

    trusted: dict[str, Any] = {}
    for pair in pairs:
        issuer, sep, name = pair.partition("=")
        if not sep or not issuer.strip() or not name.strip():
            raise UsageError(f"--trust {pair!r}: write ISSUER=JWKS_FILE, e.g. "
                             "https://ehr.example.org=ehr-jwks.json")
        if issuer.strip() in trusted:
            raise UsageError(f"--trust {pair!r}: the issuer {issuer.strip()!r} is given twice; "
                             "put all its keys in one JWK Set file")
        path = Path(name.strip())
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise UsageError(f"--trust {pair!r}: {path} is larger than {MAX_FILE_BYTES:,} "
                                 "bytes; a JWK Set is a few kilobytes")
            data = strict_json(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise UsageError(f"--trust {pair!r}: {path} is not a JWK Set with a usable "
                                 "key (not a JSON object)")
            keys = jwt.PyJWKSet.from_dict(data)
        except UsageError:
            raise
        except OSError as exc:
            raise UsageError(f"--trust {pair!r}: cannot read {path} ({exc.strerror})") from None
        except (ValueError, JSONRefused, jwt.PyJWTError) as exc:
            raise UsageError(f"--trust {pair!r}: {path} is not a JWK Set with a usable key "
                             f"({exc})") from None
        trusted[issuer.strip()] = keys
    return trusted


@dataclass
class ClientTrust:
    """The trusted CDS Clients, by issuer, and the token ids already used."""

    issuers: Mapping[str, Any]
    """Issuer to ``jwt.PyJWKSet``."""
    remembered: int = 65_536
    """Token ids kept against replay (the oldest go first)."""
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, authorization: str | None, audience: Sequence[str]) -> str:
        """The issuer of a valid token for one of ``audience`` (the URL of the service
        called first); raises HookAuthError with the reason otherwise."""
        import jwt

        if not authorization:
            raise HookAuthError("this service needs an 'Authorization: Bearer <JWT>' header "
                                "from a trusted CDS Client")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HookAuthError("the Authorization header must be 'Bearer <JWT>'")
        if len(token) > MAX_TOKEN_CHARS:
            raise HookAuthError(f"the bearer token is over {MAX_TOKEN_CHARS:,} characters")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise HookAuthError("the bearer token is not a JWT") from None
        issuer = claims.get("iss")
        keys = self.issuers.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise HookAuthError(f"the token's issuer {str(issuer)[:200]!r} is not trusted here")
        if header.get("alg") not in ALGORITHMS:
            raise HookAuthError(f"the token is signed with {str(header.get('alg'))[:20]!r}: "
                                f"only {' or '.join(ALGORITHMS)} are accepted")
        key = _key(keys, header.get("kid"))
        try:
            verified = jwt.decode(token, key.key, algorithms=list(ALGORITHMS),
                                  audience=audience, issuer=issuer, leeway=LEEWAY_SECONDS,
                                  options={"require": list(REQUIRED_CLAIMS)})
        except jwt.ExpiredSignatureError:
            raise HookAuthError("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise HookAuthError(f"the token is not for this service (its 'aud' must be "
                                f"{audience[0]})") from None
        except jwt.MissingRequiredClaimError as exc:
            raise HookAuthError(f"the token has no '{exc.claim}' claim") from None
        except jwt.InvalidSignatureError:
            raise HookAuthError("the token's signature does not match the issuer's key") from None
        except jwt.PyJWTError as exc:
            raise HookAuthError(f"the token is not valid ({exc})") from None
        self._use(str(verified["jti"]), float(verified["exp"]))
        return str(issuer)

    def _use(self, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            seen = self._seen
            while seen and (len(seen) >= self.remembered
                            or next(iter(seen.values())) + LEEWAY_SECONDS < now):
                seen.popitem(last=False)
            if jti in seen:
                raise HookAuthError("the token was already used (a new 'jti' is needed for "
                                    "every call)")
            seen[jti] = expires


def _key(keys: Any, kid: object) -> Any:
    """The key of the set named by the token's ``kid`` (or the set's only key)."""
    found = [k for k in keys.keys if kid is None or k.key_id == kid]
    if kid is None and len(found) > 1:
        raise HookAuthError("the token names no key ('kid') and the issuer has several")
    if not found:
        raise HookAuthError(f"the issuer has no key {str(kid)[:100]!r}")
    return found[0]
