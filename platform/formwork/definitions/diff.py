"""What changed between two versions of a definition, as JSON pointers."""

from __future__ import annotations

from typing import Any

from .loader import escape_pointer_token


def diff(old: Any, new: Any) -> dict[str, list[dict[str, Any]]]:
    """``{"added": [...], "removed": [...], "changed": [...]}`` from ``old`` to ``new``.

    Added and removed entries carry ``pointer`` and ``value``; changed entries
    carry ``pointer``, ``from`` and ``to``. Mappings are compared key by key and
    lists item by item, so each entry is the smallest part that differs.
    """
    result: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    _walk(old, new, "", result)
    return result


def _walk(old: Any, new: Any, pointer: str, result: dict[str, list[dict[str, Any]]]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            child = f"{pointer}/{escape_pointer_token(key)}"
            if key not in new:
                result["removed"].append({"pointer": child, "value": old[key]})
            else:
                _walk(old[key], new[key], child, result)
        for key in new:
            if key not in old:
                result["added"].append(
                    {"pointer": f"{pointer}/{escape_pointer_token(key)}", "value": new[key]}
                )
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(min(len(old), len(new))):
            _walk(old[index], new[index], f"{pointer}/{index}", result)
        for index in range(len(new), len(old)):
            result["removed"].append({"pointer": f"{pointer}/{index}", "value": old[index]})
        for index in range(len(old), len(new)):
            result["added"].append({"pointer": f"{pointer}/{index}", "value": new[index]})
        return
    # bool is an int in Python; True and 1 are different definitions.
    if type(old) is not type(new) or old != new:
        result["changed"].append({"pointer": pointer, "from": old, "to": new})
