"""What the engine refuses with: the exceptions its public face raises (the API maps each to a
status and a code in one table)."""

from __future__ import annotations

from ..models import JobError

__all__ = ["AddressBlocked", "Conflict", "JobNotFound", "ProbeFailed", "probe_failed"]


class JobNotFound(LookupError):
    """No such job in the caller's scope (one outside it is not told apart)."""


class Conflict(Exception):
    """The job is not in a state that allows this; the message says which state it is in."""


class ProbeFailed(Exception):
    """Nothing usable at the URL: ``error`` says what happened and what to do next."""

    def __init__(self, error: JobError) -> None:
        super().__init__(error.message)
        self.error = error


class AddressBlocked(ProbeFailed):
    """The URL names a private or reserved network address, and those are off."""


def probe_failed(error: JobError) -> ProbeFailed:
    """A refused address (met on a redirect, say) is its own refusal: the URL is to blame."""
    return (AddressBlocked if error.code == "blocked_address" else ProbeFailed)(error)
