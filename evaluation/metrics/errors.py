"""The exception types the metric engine raises for bad input."""

from __future__ import annotations


class EvaluationInputError(ValueError):
    """An uploaded file or column set cannot be evaluated as asked.

    The message is written for the person who uploaded the file: it names the problem
    (which file, column, row or value) and says what to change. It is safe to show as is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputLimitError(EvaluationInputError):
    """The file is over one of the reader's limits (`limit`: "rows" or
    "decompressed_bytes"), so it was not read to the end. The caller may add how the limit
    is configured to the message."""

    def __init__(self, message: str, *, limit: str, value: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value
