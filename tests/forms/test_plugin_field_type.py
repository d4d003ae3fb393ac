"""A field type added by a plugin through the registry works in a form like a built-in."""

from __future__ import annotations

import re

import pytest
from flask_babel import lazy_gettext as _l
from forms_samples import L

from formwork.definitions.problems import DefinitionError
from formwork.expressions import T
from formwork.forms.field_types import FieldType, FieldValueError
from formwork.forms.state import evaluate_state
from formwork.forms.validation import validate
from formwork.plugins import PluginError


class BankAccountType(FieldType):
    """A bank account number: digits only, spaces ignored, checked length."""

    name = "bank_account"
    widget = "text"

    def value_type(self, field):
        return T.TEXT

    def coerce(self, raw, field):
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str) or not re.fullmatch(r"[0-9 ]+", raw):
            raise FieldValueError(_l("must be a bank account number"))
        return raw.replace(" ", "")

    def check(self, value, field, ctx):
        return [] if 10 <= len(value) <= 30 else ["must have 10 to 30 digits"]


def load(registry):
    registry.add_field_type(BankAccountType())


FORM = {
    "kind": "form",
    "key": "payment",
    "title": {"zh-CN": "付款", "en": "Payment"},
    "fields": [
        {"key": "account", "type": "bank_account", "label": L, "required": True},
        {
            "key": "masked",
            "type": "computed",
            "label": L,
            "result_type": "text",
            "expression": "concat('No. ', account)",
        },
    ],
}


def test_plugin_field_type_in_a_form(registry, ctx):
    assert registry.load_plugin("bank", load)
    form = __import__("formwork.forms.model", fromlist=["compile_form"]).compile_form(FORM, registry)
    result = validate(form, {"account": "6222 0212 3456 7890"}, previous=None, mode="submit", context=ctx)
    assert result.errors == [] and result.data["account"] == "6222021234567890"
    assert (
        evaluate_state(form, {"account": "6222021234567890"}, context=ctx).value("masked")
        == "No. 6222021234567890"
    )
    result = validate(form, {"account": "abc"}, previous=None, mode="submit", context=ctx)
    assert result.errors == [{"field": "account", "message": "must be a bank account number"}]
    result = validate(form, {"account": "123"}, previous=None, mode="submit", context=ctx)
    assert result.errors == [{"field": "account", "message": "must have 10 to 30 digits"}]


def test_unregistered_type_is_a_definition_problem_and_names_cannot_be_taken(registry):
    from formwork.forms.model import compile_form

    with pytest.raises(DefinitionError) as caught:
        compile_form(FORM, registry)
    assert caught.value.problems[0].pointer == "/fields/0/type"

    class Impostor(BankAccountType):
        name = "money"

    assert not registry.load_plugin("impostor", lambda r: r.add_field_type(Impostor()))
    assert registry.field_types["money"].__class__.__name__ == "MoneyType"
    with pytest.raises(PluginError):
        registry.add_field_type(Impostor())
