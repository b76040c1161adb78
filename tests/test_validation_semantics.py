"""tcdyn's validation decides as the services' validator (ajv 8 + ajv-formats 2.1.1 with
Taskcluster's options) does: issue 19, and issue 18 items 17 and 18."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tcdyn.errors import SchemaValidationError
from tcdyn.schemas import SchemaRegistry

T = "/schemas/t/v1/t.json"


def registry(schema: Any, **others: Any) -> SchemaRegistry:
    docs = {T: schema, **others}
    return SchemaRegistry(docs.get)


def verdict(reg: SchemaRegistry, value: Any) -> bool:
    try:
        reg.validate(T, value, what="t")
    except SchemaValidationError:
        return False
    return True


# --- issue 18 item 17: one pattern timeout poisons the process ------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("where", ["pattern", "patternProperties"])
def test_a_pattern_timeout_fails_that_value_only(where: str) -> None:
    hostile = "^(a|aa)+(?!b)$"  # not proved linear, not for Rust: a time limit
    schema = ({"properties": {"x": {"pattern": hostile}}} if where == "pattern"
              else {"patternProperties": {hostile: {"type": "string"}}})
    reg = registry(schema)

    def value(text: str) -> dict[str, Any]:
        return {"x": text} if where == "pattern" else {text: "v"}

    with pytest.raises(SchemaValidationError, match="catastrophic backtracking"):
        reg.validate(T, value("a" * 40 + "!"), what="t")
    start = time.perf_counter()
    reg.validate(T, value("aaaa"), what="t")  # the next value is matched on its own
    with pytest.raises(SchemaValidationError, match=r"does not match|not of type"):
        reg.validate(T, value("ab") if where == "pattern" else {"aa": 3}, what="t")
    assert time.perf_counter() - start < 1
    with pytest.raises(SchemaValidationError, match="catastrophic backtracking"):
        reg.validate(T, value("a" * 40 + "!"), what="t")  # and a slow one times out again


# --- issue 18 item 18: annotations and tcdyn's own keyword in the fast path -----------------


@pytest.mark.parametrize(("schema", "value"), [
    ({"not": {"contentEncoding": "base64"}}, "!!not base64"),
    ({"not": {"contentMediaType": "application/json"}}, "{not json"),
    ({"oneOf": [{"contentEncoding": "base64"}, {"type": "string"}]}, "!!not base64"),
    ({"type": "string", "pattern": "^(a|aa)+b?$", "not": {"tcdynPattern": "^b"}}, "aa"),
    ({"properties": {"x": {"pattern": "(?=a)a", "not": {"tcdynPattern": "^b"}}}}, {"x": "a"}),
])
def test_annotations_and_unknown_keywords_are_not_enforced(schema: Any, value: Any) -> None:
    # contentEncoding/contentMediaType are annotations to the service (ajv) and jsonschema,
    # and an unknown keyword means nothing: so each schema above refuses the value
    assert verdict(registry(schema), value) is False
