"""PDF layout in a child process with a time limit and a memory limit.

WeasyPrint lays out whatever HTML it is given, and a print template is written by an
analyst: 3,000 nested ``div``\\ s exhaust the recursion limit and 20,000 paragraphs take many
seconds and hundreds of megabytes. So layout never runs in the web worker. Each PDF is made
in a child forked from a small server process that has already imported WeasyPrint (the
``forkserver`` start method: a fork of a single-threaded process, so a fork costs
milliseconds and never copies a web worker's threads or database connections). The child

1. loads the bundled fonts (``static/vendor/fonts``) through fontconfig,
2. only then caps its own address space (``RLIMIT_AS``) and CPU time (``RLIMIT_CPU``) —
   fontconfig that runs out of memory while it reads its cache fails and rewrites the
   cache, so it must be done first — and
3. lays out the HTML and sends the PDF back through a pipe.

The parent waits at most ``timeout`` seconds and kills the child after that. Whatever goes
wrong comes back as ``LayoutError``, with a reason a person can read; the caller decides
what to print instead.

Every PDF uses the same fonts, from files shipped with Formwork, so a voucher looks the same
on every server, whether or not the server has CJK fonts installed.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import shutil
import tempfile
from dataclasses import dataclass
from dataclasses import field as dc_field
from multiprocessing.connection import Connection
from pathlib import Path

from flask_babel import gettext as _
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .fetcher import LocalOnlyFetcher

log = logging.getLogger(__name__)

FONT_FOLDER = Path("vendor") / "fonts"  # inside the static folder
# (file, weight) of the bundled Noto Sans SC (SIL Open Font License; see static/vendor/README.md).
FONT_FILES = (("NotoSansSC_400Regular.ttf", 400), ("NotoSansSC_700Bold.ttf", 700))
# The family name print CSS uses. The CJK names earlier templates used are mapped to the same
# files, so a template written for a server with fonts-noto-cjk prints the same everywhere.
FONT_FAMILIES = ("Noto Sans SC", "Noto Sans CJK SC")
FONT_STACK = '"Noto Sans SC", sans-serif'

DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_MB = 1024


class LayoutError(Exception):
    """The PDF could not be made within the limits (or at all); ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class Limits:
    timeout: float = DEFAULT_TIMEOUT  # seconds of wall-clock time for one PDF
    memory_mb: int = DEFAULT_MEMORY_MB  # address space of the child, in MiB


@dataclass
class Layout:
    pdf: bytes
    refused_urls: list[str] = dc_field(default_factory=list)
    fetched_urls: list[str] = dc_field(default_factory=list)  # what the fetcher did load


def font_face_css(static_folder: Path) -> str:
    """``@font-face`` rules for the bundled fonts, as absolute ``file:`` URLs (the fetcher allows them)."""
    rules = []
    for family in FONT_FAMILIES:
        for file_name, weight in FONT_FILES:
            url = (static_folder / FONT_FOLDER / file_name).resolve().as_uri()
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
                f'src: url("{url}") format("truetype"); }}'
            )
    return "\n".join(rules)


def _child(
    conn: Connection,
    html: str,
    base_url: str,
    roots: list[str],
    font_css: str,
    memory_bytes: int,
    cpu_seconds: int,
    scratch: str,
) -> None:
    """Runs in the child: fonts first, then the limits, then the layout; one message back."""
    # WeasyPrint copies each @font-face font into a temporary folder that only its finaliser
    # removes, and a child process never runs finalisers: keep them in the parent's scratch
    # folder, which the parent deletes whatever happens to the child.
    tempfile.tempdir = scratch
    try:
        fetcher = LocalOnlyFetcher([Path(root) for root in roots])
        font_config = FontConfiguration()
        fonts = CSS(string=font_css, base_url=base_url, url_fetcher=fetcher, font_config=font_config)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
            stylesheets=[fonts], font_config=font_config
        )
        pdf = document.write_pdf()
        conn.send(("ok", pdf, (fetcher.refused, fetcher.fetched)))
    except MemoryError:
        conn.send(("error", "it needed more memory than printing may use", ([], [])))
    except RecursionError:
        conn.send(("error", "the document is nested too deeply to lay out", ([], [])))
    except Exception as exc:  # anything else WeasyPrint raises: report it, never hang the parent
        conn.send(("error", f"the layout failed ({type(exc).__name__})", ([], [])))
    finally:
        conn.close()


_context: multiprocessing.context.ForkServerContext | None = None


def _process_context() -> multiprocessing.context.ForkServerContext:
    """The forkserver context, its server preloaded with this module (and so with WeasyPrint)."""
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        assert isinstance(context, multiprocessing.context.ForkServerContext)
        context.set_forkserver_preload([__name__])
        _context = context
    return _context


def layout_pdf(html: str, *, static_folder: Path, limits: Limits) -> Layout:
    """The PDF of ``html``, made in a limited child process; ``LayoutError`` when it cannot be."""
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    static = static_folder.resolve()
    scratch = tempfile.mkdtemp(prefix="formwork-print-")
    process = context.Process(
        target=_child,
        args=(
            sender,
            html,
            static.as_uri() + "/",
            [str(static)],
            font_face_css(static),
            int(limits.memory_mb) * 1024 * 1024,
            max(1, int(limits.timeout) + 1),
            scratch,
        ),
        daemon=True,
    )
    process.start()
    sender.close()  # the child holds the only writing end: its death ends recv() with EOFError
    try:
        if not receiver.poll(limits.timeout):
            raise LayoutError(
                _(
                    "Laying out the PDF took longer than %(seconds)s s and was stopped.",
                    seconds=f"{limits.timeout:g}",
                )
            )
        try:
            status, payload, (refused, fetched) = receiver.recv()
        except (EOFError, OSError):
            raise LayoutError(
                _("The layout process ended without a PDF (it hit the memory or CPU limit).")
            ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
        shutil.rmtree(scratch, ignore_errors=True)
    if status != "ok":
        raise LayoutError(str(payload))
    return Layout(pdf=payload, refused_urls=list(refused), fetched_urls=list(fetched))
