"""The differential corpus: (schema, value) pairs on which tcdyn and the services' validator
must agree (issue 19).

- every input schema of the bundled v106 set and every Pulse message schema: a valid value
  made from the schema (or tcdyn.testing's sample), then mutated at every string, number,
  array and object (boundary characters, date-time variants, ip and host forms, integers near
  2**53 and 2**64, floats for ints, deletions, additions, duplicates, other types);
- random JavaScript patterns (``u`` flag, as ajv compiles them) against random texts;
- every ajv-formats format, also under ``not``, against a pool of near-miss strings, and the
  schema features where ajv's reading differs from draft-06's (defaults of required
  properties, ``$ref`` siblings, ``if``, ``nullable``, numbers as doubles, ...).

A case is ``Case(schema, value)`` where ``schema`` names a bundled schema
(``("queue", "v1/create-task-request.json")``) or a custom one (``("t", "p17.json")`` with the
document in :attr:`Corpus.custom`). Everything comes from ``random.Random(seed)``.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

CHECKOUT = Path(__file__).resolve().parents[2]
BUNDLED = CHECKOUT / "references"

#: Characters where JavaScript's and Python's notions differ (line terminators, whitespace,
#: digits, BOM, information separators).
BOUNDARY = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
            "\xa0", "\ufeff", "\u3000", "\u2003", "\u200b", "\t", "\x0b", "\x0c", " ",
            "\u0663", "\u0e53", "\uff13", "\U0001d7d9", "\U0001f600", "\x00", "\u0130",
            "\u017f", "\u212a", "é", "\ud800"]
DATE_TIMES = [
    "2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000", "2030-01-01T00:00:00",
    "2030-01-01 00:00:00Z", "2030-01-01t00:00:00z", "2030-01-01\ufeff00:00:00Z",
    "2030-01-01\x1c00:00:00Z", "2030-01-01\xa000:00:00Z", "2030-01-01\u200300:00:00Z",
    "2030-01-01\u202800:00:00Z", "2030-01-01\n00:00:00Z", "2030-01-01\x8500:00:00Z",
    "2030-01-01\u200b00:00:00Z", "2030-01-01TT00:00:00Z", "2030-01-01T 00:00:00Z",
    "2032-02-29T00:00:00Z", "2030-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z", "2030-04-31T00:00:00Z", "2030-13-01T00:00:00Z",
    "2030-00-01T00:00:00Z", "2030-01-00T00:00:00Z", "2030-01-01T23:59:60Z",
    "2030-01-01T23:59:60", "2030-01-01T22:59:60Z", "2030-01-01T24:00:00Z",
    "2030-01-01T23:60:00Z", "2030-01-01T00:00:00+01:00", "2030-01-01T00:00:00+0100",
    "2030-01-01T00:00:00+01", "2030-01-01T00:00:00-99:99", "2030-01-01T00:00:00+1",
    "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00.5Z", "2030-01-01T00:00Z",
    "2030-1-01T00:00:00Z", "2030-01-01T00:00:00Z\n", " 2030-01-01T00:00:00Z",
    "2030-01-01T00:00:00\u0663Z", "\uff12030-01-01T00:00:00Z", "0000-02-29T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z", "2030-01-01", "00:00:00Z", "2030-01-01T00:00:00ZZ",
    "2030-01-01T00:00:00+01:00:00", "2030-01-01T00:00:00z", "2030-01-01T00:00:00+01:0",
]
IPS = ["10.0.0.1", "10.0.0.01", "010.0.0.1", "256.0.0.1", "255.255.255.255", "1.2.3",
       "1.2.3.4.5", " 1.2.3.4", "1.2.3.4\n", "1.2.3.\u0664", "0.0.0.0", "01.1.1.1",
       "::1", "::", "1::", "fe80::1%eth0", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8",
       "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::1.2.3.4", "1::2::3", "FE80::A", "g::1",
       "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.04", "0x1.2.3.4",
       "12345::", "1:2:3:4:5::1.2.3.4", ":1:2::", "1.2.3.4/24"]
HOSTS = ["example.com", "example.com.", "-a.com", "a-.com", "a_b.com", "a" * 63 + ".com",
         "a" * 64 + ".com", ("a" * 49 + ".") * 5 + "abc", ("a" * 49 + ".") * 5 + "abcd",
         ("a" * 49 + ".") * 5 + "ab.", "xn--bcher-kva.example", "exämple.com", "localhost",
         "1.2.3.4", "a..b", "", ".", "a.b.", "A.B", "a b", "a\n", "a.-b", "0", "a" * 254]
URIS = ["https://example.com", "http://[::1]:80/x", "urn:x", "mailto:a@b", "https://exa mple.com",
        "//x", "/relative", "https://ex.com/%zz", "HTTPS://EX.COM/A?B#C", "https://例え.jp",
        "x:", "1http://x", "http://x:y@z/", "https://x/\n", "git@github.com:a/b.git",
        "ssh://git@github.com/a/b", "https://ex.com/a b", "http://[v1.x]/", "http://[::1",
        "file:///etc/passwd", "https://ex.com/\"x\"", "https://ex.com/{x}", "a:b:c",
        "http://1.2.3.4:99999/", "tel:+1-816-555-1212", "https://ex.com/%2F", "#frag", "?q"]
EMAILS = ["a@b.co", "a.b@c.d", "a@b", "a@-b.com", "a..b@c.com", "\"a\"@b.com", "a@b.c\n",
          "ä@b.com", "a+b@c.com", "a@b_c.com", ".a@b.com", "a.@b.com", "A@B.COM", "a@b.c-",
          "a@[1.2.3.4]", "@b.com", "a@", "a@b.com.", "a b@c.com"]
REGEXES = ["^a$", "[", "(", "a{1,2}", "\\", "(?<n>a)\\k<n>", "\\p{L}", "a\\Z", "\\Z", "[z-a]",
           "*", "a**", "(?=a)*", "{1}", "a{2,1}", "\\c", "]", "}", "{", "a{", "(?<=a)*",
           "(?<a>x)(?<a>y)", "(?<a>x)|(?<a>y)", "\\k<a>", "\\k<a>(?<b>x)", "(?i:a)",
           "(?x)", "[\\d-z]", "\\u{1F600}", "\\8", "(?<1>x)", "a|*", "(?:", "^*", "$+",
           "\\b+", "x(?!y)+", "[^]", "[]", "a{,5}", "(?<=a+)b", "\\1(a)", "[\\b]", "\\cA",
           "\\x4", "\\u004", "git@github.com:x", "^(https?://|ssh://|git@)", ".*\\.js$"]
NUMBERS = [0, -1, 1, 0.5, 1.0, -0.0, 2**31 - 1, 2**31, -(2**31) - 1, 2**53, 2**53 + 1,
           -(2**53) - 1, 2**63 - 1, 2**64, 2**64 + 1, 1e21, 1.5e21, 1e300, 9007199254740993,
           4.35, 0.1, 1e-7, 10**400]
OTHER_TYPES: list[Any] = [None, True, False, "1", [], {}, 0]


@dataclass(frozen=True)
class Case:
    schema: tuple[str, str]  # (service, path under /schemas/<service>/)
    value: Any
    #: for a mutation: (index of the base value in Corpus.base_values, JSON path, new value)
    patch: tuple[int, tuple[Any, ...], Any] | None = None


# --- schemas -----------------------------------------------------------------------------


def bundled_documents() -> dict[str, dict[str, Any]]:
    """``{service: {"v1/x.json": document}}`` of the bundled set."""
    root = BUNDLED / "schemas"
    out: dict[str, dict[str, Any]] = {}
    for file in sorted(root.rglob("*.json")):
        rel = file.relative_to(root)
        out.setdefault(rel.parts[0], {})[str(Path(*rel.parts[1:]))] = json.loads(
            file.read_text())
    return out


def bundled_targets() -> list[tuple[str, str]]:
    """Every input schema of every API and every exchange's message schema."""
    targets: set[tuple[str, str]] = set()
    for ref in sorted((BUNDLED / "references").rglob("*.json")):
        doc = json.loads(ref.read_text())
        if not isinstance(doc, dict) or "serviceName" not in doc:
            continue
        service = doc["serviceName"]
        for entry in doc.get("entries", []):
            name = entry.get("input") or entry.get("schema")
            if isinstance(name, str):
                targets.add((service, urldefrag(name).url))
    return sorted(targets)


