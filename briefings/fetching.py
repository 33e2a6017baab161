"""Fetch one source's bytes: HTTP(S) with conditional GET and hard limits, or a local file.

The fetcher knows nothing about feeds; it returns bytes, a media type and the
validators to remember for the next run. Every failure becomes a
``SourceError`` (permanent) or ``TransientSourceError`` (worth retrying later)
whose message is one line naming the location and the reason.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import logging
import math
import mimetypes
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

import httpx

from briefings.errors import SourceError, TransientSourceError

log = logging.getLogger(__name__)

__all__ = ["FetchLimits", "FetchResult", "FetchState", "Fetcher"]


def _package_version() -> str:
    try:
        return metadata.version("coalition-briefings")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


DEFAULT_USER_AGENT = (
    f"coalition-briefings/{_package_version()} (+https://github.com/coalition/briefings)"
)

# Feeds first, then the JSON and XML that advisories (CSAF) and odd feeds use; */* last so a
# strict server answers with something rather than 406.
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)

# Only codings we can decode with a bound on the output (see _BoundedDecoder); br is
# left out on purpose, so a Brotli bomb cannot be sent to us at all.
ACCEPT_ENCODING = "gzip, deflate"

_LOCAL_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/xml",
    ".atom": "application/xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class FetchState:
    """Validators remembered per source between runs; each stored independently."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch. ``max_bytes`` applies to decoded bytes."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # wall-clock bound on one attempt's body, defeats slow drips
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2  # extra attempts on transient failures
    backoff: float = 1.0  # base seconds for exponential backoff when no Retry-After
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for
    user_agent: str = DEFAULT_USER_AGENT


@dataclass(frozen=True)
class FetchResult:
    """What one successful fetch produced.

    ``location`` is the final URL after redirects or the resolved absolute local path;
    ``body`` is ``b""`` when ``status`` is ``"not-modified"``; ``content_type`` is the media
    type without parameters, lower-case; ``attempts`` counts attempts (redirects followed
    within one attempt are not counted separately).
    """

    location: str
    status: Literal["ok", "not-modified"]
    body: bytes
    content_type: str | None
    state: FetchState
    attempts: int


