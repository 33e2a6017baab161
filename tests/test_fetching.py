"""Fetcher against a real HTTP server on 127.0.0.1 and real files; no mocks, no network.

Each test scripts the server per path: a list of replies served in order, the last one
repeating forever. The server records the headers of every request it received.
"""

from __future__ import annotations

import gzip
import http.server
import socket
import threading
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from briefings.errors import SourceError, TransientSourceError
from briefings.fetching import Fetcher, FetchLimits, FetchResult, FetchState

LAST_MODIFIED = "Mon, 03 Mar 2025 10:00:00 GMT"
RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False  # chunked transfer encoding, no Content-Length
    content_length: int | None = None  # advertise this instead of len(body)
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between body bytes


class ScriptedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.lock = threading.Lock()
        self.replies: dict[str, list[Reply]] = {}
        self.received: defaultdict[str, list[dict[str, str]]] = defaultdict(list)

    def next_reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.received[path].append(headers)
            queue = self.replies.get(path)
            if not queue:
                return Reply(404, body=b"not scripted")
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def handle_error(self, request, client_address) -> None:
        """Quiet: the fetcher hangs up on purpose (timeouts, size caps), mid-reply."""


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, like real servers
    server: ScriptedServer

    def do_GET(self) -> None:
        reply = self.server.next_reply(self.path, {k.lower(): v for k, v in self.headers.items()})
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, as it should on a hostile reply

    def _send(self, reply: Reply) -> None:
        time.sleep(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            length = reply.content_length if reply.content_length is not None else len(reply.body)
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if reply.drip:
            for i in range(len(reply.body)):
                self._write(reply.body[i : i + 1], reply.chunked)
                time.sleep(reply.drip)
        elif reply.chunked:
            for start in range(0, len(reply.body), 16384):
                self._write(reply.body[start : start + 16384], chunked=True)
        else:
            self._write(reply.body, chunked=False)
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")
        if reply.content_length is not None and reply.content_length != len(reply.body):
            self.close_connection = True

    def _write(self, data: bytes, chunked: bool) -> None:
        if chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)
        self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


class Site:
    """The shared server seen through one test's own path prefix."""

    def __init__(self, server: ScriptedServer, prefix: str):
        self.server = server
        self.prefix = prefix

    def path(self, name: str) -> str:
        return f"/{self.prefix}/{name}"

    def url(self, name: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path(name)}"

    def script(self, name: str, *replies: Reply) -> str:
        with self.server.lock:
            self.server.replies[self.path(name)] = list(replies)
        return self.url(name)

    def requests(self, name: str) -> list[dict[str, str]]:
        with self.server.lock:
            return list(self.server.received[self.path(name)])


@pytest.fixture
def site(server: ScriptedServer, request: pytest.FixtureRequest) -> Site:
    return Site(server, request.node.name.replace("[", "-").replace("]", ""))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(sleeps: list[float], tmp_path: Path) -> Iterator:
    made: list[Fetcher] = []

    def make(**limits: object) -> Fetcher:
        fetcher = Fetcher(FetchLimits(**limits), base_dir=tmp_path, sleep=sleeps.append)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


@pytest.fixture
def fetcher(make_fetcher) -> Fetcher:
    return make_fetcher()


def check_error(exc: SourceError, location: str, source_id: str | None = "src") -> str:
    """Every error is one line, names the location and carries the source id."""
    message = str(exc)
    assert "\n" not in message
    assert location in message
    assert exc.source_id == source_id
    return message


# -- conditional GET and validators --------------------------------------------------------------


