"""Alerts where the approver decides: what a route's alert says about a request, for the task page
and the inbox rows.

An alert is raised once, when a request starts (``runtime``), and leaves an ``alert`` entry in the
trail. Here each alert of a request is read back with its own text from the route version, and a
duplicate-invoice alert names the invoice numbers and the other claims that carry them, found now
(a claim withdrawn since no longer counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..definitions import store
from ..extensions import db
from ..i18n import localized
from ..records.models import Record
from ..routes.facts import DUPLICATE_INVOICES, duplicate_invoice_claims
from ..routes.store import compiled_route
from .models import Process, TrailEntry

DUPLICATE_FACT = "$" + DUPLICATE_INVOICES.name


@dataclass
class OtherClaim:
    record_id: int
    title: str | None


@dataclass
class InvoiceMatch:
    number: str
    claims: list[OtherClaim]


@dataclass
class AlertView:
    key: str
    message: str
    duplicate_invoices: bool = False
    invoices: list[InvoiceMatch] = field(default_factory=list)


def _alert_specs(route_id: int) -> dict[str, tuple[dict[str, str], bool, str | None]]:
    """The route version's alerts: key → (message, reads $duplicate_invoices, the invoice field path)."""
    route = compiled_route(store.get(route_id))
    path = (route.fact_settings.get(DUPLICATE_INVOICES.name) or {}).get("field")
    return {
        alert.key: (alert.message, DUPLICATE_FACT in (route.conditions.get(alert.when) or ""), path)
        for alert in route.alerts
    }


def alerts_for(record_ids: list[int], *, with_claims: bool = True) -> dict[int, list[AlertView]]:
    """The alerts raised on each of these requests (one query for the trail entries); each once, in
    the order raised. ``with_claims`` also finds the other claims of a duplicate invoice (one query
    per alerted request: only requests with such an alert pay for it)."""
    if not record_ids:
        return {}
    rows = db.session.execute(
        select(TrailEntry.record_id, TrailEntry.details, Process.route_id)
        .join(Process, Process.id == TrailEntry.process_id)
        .where(TrailEntry.record_id.in_(record_ids), TrailEntry.action == "alert")
        .order_by(TrailEntry.at, TrailEntry.id)
    ).all()
    if not rows:
        return {}
    specs: dict[int, dict[str, tuple[dict[str, str], bool, str | None]]] = {}
    result: dict[int, list[AlertView]] = {}
    records: dict[int, Record] = {}
    for record_id, details, route_id in rows:
        key = (details or {}).get("alert")
        if not key or any(view.key == key for view in result.get(record_id, [])):
            continue
        if route_id not in specs:
            specs[route_id] = _alert_specs(route_id)
        message, duplicates, path = specs[route_id].get(key, ({}, False, None))
        view = AlertView(key=key, message=localized(message) or key, duplicate_invoices=duplicates)
        if duplicates and with_claims:
            record = records.get(record_id) or db.session.get(Record, record_id)
            records[record_id] = record
            view.invoices = [
                InvoiceMatch(number, [OtherClaim(other, title) for other, title in claims])
                for number, claims in duplicate_invoice_claims(record, path).items()
            ]
        result.setdefault(record_id, []).append(view)
    return result
