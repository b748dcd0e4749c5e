"""Hide secrets in any text sesstui shows, logs or raises.

:func:`redact` is applied to every message of a :class:`core.errors.SesstuiError`,
every backend health reason and endpoint, ``config show``, the journal and the
CLI's output.  It works in three layers, each of which errs on the side of
hiding:

1. **URL userinfo, by parsing.**  For every ``scheme://`` in the text the
   authority is found by looking for the *last* ``@`` on that line (before a
   next URL) that is followed by something host-like; everything
   between ``://`` and that ``@`` is the userinfo, whatever it contains
   (quotes, spaces, ``#``, ``@``, ``/``, ``%``-escapes, unicode; only a
   space or quote followed by ``scheme://`` reads as the start of a new URL).  The user
   name stays (``redis://bob:***@host``), the password becomes ``***``; a
   userinfo without ``:`` is a user name and stays.  A bare ``user:pw@host``
   (no scheme) is handled the same way when the password has no spaces.
2. **Key / value pairs.**  A key naming a secret (``password``, ``passwd``,
   ``passphrase``, ``secret``, ``token``, ``api_key``, ``access_key``,
   ``private_key``, ``credentials``, ``bearer``; any case, any prefix or suffix
   such as ``REDIS_PASSWORD``), then ``=`` or ``:`` with or without spaces,
   then the value: a quoted string (with backslash escapes, as JSON and Python
   reprs write them, and YAML's doubled ``''``) or a bare word.  ``Bearer <token>`` and
   ``Basic <credentials>`` too, and on command lines a long option naming a secret
   followed by its value (``--password hunter2``) and ``redis-cli -a <password>``.
3. **Known secrets.**  Backends register the secrets they were configured with
   (:func:`remember_url_secrets`, :func:`remember_secret`); every occurrence of
   one (raw, percent-decoded or percent-encoded) is replaced as well.  This
   catches libraries that echo a secret in a shape no rule above recognises.

``redact`` is idempotent.  Standard library only: ``core.errors`` imports it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

__all__ = [
    "MASK",
    "forget_secrets",
    "is_secret_key",
    "redact",
    "redact_fields",
    "remember_secret",
    "remember_url_secrets",
    "url_password",
    "url_userinfo_problem",
]

MASK = "***"

_SENSITIVE_WORDS = (
    r"(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credentials?|bearer)"
)
_SECRET_KEY_RE = re.compile(rf"[A-Za-z0-9_.-]*{_SENSITIVE_WORDS}[A-Za-z0-9_.-]*", re.IGNORECASE)

# ---------------------------------------------------------------------------
# 1. URL userinfo
# ---------------------------------------------------------------------------

_SCHEME_RE = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://")
# what may follow the '@' that ends a userinfo: a host name, an IPv6 literal,
# a unix socket path (unix://:pw@/tmp/r.sock), or nothing before a path
_URL_LEAD = frozenset(" \t(<[{\"',;=")
_HOST_START = re.compile(r"[\w\[/.%-]|$")
# user:password@host without a scheme; the password has no spaces then
_BARE_RE = re.compile(r"(?<![\w/:@.%+-])(?P<user>[\w.+-]*):(?P<password>[^\s@/][^\s@]*)@(?=[\w\[])")


def _redact_urls(text: str) -> str:
    out: list[str] = []
    pos = 0
    found = list(_SCHEME_RE.finditer(text))
    # where a URL that follows begins; "://" inside a password does not
    # count unless a space, bracket, quote or separator comes before it
    bounds = [m.start() for m in found if m.start() == 0 or text[m.start() - 1] in _URL_LEAD]
    for match in found:
        start = match.end()
        if start < pos:
            continue
        # to the end of the line or the next URL: a password may hold anything
        stop = text.find("\n", start)
        if stop == -1:
            stop = len(text)
        stop = min([stop, *(b for b in bounds if start < b < stop)])
        region = text[start:stop]
        at = _userinfo_end(region)
        if at is None:
            continue
        userinfo = region[:at]
        colon = userinfo.find(":")
        if colon == -1 or userinfo[colon + 1 :] == MASK:
            continue
        out.append(text[pos:start])
        out.append(f"{userinfo[:colon]}:{MASK}")
        pos = start + at
    out.append(text[pos:])
    return "".join(out)


def _userinfo_end(region: str) -> int | None:
    """Index of the '@' that closes the userinfo in ``region``, if any."""
    at = region.rfind("@")
    while at != -1:
        if _HOST_START.match(region, at + 1):
            return at
        at = region.rfind("@", 0, at)
    return None


def _mask_bare(match: re.Match[str]) -> str:
    if match["password"] == MASK:
        return match[0]
    return f"{match['user']}:{MASK}@"


# ---------------------------------------------------------------------------
# 2. key = value
# ---------------------------------------------------------------------------

# The secret word sits in the key's last dotted part (`db.password`, not `secret.log`), and
# a key never continues a path (`/srv/secret: Permission denied` names a file, not a secret).
_KEY_VALUE_RE = re.compile(
    rf"(?<![/\\\w.-])(?P<key>(?:[A-Za-z0-9_-]*\.)*[A-Za-z0-9_-]*{_SENSITIVE_WORDS}[A-Za-z0-9_-]*)"
    r"(?P<quote>[\"']?)"
    r"(?P<sep>\s*[:=]\s*)"
    r"(?P<value>\"(?:\\.|[^\"\\\n])*(?:\"|$)|'(?:\\.|''|[^'\\\n])*(?:'|$)|[^\s\"',;&)}\]]+)",
    re.IGNORECASE | re.MULTILINE,
)
_BEARER_RE = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)(?!\*\*\*|[=:])[^\s\"',;]+", re.IGNORECASE)
# command lines as ``ls`` and the dashboard show them (a tmux pane's command,
# a container's): a long option naming a secret takes the next word
# (``--password hunter2``, ``--api-token=x`` is a key/value pair already), and
# ``redis-cli -a <password>`` / ``mysql -p<password>``-style short options of
# the tools that put a password there
_FLAG_RE = re.compile(
    rf"(?P<head>(?<![\w-])--?[A-Za-z0-9_-]*{_SENSITIVE_WORDS}[A-Za-z0-9_-]*\s+)"
    r"(?!\*\*\*(?:\s|$)|-)(?P<value>\"(?:\\.|[^\"\\\n])*\"?|'[^'\n]*'?|\S+)",
    re.IGNORECASE,
)
_TOOL_FLAG_RE = re.compile(
    r"(?P<head>\b(?:redis-cli|keydb-cli)\b[^\n]*?\s-a\s+)(?!\*\*\*(?:\s|$))(?P<value>\S+)"
)


def _mask_key_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value[0] in "\"'":
        closed = len(value) > 1 and value.endswith(value[0])
        masked = f"{value[0]}{MASK}{value[0] if closed else ''}"
    else:
        masked = MASK
    return f"{match['key']}{match['quote']}{match['sep']}{masked}"


# ---------------------------------------------------------------------------
# 3. known secrets
# ---------------------------------------------------------------------------

_MIN_KNOWN = 3  # shorter secrets would mask ordinary words everywhere
_known: set[str] = set()
_known_lock = threading.Lock()


def remember_secret(value: str) -> None:
    """Hide ``value`` (and its percent-encoded / -decoded forms) from now on."""
    forms = {value, unquote(value), quote(value, safe=""), quote_plus(value, safe="")}
    forms |= {quote(unquote(value), safe=""), quote_plus(unquote(value), safe="")}
    with _known_lock:
        _known.update(f for f in forms if len(f) >= _MIN_KNOWN and f != MASK)


def url_password(url: str) -> str | None:
    """The password in ``url``'s userinfo as written, or None."""
    match = _SCHEME_RE.search(url)
    if match is None:
        return None
    region = url[match.end() :]
    at = _userinfo_end(region)
    if at is None:
        return None
    _user, sep, password = region[:at].partition(":")
    return password if sep and password else None


