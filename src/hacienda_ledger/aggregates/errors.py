"""Domain errors. Every error has a stable ``code`` (listed in docs/errors.md).

The tree::

    LedgerError
    ├── Unauthenticated         unauthenticated       -> 401
    │   ├── TokenExpired            token_expired
    │   └── TokenRevoked            token_revoked
    ├── Forbidden (PermissionError) forbidden         -> 403
    │   └── OutsideCollectivite     outside_collectivite
    ├── NotFound (LookupError)                        -> 404
    │   ├── UserNotFound            user_not_found
    │   ├── TokenNotFound           token_not_found
    │   ├── AnalyticsTableNotFound  analytics_table_not_found
    │   ├── AnalyticsNotPublished   analytics_not_published
    │   ├── AireNotFound            aire_not_found
    │   ├── CollectiviteNotFound    collectivite_not_found
    │   ├── StayNotFound            stay_not_found
    │   ├── RegisterNotFound        register_not_found
    │   ├── EmplacementNotFound     emplacement_not_found
    │   ├── ReceiptNotFound         receipt_not_found
    │   ├── SlipNotFound            slip_not_found
    │   ├── ReportNotFound          report_not_found
    │   ├── ReadingNotFound         reading_not_found
    │   ├── HouseholdNotFound       household_not_found
    │   ├── SealNotFound            seal_not_found
    │   ├── CountNotFound           count_not_found
    │   ├── InterventionNotFound    intervention_not_found
    │   └── DocumentNotFound        document_not_found
    ├── DocumentCorrupted       document_corrupted    -> 500
    ├── Conflict                                      -> 409
    │   ├── AlreadyExists           already_exists
    │   ├── TokenAlreadyRevoked     token_already_revoked
    │   ├── NoTariffInForce         no_tariff_in_force
    │   ├── EmplacementUnavailable  emplacement_unavailable
    │   ├── StayClosed              stay_closed
    │   ├── NothingDue              nothing_due
    │   ├── MoreThanDue             more_than_due
    │   ├── BalanceUnsettled        balance_unsettled
    │   ├── AdvanceApplied          advance_applied
    │   ├── NoAdvanceHeld           no_advance_held
    │   ├── StayNotDeparted         stay_not_departed
    │   ├── ReceiptAlreadyCancelled receipt_already_cancelled
    │   ├── ReceiptAlreadyRemitted  receipt_already_remitted
    │   ├── CancellationPending     cancellation_pending
    │   ├── CancellationNotPending  cancellation_not_pending
    │   ├── SelfApproval            self_approval
    │   ├── NotRequester            not_requester
    │   ├── PeriodClosed            period_closed
    │   ├── PeriodSealed            period_sealed
    │   ├── MonthNotClosed          month_not_closed
    │   ├── MonthNotSealed          month_not_sealed
    │   ├── EarlierMonthNotSealed   earlier_month_not_sealed
    │   ├── SealedFiguresChanged    sealed_figures_changed
    │   ├── TariffRetroactive       tariff_retroactive
    │   ├── AttestationKeyMissing   attestation_key_missing
    │   ├── InsufficientFunds       insufficient_funds
    │   ├── SlipUnbalanced          slip_unbalanced (with the expected amounts)
    │   ├── CashDifferenceNotOpen   cash_difference_not_open
    │   ├── PersonalDataErased      personal_data_erased
    │   ├── InterventionFinal       intervention_final
    │   ├── IdempotencyKeyReused    idempotency_key_reused (422 at the API)
    │   └── ConcurrencyConflict     concurrency_conflict
    └── Invalid (ValueError)                          -> 422
        ├── InvalidAmount           invalid_amount
        │   └── AmountTooLarge          amount_too_large (past ``values.MAX_CENTS``)
        ├── InvalidPeriod           invalid_period
        ├── ClosureTooLong          closure_too_long
        ├── DerogationRequired      prefect_derogation_required
        ├── NoticeTooShort          closure_notice_too_short
        ├── ExtensionBeyondCap      extension_beyond_cap
        ├── MeterIndexDecreased     meter_index_decreased
        ├── NotAllowed              not_allowed (revenue type / payment method not allowed)
        ├── ExportTooLarge          export_too_large
        ├── DocumentTooLarge        document_too_large -> 413
        ├── UnsupportedDocumentType unsupported_document_type -> 415
        └── InvalidValue            invalid_value

Errors carry ``field`` (the offending input, when there is one) and a French-free English
``detail``; the API turns them into RFC 9457 problem documents in one handler. An error
may add ``extensions``: members of its problem document beside the standard ones (a slip
that does not balance says what it expected).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose."""

    code = "ledger_error"
    #: The HTTP status when it is not its family's (``api/problems.py``).
    http_status: int | None = None
    extensions: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Unauthenticated(LedgerError):
    code = "unauthenticated"


