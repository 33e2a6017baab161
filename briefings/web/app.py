"""The review web application: pages and actions over :class:`~briefings.approval.Workflow`.

Every action calls the same core function as the command line, with the signed-in
officer as the actor: ``Workflow.approve``, ``reject``, ``withdraw`` and ``edit``, and
``approve_translation`` for linguists. So four eyes, approvals bound to exact bytes,
edits voiding approvals and the audit log hold exactly as they do there; a refusal
(:class:`~briefings.errors.WorkflowError`) is shown on the page, status 409.

Security, in the order a request meets it:

- served on 127.0.0.1 only; a ``Host`` other than the allowed ones is refused
  (DNS rebinding);
- every response carries a strict Content-Security-Policy (no script at all; the
  pages need none), ``nosniff``, ``no-referrer``, ``frame-ancestors 'none'`` and
  ``Cache-Control: no-store`` (pages hold TLP-marked text);
- pages need a signed-in session (see :mod:`briefings.web.auth`); POSTs without
  one get 403, and every POST must carry its session's CSRF token (see
  :mod:`briefings.web.csrf`), checked before anything else;
- an officer sees only briefings (and items) up to the TLP label their role allows
  (``web_max_tlp``); anything above is a 404, exactly like a briefing that does not
  exist, on every page and every action;
- text from feeds (item titles and bodies) is only ever escaped text (Jinja2
  autoescape); the briefing's Markdown is rendered with the publishing renderer,
  whose output nh3 sanitizes.

Sessions and sign-in counters live in this process: run one server process.
"""

from __future__ import annotations

import difflib
import logging
import math
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefings.approval import APPROVABLE_STATES, Workflow
from briefings.documents import BriefingFile, parse_document, sha256_bytes
from briefings.errors import BriefingsError, ConfigError, WorkflowError
from briefings.i18n import text_direction
from briefings.models import BriefingRecord
from briefings.officers import PasswordFile, passwords_path
from briefings.rendering import MarkdownRenderer
from briefings.store import Store
from briefings.tlp import TLP, strictest
from briefings.web.auth import (
    COOKIE_NAME,
    Clock,
    Session,
    SessionStore,
    SignInLimiter,
    load_secret_key,
    safe_next,
    utcnow,
)
from briefings.web.csrf import FIELD as CSRF_FIELD
from briefings.web.csrf import is_cross_site, is_valid_token
from briefings.web.views import (
    ItemView,
    age,
    diff_lines,
    duration,
    findings,
    item_view,
    strings,
    translation_info,
)
from briefings.workspace import Workspace, glossary_paths, open_workspace

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8001
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

#: The most restricted TLP label each role may see; a person with several roles gets
#: the widest. Proposed as ``[policy] web_max_tlp`` in briefings.toml.
DEFAULT_WEB_MAX_TLP: dict[str, TLP] = {
    "officer": TLP.AMBER,
    "linguist": TLP.GREEN,
    "admin": TLP.RED,
}

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MAX_FORM_BYTES = 2 * 1024 * 1024  # a briefing is a few KB; this bounds one request
MAX_FORM_FIELDS = 20
OPEN_STATES = ("draft", "in-review", "approved")

# TLP 2.0 (FIRST): what each label lets recipients do, shown in every banner.
TLP_MEANING = {
    TLP.CLEAR: "Disclosure is not limited.",
    TLP.GREEN: "Limited disclosure: recipients may share it within their community.",
    TLP.AMBER: "Limited disclosure: recipients may share it on a need-to-know basis "
    "within their organization and its clients.",
    TLP.AMBER_STRICT: "Limited disclosure: restricted to the recipient's organization only.",
    TLP.RED: "For the eyes and ears of individual recipients only, no further disclosure.",
}
# Front matter key, tag category, heading: the concepts a draft lists.
CATEGORIES = (
    ("threats", "threat", "Threats"),
    ("sectors", "sector", "Sectors"),
    ("tactics", "tactic", "Disinformation tactics"),
)


