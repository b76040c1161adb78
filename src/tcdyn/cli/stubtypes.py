"""JSON schemas as ``TypedDict`` s: the typed payloads and responses of ``tcdyn stubs``.

``SchemaTypes(load)`` renders the schemas ``load(abstract_path)`` returns (parsed JSON, or
None when the deployment has no such schema) into one Python module: a ``TypedDict`` per
object schema with properties, a type alias per named root that is not one. A root is asked
for with ``root(path, mode)``, which returns the name to annotate with; ``module()`` renders
everything asked for and what it reaches.

The mapping: required keys are required (``total=False`` when none is, ``NotRequired`` for
the optional ones otherwise); ``enum``/``const`` are ``Literal``; nested objects are nested
``TypedDict`` s; arrays are ``list`` (not ``Sequence``, which a ``str`` would satisfy);
``$ref`` is followed (across documents); ``oneOf``/``anyOf`` are unions; a map
(``additionalProperties``/``patternProperties`` without ``properties``) is a ``dict``;
recursion goes through the ``TypedDict`` names, and a loop that does not is ``Any``.
Payloads (``mode="input"``) take what tcdyn sends: a ``datetime`` where the schema wants a
date-time string, any ``Mapping`` where it wants a free-form object, and, for an object
whose schema allows other keys (``additionalProperties`` not false), any ``Mapping`` besides
the ``TypedDict`` of its declared keys (mypy cannot say "these keys, and others"); responses
(``mode="output"``) are what JSON decodes to: ``str``, ``dict``. A schema used both ways
whose two forms differ gets a second ``TypedDict`` for payloads, named ``...Input``.

Names come from where a schema is: ``/schemas/queue/v1/task.json`` is ``QueueTask``, its
property ``status`` ``QueueTask_Status``, that array's items ``QueueTask_StatusItem``, a
definition ``..._Name``, a ``oneOf`` alternative its short title or ``..._Option<n>``.
Only ASCII letters and digits are kept, so a name is always an identifier; two places that
would get one name are told apart by a number, in the order of their places. A deployment's
text reaches the module only escaped: titles in docstrings and comments, keys and enum
values in string literals.
"""

from __future__ import annotations

import keyword
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

from ..model.schema_names import abstract_path

#: What the generated module calls the modules it uses (no schema name starts with ``_``).
TYPING, ABC, DATETIME = "_typing", "_abc", "_datetime"
ANY = f"{TYPING}.Any"
#: Bounds on what a deployment's schemas can make us write.
MAX_INLINE_DEPTH = 32
MAX_EXPRESSION = 2000
MAX_ENUM = 256
MAX_NAME = 100
MAX_EXPANSIONS = 100_000
#: Keywords that give a schema a type (an alternative without one adds only constraints).
_TYPED = ("type", "properties", "$ref", "enum", "const", "items", "oneOf", "anyOf", "allOf",
          "additionalProperties", "patternProperties")
_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool",
            "null": "None"}
_Loc = tuple[str, str]  # (abstract path of the document, JSON pointer in it)
#: A class in an expression until it is named (NUL never occurs in a name).
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


def camel(text: str) -> str:
    """``"create-task_request"`` -> ``"CreateTaskRequest"``: ASCII letters and digits only."""
    parts = re.findall(r"[A-Za-z0-9]+", text)
    return "".join(p[:1].upper() + p[1:] for p in parts)


