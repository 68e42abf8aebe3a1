"""Account numbers: every account the ledger posts to has a number in the chart of every
mode (M57 for régie and marché, PCG for DSP), and an entry reads as debit/credit pairs.

Events are made by the aggregates themselves (no database), as in ``test_accounts``.
"""

from __future__ import annotations

import ast
import inspect
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from hacienda_ledger.aggregates import accounts
from hacienda_ledger.aggregates.accounts import entry_lines
from hacienda_ledger.aggregates.chart import (
    CHARTS,
    M57,
    PCG,
    account_number,
    chart_key,
    charts_digest,
    entry_pairs,
)
from hacienda_ledger.aggregates.register import CashRegister
from hacienda_ledger.aggregates.values import Mode, PaymentMethod, RevenueType
from tests.unit.test_accounts import (
    AIRE_ID,
    REGISTER_ID,
    STAY_ID,
    TARIFF,
    at,
    last,
    open_register,
    open_stay,
    receipt,
)

ID = UUID(int=7)


def accounts_of_kind(function: str) -> list[str]:
    """Every account a constructor of ``accounts.py`` can name: each payment method for a
    cash account, each revenue type a revenue account takes (a deposit never is revenue, nor
    an advance: both need a stay, and are held for it)."""
    make = getattr(accounts, function)
    if function == "cash":
        return [make(ID, m.value) for m in PaymentMethod]
    if function == "revenue":
        held = (RevenueType.DEPOSIT, RevenueType.ADVANCE)
        return [make(ID, t.value) for t in RevenueType if t not in held]
    return [make(ID)]


