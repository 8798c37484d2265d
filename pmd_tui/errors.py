"""Errors that reach the user as one clear line (never a traceback)."""


class PmdError(Exception):
    """A problem the user can act on; its message is printed as a single line."""

    exit_code = 2


class InputError(PmdError):
    """Bad input: a broken archive, an unknown id, an unreadable file."""


class DuplicateError(InputError):
    """The same content is already in the queue (``add --again`` takes it in anyway)."""

    def __init__(self, message: str, other_id: int):
        super().__init__(message)
        self.other_id = other_id


class StateError(PmdError):
    """An action that the submission's current state does not allow."""


class RuleError(PmdError):
    """An action refused by a rule (approving with a failing finding, say)."""


class NetworkError(PmdError):
    """A download or remote API call that failed."""


class StoreError(PmdError):
    """The queue database cannot be opened or written: not SQLite, damaged, read-only, or the disk is full."""


def describe_os_error(exc: OSError) -> str:
    """One line for a file-system error: what failed and where (never a traceback)."""
    what = exc.strerror or type(exc).__name__
    where = f": {exc.filename}" if exc.filename else ""
    if len(where) > 160:
        where = where[:157] + "..."
    return f"{what}{where}"
