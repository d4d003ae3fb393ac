"""Reading YAML and JSON sources: lines, exact decimals, duplicate keys, hostile input."""

from __future__ import annotations

import pytest

from formwork.definitions.loader import MAX_SOURCE_BYTES, read_source
from formwork.definitions.problems import DefinitionError


def _error(text: str, name: str = "form.yaml") -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        read_source(text, name)
    return info.value


def test_every_pointer_has_its_line(trip_yaml):
    document = read_source(trip_yaml, "trip.yaml")
    assert document.source == "trip.yaml"
    assert document.line_for("") == 1
    assert document.line_for("/key") == 2
    assert document.line_for("/fields") == 4
    assert document.line_for("/fields/1") == 11
    assert document.line_for("/fields/1/visible_when") == 14
    assert document.line_for("/fields/0/options/1/value") == 10
    # A pointer to something absent falls back to its nearest ancestor.
    assert document.line_for("/fields/1/label/fr") == 13
    assert document.line_for("/fields/2/missing") == 15


def test_decimals_stay_exact_and_integers_stay_integers():
    document = read_source("a: 0.1\nb: 12\nc: -3.50\nd: 1.5e3\ne: [0.30000000000000004]\n", "x.yaml")
    assert document.content == {"a": "0.1", "b": 12, "c": "-3.50", "d": "1500", "e": ["0.30000000000000004"]}
    assert isinstance(document.content["b"], int)


def test_json_decimals_are_exact_too():
    document = read_source('{"a": 0.1, "b": 7, "c": [2.50]}', "x.json")
    assert document.content == {"a": "0.1", "b": 7, "c": ["2.50"]}


def test_yaml_1_1_surprises_are_plain_text():
    document = read_source("a: yes\nb: no\nc: on\nd: 2024-12-31\ne: true\nf: ~\ng: '12'\nh: 0o17\n", "x.yaml")
    assert document.content == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "2024-12-31",
        "e": True,
        "f": None,
        "g": "12",
        "h": 15,
    }


def test_malformed_yaml_names_file_and_line():
    error = _error("kind: form\nkey: trip\nfields:\n  - key: a\n   type: text\n", "trip.yaml")
    [problem] = error.problems
    assert problem.source == "trip.yaml"
    assert problem.line == 5
    assert problem.message.startswith("malformed YAML")
    assert str(problem).startswith("trip.yaml:5: /: malformed YAML")


def test_unclosed_bracket_is_reported():
    [problem] = _error("kind: form\ntitle: {zh-CN: x, en: y\nkey: a\n").problems
    assert problem.line is not None and problem.line >= 2
    assert "malformed YAML" in problem.message


def test_duplicate_key_is_an_error_with_both_lines():
    text = "kind: form\nkey: trip\nfields:\n  - key: a\n    type: text\n    key: b\n"
    [problem] = _error(text).problems
    assert problem.line == 6
    assert problem.pointer == "/fields/0/key"
    assert 'duplicate key "key"' in problem.message and "line 4" in problem.message


def test_duplicate_key_in_json_is_located():
    text = '{\n  "kind": "form",\n  "fields": [{"key": "a"}, {"key": "b",\n    "key": "c"}]\n}\n'
    [problem] = _error(text, "form.json").problems
    assert problem.source == "form.json"
    assert problem.line == 4
    assert problem.pointer == "/fields/1/key"


def test_malformed_json_names_line():
    [problem] = _error('{\n  "kind": "form",\n  "key": \n}\n', "form.json").problems
    assert problem.line == 4
    assert problem.message.startswith("malformed JSON")


def test_json_nan_and_infinity_are_refused():
    assert "not allowed" in _error('{"a": NaN}', "x.json").problems[0].message
    assert "not allowed" in _error("a: .inf\n").problems[0].message


def test_python_tags_are_refused():
    [problem] = _error("a: !!python/object/apply:os.system ['echo hacked']\n").problems
    assert "not allowed" in problem.message


def test_alias_bomb_is_refused():
    layers = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for index, name in enumerate("bcdefg"):
        previous = "abcdefg"[index]
        layers.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    [problem] = _error("\n".join(layers) + "\n").problems
    assert "more than" in problem.message


def test_recursive_alias_is_refused():
    assert "contains it" in _error("a: &a [1, *a]\n").problems[0].message


def test_aliases_within_bounds_are_expanded():
    document = read_source("label: &l {zh-CN: 金额, en: Amount}\nother: *l\n", "x.yaml")
    assert document.content["other"] == {"zh-CN": "金额", "en": "Amount"}


def test_empty_and_multi_document_files():
    assert "empty" in _error("").problems[0].message
    assert "single document" in _error("a: 1\n---\nb: 2\n").problems[0].message


def test_oversized_source_is_refused():
    assert "larger than" in _error("a: '" + "x" * MAX_SOURCE_BYTES + "'\n").problems[0].message


def test_reading_a_file(tmp_path):
    path = tmp_path / "trip.yaml"
    path.write_bytes(b"\xef\xbb\xbfkind: form\nkey: trip\n")  # a BOM from a Windows editor
    document = read_source(path)
    assert document.content == {"kind": "form", "key": "trip"}
    assert document.source == str(path)
    (tmp_path / "bad.yaml").write_bytes(b"key: \xff\n")
    with pytest.raises(DefinitionError) as info:
        read_source(tmp_path / "bad.yaml", "bad.yaml")
    assert "UTF-8" in info.value.problems[0].message