def constructors_posted_to() -> set[str]:
    """The account constructors ``entry_lines`` (and the helpers it calls) post to, read
    from the source: a new kind of account in an entry is found here."""
    tree = ast.parse(inspect.getsource(accounts))
    named = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "_named" for d in node.decorator_list)
    } | {  # the accounts kept one per id, made by ``_per_id`` (each ``_named`` there)
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "_per_id"
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    used: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("entry_lines", "_receipt_credits"):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                    used.add(call.func.id)
    return used & named


def test_every_account_the_entries_post_to_has_a_number_in_every_chart() -> None:
    """Given every constructor the journal entries call, when each account it can name is
    looked up in the chart of each mode, then it has a number, and the charts hold nothing
    else (no number for an account the ledger never posts to)."""
    used = constructors_posted_to()
    assert used == {
        "receivable",
        "revenue",
        "cash",
        "float_account",
        "deposits",
        "advances",
        "remitted",
        "over_short",
    }
    posted = [account for function in sorted(used) for account in accounts_of_kind(function)]
    for mode in Mode:
        for account in posted:
            found = account_number(mode, account)
            assert found.number.isdigit() and found.label, (mode, account)
    keys = {chart_key(account) for account in posted}
    assert set(M57) == keys
    assert set(PCG) == keys
    assert dict(CHARTS) == {Mode.REGIE: M57, Mode.MARCHE: M57, Mode.DSP: PCG}


@pytest.mark.parametrize(
    ("account", "m57", "pcg"),
    [
        (f"cash/{REGISTER_ID}/cash", "5411", "530"),
        (f"cash/{REGISTER_ID}/cheque", "5411", "5112"),
        (f"cash/{REGISTER_ID}/card", "5411", "512"),
        (f"cash/{REGISTER_ID}/transfer", "5411", "512"),
        (f"float/{REGISTER_ID}", "515", "512"),
        (f"remitted/{REGISTER_ID}", "515", "512"),
        (f"deposits/{STAY_ID}", "165", "165"),
        (f"receivable/{STAY_ID}", "4111", "411"),
        (f"revenue/{AIRE_ID}/pitch_fee", "7066", "706"),
        (f"revenue/{AIRE_ID}/water", "70878", "706"),
        (f"revenue/{AIRE_ID}/electricity", "70878", "706"),
        (f"revenue/{AIRE_ID}/other", "7588", "758"),
        (f"over_short/{REGISTER_ID}", "4718", "471"),
    ],
)
def test_the_number_of_each_account_in_each_chart(account: str, m57: str, pcg: str) -> None:
    """The table of docs/accounts.md, account by account: régie and marché read M57, a DSP
    delegate the PCG."""
    assert account_number("regie", account).number == m57
    assert account_number(Mode.MARCHE, account).number == m57
    assert account_number("dsp", account).number == pcg


def test_an_unknown_account_or_mode_has_no_number() -> None:
    with pytest.raises(KeyError):
        account_number("regie", f"revenue/{AIRE_ID}/deposit")
    with pytest.raises(ValueError, match="spic"):
        account_number("spic", f"float/{REGISTER_ID}")


def test_the_digest_changes_with_any_number() -> None:
    """The cash journal's version carries this digest: a corrected number makes its tables
    outdated (rebuilt, never half old numbers)."""
    before = charts_digest()
    assert before == charts_digest()
    key = ("over_short", None)
    saved = M57[key]
    try:
        M57[key] = type(saved)("4719", saved.label)  # type: ignore[index]
        assert charts_digest() != before
    finally:
        M57[key] = saved  # type: ignore[index]
    assert charts_digest() == before


def test_an_entry_reads_as_debit_and_credit_pairs_summing_to_its_postings() -> None:
    """Given events of each financial kind, when their entries are read as pairs, then
    each pair is (debit, credit, amount > 0), a receipt pairs its cash with each line, a
    credit line of charges pairs revenue with the receivable, and the pairs add up to the
    entry's postings account by account."""
    register = open_register()
    opening = entry_pairs_of_pending(register)
    receipt(register, ("deposit", 15000), ("pitch_fee", 2400))
    stayed = last(register)
    receipt(register, ("other", 500), ("water", 300), method="card", stay_id=None)
    sale = last(register)
    stay = open_stay()
    stay.read_meter(meter="water", index=Decimal("110"), read_at=at(1, 10), actor="c", at=at(1, 10))
    stay.collect_events()
    stay.assess_charges(through=date(2025, 1, 10), tariffs=(TARIFF,), actor="c", at=at(1, 10))
    charged = last(stay)
    stay.read_meter(
        meter="water", index=Decimal("105"), read_at=at(1, 11), corrects=3, actor="c", at=at(1, 11)
    )
    stay.collect_events()
    stay.assess_charges(through=date(2025, 1, 10), tariffs=(TARIFF,), actor="c", at=at(1, 11))
    credited = last(stay)

    cash, card = f"cash/{REGISTER_ID}/cash", f"cash/{REGISTER_ID}/card"
    receivable = f"receivable/{STAY_ID}"
    assert opening == [[(cash, f"float/{REGISTER_ID}", 5000)]]
    assert entry_pairs(stayed) == [
        (cash, f"deposits/{STAY_ID}", 15000),
        (cash, receivable, 2400),
    ]
    assert entry_pairs(sale) == [
        (card, f"revenue/{AIRE_ID}/other", 500),
        (card, f"revenue/{AIRE_ID}/water", 300),
    ]
    assert entry_pairs(credited) == [(f"revenue/{AIRE_ID}/water", receivable, 1756)]
    for event in (stayed, sale, charged, credited):
        net: dict[str, int] = {}
        for debit, credit, amount in entry_pairs(event):
            assert amount > 0
            net[debit] = net.get(debit, 0) + amount
            net[credit] = net.get(credit, 0) - amount
        posted: dict[str, int] = {}
        for account, amount in entry_lines(event):
            posted[account] = posted.get(account, 0) + amount
        assert net == posted


def test_a_regularisation_reads_as_one_pair_and_a_handover_as_none() -> None:
    """Given a count short and one over, when each difference is regularised, then the
    shortfall made good reads cash / over_short (5411 / 4718, 530 / 471) and the surplus
    taken as revenue over_short / other revenue (4718 / 7588, 471 / 758); the counts and a
    handover move no money."""
    register = open_register()
    register.count_cash(counted_cents=4800, actor="c", at=at(1, 6, 17))
    register.regularise_difference(count_number=1, reference="Q-1", actor="r", at=at(1, 6, 18))
    register.count_cash(counted_cents=5150, actor="c", at=at(1, 6, 19))
    register.regularise_difference(count_number=2, reference="D-1", actor="r", at=at(1, 6, 20))
    register.hand_over(incoming="r2", counted_cents=5150, actor="r", at=at(1, 6, 21))
    events = register.collect_events()
    made_good, taken = (e for e in events if isinstance(e, CashRegister.CashDifferenceRegularised))
    counts_and_handover = [
        e for e in events if isinstance(e, CashRegister.CashCounted | CashRegister.HandedOver)
    ]

    over_short = f"over_short/{REGISTER_ID}"
    assert entry_pairs(made_good) == [(f"cash/{REGISTER_ID}/cash", over_short, 200)]
    assert entry_pairs(taken) == [(over_short, f"revenue/{AIRE_ID}/other", 150)]
    assert len(counts_and_handover) == 4
    assert all(entry_pairs(e) == [] for e in counts_and_handover)
    numbers = {
        mode: [
            (account_number(mode, d).number, account_number(mode, c).number)
            for d, c, _ in (*entry_pairs(made_good), *entry_pairs(taken))
        ]
        for mode in ("regie", "dsp")
    }
    assert numbers == {
        "regie": [("5411", "4718"), ("4718", "7588")],
        "dsp": [("530", "471"), ("471", "758")],
    }


def entry_pairs_of_pending(register: CashRegister) -> list[list[tuple[str, str, int]]]:
    """The pairs of the opening a fresh register still holds (``open_register`` collected
    it: opened again here, its float included)."""
    fresh = CashRegister.open(
        register_id=REGISTER_ID,
        aire_id=AIRE_ID,
        regie_ref="AC-2024-07",
        float_cents=register.float_cents,
        cash_ceiling_cents=120000,
        payment_methods=("cash",),
        revenue_types=("pitch_fee",),
        actor="manager",
        at=at(1, 6, 8),
    )
    return [entry_pairs(e) for e in fresh.collect_events()]


def test_an_event_that_moves_no_money_has_no_pair() -> None:
    """An opening without a float, or any event with no entry, reads as no pair."""
    assert entry_pairs_of_pending(open_register(float_cents=0)) == [[]]
    assert entry_pairs(object()) == []
