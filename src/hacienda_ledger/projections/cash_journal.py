"""The cash journal a Trésorerie reads: one line per register event (per receipt line for
receipts), in sequence order, with running balances by payment method.

Columns: register, version (the event's number in the register), line, stream position,
recorded time and Paris day, receipt number, kind, revenue type, method, amount in, amount
out, the running balance of each method, the cashier, the remittance slip and its receipt
range, the perpetual grand total on closures, and the chain hash of the event; the aire
the line's money belongs to (the receipt's aire, else the register's) and the numbers of its
debit and credit accounts in the chart of that aire's mode (``aggregates/chart.py``: M57 for
a régie or a marché, the PCG for a DSP delegate; none for a line that moves no money). A reprint of
a receipt or slip (``DocumentReprinted``) is a line of kind ``reprint`` that moves no money:
it is part of the register's chain, so the journal's last line is always the chain head. So
is a change of the régie's rules (``RulesSet``): a line of kind ``rules``, moving no money.
An advance received is a receipt line of type ``advance``; applied to charges
(``advance_applied``) it moves no cash (its entry: advances to the receivable): one line per
revenue type it paid, that type as the line's revenue type and the cents applied to it as
``applied_cents`` (None on every other line), the stay in ``stay_id``; refunded
(``advance_refund``) it goes out in its method, naming the stay too.

Cancellations say why, who and when: a request (``cancellation_requested``), a refusal
(``cancellation_refused``) or a withdrawal (``cancellation_withdrawn``) is a line that moves
no money, naming the receipt; the cancellation itself (``cancellation``, one line per line of
the receipt, reversed) carries ``reason``, ``requested_by``, ``requested_at`` and
``approved_by`` (None for a cancellation recorded before approvals existed). The first
print of a document (its original) is a line of kind ``print``.

``deposit_movements`` (key register, version): every deposit movement of a register with
the aire it was taken for, the stay, the Paris day, the kind (``received``, ``cancelled``,
``refunded``, ``withheld``), the withholding reason and the amount: deposits held, refunded
and withheld per aire and month, for the monthly report.

``register_closures`` (key register, version): every closure with the period it closes
(``period``, ``first_day``, ``last_day``: a report finds a month's closures by the period
closed, not by the day they were recorded), the Paris day recorded, its revenue and the
third-party funds (deposits) received apart, the perpetual grand total and its hash.

``cash_counts`` (key register, number): every cash count (arrêté de caisse) with its Paris
day, what was counted (and the notes and coins, as ``value×count`` text, largest first),
the book balance, the difference, who counted; the user the régie was handed over to when
the count was a handover; and once its difference is regularised, the day, the kind
(``deficit``: made good, ``excess``: taken as revenue) and the event's version. A count of
the first event version is numbered by its place (``cash_count_heads``), as the register
numbers it.
"""

from __future__ import annotations

from typing import Any

from hacienda_ledger.aggregates.accounts import cash
from hacienda_ledger.aggregates.aire import Aire
from hacienda_ledger.aggregates.chart import account_number, charts_digest, entry_pairs
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import PaymentMethod
from hacienda_ledger.projections.balances import instant
from hacienda_ledger.projections.base import (
    ColumnType,
    Projection,
    Row,
    Rows,
    paris_day,
    table,
    topics_of,
)

METHODS = tuple(m.value for m in PaymentMethod)
BALANCE_COLUMNS: dict[str, ColumnType] = {f"balance_{m}_cents": "int" for m in METHODS}
BALANCE_KEYS = tuple(BALANCE_COLUMNS)
#: The key of a row per register event: the journal's (with the line), deposits', closures'.
REGISTER_EVENT: dict[str, ColumnType] = {"register_id": "text", "version": "int"}
KINDS: dict[type, str] = {
    CashRegister.Opened: "opening",
    CashRegister.ReceiptIssued: "receipt",
    CashRegister.ReceiptCancelled: "cancellation",
    CashRegister.CancellationRequested: "cancellation_requested",
    CashRegister.CancellationRefused: "cancellation_refused",
    CashRegister.CancellationWithdrawn: "cancellation_withdrawn",
    CashRegister.DepositRefunded: "deposit_refund",
    CashRegister.DepositWithheld: "withholding",
    CashRegister.AdvanceApplied: "advance_applied",
    CashRegister.AdvanceRefunded: "advance_refund",
    CashRegister.RemittanceMade: "remittance",
    CashRegister.CashCounted: "count",
    CashRegister.CashOver: "cash_over",
    CashRegister.CashShort: "cash_short",
    CashRegister.DayClosed: "day_closure",
    CashRegister.MonthClosed: "month_closure",
    CashRegister.YearClosed: "year_closure",
    CashRegister.DocumentPrinted: "print",
    CashRegister.DocumentReprinted: "reprint",
    CashRegister.RulesSet: "rules",
    CashRegister.CashDifferenceRegularised: "regularisation",
    CashRegister.HandedOver: "handover",
}
DEPOSITS = "deposit_movements"
CLOSURES = "register_closures"
COUNTS = "cash_counts"
COUNT_HEADS = "cash_count_heads"
MODES = "journal_aire_modes"  # each aire's mode, which chooses its chart of accounts
NEXT = object()  # a line's accounts: those of its entry's next pair


