"""A session's cookies.txt: checked, stored privately, removed.

yt-dlp reads Netscape-format cookie files. We accept only what parses as one (each cookie line
has seven tab-separated fields with sane flags and expiry), at most :data:`MAX_BYTES`, and keep
it in the data folder as ``cookies/<session id>.txt``, readable by the server's user only. The
contents never go back out through the API.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "MAX_BYTES",
    "CookieFileError",
    "cookie_path",
    "remove_cookies",
    "save_cookies",
    "validate",
]

MAX_BYTES = 1024 * 1024


class CookieFileError(ValueError):
    """The upload is not a usable cookies.txt; the message says why."""


def cookie_path(data_dir: Path, session_id: str) -> Path:
    # A user's owner id is "user:<id>"; a colon is not safe on every filesystem (SMB).
    return data_dir / "cookies" / f"{session_id.replace(':', '-')}.txt"


def validate(data: bytes) -> str:
    """The file as text if it is a Netscape cookies.txt, else :class:`CookieFileError`."""
    if len(data) > MAX_BYTES:
        raise CookieFileError(f"the file is larger than {MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CookieFileError("the file is not UTF-8 text") from None
    if "\x00" in text:
        raise CookieFileError("the file is not text")
    cookies = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip("\r")
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_") :]
        elif not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise CookieFileError(
                f"line {number} is not a cookie: expected 7 tab-separated fields, found "
                f"{len(fields)} (export the file in Netscape cookies.txt format)"
            )
        domain, subdomains, _path, secure, expiry, name, _value = fields
        if not domain or not name:
            raise CookieFileError(f"line {number}: the domain and the name must not be empty")
        if subdomains.upper() not in ("TRUE", "FALSE") or secure.upper() not in ("TRUE", "FALSE"):
            raise CookieFileError(f"line {number}: the 2nd and 4th fields must be TRUE or FALSE")
        if not expiry.lstrip("-").isdigit():
            raise CookieFileError(f"line {number}: the expiry (5th field) must be a number")
        cookies += 1
    if cookies == 0:
        raise CookieFileError("the file holds no cookies")
    return text


def save_cookies(path: Path, text: str) -> None:
    """Write atomically with mode 0600 (blocking: call from a worker thread)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text if text.endswith("\n") else text + "\n")
    os.replace(temporary, path)


def remove_cookies(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
