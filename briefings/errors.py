"""The one exception hierarchy of the project.

Messages say what failed, on which object, and how to fix it. The CLI is the
only place where these become "Error: ..." lines and exit codes.
"""

from __future__ import annotations


class BriefingsError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(BriefingsError):
    """The workspace or its ``briefings.toml`` is missing or invalid.

    ``problems`` holds every ``(key, message)`` found, so a user fixes them all
    in one pass.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        base = super().__str__()
        if not self.problems:
            return base
        lines = [base] + [f"  {key}: {msg}" for key, msg in self.problems]
        return "\n".join(lines)


class StoreError(BriefingsError):
    """The state database cannot be opened, migrated or written."""


class SourceError(BriefingsError):
    """A source could not be fetched or parsed; ``source_id`` names it."""

    def __init__(self, message: str, source_id: str | None = None):
        super().__init__(message)
        self.source_id = source_id


class TransientSourceError(SourceError):
    """A source failed in a way worth retrying (timeouts, 5xx, 429)."""

    def __init__(
        self, message: str, source_id: str | None = None, retry_after: float | None = None
    ):
        super().__init__(message, source_id)
        self.retry_after = retry_after


class GlossaryError(BriefingsError):
    """The termbase cannot be loaded or failed validation."""


class WorkflowError(BriefingsError):
    """A briefing action is not allowed in its current state or by this officer."""


class TranslationError(BriefingsError):
    """A translation package is missing, broken or failed."""


class PublishError(BriefingsError):
    """Building or switching the published site failed; the live site is untouched."""