class CashJournalProjection(Projection):
    name = "cash_journal"
    rebuild_cost = 3
    version = f"3 {charts_digest()}"  # its lines carry the charts' account numbers
    tables = (
        table(
            "cash_journal",
            {**REGISTER_EVENT, "line": "int"},
            position="int",
            recorded_at="text",
            day="date",
            receipt_number="int",
            kind="text",
            revenue_type="text",
            method="text",
            amount_in_cents="int",
            amount_out_cents="int",
            **BALANCE_COLUMNS,
            cashier="text",
            slip_number="int",
            first_receipt="int",
            last_receipt="int",
            perpetual_total_cents="int",
            chain_hash="text",
            aire_id="text",
            debit_account="text",
            credit_account="text",
            reason="text",
            requested_by="text",
            requested_at="text",
            approved_by="text",
            applied_cents="int",
            stay_id="text",
        ).with_index("aire_id", "day"),  # an aire's lines of a period (the DSP report's VAT)
        table(
            "journal_heads",
            {"register_id": "text"},
            version="int",
            **BALANCE_COLUMNS,
            aire_id="text",
        ),
        table(
            DEPOSITS,
            REGISTER_EVENT,
            aire_id="text",
            stay_id="text",
            day="date",
            kind="text",
            reason="text",
            amount_cents="int",
        ),
        table(
            CLOSURES,
            REGISTER_EVENT,
            period="text",
            first_day="date",
            last_day="date",
            day="date",
            revenue_cents="int",
            third_party_cents="int",
            perpetual_total_cents="int",
            chain_hash="text",
        ),
        table(
            COUNTS,
            {"register_id": "text", "number": "int"},
            version="int",
            day="date",
            counted_cents="int",
            book_cents="int",
            difference_cents="int",
            denominations="text",
            counted_by="text",
            handed_over_to="text",
            regularised_on="date",
            regularisation="text",
            regularisation_version="int",
        ),
        table(COUNT_HEADS, {"register_id": "text"}, last_number="int"),
        table(MODES, {"aire_id": "text"}, mode="text"),
    )
    topics = topics_of(*KINDS, Aire.Registered)
    appended = frozenset({"cash_journal", DEPOSITS, CLOSURES})

    def apply(self, event: Any, position: int, rows: Rows) -> None:
        kind = KINDS.get(type(event))
        if kind is None:
            if isinstance(event, Aire.Registered):
                rows.put(MODES, {"aire_id": str(event.originator_id), "mode": event.mode})
            return
        register_id = str(event.originator_id)
        head = rows.get("journal_heads", (register_id,)) or {
            "register_id": register_id,
            "version": 0,
            **dict.fromkeys(BALANCE_KEYS, 0),
            "aire_id": str(event.aire_id),  # the first event of a register is its opening
        }
        aire_id = str(getattr(event, "aire_id", None) or head["aire_id"])
        found = rows.get(MODES, (aire_id,))
        mode = found["mode"] if found is not None else None
        pairs = entry_pairs(event)
        base: Row = {
            "register_id": register_id,
            "version": event.originator_version,
            "position": position,
            "recorded_at": instant(event.timestamp),
            "day": paris_day(event.timestamp),
            "receipt_number": None,
            "kind": kind,
            "revenue_type": None,
            "method": None,
            "amount_in_cents": 0,
            "amount_out_cents": 0,
            "cashier": getattr(event, "actor", None),
            "slip_number": None,
            "first_receipt": None,
            "last_receipt": None,
            "perpetual_total_cents": None,
            "chain_hash": event.hash,
            "aire_id": aire_id,
            "reason": getattr(event, "reason", None),
            "requested_by": None,
            "requested_at": None,
            "approved_by": None,
            "applied_cents": None,
            "stay_id": None,
        }
        if isinstance(event, CashRegister.AdvanceApplied | CashRegister.AdvanceRefunded):
            base["stay_id"] = str(event.stay_id)
        if isinstance(event, CashRegister.CancellationRequested):
            base["requested_by"], base["requested_at"] = event.actor, base["recorded_at"]
        elif isinstance(event, CashRegister.ReceiptCancelled):
            base["requested_by"] = event.requested_by
            base["requested_at"] = instant(event.requested_at)
            base["approved_by"] = event.approved_by
        lines: list[Row] = []

        def line(pair: Any = NEXT, **values: Any) -> None:
            """A line of the event: ``base`` with ``values``, numbered, and the register's
            balances after it (one dict per line, built once); its debit and credit account
            numbers those of ``pair`` (None: no account), by default of the entry's next pair
            not yet printed."""
            if pair is NEXT:
                pair = pairs.pop(0) if pairs else None
            row = {**base, **values, "line": len(lines)}
            for key in BALANCE_KEYS:
                row[key] = head[key]
            row["debit_account"] = row["credit_account"] = None
            if pair is not None and mode is not None:
                row["debit_account"] = account_number(mode, pair[0]).number
                row["credit_account"] = account_number(mode, pair[1]).number
            lines.append(row)

        def move(method: str, amount: int, **extra: Any) -> None:
            head[f"balance_{method}_cents"] += amount
            line(
                _pair_of(pairs, cash(event.originator_id, method), abs(amount)),
                method=method,
                amount_in_cents=max(amount, 0),
                amount_out_cents=max(-amount, 0),
                **extra,
            )

        if isinstance(event, CashRegister.Opened):
            move(PaymentMethod.CASH.value, event.float_cents, revenue_type="float")
        elif isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            sign = 1 if isinstance(event, CashRegister.ReceiptIssued) else -1
            for receipt_line in event.lines:
                move(
                    event.method,
                    sign * receipt_line.amount_cents,
                    receipt_number=event.number,
                    revenue_type=receipt_line.revenue_type,
                )
        elif isinstance(event, CashRegister.DepositRefunded):
            move(event.method, -event.amount_cents, revenue_type="deposit")
        elif isinstance(event, CashRegister.RemittanceMade):
            for method, amount in sorted(event.amounts_by_method.items()):
                move(
                    method,
                    -amount,
                    slip_number=event.slip_number,
                    first_receipt=event.first_receipt,
                    last_receipt=event.last_receipt,
                )
        elif isinstance(event, CashRegister.CashOver):
            move(PaymentMethod.CASH.value, event.amount_cents)
        elif isinstance(event, CashRegister.CashShort):
            move(PaymentMethod.CASH.value, -event.amount_cents)
        elif isinstance(event, CashRegister.DepositWithheld):
            line(revenue_type="deposit")
        elif isinstance(event, CashRegister.AdvanceRefunded):
            move(event.method, -event.amount_cents, revenue_type="advance")
        elif isinstance(event, CashRegister.AdvanceApplied):
            entry = pairs.pop(0) if pairs else None  # advances → receivable, the whole amount
            for applied in event.lines:
                line(entry, revenue_type=applied.revenue_type, applied_cents=applied.amount_cents)
        elif isinstance(event, CashRegister.PeriodClosedEvent):
            line(perpetual_total_cents=event.perpetual_total_cents)
            rows.add(
                CLOSURES,
                {
                    "register_id": register_id,
                    "version": event.originator_version,
                    "period": event.period.value,
                    "first_day": event.start,
                    "last_day": event.end,
                    "day": base["day"],
                    "revenue_cents": event.revenue_cents,
                    "third_party_cents": event.third_party_cents,
                    "perpetual_total_cents": event.perpetual_total_cents,
                    "chain_hash": event.hash,
                },
            )
        elif isinstance(event, CashRegister.CashDifferenceRegularised) and event.kind == "deficit":
            move(PaymentMethod.CASH.value, event.amount_cents)
        elif isinstance(
            event,
            CashRegister.CancellationRequested
            | CashRegister.CancellationRefused
            | CashRegister.CancellationWithdrawn,
        ):
            line(receipt_number=event.number)
        else:
            line()
        self._counts(event, register_id, base["day"], rows)
        self._deposits(event, register_id, base["day"], rows)
        head["version"] = event.originator_version
        for row in lines:
            rows.add("cash_journal", row)
        rows.put("journal_heads", head)

    @staticmethod
    def _counts(event: Any, register_id: str, day: Any, rows: Rows) -> None:
        """A count, and what later becomes of it: the handover it was, its régularisation."""
        if isinstance(event, CashRegister.CashCounted):
            head = rows.get(COUNT_HEADS, (register_id,)) or {
                "register_id": register_id,
                "last_number": 0,
            }
            head["last_number"] = event.number or head["last_number"] + 1
            rows.put(COUNT_HEADS, head)
            rows.put(
                COUNTS,
                {
                    "register_id": register_id,
                    "number": head["last_number"],
                    "version": event.originator_version,
                    "day": day,
                    "counted_cents": event.counted_cents,
                    "book_cents": event.book_cents,
                    "difference_cents": event.difference_cents,
                    "denominations": " ".join(
                        f"{d.value_cents}×{d.count}" for d in event.denominations
                    )
                    or None,
                    "counted_by": event.actor,
                    "handed_over_to": None,
                    "regularised_on": None,
                    "regularisation": None,
                    "regularisation_version": None,
                },
            )
        elif isinstance(event, CashRegister.HandedOver | CashRegister.CashDifferenceRegularised):
            count = rows.get(COUNTS, (register_id, event.count_number))
            if count is None:
                return
            count = dict(count)
            if isinstance(event, CashRegister.HandedOver):
                count["handed_over_to"] = event.incoming
            else:
                count["regularised_on"] = day
                count["regularisation"] = event.kind
                count["regularisation_version"] = event.originator_version
            rows.put(COUNTS, count)

    @staticmethod
    def _deposits(event: Any, register_id: str, day: Any, rows: Rows) -> None:
        """Deposit movements of the event (received, cancelled, refunded, withheld)."""
        if isinstance(event, CashRegister.ReceiptIssued | CashRegister.ReceiptCancelled):
            amount = sum(x.amount_cents for x in event.lines if x.revenue_type == "deposit")
            kind = "received" if isinstance(event, CashRegister.ReceiptIssued) else "cancelled"
            reason = None
        elif isinstance(event, CashRegister.DepositRefunded):
            amount, kind, reason = event.amount_cents, "refunded", None
        elif isinstance(event, CashRegister.DepositWithheld):
            amount, kind, reason = event.amount_cents, "withheld", event.reason
        else:
            return
        if not amount:
            return
        rows.add(
            DEPOSITS,
            {
                "register_id": register_id,
                "version": event.originator_version,
                "aire_id": str(event.aire_id),
                "stay_id": None if event.stay_id is None else str(event.stay_id),
                "day": day,
                "kind": kind,
                "reason": reason,
                "amount_cents": amount,
            },
        )