class Resolver:
    """``$ref`` lookups over ``{service: {rel: doc}}`` (abstract ids)."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.by_url = {f"/schemas/{s}/{rel}": doc for s, docs in documents.items()
                       for rel, doc in docs.items()}

    def resolve(self, base: str, ref: str) -> tuple[str, Any]:
        url, fragment = urldefrag(urljoin(base, ref))
        node: Any = self.by_url.get(url, {})
        for part in [p for p in fragment.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node.get(part, {})
        return url, node


# --- valid values ------------------------------------------------------------------------

_CLASS_CHARS = {"d": "0123456789", "w": "abcXYZ019_", "s": " \t"}


def sample_pattern(pattern: str, rng: random.Random) -> str | None:
    """A string matching ``pattern`` (plain syntax only), or None."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser as p  # type: ignore[attr-defined]

    try:
        parsed = p.parse(pattern)
    except Exception:
        return None

    def gen(items: Any) -> str:
        out = []
        for op, av in items:
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.ANY:
                out.append("a")
            elif op is c.IN:
                chars: list[str] = []
                negate = False
                for iop, item in av:
                    if iop is c.NEGATE:
                        negate = True
                    elif iop is c.LITERAL:
                        chars.append(chr(item))
                    elif iop is c.RANGE:
                        chars.extend(chr(x) for x in range(item[0], min(item[1], item[0] + 30) + 1))
                    elif iop is c.CATEGORY:
                        chars.extend(_CLASS_CHARS.get(str(item).split("_")[-1][0].lower(), "a"))
                if negate:
                    chars = [x for x in "abcxyz019_-" if x not in chars]
                out.append(rng.choice(chars) if chars else "a")
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                low, high, sub = av
                high = min(high, low + 3)
                out.extend(gen(sub) for _ in range(rng.randint(low, high)))
            elif op is c.SUBPATTERN:
                out.append(gen(av[3]))
            elif op is c.BRANCH:
                out.append(gen(rng.choice(av[1])))
            elif op is c.CATEGORY:
                out.append(_CLASS_CHARS.get(str(av).split("_")[-1][0].lower(), "a")[0])
        return "".join(out)

    text = gen(parsed)
    try:
        return text if re.search(pattern, text) else None
    except re.error:
        return None


