"""What every sub-command of ``qa`` shares, here and in :mod:`eval.commands`: the parser class, argument types,
exit codes and whether to draw progress bars."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

EXIT_ERROR = 1
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """Usage errors are one line saying where help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def port(value: str) -> int:
    number = positive_int(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, got {number}")
    return number


def ray_address(value: str) -> str:
    """``--ray``: checked here (``local:N`` needs a whole N) so that a typo fails before any document is read."""
    from index.spread import Spread

    try:
        return Spread(value).address
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def show_progress() -> bool:
    """Progress bars on a terminal, not in CI logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")
