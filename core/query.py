"""A small filter language over sessions, for the ``/`` filter, ``ls --filter`` and saved views.

::

    backend:dirs state:idle age>7d size>1G name~build
    kind:kv ttl<10m
    kind:tmux attached:no -name:scratch-*

Terms are separated by whitespace and must all match:

- ``word`` -- a case-insensitive substring of backend, kind, name, id, state,
  info or path (the dashboard's plain filter).
- ``field:value`` -- equality, case-insensitive; ``a,b`` means either;
  ``*`` and ``?`` are globs (``name:build-*``).  ``field=value`` is the same.
- ``field~regex`` -- a case-insensitive regular expression found anywhere in the field.
- ``field>v``, ``<``, ``>=``, ``<=`` -- numbers: ``age``, ``active``/``idle``,
  ``ttl`` (durations such as ``7d``, ``2h``, ``1h30m``), ``size`` (``10``, ``10k``,
  ``1.5M``, ``.5G``, ``2GiB``; K/M/G/T are 1024-based like ``du -h``, see
  ``core.sizes``), ``pid``.
- ``-term`` or ``!term`` negates a term; ``field!=v`` and ``field!~re`` too.
- ``"..."`` or ``'...'`` quote a value (or a bare word) with spaces or commas.

``parse_query`` compiles the text once; ``Query.matches`` then costs a few
attribute reads per term, so filtering 10k sessions on every keystroke is cheap.
A mistake raises ``QueryError`` with the character position, for a caret line.

Headless: the standard library and ``core`` only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from core.durations import parse_duration
from core.errors import UsageError
from core.model import Session, State
from core.sizes import parse_size  # re-exported: core.query.parse_size is public

__all__ = [
    "FIELDS",
    "Query",
    "QueryError",
    "Term",
    "combine",
    "parse_query",
    "parse_size",
]

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class QueryError(UsageError):
    """A query that cannot be read, and where: ``position`` (0-based character
    offset into the query text) and ``length`` (characters to underline)."""

    title = "Bad query"

    def __init__(self, message: str, *, position: int, length: int = 1, query: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.length = max(1, length)
        self.query = query

    def caret_line(
        self, text: str | None = None, *, indent: str = "", with_message: bool = True
    ) -> str:
        """The query and a line of ``^`` under the mistake::

        name:x agee>7d
               ^^^^ unknown field 'agee'; did you mean 'age'? ...
        """
        shown = (self.query if text is None else text).replace("\t", " ").replace("\n", " ")
        pos = min(self.position, len(shown))
        caret = " " * pos + "^" * self.length
        if with_message:
            caret += f" {self.message}"
        return f"{indent}{shown}\n{indent}{caret}"


# ---------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------

Test = Callable[[Session, float], bool]
"""A compiled term: (session, now as a POSIX timestamp) -> matches."""

_TEXT_FIELDS: dict[str, Callable[[Session], str]] = {
    "backend": lambda s: s.ref.backend,
    "kind": lambda s: s.kind,
    "name": lambda s: s.name,
    "id": lambda s: s.ref.id,
    "state": lambda s: s.state.value,
    "path": lambda s: s.path or "",
    "info": lambda s: s.info,
}

# (what the field measures, the getter of its instant, sign: +1 = now - t, -1 = t - now)
_TIME_FIELDS: dict[str, tuple[str, Callable[[Session], datetime | None], int]] = {
    "age": ("time since created", lambda s: s.created, 1),
    "active": ("time since last active", lambda s: s.last_active, 1),
    "idle": ("time since last active", lambda s: s.last_active, 1),
    "ttl": ("time left before it expires", lambda s: s.expires, -1),
}

_META_PREFIXES = ("meta.", "label.")

FIELDS: tuple[str, ...] = (
    *_TEXT_FIELDS,
    *_TIME_FIELDS,
    "size",
    "pid",
    "attached",
    "meta.KEY",
    "label.KEY",
)
"""Every field a query may name (``meta.KEY``: any metadata key)."""

_KNOWN = frozenset({*_TEXT_FIELDS, *_TIME_FIELDS, "size", "pid", "attached"})
_STATES = tuple(s.value for s in State)
_YES = frozenset({"yes", "true", "y", "1", "on"})
_NO = frozenset({"no", "false", "n", "0", "off"})

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}


def _attached(s: Session) -> bool:
    """Attached clients (tmux's); a kind without clients counts as not attached."""
    return s.facts.clients > 0


def _meta_getter(key: str) -> Callable[[Session], str | None]:
    prefixed = f"meta.{key}"

    def get(s: Session) -> str | None:
        md: Mapping[str, str] = s.metadata
        value = md.get(key)
        return md.get(prefixed) if value is None else value

    return get


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """One compiled term.  ``field`` is None for a bare word; ``op`` is one of
    ``"" : ~ > < >= <=``; ``start``/``end`` locate it in the query text."""

    field: str | None
    op: str
    value: str
    negated: bool
    start: int
    end: int
    test: Test = dataclasses.field(repr=False, compare=False)

    def describe(self) -> str:
        if self.field is None:
            text = f"contains {self.value}"
        elif self.op == ":":
            text = f"{self.field} is {' or '.join(_alternatives(self.value))}"
        elif self.op == "~":
            text = f"{self.field} matches /{self.value}/"
        else:
            text = f"{self.field} {self.op} {self.value}"
        return f"not ({text})" if self.negated else text


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: all ``terms`` must match.  An empty query matches everything."""

    text: str
    terms: tuple[Term, ...] = ()

    def matches(self, session: Session, now: datetime) -> bool:
        """Whether ``session`` matches, with ages and TTLs measured at ``now``."""
        ts = now.timestamp()
        return all(t.test(session, ts) for t in self.terms)

    def filter(self, sessions: Iterable[Session], now: datetime) -> list[Session]:
        """The sessions that match, in their order."""
        ts = now.timestamp()
        terms = self.terms
        if not terms:
            return list(sessions)
        return [s for s in sessions if all(t.test(s, ts) for t in terms)]

    @property
    def is_empty(self) -> bool:
        return not self.terms

    @property
    def fields(self) -> frozenset[str]:
        """The fields the terms name (``meta.KEY`` as ``meta.KEY``, bare words as ``""``)."""
        return frozenset(t.field or "" for t in self.terms)

    def uses(self, *names: str) -> bool:
        """True when a term names one of these fields (``""``: the bare words)."""
        return any((t.field or "") in names for t in self.terms)

    def without(self, *names: str) -> Query:
        """This query minus the terms on these fields: a looser filter, useful to
        narrow a list before measuring what the left-out terms need (sizes)."""
        return Query(self.text, tuple(t for t in self.terms if (t.field or "") not in names))

    def describe(self) -> str:
        """The query in words, e.g. ``state is idle and age > 7d``."""
        return " and ".join(t.describe() for t in self.terms) or "everything"

    def __str__(self) -> str:
        return self.text


def combine(*queries: Query) -> Query:
    """All of the queries at once (a saved view plus a typed filter)."""
    text = ""
    terms: list[Term] = []
    for q in queries:
        if not q.text.strip():
            continue
        shift = len(text) + 1 if text else 0
        terms += [replace(t, start=t.start + shift, end=t.end + shift) for t in q.terms]
        text = f"{text} {q.text}" if text else q.text
    return Query(text, tuple(terms))


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_OP_RE = re.compile(r"!=|!~|>=|<=|[:=~<>]")
_QUOTES = "\"'"


@dataclass(frozen=True, slots=True)
class _Value:
    text: str
    start: int  # offset of the first character of the value (inside quotes)
    quoted: bool


def _alternatives(value: str) -> list[str]:
    return value.split(",")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)

    def fail(self, message: str, position: int, length: int = 1) -> QueryError:
        return QueryError(message, position=position, length=length, query=self.text)

    def parse(self) -> Query:
        terms: list[Term] = []
        bare: list[tuple[str, bool, int, int]] = []
        i = 0
        text, n = self.text, self.n
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                break
            start = i
            negated = False
            if text[i] in "-!":
                negated = True
                i += 1
                if i >= n or text[i].isspace():
                    raise self.fail(
                        f"'{text[start]}' negates the term after it, but none follows; "
                        f"write e.g. {text[start]}state:idle",
                        start,
                    )
            m = _FIELD_RE.match(text, i)
            op_m = _OP_RE.match(text, m.end()) if m else None
            if m is not None and op_m is not None:
                value, end = self._value(op_m.end(), op_m.group())
                op = op_m.group()
                if op in ("!=", "!~"):
                    negated = not negated
                    op = op[1:]
                if op == "=":
                    op = ":"
                terms.append(
                    self._compile(m, op, op_m.start(), value, negated=negated, span=(start, end))
                )
                i = end
                continue
            if text[i] in _QUOTES:
                value, end = self._quoted(i)
                word = value.text
            else:
                end = i
                while end < n and not text[end].isspace():
                    end += 1
                word = text[i:end]
            bare.append((word.lower(), negated, start, end))
            i = end
        if bare:
            terms.insert(0, _bare_term(bare))
        return Query(self.text, tuple(terms))

    def _quoted(self, i: int) -> tuple[_Value, int]:
        quote = self.text[i]
        close = self.text.find(quote, i + 1)
        if close < 0:
            raise self.fail(f"this {quote} is never closed; add a closing {quote}", i)
        end = close + 1
        if end < self.n and not self.text[end].isspace():
            raise self.fail("put a space after the closing quote", end)
        return _Value(self.text[i + 1 : close], i + 1, True), end

    def _value(self, i: int, op: str) -> tuple[_Value, int]:
        if i < self.n and self.text[i] in _QUOTES:
            return self._quoted(i)
        end = i
        while end < self.n and not self.text[end].isspace():
            end += 1
        if end == i:
            raise self.fail(
                f"'{op}' needs a value right after it (no space), e.g. state{op}idle"
                if op in (":", "=")
                else f"'{op}' needs a value right after it (no space)",
                i - len(op),
                len(op),
            )
        return _Value(self.text[i:end], i, False), end

    # -- compiling one term ------------------------------------------------

    def _compile(
        self,
        name_m: re.Match[str],
        op: str,
        op_at: int,
        value: _Value,
        *,
        negated: bool,
        span: tuple[int, int],
    ) -> Term:
        name, name_at = name_m.group(), name_m.start()
        key = name.lower()
        meta_key: str | None = None
        for prefix in _META_PREFIXES:
            if key.startswith(prefix):
                meta_key = name[len(prefix) :]
                if not meta_key:
                    raise self.fail(
                        f"'{name}' needs a metadata key after the dot, e.g. {prefix}workspace",
                        name_at,
                        len(name),
                    )
                key = f"meta.{meta_key}"
        if meta_key is None and key not in _KNOWN:
            raise self.fail(_unknown_field(name), name_at, len(name))
        test = self._test(key, meta_key, op, op_at, value)
        if negated:
            inner = test

            def test(s: Session, now: float) -> bool:
                return not inner(s, now)

        return Term(key, op, value.text, negated, span[0], span[1], test)

    def _test(self, key: str, meta_key: str | None, op: str, op_at: int, value: _Value) -> Test:
        if op in _COMPARE:
            return self._comparison(key, meta_key, op, value)
        if key in _TIME_FIELDS or key == "size":
            if op == ":" and value.text.lower() == "none":
                return self._absent(key)
            example = "size>1G" if key == "size" else f"{key}>7d" if key != "ttl" else "ttl<10m"
            raise self.fail(
                f"{key} compares with >, <, >= or <= (e.g. {example}); "
                f"{key}:none finds sessions without one",
                op_at,
                len(op),
            )
        if key == "attached":
            if op != ":":
                raise self.fail("attached is yes or no, e.g. attached:no", op_at, len(op))
            word = value.text.lower()
            if word not in _YES and word not in _NO:
                raise self.fail(
                    f"attached is yes or no (or true/false); got {value.text!r}",
                    value.start,
                    len(value.text),
                )
            want = word in _YES
            return lambda s, _now: _attached(s) is want
        if key == "pid":
            if op == "~":
                raise self.fail("pid is a number: pid:1234 or pid>1000", op_at, len(op))
            pids = frozenset(self._pid(alt, at) for alt, at in self._split(value))
            return lambda s, _now: s.pid in pids
        get = _TEXT_FIELDS.get(key) or _meta_getter(meta_key or "")
        if op == "~":
            try:
                pattern = re.compile(value.text, re.IGNORECASE)
            except re.error as e:
                at = value.start + (e.pos or 0)
                raise self.fail(f"bad regular expression: {e.msg}", at) from None
            search = pattern.search
            return lambda s, _now: (v := get(s)) is not None and search(v) is not None
        return self._equality(key, get, value)

    def _equality(self, key: str, get: Callable[[Session], str | None], value: _Value) -> Test:
        exact: set[str] = set()
        globs: list[re.Pattern[str]] = []
        for alt, at in self._split(value):
            if "*" in alt or "?" in alt:
                pattern = re.compile(_glob(alt), re.IGNORECASE | re.DOTALL)
                if key == "state" and not any(pattern.fullmatch(v) for v in _STATES):
                    raise self.fail(
                        f"no state matches {alt!r}; states: {', '.join(_STATES)}", at, len(alt)
                    )
                globs.append(pattern)
            else:
                if key == "state" and alt.lower() not in _STATES:
                    raise self.fail(
                        f"unknown state {alt!r}; states: {', '.join(_STATES)}", at, len(alt)
                    )
                exact.add(alt.lower())
        fixed = frozenset(exact)
        if not globs:
            return lambda s, _now: (v := get(s)) is not None and v.lower() in fixed
        matchers = tuple(p.fullmatch for p in globs)
        return lambda s, _now: (
            (v := get(s)) is not None and (v.lower() in fixed or any(m(v) for m in matchers))
        )

    def _split(self, value: _Value) -> list[tuple[str, int]]:
        """``a,b`` -> [(a, at), (b, at)]; a quoted value is one alternative."""
        if value.quoted:
            return [(value.text, value.start)]
        out: list[tuple[str, int]] = []
        at = value.start
        for alt in _alternatives(value.text):
            if not alt:
                raise self.fail("an empty alternative; write a,b with no empty part", at)
            out.append((alt, at))
            at += len(alt) + 1
        return out

    def _pid(self, text: str, at: int) -> int:
        if not text.isdigit():
            raise self.fail(f"pid is a whole number; got {text!r}", at, len(text))
        return int(text)

    def _absent(self, key: str) -> Test:
        if key == "size":
            return lambda s, _now: s.size is None
        get = _TIME_FIELDS[key][1]
        return lambda s, _now: get(s) is None

    def _comparison(self, key: str, meta_key: str | None, op: str, value: _Value) -> Test:
        cmp = _COMPARE[op]
        raw = value.text
        span = (value.start, len(raw))
        if key in _TIME_FIELDS:
            if raw.replace(".", "", 1).isdigit():  # `age>7`: seconds? days? say which
                raise self.fail(
                    f"{raw!r} has no unit; write e.g. {raw}d (days), {raw}h, {raw}m or {raw}s",
                    *span,
                )
            try:
                limit = parse_duration(raw).total_seconds()
            except UsageError:
                raise self.fail(
                    f"{raw!r} is not a duration; write e.g. 90s, 30m, 2h, 7d or 1h30m", *span
                ) from None
            get = _TIME_FIELDS[key][1]
            if _TIME_FIELDS[key][2] > 0:
                return lambda s, now: (t := get(s)) is not None and cmp(now - t.timestamp(), limit)
            return lambda s, now: (t := get(s)) is not None and cmp(t.timestamp() - now, limit)
        if key == "size":
            try:
                size_limit = parse_size(raw)
            except UsageError as e:
                raise self.fail(e.message, *span) from None
            return lambda s, _now: s.size is not None and cmp(s.size.disk, size_limit)
        if key == "pid":
            pid_limit = self._pid(raw, value.start)
            return lambda s, _now: s.pid is not None and cmp(s.pid, pid_limit)
        if meta_key is not None:
            try:
                number = float(raw)
            except ValueError:
                raise self.fail(
                    f"metadata compares as a plain number, e.g. {key}>10; got {raw!r}", *span
                ) from None
            get_meta = _meta_getter(meta_key)
            return lambda s, _now: (n := _number(get_meta(s))) is not None and cmp(n, number)
        raise self.fail(
            f"{key} is text: use {key}:VALUE or {key}~REGEX, not '{op}'",
            value.start - len(op),
            len(op),
        )


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _glob(pattern: str) -> str:
    """``*`` any run of characters, ``?`` one character; everything else literal."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _unknown_field(name: str) -> str:
    import difflib

    known = [f for f in FIELDS if "KEY" not in f]
    close = difflib.get_close_matches(name.lower(), known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    quote = f'; to search for the text, quote it: "{name}:..."'
    return f"unknown field '{name}'; {hint}fields: {', '.join(FIELDS)}{quote}"


def _haystack(s: Session) -> str:
    # NUL between fields: a word never matches across two of them
    return "\0".join(
        (s.ref.backend, s.kind, s.name, s.ref.id, s.state.value, s.info, s.path or "")
    ).lower()


def _bare_term(words: list[tuple[str, bool, int, int]]) -> Term:
    """All bare words as one term, so the haystack is built once per session."""
    wanted = tuple(w for w, neg, _, _ in words if not neg)
    unwanted = tuple(w for w, neg, _, _ in words if neg)

    def test(s: Session, _now: float) -> bool:
        hay = _haystack(s)
        return all(w in hay for w in wanted) and not any(w in hay for w in unwanted)

    shown = " and ".join(f"not {w!r}" if neg else repr(w) for w, neg, _, _ in words)
    return Term(None, "", shown, False, words[0][2], words[-1][3], test)


def parse_query(text: str) -> Query:
    """Compile a query; raises ``QueryError`` (with the position) for a mistake.

    An empty or blank text gives a query that matches every session.
    """
    return _Parser(text).parse()