class _Retryable(Exception):
    """One attempt failed in a way worth another attempt (internal to this module)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Fetcher:
    """Fetches sources under ``limits``; safe to share between threads.

    One ``httpx.Client`` is kept for the fetcher's life so connections are reused.
    ``sleep`` is called for every wait between attempts (inject a recorder in tests).
    """

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),  # frozen, so one shared default is safe
        *,
        base_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.limits = limits
        self.base_dir = base_dir
        self._sleep = sleep
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            timeout=httpx.Timeout(
                connect=limits.connect_timeout,
                read=limits.read_timeout,
                write=limits.read_timeout,
                pool=limits.connect_timeout,
            ),
            headers={
                "User-Agent": limits.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )

    def close(self) -> None:
        """Close pooled connections; the fetcher cannot be used afterwards."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def fetch(
        self, location: str, state: FetchState = FetchState(), *, source_id: str | None = None
    ) -> FetchResult:
        """Fetch ``location`` (http(s) URL, ``file://`` URL or path) given the stored ``state``.

        Raises ``TransientSourceError`` for failures worth retrying on a later run and
        ``SourceError`` for the rest; no httpx exception escapes.
        """
        try:
            scheme = urlsplit(location).scheme.lower()
        except ValueError as exc:
            raise SourceError(f"{location}: invalid URL ({_one_line(exc)})", source_id) from exc
        if scheme in ("http", "https"):
            result = self._fetch_http(location, state, source_id)
        elif scheme == "file":
            result = self._fetch_file(_file_url_path(location, source_id), state, source_id)
        elif scheme == "" or len(scheme) == 1:  # a path; one letter is a Windows drive
            result = self._fetch_file(Path(location).expanduser(), state, source_id)
        else:
            raise SourceError(
                f"{_redact(location)}: unsupported scheme {scheme!r} "
                "(use http, https, file or a path)",
                source_id,
            )
        log.info(
            "Fetched %s: %s, %d bytes, %s, %d attempt(s)",
            source_id or _redact(location),
            result.status,
            len(result.body),
            result.content_type or "unknown type",
            result.attempts,
        )
        return result

    # -- HTTP ---------------------------------------------------------------------------------

    def _fetch_http(self, url: str, state: FetchState, source_id: str | None) -> FetchResult:
        where = _redact(url)
        headers: dict[str, str] = {}
        # Send both validators when both are known: the server decides which one wins.
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        limits = self.limits
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt_http(url, headers, state, attempt, source_id)
            except _Retryable as exc:
                cause = exc.__cause__
                if exc.retry_after is not None and exc.retry_after > limits.max_retry_after:
                    raise TransientSourceError(
                        f"{where}: {exc.reason}; Retry-After of {exc.retry_after:g} s exceeds "
                        f"the {limits.max_retry_after:g} s bound, try again later",
                        source_id,
                        retry_after=exc.retry_after,
                    ) from cause
                if attempt > limits.retries:
                    raise TransientSourceError(
                        f"{where}: {exc.reason} (gave up after {attempt} attempt(s))",
                        source_id,
                        retry_after=exc.retry_after,
                    ) from cause
                if exc.retry_after is not None:
                    delay = exc.retry_after
                else:
                    delay = limits.backoff * 2 ** (attempt - 1)
                log.debug("Retrying %s in %.1f s after: %s", where, delay, exc.reason)
                self._sleep(delay)

    def _attempt_http(
        self,
        url: str,
        headers: dict[str, str],
        state: FetchState,
        attempt: int,
        source_id: str | None,
    ) -> FetchResult:
        where = _redact(url)
        limits = self.limits
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                final = str(response.url)
                if final != url:
                    where = f"{where} (redirected to {_redact(final)})"
                status = response.status_code
                reason = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status == 304:
                    # A 304 may refresh validators; whatever it leaves out stays as stored.
                    new_state = FetchState(
                        etag=_validator(response.headers.get("ETag")) or state.etag,
                        last_modified=_validator(response.headers.get("Last-Modified"))
                        or state.last_modified,
                    )
                    return FetchResult(final, "not-modified", b"", None, new_state, attempt)
                if status == 429 or status >= 500:
                    retry_after = None
                    if status in (429, 503):
                        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
                    raise _Retryable(reason, retry_after)
                if not 200 <= status < 300:
                    raise SourceError(f"{where}: {reason}", source_id)
                length = _content_length(response.headers.get("Content-Length"))
                if length is not None and length > limits.max_bytes:
                    raise SourceError(
                        f"{where}: body of {length} bytes exceeds {_size(limits.max_bytes)} limit",
                        source_id,
                    )
                body = self._read_body(response, where, source_id)
                # Each validator is taken from this response alone: a missing ETag clears ours.
                new_state = FetchState(
                    etag=_validator(response.headers.get("ETag")),
                    last_modified=_validator(response.headers.get("Last-Modified")),
                )
                content_type = _media_type(response.headers.get("Content-Type"))
                return FetchResult(final, "ok", body, content_type, new_state, attempt)
        except httpx.TooManyRedirects as exc:
            raise SourceError(
                f"{where}: too many redirects (more than {limits.max_redirects})", source_id
            ) from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{_timeout_kind(exc)} timed out") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            raise _Retryable(_one_line(exc) or type(exc).__name__) from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            # Unsupported redirect target, malformed URL, local protocol misuse: permanent.
            raise SourceError(
                f"{where}: {_one_line(exc) or type(exc).__name__}", source_id
            ) from exc

    def _read_body(self, response: httpx.Response, where: str, source_id: str | None) -> bytes:
        """Read and decode the body, enforcing ``max_bytes`` and ``total_timeout``."""
        limits = self.limits
        decoder = _BoundedDecoder.for_encoding(response.headers.get("Content-Encoding"))
        if decoder is None:
            raise SourceError(
                f"{where}: unsupported Content-Encoding "
                f"{response.headers.get('Content-Encoding')!r}",
                source_id,
            )
        # Connect and read timeouts bound each socket operation; only a wall-clock deadline
        # stops a server that sends one byte just before every read timeout.
        deadline = time.monotonic() + limits.total_timeout
        body = bytearray()
        try:
            for raw in response.iter_raw():
                body += decoder.decode(raw, limits.max_bytes + 1 - len(body))
                if len(body) > limits.max_bytes:
                    raise SourceError(
                        f"{where}: body exceeds {_size(limits.max_bytes)} limit", source_id
                    )
                if time.monotonic() > deadline:
                    raise _Retryable(f"total timeout of {limits.total_timeout:g} s exceeded")
        except zlib.error as exc:
            raise SourceError(f"{where}: cannot decode body: {_one_line(exc)}", source_id) from exc
        return bytes(body)

    # -- local files --------------------------------------------------------------------------

    def _fetch_file(self, path: Path, state: FetchState, source_id: str | None) -> FetchResult:
        if not path.is_absolute():
            path = (self.base_dir or Path.cwd()) / path
        path = path.resolve()
        limit = self.limits.max_bytes
        is_gzip = path.suffix.lower() == ".gz"
        try:
            with path.open("rb") as raw:
                mtime = os.fstat(raw.fileno()).st_mtime
                if is_gzip:
                    # GzipFile.read(n) inflates at most n bytes, so a bomb stops at the cap.
                    with gzip.GzipFile(fileobj=raw) as unzipped:
                        body = unzipped.read(limit + 1)
                else:
                    body = raw.read(limit + 1)
        except FileNotFoundError as exc:
            raise SourceError(f"{path}: no such file", source_id) from exc
        except IsADirectoryError as exc:
            raise SourceError(f"{path}: is a directory, not a file", source_id) from exc
        except PermissionError as exc:
            raise SourceError(f"{path}: permission denied", source_id) from exc
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise SourceError(
                f"{path}: not a valid gzip file ({_one_line(exc)})", source_id
            ) from exc
        except OSError as exc:
            raise SourceError(f"{path}: {exc.strerror or _one_line(exc)}", source_id) from exc
        if len(body) > limit:
            what = "decompressed body" if is_gzip else "file"
            raise SourceError(f"{path}: {what} exceeds {_size(limit)} limit", source_id)

        etag = f'"sha256:{hashlib.sha256(body).hexdigest()}"'
        new_state = FetchState(etag=etag, last_modified=email.utils.formatdate(mtime, usegmt=True))
        content_type = _local_media_type(path.with_suffix("") if is_gzip else path)
        if state.etag == etag:
            return FetchResult(str(path), "not-modified", b"", content_type, new_state, 1)
        return FetchResult(str(path), "ok", body, content_type, new_state, 1)