def _pair_of(pairs: list[tuple[str, str, int]], account: str, amount: int) -> Any:
    """The first pair of the entry that moves ``amount`` in or out of ``account`` (taken
    from ``pairs``), or None (an amount of zero posts nothing)."""
    for n, (debit, credit, moved) in enumerate(pairs):
        if moved == amount and account in (debit, credit):
            return pairs.pop(n)
    return None


def summaries(rows: list[Row], period: str) -> list[Row]:
    """Daily (``period="day"``) or monthly (``"month"``) summaries of journal lines: money in
    and out by method, net receipts by revenue type, receipts and cancellations, and the
    balances by method at the end of the period."""
    groups: dict[str, Row] = {}
    for row in rows:
        key = row["day"].isoformat() if period == "day" else row["day"].isoformat()[:7]
        group = groups.setdefault(
            key,
            {
                "period": key,
                "lines": 0,
                "receipts": 0,
                "cancellations": 0,
                "in_by_method_cents": {},
                "out_by_method_cents": {},
                "receipts_by_revenue_type_cents": {},
            },
        )
        group["lines"] += 1
        method = row["method"]
        if method is not None and row["kind"] != "opening":
            for field, amount in (
                ("in_by_method_cents", row["amount_in_cents"]),
                ("out_by_method_cents", row["amount_out_cents"]),
            ):
                if amount:
                    group[field][method] = group[field].get(method, 0) + amount
        if row["kind"] in ("receipt", "cancellation"):
            sign = 1 if row["kind"] == "receipt" else -1
            by_type = group["receipts_by_revenue_type_cents"]
            amount = row["amount_in_cents"] or row["amount_out_cents"]
            by_type[row["revenue_type"]] = by_type.get(row["revenue_type"], 0) + sign * amount
            if row["line"] == 0:
                group["receipts" if sign > 0 else "cancellations"] += 1
        group["closing_balances_cents"] = {m: row[f"balance_{m}_cents"] for m in METHODS}
    return [groups[k] for k in sorted(groups)]
