"""The fast "valid?" check of a schema: jsonschema-rs (:mod:`tcdyn.rust_check`), else
fastjsonschema, compiled from tcdyn's copy of the schema (:mod:`tcdyn.semantics`), so its
"valid" is the services'. Anything it does not accept goes to the report's validator.

Where fastjsonschema reads a schema differently, its copy is made to agree, or it stands
aside (:class:`Unsupported`), so that it never accepts what the services refuse:

- tuples are arrays to it, Decimals numbers: it vouches only for plain JSON values
  (:func:`plain_json`), which also keeps out integers beyond 2**53 (a double to the service)
  and strings holding surrogates (a pair is one character to the service);
- it compiles ``pattern`` s with ``re``: it gets their Python spellings, and their compiled
  forms are swapped for :mod:`tcdyn.patterns`' (time-limited where not proved linear);
- a float ``multipleOf``, ``uniqueItems`` over items with defaults or under ``not``,
  ``oneOf`` or ``if`` (its equality is stricter than ajv's), a number format, an
  ``$id`` below a document's top (it ignores those in referenced documents), a ``$ref``
  scheme it would fetch by itself, and two ``$ref`` targets given one function name (it
  would call one for both) leave it out;
- ``$ref`` siblings move into ``allOf`` (it would ignore them); content keywords go.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urldefrag, urlsplit

from ..model.schema_names import abstract_path
from . import formats, jsregex
from .patterns import compile_pattern, is_safe
from .semantics import EXACT_INT, UNIQUE_FILLED, Prepared, needs_service_value
from .walk import walk

__all__ = ["FAST_BASE", "compile_fast", "fast_accepts", "plain_json", "sent_as_is"]

FAST_BASE = "https://tcdyn.invalid"  # for the absolute ids the compilers resolve by
DRAFT7_URI = "http://json-schema.org/draft-07/schema#"
_JSON_SCALARS = frozenset((str, bool, type(None)))
_EXACT = float(EXACT_INT)


class Unsupported(Exception):
    """A schema fastjsonschema could judge differently from the services."""


def plain_json(value: Any) -> bool:
    """Whether ``value`` holds only what ``json.loads`` makes and the service reads alike:
    dicts, lists, strings, bools, None, integers up to 2**53, finite floats under 2**53."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    elif kind is int:
        exact: bool = -EXACT_INT <= value <= EXACT_INT
        return exact
    elif kind is float:
        inside: bool = -_EXACT < value < _EXACT
        return inside
    else:
        return kind in _JSON_SCALARS
    for item in items:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -EXACT_INT <= item <= EXACT_INT:
                continue
            return False
        if not plain_json(item):
            return False
    return True


def sent_as_is(value: Any) -> bool:
    """Whether ``value`` is exactly what ``json.loads`` makes of its own JSON encoding:
    :func:`plain_json`, and every dict key a ``str`` (``json.dumps`` turns others into
    strings, so the sent form would differ)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is int:
                if -EXACT_INT <= item <= EXACT_INT:
                    continue
                return False
            if not sent_as_is(item):
                return False
        return True
    if kind is list:
        for item in value:
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is int:
                if -EXACT_INT <= item <= EXACT_INT:
                    continue
                return False
            if not sent_as_is(item):
                return False
        return True
    if kind is int:
        exact: bool = -EXACT_INT <= value <= EXACT_INT
        return exact
    if kind is float:
        inside: bool = -_EXACT < value < _EXACT
        return inside
    return kind in _JSON_SCALARS


def fast_accepts(fast: Callable[[Any], Any] | None, instance: Any) -> bool:
    """Whether the fast check ``fast`` accepts ``instance``. The walk of :func:`plain_json`
    comes first: Python's recursion limit bounds the depth of what reaches the compiled check
    (jsonschema-rs overflows its stack on a ~100,000-deep list under a recursive schema,
    which ends the process)."""
    if fast is None:
        return False
    try:
        return plain_json(instance) and bool(fast(instance))
    except Exception:  # invalid, too deep, a pattern timed out...: the report decides
        return False


def compile_fast(prepared: Prepared) -> Callable[[Any], Any] | None:
    """The fast check of ``prepared`` (``check(instance)`` true, or false or raising when
    invalid): jsonschema-rs's, else fastjsonschema's, else None (the report's validator
    alone). Raises what the compilers raise for a schema they cannot compile."""
    documents: list[Any] = []  # every document the compiler asked for
    return _compile_rs(prepared, documents) or _compile_fastjsonschema(prepared, documents)


def _document(prepared: Prepared, uri: str) -> Any:
    """tcdyn's copy of the document at ``uri``, with an absolute ``$id``."""
    from jsonschema_specifications import REGISTRY as SPECIFICATIONS

    document = urldefrag(uri).url
    if document in SPECIFICATIONS:  # the draft-06 metaschema, say
        return copy.deepcopy(SPECIFICATIONS.contents(document))
    path = abstract_path(document[len(FAST_BASE):] if document.startswith(FAST_BASE)
                         else document)
    doc = copy.deepcopy(prepared.documents[path])
    doc["$id"] = FAST_BASE + path + "#"
    return doc