class Halt(Exception):
    """Stop handling a request and send ``response`` (a redirect, a 403, a 404...)."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def role_limits(setting: Mapping[str, str | TLP] | None) -> dict[str, TLP]:
    """``web_max_tlp`` with the defaults filled in; ConfigError for an unknown role or label."""
    limits = dict(DEFAULT_WEB_MAX_TLP)
    for role, label in (setting or {}).items():
        if role not in limits:
            raise ConfigError(
                f"policy.web_max_tlp: unknown role {role!r}; use officer, linguist or admin"
            )
        try:
            limits[role] = TLP.parse(label)
        except ValueError as exc:
            raise ConfigError(f"policy.web_max_tlp.{role}: {exc}") from None
    return limits


@dataclass(frozen=True)
class Viewer:
    """The signed-in officer as the pages see them."""

    name: str
    roles: tuple[str, ...]
    languages: tuple[str, ...]
    max_tlp: TLP | None  # None: no role, so nothing to see

    def can_see(self, tlp: TLP) -> bool:
        return self.max_tlp is not None and self.max_tlp.allows(tlp)

    @property
    def is_officer(self) -> bool:
        return bool({"officer", "admin"} & set(self.roles))

    def is_linguist_for(self, lang: str) -> bool:
        return bool({"linguist", "admin"} & set(self.roles)) and lang in self.languages


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


_labels_cache: dict[tuple[str, ...], Callable[[str, str], str]] = {}
_labels_lock = threading.Lock()


def _fallback_label(concept_id: str, lang: str) -> str:
    return concept_id.split(".", 1)[-1].replace("-", " ").capitalize()


class ReviewApp:
    """The state of one review server: workspace, store, sessions, sign-in counters."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        store: Store | None = None,
        clock: Clock = utcnow,
        web_max_tlp: Mapping[str, str | TLP] | None = None,
        passwords: PasswordFile | None = None,
        limiter: SignInLimiter | None = None,
        secure_cookies: bool | None = None,
        secret_key: bytes | None = None,
    ):
        self.root = workspace.root
        self._workspace = workspace
        self._config_mtime = _mtime(workspace.config_path)
        self._reload_lock = threading.Lock()
        self._explicit_limits = web_max_tlp
        role_limits(web_max_tlp)  # refuse a bad setting at start, not on the first request
        self.store = store or Store.for_workspace(workspace)
        self.clock = clock
        self.passwords = passwords or PasswordFile(passwords_path(workspace))
        self.sessions = SessionStore(secret_key or load_secret_key(workspace.root), clock=clock)
        self.limiter = limiter or SignInLimiter(clock=clock)
        self.secure_cookies = secure_cookies
        self.renderer = MarkdownRenderer()
        self.templates = _environment()
        # One web action at a time: the workflow's check-then-write steps never interleave.
        self._write_lock = threading.Lock()
        # Argon2 takes 64 MiB per check by default: a burst of sign-ins waits its turn.
        self._password_checks = threading.BoundedSemaphore(2)

    # -- workspace, workflow, labels ------------------------------------------------

    def workspace(self) -> Workspace:
        """The workspace, its briefings.toml read again when it changed (officers, policy)."""
        mtime = _mtime(self._workspace.config_path)
        if mtime != self._config_mtime:
            with self._reload_lock:
                if mtime != self._config_mtime:
                    # An invalid file raises ConfigError on every request until it is fixed.
                    self._workspace = open_workspace(self.root)
                    self._config_mtime = mtime
                    log.info("reloaded %s", self._workspace.config_path)
        return self._workspace

    def workflow(self) -> Workflow:
        return Workflow(self.workspace(), self.store, clock=self.clock)

    def limits(self) -> dict[str, TLP]:
        setting = self._explicit_limits
        if setting is None:
            setting = getattr(self.workspace().config.policy, "web_max_tlp", None)
        return role_limits(setting)

    def labels(self) -> Callable[[str, str], str]:
        workspace = self.workspace()
        key = tuple(glossary_paths(workspace) or ())
        with _labels_lock:
            if key not in _labels_cache:
                try:
                    from briefings.labels import glossary_labels

                    _labels_cache[key] = glossary_labels(workspace)
                except BriefingsError as exc:
                    log.warning("glossary labels unavailable (%s); showing concept ids", exc)
                    return _fallback_label
            return _labels_cache[key]

    # -- sessions and access -----------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        return self.sessions.from_cookie(request.cookies.get(COOKIE_NAME))

    def viewer(self, session: Session | None) -> Viewer | None:
        if session is None or session.officer is None:
            return None
        workspace = self.workspace()
        try:
            person = workspace.config.officer(session.officer)
        except ConfigError:  # removed from briefings.toml: the session ends with it
            self.sessions.end(session)
            return None
        changed = self.passwords.changed_at(person.name)
        if changed is None or changed.timestamp() > session.created:
            # The password was removed or set again since this session began.
            self.sessions.end(session)
            return None
        limits = self.limits()
        caps = [limits[role] for role in person.roles if role in limits]
        return Viewer(
            person.name,
            tuple(person.roles),
            tuple(person.languages),
            strictest(*caps) if caps else None,
        )

    def require_viewer(self, request: Request) -> tuple[Session, Viewer]:
        """The signed-in session of a page request; otherwise off to the sign-in page."""
        session = self.session(request)
        viewer = self.viewer(session)
        if session is None or viewer is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Halt(RedirectResponse(f"/signin?next={quote(target, safe='')}", 303))
        return session, viewer

    def require_post(self, request: Request, form: dict[str, str]) -> tuple[Session, Viewer]:
        """The signed-in session of an action, with its CSRF token; else 403, nothing done."""
        session = self.session(request)
        viewer = self.viewer(session)
        if session is None or viewer is None:
            raise Halt(
                self.error_page(
                    request, 403, "Not signed in",
                    "Your session has ended (or you never signed in). Sign in again, then "
                    "repeat what you were doing: nothing was changed.",
                )
            )  # fmt: skip
        self.check_csrf(request, session, form)
        return session, viewer

    def check_csrf(self, request: Request, session: Session, form: dict[str, str]) -> None:
        if is_cross_site(request) or not is_valid_token(session.csrf_token, form.get(CSRF_FIELD)):
            log.warning(
                "CSRF check failed: %s %s (officer %s)",
                request.method, request.url.path, session.officer or "-",
            )  # fmt: skip
            raise Halt(
                self.error_page(
                    request, 403, "Form refused",
                    "This form did not come from this page, or it is out of date (CSRF check "
                    "failed). Go back, reload the page and try again: nothing was changed.",
                    session=session, viewer=self.viewer(session),
                )
            )  # fmt: skip

    def visible_record(
        self,
        request: Request,
        session: Session,
        viewer: Viewer,
        workflow: Workflow,
        briefing_id: str,
    ) -> BriefingRecord:
        """The briefing, if it exists and the viewer may see it; the same 404 otherwise."""
        record = workflow.store.get_briefing(briefing_id)
        if record is None or not viewer.can_see(record.tlp):
            raise Halt(self.not_found(request, session, viewer, f"No briefing {briefing_id!r}."))
        return record

    def is_secure(self, request: Request) -> bool:
        """Whether cookies get the Secure flag: always, except over plain HTTP on loopback."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return request.url.scheme == "https" or request.url.hostname not in LOOPBACK_HOSTS

    def set_session_cookie(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE_NAME, self.sessions.cookie_value(session), path="/", httponly=True,
            samesite="strict", secure=self.is_secure(request),
        )  # fmt: skip

    # -- rendering ---------------------------------------------------------------------

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        session: Session | None = None,
        viewer: Viewer | None = None,
        page_tlp: TLP = TLP.CLEAR,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            workspace_name=self._workspace.config.workspace.name,
            viewer=viewer,
            csrf_token=session.csrf_token if session else "",
            csrf_field=CSRF_FIELD,
            flashes=session.pop_flashes() if session else [],
            page_tlp=page_tlp,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=dict(headers or {}))

    def error_page(
        self,
        request: Request,
        status: int,
        title: str,
        message: str,
        *,
        session: Session | None = None,
        viewer: Viewer | None = None,
    ) -> HTMLResponse:
        return self.render(
            "error.html.j2", status=status, session=session, viewer=viewer, title=title,
            message=message,
        )  # fmt: skip

    def not_found(
        self, request: Request, session: Session | None, viewer: Viewer | None, message: str
    ) -> HTMLResponse:
        return self.error_page(
            request, 404, "Not found", f"{message} It does not exist, or it is not for you.",
            session=session, viewer=viewer,
        )  # fmt: skip

    # -- sign-in -----------------------------------------------------------------------

    def signin_page(self, request: Request, form: dict[str, str]) -> Response:
        session = self.session(request)
        next_url = safe_next(request.query_params.get("next"))
        if self.viewer(session) is not None:
            return RedirectResponse(next_url, 303)
        fresh = session is None or session.officer is not None
        if fresh:
            session = self.sessions.new()
        notice = "You are signed out." if request.query_params.get("signed_out") else None
        response = self.render(
            "signin.html.j2", session=session, next_url=next_url, name="", notice=notice,
            error=None, title="Sign in",
        )  # fmt: skip
        if fresh:
            self.set_session_cookie(request, response, session)
        return response

    def signin(self, request: Request, form: dict[str, str]) -> Response:
        session = self.session(request)
        if session is None:
            return self.error_page(
                request, 403, "Sign-in form expired",
                "This sign-in form has expired, or your browser did not send its cookie. "
                "Open the sign-in page again (cookies must be allowed for this address).",
            )  # fmt: skip
        self.check_csrf(request, session, form)
        name = form.get("name", "").strip().lower()[:64]
        password = form.get("password", "")
        client = request.client.host if request.client else "unknown"
        next_url = safe_next(form.get("next"))

        def again(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
            return self.render(
                "signin.html.j2", status=status, session=session, next_url=next_url, name=name,
                notice=None, error=error, title="Sign in", headers=headers,
            )  # fmt: skip

        wait = self.limiter.retry_after(name, client)
        if wait > 0:
            log.warning("sign-in as %r from %s refused: locked for %.0f s", name, client, wait)
            return again(
                429,
                "Too many failed sign-ins for this name or from this computer. "
                f"Try again in {duration(wait)}.",
                {"Retry-After": str(math.ceil(wait))},
            )
        known = any(o.name == name for o in self.workspace().config.officers)
        # The password is checked even for unknown names: the same time either way.
        with self._password_checks:
            correct = self.passwords.verify(name, password)
        if not (correct and known):
            self.limiter.failed(name, client)
            log.warning("failed sign-in as %r from %s", name, client)
            return again(401, "Wrong name or password.")
        self.limiter.succeeded(name, client)
        self.sessions.end(session)  # never keep a pre-sign-in session id
        signed_in = self.sessions.new(officer=name)
        log.info("%s signed in from %s", name, client)
        response = RedirectResponse(next_url, 303)
        self.set_session_cookie(request, response, signed_in)
        return response

    def signout(self, request: Request, form: dict[str, str]) -> Response:
        session = self.session(request)
        if session is not None:
            self.check_csrf(request, session, form)
            self.sessions.end(session)
            log.info("%s signed out", session.officer or "an anonymous session")
        response = RedirectResponse("/signin?signed_out=1", 303)
        response.delete_cookie(
            COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=self.is_secure(request)
        )
        return response

    # -- the queue ---------------------------------------------------------------------

    def queue(self, request: Request, form: dict[str, str]) -> Response:
        session, viewer = self.require_viewer(request)
        workflow = self.workflow()
        with self._write_lock:
            for note in workflow.sync():  # as `briefings review` does
                log.info("changed: %s", note)
        show = "all" if request.query_params.get("show") == "all" else "open"
        records = {r.id: r for r in workflow.store.list_briefings()}
        now = self.clock()
        rows = []
        for row in workflow.review_rows():
            record = records.get(row.id)
            if record is None or not viewer.can_see(record.tlp):
                continue
            if show == "open" and row.state not in OPEN_STATES:
                continue
            rows.append(
                {
                    "row": row,
                    "tlp": record.tlp,
                    "age": age(now, record.created_at),
                    "created": record.created_at,
                }
            )
        page_tlp = strictest(*(r["tlp"] for r in rows))
        return self.render(
            "queue.html.j2", session=session, viewer=viewer, page_tlp=page_tlp, rows=rows,
            show=show, title="Review queue",
        )  # fmt: skip

    # -- a briefing ----------------------------------------------------------------------

    def briefing(self, request: Request, form: dict[str, str], briefing_id: str) -> Response:
        session, viewer = self.require_viewer(request)
        workflow = self.workflow()
        self.visible_record(request, session, viewer, workflow, briefing_id)
        with self._write_lock:
            workflow.sync(briefing_id)  # as `briefings show` does
        return self.briefing_response(request, session, viewer, workflow, briefing_id)

    def briefing_response(
        self,
        request: Request,
        session: Session,
        viewer: Viewer,
        workflow: Workflow,
        briefing_id: str,
        *,
        error: str | None = None,
        status: int = 200,
        prefill: Mapping[str, str] | None = None,
    ) -> Response:
        record = self.visible_record(request, session, viewer, workflow, briefing_id)
        labels = self.labels()
        document, doc_error = _read(workflow, record)
        lang = record.lang
        meta = document.meta if document else {}
        concepts = [
            (title, category, [(c, labels(c, lang)) for c in strings(meta.get(key))])
            for key, category, title in CATEGORIES
        ]
        items, withheld = self.items(workflow, record, viewer, labels)
        valid = workflow.valid_approvals(record)
        valid_ids = {a.id for a in valid}
        approvals = [(a, a.id in valid_ids) for a in workflow.store.approvals(record.id, lang)]
        policy = workflow.policy
        edited_last = policy.four_eyes and record.last_editor == viewer.name
        approved_already = any(a.officer == viewer.name for a in valid)
        can = {
            "approve": viewer.is_officer and record.state in APPROVABLE_STATES
            and not edited_last and not approved_already,
            "reject": viewer.is_officer and record.state in (*APPROVABLE_STATES, "approved"),
            "withdraw": viewer.is_officer and record.state in ("approved", "published"),
            "edit": record.state not in ("withdrawn", "corrected", "published")
            and document is not None,
        }  # fmt: skip
        why_not = None
        if record.state in APPROVABLE_STATES:
            if not viewer.is_officer:
                why_not = "Linguists approve translations, not source briefings."
            elif edited_last:
                why_not = (
                    "You last edited this briefing: under the four-eyes rule another officer "
                    "must approve it."
                )
            elif approved_already:
                why_not = "You have approved this version."
        page_tlp = strictest(record.tlp, *(i.tlp for i in items))
        return self.render(
            "briefing.html.j2", status=status, session=session, viewer=viewer,
            page_tlp=page_tlp, title=record.title, record=record, meta=meta,
            document=document, doc_error=doc_error,
            rendered=Markup(self.renderer.render(document.body)) if document else None,
            dir=text_direction(lang), concepts=concepts, items=items, withheld=withheld,
            diff=diff_lines(workflow.diff(record.id)), approvals=approvals,
            valid_count=len({a.officer for a in valid}), required=policy.approvals_required,
            four_eyes=policy.four_eyes, translations=self.translation_rows(workflow, record),
            history=workflow.store.audit_entries(record.id), can=can, why_not=why_not,
            error=error, prefill=dict(prefill or {}),
        )  # fmt: skip

    def items(
        self,
        workflow: Workflow,
        record: BriefingRecord,
        viewer: Viewer,
        labels: Callable[[str, str], str],
    ) -> tuple[list[ItemView], int]:
        ids = workflow.store.briefing_items(record.id)
        found = workflow.store.list_items(ids=ids) if ids else []
        visible = [i for i in found if viewer.can_see(i.tlp)]
        return [item_view(i, labels, record.lang) for i in visible], len(found) - len(visible)

    def translation_rows(self, workflow: Workflow, record: BriefingRecord) -> list[dict]:
        approved = workflow.approved_bytes(record.id)
        approved_hash = sha256_bytes(approved) if approved is not None else None
        rows = []
        for lang in workflow.languages(record)[1:]:
            info = translation_info(workflow.path_of(record, lang))
            valid = workflow.valid_approvals(record, lang)
            rows.append(
                {
                    "lang": lang,
                    "state": info.get("state") or "unknown",
                    "findings": len(findings(info)),
                    "stale": approved_hash is None or info.get("source_sha256") != approved_hash,
                    "approvals": len({a.officer for a in valid}),
                    "required": workflow.policy.translation_approvals_required,
                }
            )
        return rows

    # -- actions -------------------------------------------------------------------------

    def act(
        self,
        request: Request,
        form: dict[str, str],
        briefing_id: str,
        action: Callable[[Workflow, Viewer], str],
        prefill_key: str,
        prefill_field: str,
    ) -> Response:
        """Run one workflow action as the signed-in officer; a refusal is shown, status 409."""
        session, viewer = self.require_post(request, form)
        workflow = self.workflow()
        self.visible_record(request, session, viewer, workflow, briefing_id)
        try:
            with self._write_lock:
                message = action(workflow, viewer)
        except WorkflowError as exc:
            return self.briefing_response(
                request, session, viewer, workflow, briefing_id, error=str(exc), status=409,
                prefill={prefill_key: form.get(prefill_field, "")},
            )  # fmt: skip
        session.flash("ok", message)
        return self.after_change(workflow, viewer, briefing_id, session)

    def after_change(
        self, workflow: Workflow, viewer: Viewer, briefing_id: str, session: Session
    ) -> Response:
        record = workflow.store.get_briefing(briefing_id)
        if record is None or not viewer.can_see(record.tlp):
            session.flash(
                "ok", f"{briefing_id} is now above the TLP label you may see; it left your queue."
            )
            return RedirectResponse("/", 303)
        return RedirectResponse(f"/briefings/{quote(briefing_id)}", 303)

    def approve(self, request: Request, form: dict[str, str], briefing_id: str) -> Response:
        def run(workflow: Workflow, viewer: Viewer) -> str:
            note = form.get("note", "").strip() or None
            record = workflow.approve(briefing_id, viewer.name, note)
            count = len({a.officer for a in workflow.valid_approvals(record)})
            return (
                f"You approved {briefing_id} ({count} of {workflow.policy.approvals_required}); "
                f"it is now {record.state}."
            )

        return self.act(request, form, briefing_id, run, "approve", "note")

    def reject(self, request: Request, form: dict[str, str], briefing_id: str) -> Response:
        def run(workflow: Workflow, viewer: Viewer) -> str:
            workflow.reject(briefing_id, viewer.name, form.get("reason", ""))
            return f"You rejected {briefing_id}; its approvals are void."

        return self.act(request, form, briefing_id, run, "reject", "reason")

    def withdraw(self, request: Request, form: dict[str, str], briefing_id: str) -> Response:
        def run(workflow: Workflow, viewer: Viewer) -> str:
            workflow.withdraw(briefing_id, viewer.name, form.get("reason", ""))
            return f"You withdrew {briefing_id}; publishing leaves a notice in its place."

        return self.act(request, form, briefing_id, run, "withdraw", "reason")

    # -- editing ---------------------------------------------------------------------

    def edit_page(self, request: Request, form: dict[str, str], briefing_id: str) -> Response:
        session, viewer = self.require_viewer(request)
        workflow = self.workflow()
        self.visible_record(request, session, viewer, workflow, briefing_id)
        with self._write_lock:
            workflow.sync(briefing_id)
        record = self.visible_record(request, session, viewer, workflow, briefing_id)
        path = workflow.path_of(record)
        try:
            raw = path.read_bytes()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return self.briefing_response(
                request, session, viewer, workflow, briefing_id, status=409,
                error=f"{record.path} cannot be edited here: {exc}",
            )  # fmt: skip
        return self.edit_response(
            session, viewer, record, text=text, base=sha256_bytes(raw), current=raw
        )

    def edit_response(
        self,
        session: Session,
        viewer: Viewer,
        record: BriefingRecord,
        *,
        text: str,
        base: str,
        current: bytes,
        preview: Markup | None = None,
        changes: list[tuple[str, str]] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        return self.render(
            "edit.html.j2", status=status, session=session, viewer=viewer, page_tlp=record.tlp,
            title=f"Edit {record.title}", record=record, text=text, base=base, preview=preview,
            changes=changes, error=error, dir=text_direction(record.lang),
            approvals=len(self.workflow().valid_approvals(record)),
            four_eyes=self.workflow().policy.four_eyes,
        )  # fmt: skip

    def edit(self, request: Request, form: dict[str, str], briefing_id: str) -> Response:
        session, viewer = self.require_post(request, form)
        workflow = self.workflow()
        record = self.visible_record(request, session, viewer, workflow, briefing_id)
        # Browsers send a textarea's lines with CRLF; briefing files use LF.
        text = form.get("text", "").replace("\r\n", "\n")
        new = text.encode("utf-8")
        base = form.get("base", "")
        path = workflow.path_of(record)
        current = path.read_bytes() if path.exists() else b""

        def again(status: int, error: str | None, preview: Markup | None = None) -> Response:
            changes = diff_lines(
                "".join(
                    difflib.unified_diff(
                        current.decode("utf-8", "replace").splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        fromfile=f"{record.path} (now)",
                        tofile=f"{record.path} (your version)",
                    )
                )
            )
            return self.edit_response(
                session, viewer, record, text=text, base=base, current=current, preview=preview,
                changes=changes, error=error, status=status,
            )  # fmt: skip

        if form.get("op") == "preview":
            try:
                document = parse_document(new, path)
            except WorkflowError as exc:
                return again(200, str(exc))
            return again(200, None, Markup(self.renderer.render(document.body)))
        try:
            with self._write_lock:
                if sha256_bytes(current) != base:
                    raise WorkflowError(
                        f"{briefing_id} changed since you opened it (last edited by "
                        f"{record.last_editor or 'unknown'}); compare the changes below, "
                        "then save again"
                    )
                changed = workflow.edit(briefing_id, viewer.name, new)
        except WorkflowError as exc:
            base = sha256_bytes(current)  # the next save is against what is there now
            return again(409, str(exc))
        if changed:
            after = workflow.record(briefing_id)
            voided = f" ({after.state_reason})" if after.state_reason else ""
            session.flash(
                "ok",
                f"You edited {briefing_id}{voided}. Another officer must approve this version.",
            )
        else:
            session.flash("ok", f"No change to {briefing_id}.")
        return self.after_change(workflow, viewer, briefing_id, session)

    # -- translations --------------------------------------------------------------------

    def translation(
        self, request: Request, form: dict[str, str], briefing_id: str, lang: str
    ) -> Response:
        session, viewer = self.require_viewer(request)
        workflow = self.workflow()
        self.visible_record(request, session, viewer, workflow, briefing_id)
        return self.translation_response(request, session, viewer, workflow, briefing_id, lang)

    def translation_response(
        self,
        request: Request,
        session: Session,
        viewer: Viewer,
        workflow: Workflow,
        briefing_id: str,
        lang: str,
        *,
        error: str | None = None,
        status: int = 200,
        note: str = "",
    ) -> Response:
        record = self.visible_record(request, session, viewer, workflow, briefing_id)
        path = workflow.path_of(record, lang)
        if lang == record.lang or lang not in workflow.languages(record):
            raise Halt(
                self.not_found(
                    request, session, viewer, f"No {lang!r} translation of {briefing_id!r}."
                )
            )
        approved = workflow.approved_bytes(briefing_id)
        source_raw = approved
        if source_raw is None:
            source_path = workflow.path_of(record)
            source_raw = source_path.read_bytes() if source_path.exists() else b""
        source, source_error = _parse(source_raw, workflow.path_of(record))
        try:
            translated, translation_error = _parse(path.read_bytes(), path)
        except OSError as exc:
            translated, translation_error = None, f"{path.name}: {exc.strerror}"
        info = translated.meta.get("translation") if translated else None
        info = info if isinstance(info, dict) else {}
        stale = approved is None or info.get("source_sha256") != sha256_bytes(approved)
        valid = workflow.valid_approvals(record, lang)
        valid_ids = {a.id for a in valid}
        approvals = [(a, a.id in valid_ids) for a in workflow.store.approvals(record.id, lang)]
        approver = _translation_approver()
        why_not = None
        if approver is None:
            why_not = "Translation review is not installed in this version: this page is read-only."
        elif not viewer.is_linguist_for(lang):
            why_not = f"Only linguists whose languages include {lang!r} approve this translation."
        elif record.state not in ("approved", "published"):
            why_not = "A translation is approved once its source briefing is approved."
        elif any(a.officer == viewer.name for a in valid):
            why_not = "You have approved this version of the translation."
        return self.render(
            "translation.html.j2", status=status, session=session, viewer=viewer,
            page_tlp=record.tlp, title=f"{record.title} ({lang})", record=record, lang=lang,
            source=source, source_error=source_error, source_is_approved=approved is not None,
            source_html=Markup(self.renderer.render(source.body)) if source else None,
            translated=translated, translation_error=translation_error,
            translated_html=Markup(self.renderer.render(translated.body)) if translated else None,
            source_dir=text_direction(record.lang), dir=text_direction(lang), info=info,
            findings=findings(info), stale=stale, approvals=approvals,
            valid_count=len({a.officer for a in valid}),
            required=workflow.policy.translation_approvals_required,
            can_approve=why_not is None, why_not=why_not, error=error, note=note,
        )  # fmt: skip

    def approve_translation(
        self, request: Request, form: dict[str, str], briefing_id: str, lang: str
    ) -> Response:
        session, viewer = self.require_post(request, form)
        workflow = self.workflow()
        self.visible_record(request, session, viewer, workflow, briefing_id)
        approver = _translation_approver()
        note = form.get("note", "").strip()
        try:
            if approver is None:
                raise WorkflowError("translation review is not installed in this version")
            with self._write_lock:
                result = approver(workflow, briefing_id, lang, viewer.name, note or None)
        except WorkflowError as exc:
            return self.translation_response(
                request, session, viewer, workflow, briefing_id, lang, error=str(exc),
                status=409, note=note,
            )  # fmt: skip
        session.flash(
            "ok",
            f"You approved the {lang} translation of {briefing_id} "
            f"({result.approvals} of {result.required}).",
        )
        return RedirectResponse(f"/briefings/{quote(briefing_id)}/translations/{quote(lang)}", 303)


# -- helpers ---------------------------------------------------------------------------


def _read(workflow: Workflow, record: BriefingRecord) -> tuple[BriefingFile | None, str | None]:
    try:
        return workflow.document(record.id), None
    except WorkflowError as exc:
        return None, str(exc)


def _parse(raw: bytes, path: Path) -> tuple[BriefingFile | None, str | None]:
    try:
        return parse_document(raw, path), None
    except WorkflowError as exc:
        return None, str(exc)


def _translation_approver():
    """``approve_translation`` when this installation has translation review, else None."""
    try:
        from briefings.translation.review import approve_translation
    except ImportError:
        return None
    return approve_translation


def _tlp_slug(tlp: TLP | str) -> str:
    return str(TLP.parse(tlp).value).lower().replace("+", "-")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("briefings.web", "templates"),
        autoescape=True,  # every value is escaped unless it is Markup (sanitized HTML only)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        tlp_slug=_tlp_slug,
        tlp_meaning=lambda tlp: TLP_MEANING[TLP.parse(tlp)],
        direction=text_direction,
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
    return env


def _css() -> bytes:
    return (resources.files("briefings.web") / "static" / "review.css").read_bytes()


# -- the ASGI application ------------------------------------------------------------


class SecurityHeaders:
    """Adds the security headers to every response, errors and redirects included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form body, bounded in size and fields (the pages send no other kind)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise Halt(Response("This form is too large.", 413, media_type="text/plain"))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Halt(Response("This form is too large.", 413, media_type="text/plain"))
    if not body and not content_type:
        return {}  # an empty POST: refused by the CSRF check, like any form without a token
    if content_type != "application/x-www-form-urlencoded":
        raise Halt(Response("Forms must be sent url-encoded.", 415, media_type="text/plain"))
    try:
        pairs = parse_qsl(
            body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )  # fmt: skip
    except (UnicodeDecodeError, ValueError):
        raise Halt(Response("This form could not be read.", 400, media_type="text/plain")) from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)  # the first of repeated fields counts
    return form