class TokenExpired(Unauthenticated):
    """A token past its expiry (issued at T, refused from T + its lifetime)."""

    code = "token_expired"


class TokenRevoked(Unauthenticated):
    """A token revoked, or rotated and past its grace."""

    code = "token_revoked"


class Forbidden(LedgerError, PermissionError):
    code = "forbidden"


class OutsideCollectivite(Forbidden):
    """A reference across collectivités: a household, a stay or a register named from an
    aire or a register of another collectivité (whatever the user's role)."""

    code = "outside_collectivite"


class NotFound(LedgerError, LookupError):
    code = "not_found"


class Conflict(LedgerError):
    code = "conflict"


class Invalid(LedgerError, ValueError):
    code = "invalid"


class UserNotFound(NotFound):
    code = "user_not_found"


class TokenNotFound(NotFound):
    code = "token_not_found"


class AnalyticsTableNotFound(NotFound):
    code = "analytics_table_not_found"


class AnalyticsNotPublished(NotFound):
    """No analytics publication as of the day asked (or before): reads never compute one;
    ``hacienda-ledger analytics publish`` (or the serving process, daily) makes it."""

    code = "analytics_not_published"


class AireNotFound(NotFound):
    code = "aire_not_found"


class CollectiviteNotFound(NotFound):
    code = "collectivite_not_found"


class StayNotFound(NotFound):
    code = "stay_not_found"


class RegisterNotFound(NotFound):
    code = "register_not_found"


class EmplacementNotFound(NotFound):
    code = "emplacement_not_found"


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"


class SlipNotFound(NotFound):
    code = "slip_not_found"


class ReportNotFound(NotFound):
    code = "report_not_found"


class ReadingNotFound(NotFound):
    code = "reading_not_found"


class HouseholdNotFound(NotFound):
    code = "household_not_found"


class SealNotFound(NotFound):
    code = "seal_not_found"


class CountNotFound(NotFound):
    """No cash count (arrêté de caisse) of this number on the register."""

    code = "count_not_found"


class InterventionNotFound(NotFound):
    code = "intervention_not_found"


class DocumentNotFound(NotFound):
    """No document of that id on the aire, or no such version of it."""

    code = "document_not_found"


class DocumentCorrupted(LedgerError):
    """A document's stored bytes no longer hash to the SHA-256 its version recorded (or are
    missing): the store was tampered with or damaged; restore it from a backup."""

    code = "document_corrupted"
    http_status = 500


class DocumentTooLarge(Invalid):
    """An uploaded document larger than the setting ``document_max_bytes``."""

    code = "document_too_large"
    http_status = 413


class UnsupportedDocumentType(Invalid):
    """An uploaded file whose first bytes are not those of a PDF, PNG, JPEG or WebP file
    (whatever its name or declared type say)."""

    code = "unsupported_document_type"
    http_status = 415


class InterventionFinal(Conflict):
    """An intervention done or cancelled: its status is final."""

    code = "intervention_final"


class PersonalDataErased(Conflict):
    """The household's key is destroyed: its personal data can be neither read nor written."""

    code = "personal_data_erased"


class NoTariffInForce(Conflict):
    code = "no_tariff_in_force"


class AlreadyExists(Conflict):
    code = "already_exists"


class TokenAlreadyRevoked(Conflict):
    """Revoking a token already refused, or rotating one revoked or rotated already."""

    code = "token_already_revoked"


class EmplacementUnavailable(Conflict):
    code = "emplacement_unavailable"


class StayClosed(Conflict):
    code = "stay_closed"


class NothingDue(Conflict):
    """A payment line of a revenue type of which nothing is due on the stay."""

    code = "nothing_due"


class MoreThanDue(Conflict):
    """A payment (or a withholding for unpaid charges) beyond what is due."""

    code = "more_than_due"


class BalanceUnsettled(Conflict):
    """A deposit refunded while the stay still owes: settle it or withhold first."""

    code = "balance_unsettled"