def _negated(prepared: Prepared, document: Any) -> set[str]:
    """The JSON pointers of ``document``'s (from :func:`_document`) schema objects checked
    under ``not``, ``oneOf`` or ``if``."""
    uri = str(document.get("$id", ""))
    if not uri.startswith(FAST_BASE):
        return set()
    return prepared.negated.get(abstract_path(urldefrag(uri).url[len(FAST_BASE):]), set())


def _compile_rs(prepared: Prepared, documents: list[Any]) -> Callable[[Any], Any] | None:
    """jsonschema-rs's check, or None if it cannot be trusted with this schema."""
    from . import rust_check

    needs: set[str] = set()

    def retrieve(uri: str) -> Any:
        documents.append(_document(prepared, uri))
        return rust_check.rewrite(documents[-1], walk, DRAFT7_URI, needs,
                                  _negated(prepared, documents[-1]))

    try:
        root = retrieve(FAST_BASE + prepared.root)
        return rust_check.compile_check(root, retrieve, needs)
    except Exception:  # Unportable, or a schema it refuses: fastjsonschema's turn
        documents.clear()
        return None


def _for_fast(document: Any, spellings: dict[str, str], negated: Collection[str] = ()
              ) -> Any:
    """``document`` (a copy, changed in place) as fastjsonschema must read it, or
    :class:`Unsupported`; ``spellings`` collects Python spelling -> JavaScript pattern;
    ``negated``: the JSON pointers of the schema objects under ``not``, ``oneOf``, ``if``."""
    for pointer, schema in list(walk(document)):
        for key in ("contentEncoding", "contentMediaType"):
            schema.pop(key, None)
        ref = schema.get("$ref")
        if pointer and any(isinstance(schema.get(key), str) for key in ("$id", "id")):
            raise Unsupported(f"an id at #{pointer}")
        if isinstance(schema.get("multipleOf"), float):
            raise Unsupported(f"a float multipleOf at #{pointer}")
        if UNIQUE_FILLED in schema:
            raise Unsupported(f"uniqueItems over items with defaults at #{pointer}")
        if pointer in negated and schema.get("uniqueItems") is True:
            raise Unsupported(f"uniqueItems under not, oneOf or if at #{pointer}")
        if isinstance(ref, str) and urlsplit(ref).scheme not in ("", "http", "https"):
            raise Unsupported(f"a $ref fastjsonschema would fetch itself: {ref!r}")
        if isinstance(ref, str) and set(schema) - {"$ref", "$id", "$schema", "definitions",
                                                   "title", "description", "default"}:
            schema["allOf"] = [{"$ref": schema.pop("$ref")}, *schema.get("allOf", ())]
        fmt = schema.get("format")
        if isinstance(fmt, str) and formats.FORMATS.get(fmt, ("string",))[0] == "number":
            raise Unsupported(f"a number format at #{pointer}")
        if isinstance(schema.get("pattern"), str):
            schema["pattern"] = _spelling(schema["pattern"], spellings)
        patterns = schema.get("patternProperties")
        if isinstance(patterns, dict):
            spelt = {_spelling(key, spellings): value for key, value in patterns.items()}
            if len(spelt) != len(patterns):
                raise Unsupported(f"patternProperties at #{pointer} spelt alike")
            if "properties" in schema and not all(is_safe(p) for p in spelt):
                raise Unsupported(f"patternProperties at #{pointer} not proved safe")
            schema["patternProperties"] = spelt
        if "const" in schema:  # as a one-value enum: fastjsonschema fails to compile const
            schema["allOf"] = [*schema.get("allOf", ()), {"enum": [schema.pop("const")]}]
    return document


def _spelling(pattern: str, spellings: dict[str, str]) -> str:
    python = jsregex.to_python(pattern).pattern
    if spellings.setdefault(python, pattern) != pattern:
        raise Unsupported("two patterns spelt alike")
    return python


def _compile_fastjsonschema(prepared: Prepared, documents: list[Any]
                            ) -> Callable[[Any], Any] | None:
    """fastjsonschema's validator, or None where it could judge differently."""
    import fastjsonschema

    spellings: dict[str, str] = {}

    def fetch(uri: str) -> Any:
        document = _document(prepared, uri)
        documents.append(_for_fast(document, spellings, _negated(prepared, document)))
        return documents[-1]

    names = {name: (lambda text, name=name: formats.check(name, text))
             for name, (kind, _) in formats.FORMATS.items() if kind == "string"}
    options: dict[str, Any] = {"handlers": {"http": fetch, "https": fetch},
                               "formats": names, "use_default": False,
                               "detailed_exceptions": False}
    try:
        root = fetch(FAST_BASE + prepared.root)
    except Unsupported:
        return None
    root["$schema"] = DRAFT7_URI  # fastjsonschema picks its draft by this
    code = fastjsonschema.compile_to_code(copy.deepcopy(root), **options)
    functions = re.findall(r"^def (\w+)\(", code, flags=re.MULTILINE)
    if len(functions) != len(set(functions)):  # one function would judge two $refs
        return None
    fast = fastjsonschema.compile(root, **options)
    # its own compiled patterns: tcdyn.patterns' under the same keys
    patterns = getattr(fast, "func", fast).__globals__["REGEX_PATTERNS"]
    for key in list(patterns):
        patterns[key] = compile_pattern(spellings[key])

    def check(instance: Any) -> bool:
        if needs_service_value(instance):  # a surrogate pair: one character to the service
            return False
        fast(instance)
        return True

    return check
