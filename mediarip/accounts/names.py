"""User names: which are allowed, and when two of them are too alike to both exist.

A name is 1 to 64 characters of ASCII letters, digits and ``. _ - @ +`` (so an e-mail address
from a proxy fits), starting with a letter or digit. Two names that a person could mistake for
each other ("Alice" and "alice", "b0b" and "bob", "j.doe" and "jdoe", "rn" and "m") must not
both exist: each name is folded to a *key* (lower case, the look-alike digits and letter pairs
mapped to one letter, separators dropped) and the key is unique in the store. Unicode is left out
on purpose: its confusables (a Cyrillic letter for a Latin one, and thousands more) are a table we
would have to keep current, and a household or team does not need it.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME", "NameRefused", "check_name", "name_key"]

MAX_NAME = 64
_ALLOWED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SINGLES = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "$": "s"})
_SEPARATORS = re.compile(r"[._+-]")


class NameRefused(ValueError):
    """A user name breaks the rules; the message says which."""


def check_name(username: str) -> str:
    """The name, if allowed; :class:`NameRefused` otherwise."""
    if not _ALLOWED.fullmatch(username):
        raise NameRefused(
            f"username: 1 to {MAX_NAME} characters: letters, digits and . _ - @ +, "
            "starting with a letter or digit"
        )
    return username


def name_key(username: str) -> str:
    """The name folded so that look-alikes share a key."""
    key = _SEPARATORS.sub("", username.lower()).translate(_SINGLES)
    for pair, letter in _PAIRS:
        key = key.replace(pair, letter)
    return key
