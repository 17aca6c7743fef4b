"""Errors that reach a person: each says what happened, to which file, and what to do next."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a state the user can fix. The CLI prints it on one line and exits 2."""