def url_userinfo_problem(url: str) -> str:
    """Why URL clients would not read ``url``'s user and password as written
    here, or '' when they would.

    Every URL parser (``urllib``, and so redis-py) ends the host part at the
    first ``/``, ``?`` or ``#``: a password holding one of them raw is cut
    there, and the client takes the rest of the password for the host name
    and port, which then shows up in its errors ("connecting to <piece of the
    password>:6379").  Such a URL is refused instead of used.  The message
    never contains the URL or the password.
    """
    match = _SCHEME_RE.match(url)
    if match is None:
        return ""
    region = url[match.end() :]
    at = _userinfo_end(region)
    if at is None or ":" not in region[:at]:
        return ""  # no password (a user name, or an '@' in a socket path): nothing to cut
    try:
        theirs = urlsplit(url).netloc.rpartition("@")[0]
    except ValueError:
        theirs = None
    if theirs == region[:at]:
        return ""
    return (
        "its password holds a raw '#', '?' or '/', which ends the host part of a URL "
        "(a client would take the rest of the password for the host name); "
        "percent-encode the password (# %23, ? %3F, / %2F, @ %40, % %25, space %20), "
        "and write an '@' in the path or query as %40"
    )


def remember_url_secrets(url: str | None) -> None:
    """Hide the password of ``url`` (when it has one) from now on."""
    if url:
        password = url_password(url)
        if password is not None:
            remember_secret(password)


def forget_secrets() -> None:
    """Drop every remembered secret (for tests)."""
    with _known_lock:
        _known.clear()


def _redact_known(text: str) -> str:
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


# ---------------------------------------------------------------------------


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``***`` (see the module doc)."""
    if not text:
        return text
    text = _redact_known(text)
    text = _redact_urls(text)
    text = _BARE_RE.sub(_mask_bare, text)
    text = _BEARER_RE.sub(rf"\g<head>{MASK}", text)
    text = _FLAG_RE.sub(rf"\g<head>{MASK}", text)
    text = _TOOL_FLAG_RE.sub(rf"\g<head>{MASK}", text)
    return _KEY_VALUE_RE.sub(_mask_key_value, text)


def is_secret_key(name: str) -> bool:
    """True when a key or variable called ``name`` holds a secret (``API_TOKEN``)."""
    return _SECRET_KEY_RE.fullmatch(name) is not None


def redact_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` (a session's metadata) for display: the value of a key that
    names a secret becomes ``***``, every other value is :func:`redact`-ed."""
    return {k: MASK if is_secret_key(k) else redact(v) for k, v in fields.items()}
