"""File name rules shared by the attachment store and the attachment field type."""

from __future__ import annotations

import re
from pathlib import Path


def extension(name: str) -> str:
    """The lower-case suffix of ``name`` (``".pdf"``), or ``""`` when it is not a plain short one."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ""
