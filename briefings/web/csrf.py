"""Cross-site request forgery: a synchronizer token per session in every POST form.

Each session (signed in or not) holds one random token; every form carries it in a
hidden ``csrf_token`` field, and a POST whose field does not equal its session's
token is refused with 403 before anything else happens. Two cheaper signals are
checked first, as defence in depth: a browser's ``Sec-Fetch-Site`` saying the
request came from another site, and an ``Origin`` naming another origin. (An
``Origin: null`` is let through to the token check: Chromium sends it on every
same-origin form POST of a page whose Referrer-Policy is ``no-referrer``.) The
session cookie is also ``SameSite=Strict``, so other sites' forms arrive without it.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

FIELD = "csrf_token"


def is_cross_site(request: Request) -> bool:
    """True when the browser says the request was made by another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/") != own


def is_valid_token(expected: str | None, submitted: object) -> bool:
    """The submitted token equals the session's (compared in constant time)."""
    if not expected or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode("ascii"), submitted.encode("utf-8", "replace"))
