"""Permissions as definitions: operation rights, data scopes and field rights per role, and explain.

A ``kind: permission`` definition (``definitions/permissions/``, docs/permissions.md) compiles
into an immutable ``model.Policy``. For one form, ``model.PolicySet.of(form_key, policies)``
combines the policies for that form and for every form; ``published.policies_for(form_key)``
gives the ones in force. The read and write paths call ``access.scope_condition`` (lists) and
``access.record_rights`` (one record); underneath:

- ``scopes.records_filter(subject, policies)``: the SQL condition for lists, search, export;
- ``scopes.bases_seeing(...)`` / ``field_rights.standing(...)`` + ``field_rights.resolve(...)``:
  one record's visibility and every field's right (hidden, masked, read, write);
- ``explain.explain_record`` / ``explain.explain_field``: why;
- ``lint.lint(content, ...)`` / ``published.check_permission(content, registry)``: the problems
  before publishing.

Layer: above definitions, org, forms, records and routes; below workflow and the adapters.
"""