# -- helpers ----------------------------------------------------------------------------------


class _BoundedDecoder:
    """Content decoding with a bound on each call's output.

    httpx inflates every network chunk in full before the caller can count it, so one
    64 KB chunk of a gzip bomb would become ~64 MB in memory. Here the caller says how many
    decoded bytes it still accepts, and no more than that is ever produced.
    """

    def __init__(self, wbits: int | None):
        self._wbits = wbits  # None: identity
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None
        self._first = True

    @classmethod
    def for_encoding(cls, header: str | None) -> _BoundedDecoder | None:
        """The decoder for a ``Content-Encoding`` value, or None if unsupported."""
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return cls(None)
        if len(codings) > 1:
            return None  # stacked codings cannot be inflated with one output bound
        return {
            "gzip": cls(zlib.MAX_WBITS | 16),
            "x-gzip": cls(zlib.MAX_WBITS | 16),
            "deflate": cls(zlib.MAX_WBITS),
        }.get(codings[0])

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Decode ``data`` into at most ``max_length`` (>= 1) bytes.

        Input left over once ``max_length`` is reached is dropped: the caller stops then.
        """
        if self._zlib is None:
            return data[:max_length]
        first, self._first = self._first, False
        try:
            return self._zlib.decompress(data, max_length)
        except zlib.error:
            if first and self._wbits == zlib.MAX_WBITS:
                # Some servers send raw deflate without the zlib wrapper, as httpx allows.
                self._wbits = -zlib.MAX_WBITS
                self._zlib = zlib.decompressobj(self._wbits)
                return self._zlib.decompress(data, max_length)
            raise


def _file_url_path(url: str, source_id: str | None) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceError(f"{url}: file URLs on another host are not supported", source_id)
    return Path(url2pathname(unquote(parts.path)))


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" dates parse as naive; HTTP-dates are always GMT
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth storing: printable ASCII, so it can be sent back."""
    if value and value.isascii() and value.isprintable():
        return value
    return None


def _media_type(value: str | None) -> str | None:
    media = (value or "").split(";", 1)[0].strip().lower()
    return media or None


def _local_media_type(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in _LOCAL_TYPES:
        return _LOCAL_TYPES[suffix]
    guessed, _encoding = mimetypes.guess_type(path.name)
    return guessed.lower() if guessed else None


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect"
    if isinstance(exc, httpx.ReadTimeout):
        return "read"
    if isinstance(exc, httpx.WriteTimeout):
        return "write"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a pooled connection"
    return "request"


def _size(n: int) -> str:
    mib = 1024 * 1024
    if n >= mib and n % mib == 0:
        return f"{n // mib} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _redact(url: str) -> str:
    """``url`` without a password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
