"""Exceptions users of the engine can catch by type."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class InvalidParameterError(ValueError):
    """A parameter is out of its allowed range; the message names it and the range."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field  # the library's name for the parameter, e.g. "num_inference_steps"
        self.problem = problem  # what is wrong and what is allowed, without the name

    def as_flag(self, renames: dict[str, str] | None = None) -> str:
        """The message with the field as a command-line user typed it: "--max-batch: must be ...".

        An environment variable (SDTURBO_*) keeps its own name: it is not a flag."""
        if self.field.startswith("SDTURBO_"):
            return str(self)
        flag = (renames or {}).get(self.field, "--" + self.field.replace("_", "-"))
        return f"{flag}: {self.problem}"


@contextlib.contextmanager
def field_names(renames: dict[str, str]) -> Iterator[None]:
    """Re-raise InvalidParameterError under the caller's name for the field (a wire or API name)."""
    try:
        yield
    except InvalidParameterError as err:
        if err.field not in renames:
            raise
        raise InvalidParameterError(renames[err.field], err.problem) from None


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says what was tried and how to fix it."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message ("" when it has none): long tracebacks stay in the log."""
    return (str(err).strip().splitlines() or [""])[0]


class TooLarge(InvalidParameterError):
    """An upload or a value is larger than allowed (HTTP 413)."""


class NotFound(LookupError):
    """Something a caller named by id does not exist (any more); the message says what."""


class Conflict(ValueError):
    """A change that clashes with what exists (a name in use); the message names the field and the clash."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