def test_200_then_304_sends_both_validators(site: Site, fetcher: Fetcher) -> None:
    headers = {
        "ETag": '"v1"',
        "Last-Modified": LAST_MODIFIED,
        "Content-Type": "application/rss+xml; charset=utf-8",
    }
    url = site.script("feed.xml", Reply(200, headers, RSS), Reply(304, {"ETag": '"v1"'}))

    first = fetcher.fetch(url)
    assert first == FetchResult(
        url, "ok", RSS, "application/rss+xml", FetchState('"v1"', LAST_MODIFIED), 1
    )

    second = fetcher.fetch(url, first.state)
    assert second.status == "not-modified"
    assert second.body == b""
    assert second.state == first.state
    sent = site.requests("feed.xml")[1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == LAST_MODIFIED
    assert "if-none-match" not in site.requests("feed.xml")[0]


def test_304_keeps_old_validators_and_takes_new_ones(site: Site, fetcher: Fetcher) -> None:
    url = site.script("feed.xml", Reply(304, {"ETag": '"v2"'}))
    result = fetcher.fetch(url, FetchState('"v1"', LAST_MODIFIED))
    assert result.state == FetchState('"v2"', LAST_MODIFIED)


def test_changed_etag_with_same_last_modified_is_a_new_body(site: Site, fetcher: Fetcher) -> None:
    url = site.script(
        "feed.xml",
        Reply(200, {"ETag": '"v1"', "Last-Modified": LAST_MODIFIED}, b"old"),
        Reply(200, {"ETag": '"v2"', "Last-Modified": LAST_MODIFIED}, b"new"),
    )
    first = fetcher.fetch(url)
    second = fetcher.fetch(url, first.state)
    assert (second.status, second.body) == ("ok", b"new")
    assert second.state == FetchState('"v2"', LAST_MODIFIED)


def test_response_without_etag_clears_the_stored_one(site: Site, fetcher: Fetcher) -> None:
    url = site.script("feed.xml", Reply(200, {"Last-Modified": LAST_MODIFIED}, RSS))
    result = fetcher.fetch(url, FetchState('"old"', "Sun, 02 Mar 2025 10:00:00 GMT"))
    assert result.state == FetchState(None, LAST_MODIFIED)


def test_default_headers_are_sent(site: Site, fetcher: Fetcher) -> None:
    url = site.script("feed.xml", Reply(200, body=RSS))
    fetcher.fetch(url)
    sent = site.requests("feed.xml")[0]
    assert sent["user-agent"].startswith("coalition-briefings/")
    assert "application/rss+xml" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


# -- retries ----------------------------------------------------------------------------------


def test_500_then_200_retries(site: Site, fetcher: Fetcher, sleeps: list[float]) -> None:
    url = site.script("feed.xml", Reply(500), Reply(200, body=RSS))
    result = fetcher.fetch(url)
    assert (result.status, result.body, result.attempts) == ("ok", RSS, 2)
    assert sleeps == [1.0]


def test_500_forever_gives_up_after_all_attempts(
    site: Site, make_fetcher, sleeps: list[float]
) -> None:
    url = site.script("feed.xml", Reply(500))
    with pytest.raises(TransientSourceError) as info:
        make_fetcher(retries=2, backoff=0.5).fetch(url, source_id="src")
    message = check_error(info.value, url)
    assert "HTTP 500" in message
    assert len(site.requests("feed.xml")) == 3
    assert sleeps == [0.5, 1.0]  # exponential backoff


def test_429_retry_after_seconds_is_honoured(
    site: Site, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = site.script("feed.xml", Reply(429, {"Retry-After": "3"}), Reply(200, body=RSS))
    result = fetcher.fetch(url)
    assert (result.status, result.attempts) == ("ok", 2)
    assert sleeps == [3.0]


def test_429_retry_after_beyond_bound_is_not_waited_for(
    site: Site, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = site.script("feed.xml", Reply(429, {"Retry-After": "3600"}))
    with pytest.raises(TransientSourceError) as info:
        fetcher.fetch(url, source_id="src")
    check_error(info.value, url)
    assert info.value.retry_after == 3600
    assert sleeps == []
    assert len(site.requests("feed.xml")) == 1


def test_503_retry_after_http_date(site: Site, fetcher: Fetcher, sleeps: list[float]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    url = site.script("feed.xml", Reply(503, {"Retry-After": when}), Reply(200, body=RSS))
    assert fetcher.fetch(url).attempts == 2
    assert len(sleeps) == 1
    assert 3.0 <= sleeps[0] <= 5.0  # the date has whole seconds


def test_429_after_retries_carries_retry_after(
    site: Site, make_fetcher, sleeps: list[float]
) -> None:
    url = site.script("feed.xml", Reply(429, {"Retry-After": "2"}))
    with pytest.raises(TransientSourceError) as info:
        make_fetcher(retries=1).fetch(url, source_id="src")
    check_error(info.value, url)
    assert info.value.retry_after == 2
    assert sleeps == [2.0]


def test_404_is_permanent_and_not_retried(
    site: Site, fetcher: Fetcher, sleeps: list[float]
) -> None:
    url = site.script("feed.xml", Reply(404, body=b"gone"))
    with pytest.raises(SourceError) as info:
        fetcher.fetch(url, source_id="src")
    assert not isinstance(info.value, TransientSourceError)
    assert "HTTP 404 Not Found" in check_error(info.value, url)
    assert len(site.requests("feed.xml")) == 1
    assert sleeps == []


def test_connection_refused_is_transient(make_fetcher, sleeps: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    with pytest.raises(TransientSourceError) as info:
        make_fetcher(retries=1).fetch(url, source_id="src")
    check_error(info.value, url)
    assert sleeps == [1.0]


# -- timeouts ---------------------------------------------------------------------------------


def test_server_slower_than_read_timeout(site: Site, make_fetcher) -> None:
    url = site.script("feed.xml", Reply(200, body=RSS, delay=2.0))
    with pytest.raises(TransientSourceError) as info:
        make_fetcher(read_timeout=0.3, retries=1).fetch(url, source_id="src")
    assert "read timed out" in check_error(info.value, url)
    assert len(site.requests("feed.xml")) == 2


def test_slow_drip_body_hits_total_timeout(site: Site, make_fetcher) -> None:
    # Each byte arrives well within the read timeout; only the total bound stops it.
    url = site.script("feed.xml", Reply(200, body=b"x" * 100, drip=0.05))
    started = time.monotonic()
    with pytest.raises(TransientSourceError) as info:
        make_fetcher(read_timeout=1.0, total_timeout=0.5, retries=0).fetch(url, source_id="src")
    assert "total timeout" in check_error(info.value, url)
    assert time.monotonic() - started < 3.0  # far less than the 5 s the drip would take


# -- size limits and encodings ------------------------------------------------------------------


def test_content_length_over_cap_is_refused_up_front(site: Site, make_fetcher) -> None:
    # The server announces 50 MB but sends 10 bytes: reading would hang, refusing does not.
    url = site.script("feed.xml", Reply(200, body=b"x" * 10, content_length=50_000_000))
    with pytest.raises(SourceError) as info:
        make_fetcher(max_bytes=1024, read_timeout=5.0).fetch(url, source_id="src")
    assert not isinstance(info.value, TransientSourceError)
    assert "exceeds 1 KB limit" in check_error(info.value, url)


def test_chunked_body_over_cap_is_stopped(site: Site, make_fetcher) -> None:
    url = site.script("feed.xml", Reply(200, body=b"x" * 200_000, chunked=True))
    with pytest.raises(SourceError) as info:
        make_fetcher(max_bytes=64 * 1024).fetch(url, source_id="src")
    assert check_error(info.value, url).endswith("body exceeds 64 KB limit")


def test_body_exactly_at_cap_is_accepted(site: Site, make_fetcher) -> None:
    url = site.script("feed.xml", Reply(200, body=b"x" * 1000, chunked=True))
    assert make_fetcher(max_bytes=1000).fetch(url).body == b"x" * 1000


def test_gzip_response_is_decoded(site: Site, fetcher: Fetcher) -> None:
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/xml"}
    url = site.script("feed.xml", Reply(200, headers, gzip.compress(RSS * 100)))
    result = fetcher.fetch(url)
    assert result.body == RSS * 100
    assert result.content_type == "application/xml"


def test_gzip_bomb_is_stopped_by_the_cap(site: Site, make_fetcher) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)  # ~20 KB on the wire, 20 MB decoded
    url = site.script("feed.xml", Reply(200, {"Content-Encoding": "gzip"}, bomb))
    fetcher = make_fetcher(max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as info:
            fetcher.fetch(url, source_id="src")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "exceeds 1 MB limit" in check_error(info.value, url)
    assert peak < 8 * 1024 * 1024  # inflated no further than the cap, never the whole 20 MB


def test_unsupported_content_encoding_is_refused(site: Site, fetcher: Fetcher) -> None:
    url = site.script("feed.xml", Reply(200, {"Content-Encoding": "br"}, b"\x0b\x02\x80"))
    with pytest.raises(SourceError) as info:
        fetcher.fetch(url, source_id="src")
    assert "Content-Encoding 'br'" in check_error(info.value, url)


# -- redirects --------------------------------------------------------------------------------


def test_redirect_loop_is_refused(site: Site, fetcher: Fetcher) -> None:
    url = site.script("loop", Reply(302, {"Location": site.path("loop")}))
    with pytest.raises(SourceError) as info:
        fetcher.fetch(url, source_id="src")
    assert not isinstance(info.value, TransientSourceError)
    assert "too many redirects" in check_error(info.value, url)


def test_redirect_chain_within_limit_is_followed(site: Site, fetcher: Fetcher) -> None:
    site.script("a", Reply(301, {"Location": site.path("b")}))
    site.script("b", Reply(302, {"Location": site.url("c")}))
    site.script("c", Reply(307, {"Location": site.path("final.xml")}))
    final = site.script("final.xml", Reply(200, {"Content-Type": "application/atom+xml"}, RSS))
    result = fetcher.fetch(site.url("a"))
    assert (result.location, result.body, result.content_type) == (
        final,
        RSS,
        "application/atom+xml",
    )


# -- concurrency ------------------------------------------------------------------------------


def test_one_fetcher_serves_many_threads(site: Site, fetcher: Fetcher) -> None:
    urls = [site.script(f"feed{i}.xml", Reply(200, body=b"feed %d" % i)) for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda url: fetcher.fetch(url).body, urls))
    assert bodies == [b"feed %d" % i for i in range(16)]


# -- local files and schemes ------------------------------------------------------------------


def test_local_relative_path_then_unchanged_then_changed(tmp_path: Path, fetcher: Fetcher) -> None:
    feed = tmp_path / "feeds" / "advisories.xml"
    feed.parent.mkdir()
    feed.write_bytes(RSS)

    first = fetcher.fetch("feeds/advisories.xml")
    assert (first.location, first.status, first.body) == (str(feed), "ok", RSS)
    assert first.content_type == "application/xml"
    assert first.state.etag is not None and first.state.etag.startswith('"sha256:')
    assert first.state.last_modified is not None and first.state.last_modified.endswith("GMT")

    unchanged = fetcher.fetch("feeds/advisories.xml", first.state)
    assert (unchanged.status, unchanged.body) == ("not-modified", b"")

    feed.write_bytes(RSS + b"<!-- edited -->")
    changed = fetcher.fetch(feed.as_uri(), first.state)  # a file:// URL names the same file
    assert (changed.status, changed.body) == ("ok", RSS + b"<!-- edited -->")
    assert changed.state.etag != first.state.etag


def test_local_json_content_type(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "csaf.json").write_text("{}")
    assert fetcher.fetch("csaf.json").content_type == "application/json"


def test_missing_local_file(tmp_path: Path, fetcher: Fetcher) -> None:
    with pytest.raises(SourceError) as info:
        fetcher.fetch("feeds/missing.xml", source_id="src")
    assert "no such file" in check_error(info.value, str(tmp_path / "feeds" / "missing.xml"))


def test_local_gz_file_is_decompressed(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "feed.xml.gz").write_bytes(gzip.compress(RSS))
    result = fetcher.fetch("feed.xml.gz")
    assert (result.body, result.content_type) == (RSS, "application/xml")


def test_local_gzip_bomb_is_stopped(tmp_path: Path, make_fetcher) -> None:
    (tmp_path / "bomb.xml.gz").write_bytes(gzip.compress(b"\0" * 20_000_000))
    with pytest.raises(SourceError) as info:
        make_fetcher(max_bytes=1024 * 1024).fetch("bomb.xml.gz", source_id="src")
    assert "decompressed body exceeds 1 MB limit" in check_error(info.value, "bomb.xml.gz")


def test_local_file_over_cap(tmp_path: Path, make_fetcher) -> None:
    (tmp_path / "big.xml").write_bytes(b"x" * 2048)
    with pytest.raises(SourceError) as info:
        make_fetcher(max_bytes=1024).fetch("big.xml", source_id="src")
    assert "exceeds 1 KB limit" in check_error(info.value, "big.xml")


def test_unsupported_scheme(fetcher: Fetcher) -> None:
    with pytest.raises(SourceError) as info:
        fetcher.fetch("ftp://example.org/feed.xml", source_id="src")
    assert "unsupported scheme 'ftp'" in check_error(info.value, "ftp://example.org/feed.xml")