class AdvanceApplied(Conflict):
    """A receipt holding an advance cancelled once the advances held for its stay no
    longer cover it (applied to charges, or refunded): its money is no longer held."""

    code = "advance_applied"


class NoAdvanceHeld(Conflict):
    """An advance refunded for a stay for which the register holds none (or less)."""

    code = "no_advance_held"


class StayNotDeparted(Conflict):
    """A deposit is refunded, or withheld for damage, only once the household has left."""

    code = "stay_not_departed"


class ReceiptAlreadyCancelled(Conflict):
    code = "receipt_already_cancelled"


class ReceiptAlreadyRemitted(Conflict):
    code = "receipt_already_remitted"


class CancellationPending(Conflict):
    """A cancellation of the receipt waits for the régisseur's decision: it is asked once,
    and the receipt is neither cancelled again nor remitted until it is decided."""

    code = "cancellation_pending"


class CancellationNotPending(Conflict):
    """Approving, refusing or withdrawing a cancellation that nobody asked for (or that was
    decided already)."""

    code = "cancellation_not_pending"


class SelfApproval(Conflict):
    """A cancellation approved by the person who asked for it: two people, or a régisseur
    cancelling on their own authority."""

    code = "self_approval"


class NotRequester(Conflict):
    """A pending cancellation withdrawn by someone other than who asked for it (the
    régisseur refuses it instead)."""

    code = "not_requester"


class PeriodClosed(Conflict):
    code = "period_closed"


class PeriodSealed(Conflict):
    """A fact dated inside a month the aire has sealed (its arrêté mensuel)."""

    code = "period_sealed"


class MonthNotClosed(Conflict):
    """A month sealed before every register of the aire has closed it."""

    code = "month_not_closed"


class EarlierMonthNotSealed(Conflict):
    """A month sealed while an earlier one of the aire (since it entered service) is not:
    the months are sealed in order."""

    code = "earlier_month_not_sealed"


class MonthNotSealed(Conflict):
    """A régularisation of a month the aire has not sealed: that month is corrected by
    recording the facts themselves, in it."""

    code = "month_not_sealed"


class SealedFiguresChanged(Conflict):
    """A sealed month's figures, recomputed now, are no longer those its seal recorded (a
    fact of the month changed since): nothing is corrected against them until the seals
    are verified."""

    code = "sealed_figures_changed"


class TariffRetroactive(Conflict):
    """A tariff effective before the day it is recorded, on an aire whose stays have days
    since then."""

    code = "tariff_retroactive"


class AttestationKeyMissing(Conflict):
    """No key to sign attestations with (the ``attestation_key`` setting names none)."""

    code = "attestation_key_missing"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class SlipUnbalanced(Conflict):
    """A remittance slip whose amounts by method are not the total of the movements it
    covers; ``expected_cents`` (by method) is what they total."""

    code = "slip_unbalanced"

    def __init__(
        self, detail: str, *, expected: Mapping[str, int], given: Mapping[str, int]
    ) -> None:
        super().__init__(detail, field="amounts_by_method_cents")
        self.expected = dict(expected)
        self.extensions = {"expected_cents": dict(expected), "given_cents": dict(given)}


class CashDifferenceNotOpen(Conflict):
    """The count found no difference, or its difference is already regularised."""

    code = "cash_difference_not_open"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class ConcurrencyConflict(Conflict):
    code = "concurrency_conflict"


class InvalidAmount(Invalid):
    code = "invalid_amount"


class AmountTooLarge(InvalidAmount):
    """An amount given or computed (a charge line or total, a receipt's line or total)
    past the ledger's one ceiling for money, ``values.MAX_CENTS``: refused before anything
    is recorded."""

    code = "amount_too_large"


class InvalidPeriod(Invalid):
    code = "invalid_period"


class ClosureTooLong(Invalid):
    code = "closure_too_long"


class DerogationRequired(Invalid):
    code = "prefect_derogation_required"


class NoticeTooShort(Invalid):
    code = "closure_notice_too_short"


class ExtensionBeyondCap(Invalid):
    code = "extension_beyond_cap"


class MeterIndexDecreased(Invalid):
    code = "meter_index_decreased"


class NotAllowed(Invalid):
    code = "not_allowed"


class ExportTooLarge(Invalid):
    """An export would hold more rows than ``export_max_rows``: narrow it."""

    code = "export_too_large"


class InvalidValue(Invalid):
    code = "invalid_value"
