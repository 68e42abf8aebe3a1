"""A period's figures on the registers' side: their chain heads, the events of the cash
journal (cancellations, refused and withdrawn requests, remittances), the cash counts, the
register closures, the deposits, and each register as it stood at the period's last instant
(``application/regie.py``: its alerts, cash position and pending cancellations)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any, TypeVar
from uuid import UUID

from hacienda_ledger.aggregates.errors import RegisterNotFound
from hacienda_ledger.application import Ledger
from hacienda_ledger.application.projecting import ProjectionQueries
from hacienda_ledger.application.regie import standing
from hacienda_ledger.reports.agents import Agents
from hacienda_ledger.reports.figures.model import (
    Advances,
    AireInfo,
    CancellationRequest,
    CashCount,
    ChainHead,
    Deposits,
    JournalEvent,
    Period,
    RegieMonthEnd,
    RegisterClosure,
    moment,
)

Row = dict[str, Any]
CountOrClosure = TypeVar("CountOrClosure", CashCount, RegisterClosure)


def _from_row(cls: type[CountOrClosure], row: Row, **given: Any) -> CountOrClosure:
    """A figure of ``cls`` whose fields are the row's columns of the same name, but for
    those ``given``."""
    read = {f.name: row[f.name] for f in fields(cls) if f.name not in given}
    return cls(**read, **given)


class RegisterFigures:
    """Reads the registers' side of a period's figures."""

    def __init__(self, ledger: Ledger, queries: ProjectionQueries, agents: Agents) -> None:
        self.ledger = ledger
        self.queries = queries
        self.agents = agents

    def _rows(
        self, table: str, register_ids: Sequence[str], between: tuple[str, Any, Any]
    ) -> Iterator[tuple[str, Row]]:
        """Each register's rows of a ``cash_journal`` table, ``between`` two values of a
        column (inclusive; None: no bound)."""
        for register_id in register_ids:
            for row in self.queries.select(
                "cash_journal", table, where={"register_id": register_id}, between=between
            ):
                yield register_id, row

    def heads(self, register_ids: Sequence[str], period: Period) -> tuple[ChainHead, ...]:
        heads = []
        for register_id in register_ids:
            rows = self.queries.select(
                "cash_journal",
                "cash_journal",
                where={"register_id": register_id},
                between=("day", None, period.last),
            )
            if not rows:
                continue
            last = rows[-1]
            receipts = [r["receipt_number"] for r in rows if r["kind"] == "receipt"]
            heads.append(
                ChainHead(
                    register_id=register_id,
                    regie_ref=self.ledger.cash_register(UUID(register_id)).regie_ref,
                    version=last["version"],
                    chain_hash=last["chain_hash"],
                    last_receipt=max(receipts, default=0),
                    recorded_at=last["recorded_at"],
                )
            )
        return tuple(heads)

    def regie(self, register_ids: Sequence[str], period: Period) -> tuple[RegieMonthEnd, ...]:
        """Each register's alerts and cash position at the period's last instant (a
        register opened after it is left out)."""
        found = []
        for register_id in register_ids:
            try:
                then = standing(self.ledger, UUID(register_id), period.end_instant())
            except RegisterNotFound:
                continue
            register = then.register
            pending = register.pending
            found.append(
                RegieMonthEnd(
                    register_id,
                    register.regie_ref,
                    register.rules,
                    then.alerts,
                    then.position,
                    pending,
                    tuple(register.open_receipts[str(p.number)].total_cents for p in pending),
                )
            )
        return tuple(found)

    def journal_events(self, register_id: str, period: Period) -> list[JournalEvent]:
        rows = self.queries.select(
            "cash_journal",
            "cash_journal",
            where={"register_id": register_id},
            between=("day", period.first, period.last),
        )
        by_version: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            by_version.setdefault(row["version"], []).append(row)
        events: list[JournalEvent] = []
        for version, lines in sorted(by_version.items()):
            first = lines[0]
            kind = first["kind"]
            base: dict[str, Any] = dict(
                register_id=register_id, day=first["day"], version=version, kind=kind
            )
            if kind == "cancellation":
                asked = first["requested_at"]
                events.append(
                    JournalEvent(
                        **base,
                        receipt_number=first["receipt_number"],
                        method=first["method"],
                        amount_cents=sum(x["amount_out_cents"] for x in lines),
                        recorded_at=moment(first["recorded_at"]),
                        reason=first["reason"],
                        # a row projected before these columns: who recorded it asked
                        requested_by=self.agents.name(first["requested_by"] or first["cashier"]),
                        requested_at=moment(asked) if asked else None,
                        approved_by=self.agents.name(first["approved_by"]),
                    )
                )
            elif kind in ("cancellation_refused", "cancellation_withdrawn"):
                events.append(
                    JournalEvent(
                        **base,
                        receipt_number=first["receipt_number"],
                        recorded_at=moment(first["recorded_at"]),
                        reason=first["reason"],
                        approved_by=self.agents.name(first["cashier"]),  # who decided
                    )
                )
            elif kind == "remittance":
                for line in lines:
                    events.append(
                        JournalEvent(
                            **base,
                            method=line["method"],
                            amount_cents=line["amount_out_cents"],
                            slip_number=line["slip_number"],
                            first_receipt=line["first_receipt"],
                            last_receipt=line["last_receipt"],
                        )
                    )
        return events

    def counts(self, register_ids: Sequence[str], period: Period) -> tuple[CashCount, ...]:
        """The cash counts of the period (by the day counted), as they stand at its end:
        a régularisation recorded after the period's last day is not shown. Who counted and
        who the régie was handed over to are named (``agents``)."""
        found = []
        for register_id, row in self._rows(
            "cash_counts", register_ids, ("day", period.first, period.last)
        ):
            settled = row["regularised_on"] is not None and row["regularised_on"] <= period.last
            found.append(
                _from_row(
                    CashCount,
                    row,
                    register_id=register_id,
                    counted_by=self.agents.name(row["counted_by"]),
                    handed_over_to=self.agents.name(row["handed_over_to"]) or None,
                    regularised_on=row["regularised_on"] if settled else None,
                    regularisation=row["regularisation"] if settled else None,
                )
            )
        return tuple(sorted(found, key=lambda c: (c.day, c.register_id, c.number)))

    def closures(self, register_ids: Sequence[str], period: Period) -> tuple[RegisterClosure, ...]:
        """The register closures of the period's own days, month or year: selected by the
        period they close (its last day in the report's period), whenever recorded."""
        found = [
            _from_row(RegisterClosure, row, register_id=register_id)
            for register_id, row in self._rows(
                "register_closures", register_ids, ("last_day", period.first, period.last)
            )
        ]
        return tuple(sorted(found, key=lambda c: (c.last_day, c.first_day, c.register_id)))

    def requests(
        self, journal: Sequence[JournalEvent], regie: Sequence[RegieMonthEnd]
    ) -> tuple[CancellationRequest, ...]:
        """The month's refused and withdrawn requests, each with what it asked (the last
        request of its receipt before the decision), then those pending at the month's
        end."""
        found: list[CancellationRequest] = []
        for decided in journal:
            if decided.kind not in ("cancellation_refused", "cancellation_withdrawn"):
                continue
            assert decided.receipt_number is not None and decided.recorded_at is not None
            rows = self.queries.select(
                "cash_journal",
                "cash_journal",
                where={
                    "register_id": decided.register_id,
                    "receipt_number": decided.receipt_number,
                },
            )
            asked = max(
                (
                    r
                    for r in rows
                    if r["kind"] == "cancellation_requested" and r["version"] < decided.version
                ),
                key=lambda r: int(r["version"]),
            )
            refused = decided.kind == "cancellation_refused"
            found.append(
                CancellationRequest(
                    decided.register_id,
                    decided.receipt_number,
                    sum(r["amount_in_cents"] for r in rows if r["kind"] == "receipt"),
                    asked["reason"] or "",
                    self.agents.name(asked["requested_by"]),
                    moment(asked["recorded_at"]),
                    "refused" if refused else "withdrawn",
                    decided.approved_by or "",
                    decided.recorded_at,
                    (decided.reason or "") if refused else "",
                )
            )
        for month_end in regie:
            for pending, cents in zip(month_end.pending, month_end.pending_cents, strict=True):
                found.append(
                    CancellationRequest(
                        month_end.register_id,
                        pending.number,
                        cents,
                        pending.reason,
                        self.agents.name(pending.requested_by),
                        pending.requested_at,
                        "pending",
                    )
                )
        return tuple(found)

    def deposits(self, info: AireInfo, period: Period) -> Deposits:
        rows = [
            row
            for _, row in self._rows(
                "deposit_movements", info.register_ids, ("day", None, period.last)
            )
            if row["aire_id"] == info.id
        ]
        totals = dict.fromkeys(("received", "cancelled", "refunded", "withheld"), 0)
        held = 0
        reasons: dict[str, int] = {}
        for row in rows:
            amount = row["amount_cents"]
            held += amount if row["kind"] == "received" else -amount
            if row["day"] >= period.first:
                totals[row["kind"]] += amount
                if row["kind"] == "withheld":
                    reasons[row["reason"]] = reasons.get(row["reason"], 0) + amount
        return Deposits(
            received_cents=totals["received"],
            cancelled_cents=totals["cancelled"],
            refunded_cents=totals["refunded"],
            withheld_cents=totals["withheld"],
            withheld_by_reason_cents=dict(sorted(reasons.items())),
            held_at_end_cents=held,
        )

    def advances(self, info: AireInfo, period: Period) -> Advances:
        """The aire's advances in the period, from the cash journal's lines: receipt (and
        cancellation) lines of type ``advance``, ``advance_applied`` lines (the cents applied
        to each revenue type) and ``advance_refund`` lines; held at the end is every
        movement up to the period's last day."""
        totals = dict.fromkeys(("received", "cancelled", "applied", "refunded"), 0)
        by_type: dict[str, int] = {}
        held = 0
        for _, row in self._rows("cash_journal", info.register_ids, ("day", None, period.last)):
            if row["aire_id"] != info.id:
                continue
            kind, amount = row["kind"], 0
            if kind in ("receipt", "cancellation") and row["revenue_type"] == "advance":
                kind = "received" if kind == "receipt" else "cancelled"
                amount = row["amount_in_cents"] or row["amount_out_cents"]
            elif kind == "advance_applied":
                kind, amount = "applied", row["applied_cents"] or 0
            elif kind == "advance_refund":
                kind, amount = "refunded", row["amount_out_cents"]
            if not amount:
                continue
            held += amount if kind == "received" else -amount
            if row["day"] >= period.first:
                totals[kind] += amount
                if kind == "applied":
                    by_type[row["revenue_type"]] = by_type.get(row["revenue_type"], 0) + amount
        return Advances(
            received_cents=totals["received"],
            cancelled_cents=totals["cancelled"],
            applied_cents=totals["applied"],
            applied_by_type_cents=dict(sorted(by_type.items())),
            refunded_cents=totals["refunded"],
            held_at_end_cents=held,
        )