FORMAT_SAMPLES = {
    "date-time": "2030-01-01T00:00:00.000Z", "date": "2030-01-01", "time": "12:00:00Z",
    "uri": "https://example.com/x", "uri-reference": "/x", "email": "a@example.com",
    "hostname": "example.com", "ipv4": "10.0.0.1", "ipv6": "::1", "regex": "^a$",
    "uuid": "123e4567-e89b-12d3-a456-426614174000", "json-pointer": "/a/b",
}


class Maker:
    """Valid values from schemas (a best effort: ajv says whether they are)."""

    def __init__(self, resolver: Resolver, rng: random.Random) -> None:
        self.resolver = resolver
        self.rng = rng

    def make(self, schema: Any, base: str, depth: int = 0) -> Any:
        rng = self.rng
        if schema is True or not isinstance(schema, dict):
            return "x"
        if depth > 12:
            return None
        if "$ref" in schema:
            url, target = self.resolver.resolve(base, schema["$ref"])
            return self.make(target, url, depth + 1)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if schema.get("enum"):
            return copy.deepcopy(rng.choice(schema["enum"]))
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                branch = rng.choice(schema[key])
                merged = {k: v for k, v in schema.items() if k != key}
                if isinstance(branch, dict) and "$ref" in branch:
                    url, target = self.resolver.resolve(base, branch["$ref"])
                    return self.make({**merged, **target} if isinstance(target, dict)
                                     else target, url, depth + 1)
                if isinstance(branch, dict):
                    merged.update(branch)
                return self.make(merged, base, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    if "$ref" in part:
                        _, part = self.resolver.resolve(base, part["$ref"])
                    for k, v in part.items():
                        if k == "properties" and "properties" in merged:
                            merged["properties"] = {**merged["properties"], **v}
                        elif k == "required" and "required" in merged:
                            merged["required"] = [*merged["required"], *v]
                        else:
                            merged[k] = v
            return self.make(merged, base, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            if "properties" in schema or "required" in schema:
                kind = "object"
            elif "items" in schema:
                kind = "array"
            elif {"minimum", "maximum", "multipleOf"} & set(schema):
                kind = "number"
            else:
                kind = "string"
        if kind == "object":
            out: dict[str, Any] = {}
            props = schema.get("properties", {})
            required = schema.get("required", [])
            for name, sub in props.items():
                if name in required or rng.random() < 0.7:
                    out[name] = self.make(sub, base, depth + 1)
            for name in required:
                out.setdefault(name, "x")
            if not props and isinstance(schema.get("additionalProperties"), dict):
                out["key1"] = self.make(schema["additionalProperties"], base, depth + 1)
            for pat, sub in (schema.get("patternProperties") or {}).items():
                key = sample_pattern(pat, rng)
                if key:
                    out[key] = self.make(sub, base, depth + 1)
            return out
        if kind == "array":
            items = schema.get("items", {})
            low = schema.get("minItems", 0)
            count = max(low, min(schema.get("maxItems", 3), low + rng.randint(1, 2)))
            if isinstance(items, list):
                return [self.make(s, base, depth + 1) for s in items]
            values = [self.make(items, base, depth + 1) for _ in range(count)]
            if schema.get("uniqueItems"):
                unique = []
                for v in values:
                    if v not in unique:
                        unique.append(v)
                values = unique
            return values
        if kind in ("integer", "number"):
            low = schema.get("minimum", 0)
            high = schema.get("maximum", low + 100)
            value = rng.randint(int(low), int(max(low, min(high, low + 100))))
            step = schema.get("multipleOf")
            if isinstance(step, int) and step > 0:
                value -= value % step
            return value if kind == "integer" or rng.random() < 0.8 else value + 0.5
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        fmt = schema.get("format")
        if isinstance(schema.get("pattern"), str):
            text = sample_pattern(schema["pattern"], rng)
            if text is not None:
                if fmt in FORMAT_SAMPLES and re.search(schema["pattern"], FORMAT_SAMPLES[fmt]):
                    return FORMAT_SAMPLES[fmt]
                return text
        if fmt in FORMAT_SAMPLES:
            return FORMAT_SAMPLES[fmt]
        text = "abc"
        low = schema.get("minLength", 0)
        high = schema.get("maxLength", 50)
        return (text * (low // 3 + 1))[: max(low, min(high, 3))]


# --- mutations ---------------------------------------------------------------------------


def _locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _locations(item, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.copy(value)
    out[path[0]] = _replace(value[path[0]], path[1:], new)
    return out


def string_variants(text: str, rng: random.Random) -> list[Any]:
    out: list[Any] = [text + "\n", "\n" + text, "", text + " ", text[:-1], text * 2]
    middle = len(text) // 2
    for char in BOUNDARY:
        out.append(text[:middle] + char + text[middle:])
        out.append(text + char)
    if re.match(r"\d{4}-\d\d-\d\d", text):
        out += DATE_TIMES
    if re.match(r"^[0-9.:a-fA-F]+$", text) and ("." in text or ":" in text):
        out += IPS
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        out += URIS
    if re.match(r"^[a-z0-9.-]+$", text) and "." in text:
        out += HOSTS
    if "@" in text:
        out += EMAILS
    if any(ch in text for ch in "^$[(*\\") or re.match(r"^[a-z][a-z0-9+.-]*://", text):
        out += REGEXES
    out += rng.sample(OTHER_TYPES, 2)
    return out


def number_variants(number: float, rng: random.Random) -> list[Any]:
    out: list[Any] = [number + 1, number - 1, -number, float(number), number + 0.5,
                      str(number), True]
    if isinstance(number, int) and abs(number) < 2**60:
        out += [number * 2**40, float(number) + 2**53]
    out += rng.sample(NUMBERS, 8)
    return out


def mutations(value: Any, rng: random.Random) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """(path, new item, ``value`` with the item at ``path`` replaced): one place at a time."""
    for path, item in list(_locations(value)):
        if isinstance(item, bool) or item is None:
            variants: list[Any] = [not item if isinstance(item, bool) else 0, "true", 1]
        elif isinstance(item, str):
            variants = string_variants(item, rng)
        elif isinstance(item, (int, float)):
            variants = number_variants(item, rng)
        elif isinstance(item, list):
            variants = [[], [*item, None], [*item, "x"]]
            if item:
                variants += [[*item, item[0]], item[1:], item[:-1], [item[0]] * 2,
                             [*item, copy.deepcopy(item[0])]]
                if isinstance(item[0], int) and not isinstance(item[0], bool):
                    variants.append([*item, float(item[0])])
                if isinstance(item[0], str):  # ajv counts unique strings in an object
                    variants.append([*item, "__proto__", "__proto__"])
                if isinstance(item[0], dict):  # an own constructor: equal to nothing
                    variants.append([*item, {**item[0], "constructor": {}},
                                     {**item[0], "constructor": {}}])
        else:
            variants = [{}, [], {**item, "extra": 1}, {**item, "a\n": "x"},
                        {**item, "\u2028": 1}, {**item, "constructor": "x"}]
            for key in item:
                variants.append({k: v for k, v in item.items() if k != key})
        for new in variants:
            yield path, new, _replace(value, path, new)


# --- random patterns ---------------------------------------------------------------------

_P_LITERALS = ["a", "b", "z", "0", "9", "_", "-", " ", "é", "\\.", "\\*", "\\/", "\\n", "\\r",
               "\\t", "\\u2028", "\\u00a0", "\\ufeff", "\\x41", "\\cJ", "\\0", "\\u{1F600}",
               "\\uD83D\\uDE00", "\\$", "\\^", "\\-", "\\|", "\\u{61}", "😀", "\\f", "\\v"]
_P_ESCAPES = ["\\d", "\\D", "\\w", "\\W", "\\s", "\\S", "\\p{L}", "\\p{Lu}", "\\P{L}",
              "\\p{N}", "\\p{Nd}", "\\p{Zs}", "\\p{White_Space}", "\\p{ASCII}", "\\p{Any}",
              "\\p{General_Category=Letter}", "\\p{gc=Ll}", "\\p{Alphabetic}", "\\p{Emoji}",
              "\\p{ID_Start}", "\\P{ASCII_Hex_Digit}", "\\p{Script=Greek}", "\\p{sc=Latn}",
              "\\p{Script_Extensions=Latin}", "\\1", "\\k<g1>", "(?i:a)", "\\p{RGI_Emoji}",
              "\\c1"]
_P_CLASS_ITEMS = ["a", "z", "a-z", "0-9", "A-Z", "\\d", "\\w", "\\s", "\\D", "\\-", "\\]", "^",
                  ".", "$", "\\u2028", "\\n", "\\b", "é", "\\p{Lu}", "\\u{1F600}", "_-a"]


def random_pattern(rng: random.Random, depth: int = 0) -> str:
    """A JavaScript pattern (``u`` flag) from the constructs tcdyn translates."""
    parts = []
    if rng.random() < 0.4:
        parts.append("^")
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.3:
            atom = rng.choice(_P_LITERALS)
        elif roll < 0.45:
            atom = rng.choice(_P_ESCAPES)
        elif roll < 0.55:
            atom = "."
        elif roll < 0.7:
            items = "".join(rng.choice(_P_CLASS_ITEMS) for _ in range(rng.randint(0, 3)))
            atom = f"[{'^' if rng.random() < 0.3 else ''}{items}]"
        elif roll < 0.85 and depth < 2:
            inner = "|".join(random_pattern(rng, depth + 1) for _ in range(rng.randint(1, 3)))
            kind = rng.choice(["(", "(?:", f"(?<g{rng.randint(0, 99)}>"])
            atom = f"{kind}{inner})"
        elif roll < 0.92:
            atom = rng.choice(["\\b", "\\B", "(?=a)", "(?!b)", "(?<=a)", "(?<!\\d)", "$", "^"])
            parts.append(atom)
            continue
        else:
            atom = rng.choice(_P_LITERALS)
        parts.append(atom + rng.choice(["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}",
                                        "*?", "+?", "??", "{2,}?"]))
    if rng.random() < 0.4:
        parts.append("$")
    return "".join(parts)


_TEXT_ALPHABET = ["a", "b", "z", "A", "0", "9", "_", "-", ".", " ", "é", "\n", "\r", "\u2028",
                  "\u2029", "\xa0", "\ufeff", "\x1c", "\u0663", "😀", "\t", "*", "/", "$", "^",
                  "\u00df", "K", "\u212a", "\x85", "\u3000", "\x0b"]


def random_text(rng: random.Random, own: list[str] | None = None) -> str:
    """A short text of boundary characters, letters, digits and ``own`` characters."""
    alphabet = _TEXT_ALPHABET + (own or []) * 2
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))


# --- random schemas ----------------------------------------------------------------------

_NAMES = ["a", "b", "c", "toString"]
_SMALL = [None, True, False, 0, 1, 1.0, 2.5, -1, 2**53 + 1, "", "a", "b\n", "1", [], [1],
          [1, 1.0], ["a", "b"], {}, {"a": 1}, {"b": "x"}, {"a": "x", "b": 2}, {"c": None}]


def random_schema(rng: random.Random, depth: int = 0) -> Any:
    """A small schema mixing the keywords ajv reads its own way (defaults, $ref siblings,
    if/then/else, nullable, numbers) with the applicators around them."""
    if depth and (depth > 2 or rng.random() < 0.15):
        return rng.choice([True, False, {}, {"type": rng.choice(["string", "integer"])}])
    schema: dict[str, Any] = {}
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.2:
            props = {}
            for name in rng.sample(_NAMES, rng.randint(1, 2)):
                sub = random_schema(rng, depth + 1)
                if isinstance(sub, dict) and rng.random() < 0.5:
                    sub = {**sub, "default": rng.choice(_SMALL)}
                props[name] = sub
            schema["properties"] = props
            if rng.random() < 0.6:
                schema["required"] = rng.sample(_NAMES, rng.randint(1, 2))
        elif roll < 0.3:
            key = rng.choice(["allOf", "anyOf", "oneOf"])
            schema[key] = [random_schema(rng, depth + 1) for _ in range(rng.randint(1, 2))]
        elif roll < 0.37:
            schema["not"] = random_schema(rng, depth + 1)
        elif roll < 0.45:
            schema["if"] = random_schema(rng, depth + 1)
            schema["then"] = random_schema(rng, depth + 1)
        elif roll < 0.52:
            if depth == 0:  # (from inside "d", a loop tcdyn refuses to load)
                schema["$ref"] = "#/definitions/d"
        elif roll < 0.6:
            schema["type"] = rng.choice(["object", "string", "number", "integer", "array"])
            if rng.random() < 0.3:
                schema["nullable"] = True
        elif roll < 0.68:
            schema[rng.choice(["minProperties", "maxProperties"])] = rng.randint(0, 2)
        elif roll < 0.74:
            schema[rng.choice(["enum", "const"])] = (rng.sample(_SMALL, 2) if rng.random() < 0.5
                                                    else rng.choice(_SMALL))
            if "enum" in schema and not isinstance(schema["enum"], list):
                schema["enum"] = [schema["enum"]]
        elif roll < 0.8:
            schema[rng.choice(["multipleOf", "maximum", "minimum", "exclusiveMaximum"])] = (
                rng.choice([0.5, 2, 3, 0.1, 2**53, 1e21]))
        elif roll < 0.86:
            schema["uniqueItems"] = True
            schema["items"] = random_schema(rng, depth + 1)
        elif roll < 0.92:
            schema["dependencies"] = {rng.choice(_NAMES): rng.sample(_NAMES, 1)}
        else:
            schema["additionalProperties"] = random_schema(rng, depth + 1)
            schema["patternProperties"] = {"^c$": random_schema(rng, depth + 1)}
    if depth == 0:
        schema["definitions"] = {"d": random_schema(rng, 1)}
    return schema


# --- the corpus --------------------------------------------------------------------------

AJV_FORMATS = ["date", "time", "date-time", "duration", "uri", "uri-reference",
               "uri-template", "url", "email", "hostname", "ipv4", "ipv6", "regex", "uuid",
               "json-pointer", "json-pointer-uri-fragment", "relative-json-pointer", "byte",
               "int32", "int64", "float", "double", "password", "binary"]

#: Schemas where ajv's reading differs from draft-06's, with values for each.
FEATURES: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": "object", "properties": {"a": {"type": "string", "default": "x"}},
      "required": ["a"]}, [{}, {"a": "y"}, {"a": 1}, {"b": 1}]),
    ({"type": "object", "properties": {"a": {"type": "string", "default": 3}},
      "required": ["a"]}, [{}, {"a": "y"}]),
    ({"type": "object", "properties": {"a": {"type": "string", "default": 3}}},
     [{}, {"a": "y"}, {"a": 1}]),
    ({"anyOf": [{"properties": {"a": {"default": 1}}, "required": ["a"]}]}, [{}, {"a": 2}]),
    ({"properties": {"o": {"properties": {"a": {"default": {}}}, "required": ["a"]}}},
     [{"o": {}}, {}, {"o": {"a": 1}}]),
    ({"$ref": "#/definitions/s", "maxLength": 2, "definitions": {"s": {"type": "string"}}},
     ["ab", "abc", 1]),
    ({"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "number"}},
     ["a", "ab", 1, None, []]),
    ({"type": "string", "nullable": True}, [None, "a", 1]),
    ({"multipleOf": 0.01}, [0.07, 0.1, 1.15, 4.35, 0.3, 1, 1e21, 2**53 + 1]),
    ({"multipleOf": 3}, [9, 9.0, 1e21, 3e21, 2**53 + 1, 2**64, -0.0, 10**22]),
    ({"multipleOf": 1}, [1e21, 1e20, 0.5, 2**70, 10**400, 1e308]),
    ({"maximum": 9007199254740992}, [2**53, 2**53 + 1, 2**53 + 2, 2**64]),
    ({"minimum": 18446744073709551616}, [2**64, 2**64 - 1, 2**64 + 1, 2**63]),
    ({"exclusiveMaximum": 2**53}, [2**53, 2**53 + 1, 2**53 - 1]),
    ({"enum": [9007199254740992]}, [2**53, 2**53 + 1, 2.0**53]),
    ({"enum": [1, "a", [1], {"a": 1}]}, [1, 1.0, True, [1.0], [True], {"a": 1.0}, "a"]),
    ({"const": 0}, [0, -0.0, 0.0, False]),
    ({"uniqueItems": True}, [[1, 1.0], [1, True], [[1], [True]], [[True], [1], [True]],
                             [{"a": 1}, {"a": 1.0}], [2**53, 2**53 + 1], [0, -0.0],
                             [{"a": 1, "b": 2}, {"b": 2, "a": 1}], [None, False, 0, ""]]),
    ({"type": "integer"}, [1.0, 1.5, 2**64, 1e300, 10**400, True]),
    ({"type": "number"}, [10**400, 1e308, -(10**400)]),
    ({"maxLength": 1}, ["😀", "a😀", "\ud83d", "é"]),
    ({"minLength": 2}, ["😀", "ab", "a"]),
    ({"properties": {"constructor": {"type": "string"}}}, [{}, {"constructor": "x"}]),
    ({"required": ["toString"]}, [{}, {"toString": 1}]),
    ({"dependencies": {"a": ["b"]}}, [{"a": 1}, {"a": 1, "b": 2}, {}]),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, [{"ab": 1}, {"a\n": 1}, {"A": 1}]),
    ({"patternProperties": {"^x$": {"type": "string"}}, "additionalProperties": False},
     [{"x": "a"}, {"x\n": "a"}, {"x": 1}, {"y": 1}]),
    ({"contentEncoding": "base64", "contentMediaType": "application/json"}, ["!!", "e30="]),
    ({"not": {"contentEncoding": "base64"}}, ["!!", "e30="]),
    ({"type": "string", "tcdynPattern": "^b"}, ["a", "b"]),
    ({"format": "unknown-format"}, ["a"]),
    ({"items": [{"type": "string"}], "additionalItems": False}, [["a"], ["a", 1], []]),
    ({"contains": {"const": 1}}, [[1], [1.0], [True], []]),
    ({"oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}, IPS),
    # defaults inside a default ajv inserts, Object.prototype names among them
    ({"properties": {"b": {"properties": {"toString": {"type": "array", "default": [1]},
                                          "c": {"default": 1, "type": "integer"}},
                           "default": {"a": 1}}}},
     [{}, {"a": 1}, {"b": {}}, {"b": {"toString": [1]}}, {"b": {"c": "x"}}]),
    ({"properties": {"p": {"default": {}, "properties": {"a": {"default": 1}},
                           "enum": [{}, {"a": 2}]}}}, [{}, {"p": {}}, {"p": {"a": 1}}]),
    ({"properties": {"p": {"default": {"__proto__": {"a": 1}}, "required": ["a"]}}},
     [{}, {"p": {}}, {"p": {"a": 1}}]),
    # a schema run after another one fills in defaults sees them
    ({"allOf": [{"properties": {"p": {"properties": {"a": {"default": 1}}}}}],
      "properties": {"p": {"maxProperties": 0}}}, [{"p": {}}, {}, {"p": {"a": 1}}]),
    ({"items": {"properties": {"a": {"default": 1}}}, "uniqueItems": True},
     [[{}, {"a": 1}], [{}, {"a": 2}], [{"a": 1}, {"a": 1.0}], [{}, {}], []]),
    ({"items": {"properties": {"a": {"default": 1}}}, "contains": {"const": {"a": 1}}},
     [[{}], [{"a": 2}], []]),
    # ajv's equality and its count of unique strings
    ({"uniqueItems": True}, [[{"constructor": {}}, {"constructor": {}}],
                             [{"constructor": 1}, {"constructor": 1}],
                             [{"a": {"constructor": []}}, {"a": {"constructor": []}}]]),
    ({"enum": [{"constructor": {}}, {"a": 1}]}, [{"constructor": {}}, {"a": 1}, {}]),
    ({"items": {"type": "string"}, "uniqueItems": True},
     [["__proto__", "__proto__"], ["a", "__proto__", "a"], ["toString", "toString"]]),
    ({"not": {"items": {"type": "string"}, "uniqueItems": True}},
     [["__proto__", "__proto__"], ["a", "a"], ["a"]]),
    ({"oneOf": [{"uniqueItems": True}, {"type": "string"}]},
     [[{"constructor": {}}, {"constructor": {}}], [{"constructor": 1}, {"constructor": 1}],
      [1, 1.0], [1, True]]),
]


class Corpus:
    """The cases of one seed."""

    def __init__(self, seed: int, *, per_target: int = 400, patterns: int = 400,
                 texts: int = 12, schemas: int = 400) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.documents = bundled_documents()
        self.resolver = Resolver(self.documents)
        self.custom: dict[str, Any] = {}  # "c17.json" -> document (service "t")
        self.features: set[str] = set()  # the names in custom of FEATURES' schemas
        self.base_values: list[Any] = []
        self.per_target = per_target
        self.patterns = patterns
        self.texts = texts
        self.schemas = schemas

    def _custom(self, schema: Any) -> tuple[str, str]:
        name = f"c{len(self.custom)}.json"
        self.custom[name] = schema
        return ("t", name)

    def bases(self) -> dict[tuple[str, str], list[Any]]:
        """Starting values per bundled target: a sample where tcdyn.testing has one, and
        values made from the schema."""
        from tcdyn.testing import payloads

        known = {("queue", "v1/create-task-request.json"): [payloads.create_task()],
                 ("hooks", "v1/create-hook-request.json"): [payloads.create_hook()],
                 ("worker-manager", "v1/create-worker-pool-request.json"):
                     [payloads.create_worker_pool()],
                 ("secrets", "v1/secret.json"): [payloads.set_secret()]}
        maker = Maker(self.resolver, self.rng)
        out = {}
        for service, rel in bundled_targets():
            url = f"/schemas/{service}/{rel}"
            doc = self.resolver.by_url.get(url)
            if doc is None:
                continue
            values = list(known.get((service, rel), []))
            values += [maker.make(doc, url) for _ in range(2)]
            out[(service, rel)] = values
        return out

    def cases(self) -> Iterator[Case]:
        rng = self.rng
        for target, values in self.bases().items():
            made: list[Case] = []
            for value in values:
                index = len(self.base_values)
                self.base_values.append(value)
                made.append(Case(target, value, (index, (), value)))
                made.extend(Case(target, mutated, (index, path, new))
                            for path, new, mutated in mutations(value, rng))
            if len(made) > self.per_target:
                made = made[:len(values)] + rng.sample(made[len(values):], self.per_target)
            yield from made
        for _ in range(self.patterns):
            pattern = random_pattern(rng)
            target = self._custom({"type": "string", "pattern": pattern})
            key_target = self._custom({"patternProperties": {pattern: {"type": "string"}},
                                       "additionalProperties": False})
            own = [c for c in pattern if c.isalnum() or c in "-_ ."]
            for _ in range(self.texts):
                text = random_text(rng, own)
                yield Case(target, text)
                yield Case(key_target, {text: "v"} if rng.random() < 0.8 else {text: 1})
        pool = [*DATE_TIMES, *IPS, *HOSTS, *URIS, *EMAILS, *REGEXES, "P1D", "PT", "P1Y2M",
                "P1W", "P1DT", "/a~0b", "/a~2", "0/a", "1#", "#/a", "{x}", "{+x,y:3}",
                "{x", "ab==", "abc=", "abcd", "ab\ncd==", "\n", "12:00:00", "12:00:00.5+01:00",
                "123e4567-e89b-12d3-a456-426614174000", "urn:uuid:123E4567-E89B-12D3-A456-"
                "426614174000", "https://x.y.com/a b", "ftp://10.0.0.1/", "http://a.b.c:80/p",
                "http://localhost/", "http://x.co", *rng.sample(BOUNDARY, 10)]
        for fmt in AJV_FORMATS:
            plain, negated = self._custom({"format": fmt}), self._custom({"not": {"format": fmt}})
            for value in [*pool, *NUMBERS[:18], 2**31 - 1, -(2**31), 1.5]:
                yield Case(plain, value)
                yield Case(negated, value)
        for schema, values in FEATURES:
            target = self._custom(schema)
            self.features.add(target[1])
            for value in values:
                yield Case(target, value)
        for _ in range(self.schemas):
            target = self._custom(random_schema(rng))
            for value in rng.sample(_SMALL, 10):
                yield Case(target, copy.deepcopy(value))