def create_app(
    workspace: Workspace,
    *,
    store: Store | None = None,
    clock: Clock = utcnow,
    web_max_tlp: Mapping[str, str | TLP] | None = None,
    passwords: PasswordFile | None = None,
    limiter: SignInLimiter | None = None,
    secure_cookies: bool | None = None,
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS,
) -> Starlette:
    """The review application for ``workspace``.

    ``web_max_tlp`` maps roles to the most restricted TLP label they may see
    (defaults: :data:`DEFAULT_WEB_MAX_TLP`); when None, ``policy.web_max_tlp`` from
    briefings.toml is used if the config has it. ``secure_cookies`` forces the
    cookie's Secure flag on or off; by default it is set unless the page is served
    over plain HTTP to a loopback host name (behind a TLS proxy it is always set).
    """
    review = ReviewApp(
        workspace, store=store, clock=clock, web_max_tlp=web_max_tlp, passwords=passwords,
        limiter=limiter, secure_cookies=secure_cookies,
    )  # fmt: skip
    css = _css()

    def route(path: str, handler: Callable[..., Response], method: str = "GET") -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                form = await read_form(request) if request.method == "POST" else {}
                return await run_in_threadpool(handler, request, form, **request.path_params)
            except Halt as halt:
                return halt.response

        return Route(path, endpoint, methods=[method], name=f"{method} {path}")

    async def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "no-cache"})

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        title = "Not found" if status == 404 else "Not allowed"
        return review.error_page(request, status, title, "There is no such page here.")

    async def failed(request: Request, exc: Exception) -> Response:
        if isinstance(exc, BriefingsError):
            log.error("%s %s: %s", request.method, request.url.path, exc)
            message = f"{exc} Nothing more was done."
        else:
            log.exception("%s %s failed", request.method, request.url.path)
            message = "An unexpected error stopped this request; it is in the server's log."
        return review.error_page(request, 500, "Error", message)

    b = "/briefings/{briefing_id}"
    routes = [
        Route("/static/review.css", stylesheet),
        route("/signin", review.signin_page),
        route("/signin", review.signin, "POST"),
        route("/signout", review.signout, "POST"),
        route("/", review.queue),
        route(b, review.briefing),
        route(f"{b}/approve", review.approve, "POST"),
        route(f"{b}/reject", review.reject, "POST"),
        route(f"{b}/withdraw", review.withdraw, "POST"),
        route(f"{b}/edit", review.edit_page),
        route(f"{b}/edit", review.edit, "POST"),
        route(f"{b}/translations/{{lang}}", review.translation),
        route(f"{b}/translations/{{lang}}/approve", review.approve_translation, "POST"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                TrustedHostMiddleware, allowed_hosts=list(allowed_hosts), www_redirect=False
            ),
        ],
        exception_handlers={404: not_found, 405: not_found, BriefingsError: failed, 500: failed},
    )
    app.state.review = review
    return app


def serve(
    workspace: Workspace,
    *,
    port: int = DEFAULT_PORT,
    announce: Callable[[str], None] | None = None,
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS,
) -> None:
    """Serve the review page on 127.0.0.1:``port`` until interrupted (0 picks a free port).

    Behind a TLS reverse proxy on the same machine, add the public host name to
    ``allowed_hosts`` and have the proxy keep the ``Host`` header: cookies then get
    the Secure flag. ``X-Forwarded-*`` headers are ignored (any local process could
    send them), so the per-client sign-in limit counts the proxy as one client.
    """
    import uvicorn

    app = create_app(workspace, allowed_hosts=allowed_hosts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot serve on {HOST}:{port}: {exc.strerror}; choose another with --port N"
        ) from None
    if announce is not None:
        announce(f"http://{HOST}:{sock.getsockname()[1]}/")
    config = uvicorn.Config(
        app, log_level="warning", server_header=False, lifespan="off", proxy_headers=False
    )
    uvicorn.Server(config).run(sockets=[sock])