def escaped(text: str) -> str:
    """``text`` inside a double-quoted (or triple-quoted) string literal: backslashes,
    quotes and every unprintable character (controls, bidi overrides, lone surrogates)
    escaped, so that the literal parses and means exactly ``text``."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
                       if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def string_literal(text: str) -> str:
    """A double-quoted Python literal meaning exactly ``text``."""
    return '"' + escaped(text) + '"'


def one_line(text: object, limit: int = 90) -> str:
    """The first ``limit`` characters of ``text`` on one line, for a docstring or comment
    (whitespace runs, newlines included, become one space)."""
    line = " ".join(str(text).split())
    return line[:limit].rstrip() + ("..." if len(line) > limit else "")


def _pointer(*tokens: str) -> str:
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def root_name(path: str) -> str:
    """``/schemas/queue/v1/create-task-request.json`` -> ``QueueCreateTaskRequest`` (the
    service, then the file's path without version folders)."""
    parts = path.split("/")[2:]
    words = [parts[0]] + [p for p in parts[1:] if not re.fullmatch(r"v\d+", p)]
    words[-1] = words[-1].removesuffix(".json")
    name = "".join(camel(w) for w in words) or "Schema"
    return name if name[0].isalpha() else "T" + name


class _Class:
    """One ``TypedDict`` to write: an object schema at ``loc``, in one mode."""

    __slots__ = ("closed", "fields", "index", "loc", "mode", "name", "title")

    def __init__(self, index: int, loc: _Loc, mode: str) -> None:
        self.index = index
        self.loc = loc
        self.mode = mode
        self.name = ""
        self.title = ""
        #: No other keys (additionalProperties false): ``@final``, so ``"key" in value``
        #: tells the alternatives of a union apart.
        self.closed = False
        #: (key, type expression with class placeholders, required)
        self.fields: list[tuple[str, str, bool]] = []


class SchemaTypes:
    """The typed forms of the schemas one module needs (see the module's docstring)."""

    def __init__(self, load: Callable[[str], Any]) -> None:
        self._load = load
        self._docs: dict[str, Any] = {}
        self._classes: dict[tuple[_Loc, str], _Class] = {}
        self._all: list[_Class] = []  # by index
        self._pending: list[_Class] = []
        self._root_names: dict[str, str] = {}
        #: name -> expression: the module's type aliases
        self._aliases: dict[str, str] = {}
        #: input-form class index -> the output-form class it is the same as
        self._merged: dict[int, int] = {}
        #: (location, mode) -> its inline expression, once known whatever reached it
        self._memo: dict[tuple[_Loc, str], str] = {}
        self._budget = MAX_EXPANSIONS  # inline expansions left (a schema's bound on work)

    # -- asking

    def root(self, path: str, mode: str, name: str | None = None) -> str | None:
        """The type of schema ``path`` (an abstract path) as a payload (``mode="input"``)
        or a response (``"output"``), or None when the schema is not at hand: an expression
        whose class names are placeholders until ``module()`` has named them (then
        ``final`` writes it). With ``name``, the module also gets that name for it (an
        alias, unless it is the name of its ``TypedDict``), and the schema's classes are
        named after it."""
        if self._document(path) is None:
            return None
        if name is not None:
            self._root_names.setdefault(path, name)
        expr = self._expr((path, ""), mode, ())
        if name is not None:
            self._aliases[name] = expr
        return expr

    def alias(self, name: str, expr: str) -> None:
        """``name`` as another name (an alias in the module) of ``expr``."""
        self._aliases[name] = expr

    def array_item(self, expr: str) -> str | None:
        """When ``expr`` is one ``TypedDict`` with exactly one array field (a paginated
        response), that array's element type (placeholders as in ``root``), else None."""
        match = _PLACEHOLDER.fullmatch(expr)
        if match is None:
            return None
        self._drain()
        cls = self._all[int(match.group(1))]
        lists = [e for _, e, _ in cls.fields if e.startswith("list[") and e.endswith("]")]
        return lists[0][5:-1] if len(lists) == 1 else None

    def final(self, expr: str, prefix: str = "") -> str:
        """An expression of ``root`` with each class's name (``prefix`` before it, e.g.
        the module's alias in another module)."""
        def name(match: re.Match[str]) -> str:
            index = int(match.group(1))
            return prefix + self._all[self._merged.get(index, index)].name

        return _PLACEHOLDER.sub(name, expr)

    # -- documents and $ref

    def _document(self, path: str) -> Any:
        if path not in self._docs:
            try:
                self._docs[path] = self._load(path)
            except Exception:  # a schema that cannot be read is left untyped
                self._docs[path] = None
        return self._docs[path]

    def _node(self, loc: _Loc) -> Any:
        node = self._document(loc[0])
        for token in _tokens(loc[1]):
            if isinstance(node, dict):
                node = node.get(token)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    def _target(self, loc: _Loc, ref: str) -> _Loc | None:
        base, fragment = urldefrag(ref)
        path = loc[0]
        if base:
            try:
                parts = urlsplit(base)
                if parts.scheme or parts.netloc or base.startswith("/"):
                    path = abstract_path(base)
                else:
                    path = abstract_path(posixpath.join(posixpath.dirname(loc[0]), base))
            except ValueError:
                return None
        pointer = unquote(fragment)
        if pointer and not pointer.startswith("/"):
            return None
        return (path, pointer)

    def _resolve(self, loc: _Loc) -> tuple[_Loc, Any]:
        """``loc`` and its node, following ``$ref`` s (None for a loop or a missing target)."""
        node = self._node(loc)
        seen = {loc}
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = self._target(loc, node["$ref"])
            if target is None or target in seen or len(seen) > MAX_INLINE_DEPTH:
                return loc, None
            seen.add(target)
            loc, node = target, self._node(target)
        return loc, node

    # -- rendering

    def _expr(self, loc: _Loc, mode: str, stack: tuple[_Loc, ...]) -> str:
        """The type expression of the schema at ``loc`` (class references as placeholders)."""
        loc, node = self._resolve(loc)
        if not isinstance(node, dict):
            return ANY
        if self._is_class(node):
            return self._object(loc, node, mode)
        known = self._memo.get((loc, mode))
        if known is not None:
            return known
        if loc in stack or len(stack) >= MAX_INLINE_DEPTH or self._budget <= 0:
            return ANY  # a loop that no TypedDict breaks, or too deep: typed loosely
        self._budget -= 1
        text = self._inline(loc, node, mode, (*stack, loc))
        text = text if len(text) <= MAX_EXPRESSION else ANY
        # Kept whatever reached it (a loop or the depth cut short above is Any either
        # way): each location is expanded once, so no schema costs more than its size.
        self._memo[(loc, mode)] = text
        return text

    @staticmethod
    def _is_class(node: dict[str, Any]) -> bool:
        """An object schema with properties (a ``TypedDict``), which no ``oneOf``/``anyOf``
        or other type makes a union."""
        return bool(isinstance(node.get("properties"), dict) and node["properties"]
                    and node.get("type", "object") in ("object", ["object"]))

    def _inline(self, loc: _Loc, node: dict[str, Any], mode: str,
                stack: tuple[_Loc, ...]) -> str:
        path, pointer = loc
        if "const" in node:
            literal = _literal([node["const"]])
            if literal:
                return literal
        if isinstance(node.get("enum"), list):
            literal = _literal(node["enum"])
            if literal:
                return literal
        for word in ("oneOf", "anyOf"):
            alternatives = node.get(word)
            if (isinstance(alternatives, list) and not node.get("properties")
                    and any(isinstance(a, dict) and any(k in a for k in _TYPED)
                            for a in alternatives)):
                return _union(self._expr((path, pointer + _pointer(word, str(i))), mode,
                                         stack) for i in range(len(alternatives)))
        parts = node.get("allOf")
        if isinstance(parts, list) and not any(k in node for k in _TYPED if k != "allOf"):
            for i, part in enumerate(parts):  # the first part that gives a type
                if isinstance(part, dict) and any(k in part for k in _TYPED):
                    return self._expr((path, pointer + _pointer("allOf", str(i))), mode,
                                      stack)
            return ANY
        kinds = node.get("type")
        if kinds is None:
            if any(k in node for k in ("properties", "additionalProperties",
                                       "patternProperties")):
                kinds = "object"
            elif "items" in node:
                kinds = "array"
            else:
                return ANY
        if isinstance(kinds, str):
            kinds = [kinds]
        if not isinstance(kinds, list) or not kinds:
            return ANY
        return _union(self._of_type(loc, node, k, mode, stack) for k in kinds)

    def _of_type(self, loc: _Loc, node: dict[str, Any], kind: object, mode: str,
                 stack: tuple[_Loc, ...]) -> str:
        path, pointer = loc
        if kind == "string" and node.get("format") == "date-time" and mode == "input":
            return f"str | {DATETIME}.datetime"  # tcdyn sends a datetime as that string
        if isinstance(kind, str) and kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            items = node.get("items")
            if isinstance(items, dict):
                return f"list[{self._expr((path, pointer + '/items'), mode, stack)}]"
            if isinstance(items, list) and items:
                return "list[" + _union(self._expr((path, pointer + _pointer("items", str(i))),
                                                   mode, stack)
                                        for i in range(len(items))) + "]"
            return f"list[{ANY}]"
        if kind == "object":
            if isinstance(node.get("properties"), dict) and node["properties"]:
                return self._object(loc, node, mode)
            values = []
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                values.append(self._expr((path, pointer + "/additionalProperties"), mode,
                                         stack))
            patterns = node.get("patternProperties")
            if isinstance(patterns, dict):
                values += [self._expr((path, pointer + _pointer("patternProperties", p)),
                                      mode, stack) for p in patterns]
            value = _union(values) if values else ANY
            mapping = f"{ABC}.Mapping" if mode == "input" else "dict"
            return f"{mapping}[str, {value}]"
        return ANY

    def _object(self, loc: _Loc, node: dict[str, Any], mode: str) -> str:
        """An object schema with properties: its ``TypedDict`` (and, as a payload that may
        carry other keys, any ``Mapping``)."""
        ref = self._class(loc, mode)
        if mode == "input" and node.get("additionalProperties", True) is not False:
            return _union([ref, f"{ABC}.Mapping[str, {ANY}]"])
        return ref

    def _class(self, loc: _Loc, mode: str) -> str:
        key = (loc, mode)
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = _Class(len(self._all), loc, mode)
            self._all.append(cls)
            self._pending.append(cls)
        return f"\x00{cls.index}\x00"

    def _drain(self) -> None:
        """Render the fields of every class reached (which may reach more)."""
        while self._pending:
            self._fill(self._pending.pop(0))

    def _fill(self, cls: _Class) -> None:
        node = self._node(cls.loc)
        path, pointer = cls.loc
        required = node.get("required")
        required = set(required) if isinstance(required, list) else set()
        cls.title = node.get("title") if isinstance(node.get("title"), str) else ""
        cls.closed = node.get("additionalProperties") is False and not node.get(
            "patternProperties")
        for key in node["properties"]:
            if not isinstance(key, str):
                continue
            expr = self._expr((path, pointer + _pointer("properties", key)), cls.mode, ())
            cls.fields.append((key, expr, key in required))

    # -- names

    def _name(self, loc: _Loc) -> str:
        path, pointer = loc
        name = self._root_names.get(path) or root_name(path)
        tokens = _tokens(pointer)
        i = 0
        node: Any = self._document(path)
        while i < len(tokens):
            token = tokens[i]
            child = node.get(token) if isinstance(node, dict) else None
            if token in ("properties", "definitions", "patternProperties") and i + 1 < len(
                    tokens):
                key = tokens[i + 1]
                node = child.get(key) if isinstance(child, dict) else None
                name += "Value" if token == "patternProperties" else "_" + (camel(key) or "X")
                i += 2
                continue
            if token in ("oneOf", "anyOf", "allOf", "items") and i + 1 < len(tokens) \
                    and tokens[i + 1].isdigit():
                index = int(tokens[i + 1])
                part = child[index] if isinstance(child, list) and index < len(child) \
                    else None
                title = part.get("title") if isinstance(part, dict) else None
                if token == "items":
                    name += f"Item{index}"
                elif isinstance(title, str) and len(title) <= 40 and camel(title) \
                        and len(title.split()) <= 5:
                    name += "_" + camel(title)
                else:
                    name += "_" + (_tag(part) or f"Option{index + 1}")
                node = part
                i += 2
                continue
            name += {"items": "Item", "additionalProperties": "Value"}.get(
                token, "_" + (camel(token) or "X"))
            node = child
            i += 1
        return name[:MAX_NAME]

    def _settle(self) -> None:
        """Render every class reached, then name each: one class for both modes where the
        two forms are the same, ``...Input`` for the payload form where they differ."""
        self._drain()
        by_loc: dict[_Loc, dict[str, _Class]] = {}
        for (loc, mode), cls in self._classes.items():
            by_loc.setdefault(loc, {})[mode] = cls
        same = {loc for loc, modes in by_loc.items() if len(modes) == 2}
        changed = True
        while changed:  # the largest set of locations whose two forms agree
            changed = False
            for loc in sorted(same):
                forms = [self._canonical(by_loc[loc][m], same) for m in ("input", "output")]
                if forms[0] != forms[1]:
                    same.discard(loc)
                    changed = True
        self._merged = {cls.index: by_loc[cls.loc]["output"].index
                        for cls in self._classes.values()
                        if cls.loc in same and cls.mode == "input"}
        wanted: dict[str, list[_Class]] = {}
        for loc in sorted(by_loc):
            base = self._name(loc)
            for mode, cls in sorted(by_loc[loc].items(), reverse=True):  # output first
                if cls.index in self._merged:
                    continue
                split = mode == "input" and "output" in by_loc[loc]
                wanted.setdefault(base + ("Input" if split else ""), []).append(cls)
        # An alias that is its root's own TypedDict gives that class its name instead.
        taken = {name for name, expr in self._aliases.items()
                 if not (_PLACEHOLDER.fullmatch(expr)
                         and self._name(self._all[int(expr[1:-1])].loc) == name)}
        for name, classes in sorted(wanted.items()):
            for n, cls in enumerate(classes, start=1):
                candidate = name if n == 1 else f"{name}{n}"
                while candidate in taken:
                    n += 1
                    candidate = f"{name}{n}"
                cls.name = candidate
                taken.add(candidate)

    def _canonical(self, cls: _Class, same: set[_Loc]) -> list[tuple[str, str, bool]]:
        def token(match: re.Match[str]) -> str:
            other = self._all[int(match.group(1))]
            return f"@{other.loc}" if other.loc in same else f"@{other.loc}{other.mode}"

        return [(k, _PLACEHOLDER.sub(token, e), r) for k, e, r in cls.fields]

    # -- the module

    def module(self, doc: str) -> str:
        """The module's text: ``doc`` as its docstring, then imports, ``__all__``, every
        class (each after the classes it uses, where no loop prevents it), then the
        aliases. It runs as Python too (the annotations are evaluated: a class used before
        it is defined is quoted), so ``__required_keys__`` is right at run time."""
        self._settle()
        body: list[str] = []
        classes = [self._all[i] for i in self._order()]
        defined: set[int] = set()
        for cls in classes:
            body += ["", "", *self._render(cls, defined)]
            defined.add(cls.index)
        aliases = []
        exported = [c.name for c in classes]
        class_names = set(exported)
        for name, expr in self._aliases.items():
            if name not in class_names:
                aliases.append(f"{name}: {TYPING}.TypeAlias = {self.final(expr)}")
                exported.append(name)
        names = [f"    {string_literal(n)}," for n in sorted(exported)]
        head = ['"""' + doc + '"""', "", f"import collections.abc as {ABC}",
                f"import datetime as {DATETIME}", f"import typing as {TYPING}", "",
                "__all__: list[str] = [", *names, "]"]
        tail = ["", "", *aliases] if aliases else []
        return "\n".join([*head, *body, *tail]) + "\n"

    def _uses(self, expr: str) -> list[int]:
        """The classes (indexes, after merging) an expression names."""
        return [self._merged.get(int(i), int(i)) for i in _PLACEHOLDER.findall(expr)]

    def _order(self) -> list[int]:
        """Every class to write, each after those it uses (depth first from the names in
        order; a loop is cut where it closes)."""
        kept = sorted((c for c in self._all if c.index not in self._merged),
                      key=lambda c: c.name)
        order: list[int] = []
        seen: set[int] = set()
        for first in kept:
            stack = [(first.index, False)]
            while stack:
                index, done = stack.pop()
                if done:
                    order.append(index)
                    continue
                if index in seen:
                    continue
                seen.add(index)
                stack.append((index, True))
                uses = {u for _, e, _ in self._all[index].fields for u in self._uses(e)}
                for used in sorted(uses, key=lambda u: self._all[u].name, reverse=True):
                    if used not in seen:
                        stack.append((used, False))
        return order

    def _render(self, cls: _Class, defined: set[int]) -> list[str]:
        optional = sum(1 for _, _, req in cls.fields if not req)
        total = optional < len(cls.fields) or not cls.fields
        where = f"{cls.loc[0]}#{cls.loc[1]}"
        doc = one_line(cls.title or where)
        fields = []
        for key, expr, req in cls.fields:
            text = self.final(expr)
            if any(u not in defined for u in self._uses(expr)):
                text = string_literal(text)  # a forward reference
            if total and not req:
                text = f"{TYPING}.NotRequired[{text}]"
            fields.append((key, text))
        plain = all(k.isidentifier() and not keyword.iskeyword(k) and not k.startswith("_")
                    for k, _ in fields)
        suffix = "" if total else ", total=False"
        if plain:
            lines = [f"@{TYPING}.final"] if cls.closed else []
            lines += [f"class {cls.name}({TYPING}.TypedDict{suffix}):",
                      f'    """{string_literal(doc)[1:-1]}"""']
            lines += [f"    {k}: {e}" for k, e in fields]
            return lines
        items = ", ".join(f"{string_literal(k)}: {e}" for k, e in fields)
        return [f"# {string_literal(doc)[1:-1]}",
                f"{cls.name} = {TYPING}.TypedDict({string_literal(cls.name)}, "
                f"{{{items}}}{suffix})"]


def _tag(schema: Any) -> str | None:
    """The name a ``oneOf`` alternative's constant property gives it (``storageType:
    {"const": "s3"}`` -> ``S3``), or None."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    for prop in (props.values() if isinstance(props, dict) else ()):
        if not isinstance(prop, dict):
            continue
        value = prop.get("const")
        if isinstance(prop.get("enum"), list) and len(prop["enum"]) == 1:
            value = prop["enum"][0]
        if isinstance(value, str) and 0 < len(value) <= 40 and camel(value):
            return camel(value)
    return None


def _literal(values: list[Any]) -> str | None:
    """``Literal[...]`` of JSON values, or None when one cannot be a ``Literal``."""
    if not values or len(values) > MAX_ENUM:
        return None
    out = []
    for value in values:
        if value is None or isinstance(value, bool):
            out.append(repr(value))
        elif isinstance(value, int):
            out.append(str(value))
        elif isinstance(value, str):
            out.append(string_literal(value))
        else:
            return None
    out = list(dict.fromkeys(out))
    return f"{TYPING}.Literal[{', '.join(out)}]"


def _union(parts: Iterable[str]) -> str:
    unique = list(dict.fromkeys(p for p in parts))
    if not unique or ANY in unique:
        return ANY
    if len(unique) > 1 and "None" in unique:  # None last: Foo | None
        unique = [p for p in unique if p != "None"] + ["None"]
    return " | ".join(unique)
