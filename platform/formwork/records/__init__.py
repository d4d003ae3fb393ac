"""Records: the data people enter through generated forms."""

from __future__ import annotations
