"""One pipeline runs every command the same way.

1. **scope**: a user's role and scope are checked against what the command acts on;
2. **queue**: the command joins the process's one ``CommandQueue``; the leader of a batch
   answers each retried request from its idempotency record (below), then
3. **locks** every aggregate the rest of the batch writes (sorted: no deadlock; on
   PostgreSQL an advisory lock across processes), then, for each command in arrival order,
4. **loads** what its handler asks for (once per batch: commands run together see each
   other's events; a register kept from the last batch is brought up to date),
5. **handles** it (a refused command fails alone, unless it had begun changing aggregates),
6. **saves** every event of the batch with one idempotency record per keyed command, in one
   transaction, and answers each caller with its own outcome.

A seal or an erasure runs alone (``Handling.alone``: it reads what is saved, or commits
something of its own before the save): what was queued before it is saved first, and what
was queued after it runs once it is saved.

A command whose idempotency key is recorded already (a retried request) is answered from
its record before anything is locked or loaded: one read of the record's one event, its
fingerprint compared (the same key with other content is ``IdempotencyKeyReused``), so a
replay costs the same on a register of ten events or of twenty thousand. The check is only
a shortcut: the record is still saved in the command's own transaction, so two requests
with one key racing past it still meet at the save.

Anything unusual in a batch (a command refused half way, a conflict on save) sends its
commands down the one-by-one path: each loaded afresh, handled, saved with its record, and
on a version conflict (another writer, or a key recorded since the check) **replayed**
from the record or **retried**. A command refused with a key already recorded answers the
recorded outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

import hacienda_ledger.application.handlers  # noqa: F401  (importing it files every handler)
from hacienda_ledger.aggregates.errors import (
    ConcurrencyConflict,
    IdempotencyKeyReused,
    LedgerError,
)
from hacienda_ledger.aggregates.seal import check_not_sealed
from hacienda_ledger.aggregates.user import User
from hacienda_ledger.application import outage
from hacienda_ledger.application.commands import Command
from hacienda_ledger.application.handling import HANDLERS, Change, Handling, Unit
from hacienda_ledger.application.idempotency import IdempotencyRecord
from hacienda_ledger.application.queue import CommandQueue, Job

A = TypeVar("A", bound=Aggregate)

if TYPE_CHECKING:
    from hacienda_ledger.application.ledger import Ledger


@dataclass(frozen=True)
class Outcome:
    """What a write recorded: the aggregate, its version, the stream position of the last
    event, and command-specific results. ``replayed`` when an idempotency key matched."""

    aggregate_id: UUID
    version: int
    position: int
    result: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    # the target's events this write recorded; on a replay, the one its first answer named
    events: tuple[Any, ...] = ()


class Writer(Protocol):
    """How the Ledger runs its commands: the pipeline here, or a variant plugged in by the
    composition root (the generator's bulk writer)."""

    def run(self, command: Command, user: User | None) -> Outcome: ...

    def held(self, aggregate_id: UUID) -> Aggregate | None:
        """An aggregate the writer holds newer than the store, if any (else None)."""
        ...

    def close(self) -> None: ...


def handling(command: Command) -> Handling:
    try:
        return HANDLERS[type(command)]
    except KeyError:
        raise TypeError(f"no handler for {type(command).__name__}") from None


class Registers:
    """Registers and aires being written (``handling.KEPT``), kept between commands. Only
    touched under the aggregate's write lock; brought up to date before each use; forgotten
    after any failure."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._kept: dict[UUID, Aggregate] = {}

    def for_write(self, cls: type[A], aggregate_id: UUID, missing: type[Exception]) -> A:
        kept = self._kept.get(aggregate_id)
        if kept is None or kept.pending_events or not isinstance(kept, cls):
            kept = self.ledger.load(cls, aggregate_id, missing)
        elif not self.ledger.locks.continuous(aggregate_id):
            for event in self.ledger.events.get(aggregate_id, gt=kept.version):
                event.mutate(kept)  # type: ignore[attr-defined]
        # else: the lock came straight from this process's last writer: nothing new
        self._kept[aggregate_id] = kept
        return kept

    def forget(self, aggregate_ids: Sequence[UUID]) -> None:
        for aggregate_id in aggregate_ids:
            self._kept.pop(aggregate_id, None)


@dataclass
class _Ran:
    """A command handled in a batch, before the batch is saved."""

    job: Job[Command]
    change: Change
    version: int  # the target's version once the command had run
    events: tuple[Any, ...]  # the target's events this command recorded
    record: IdempotencyRecord | None


class Pipeline:
    """The default ``Writer``: scope, queue, locks, idempotency, load, handle, save, retry."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.registers = Registers(ledger)
        self.queue: CommandQueue[Command] = CommandQueue(self._run_batch, outage.unavailable)

    def run(self, command: Command, user: User | None) -> Outcome:
        entry = handling(command)
        if user is not None:
            for scope in entry.scopes(command):
                self.ledger.access.check(user, entry.permission, scope)
        outcome = self.queue.run(command)
        assert isinstance(outcome, Outcome)
        return outcome

    def held(self, aggregate_id: UUID) -> Aggregate | None:
        return None

    def close(self) -> None:
        """Nothing of its own to release (the Ledger closes the locks)."""

    # --- a batch ------------------------------------------------------------------------------

    #: Aggregates locked at once by one batch at most: on PostgreSQL each holds a connection
    #: of the lock pool (16, of which up to 8 may linger): a larger batch runs in parts.
    MAX_LOCKS = 8

    def _run_batch(self, jobs: Sequence[Job[Command]]) -> None:
        """The jobs in parts run together: a new part past ``MAX_LOCKS`` aggregates, and a
        command that runs ``alone`` (``Handling.alone``) is a part of its own, run once the
        part before it is saved (its locks and record taken then) and saved before the
        next part is begun."""
        part: list[Job[Command]] = []
        keys: list[UUID] = []
        for job in jobs:
            alone = self._alone_filed(job)
            if part and alone:
                self._run_locked(part, keys)
                part, keys = [], []
            try:
                # A retried request is answered from its record: no lock, nothing loaded.
                replay = self._replay(job.work)
                if replay is not None:
                    job.succeed(replay)
                    continue
                wanted = list(handling(job.work).locks(job.work, self.ledger))
            except Exception as error:  # its key used for another request, the stay to
                job.fail(error)  # depart from missing...
                continue
            if part and len(set(keys) | set(wanted)) > self.MAX_LOCKS:
                self._run_locked(part, keys)
                part, keys = [], []
            part.append(job)
            keys.extend(wanted)
            if alone:
                self._run_locked(part, keys)
                part, keys = [], []
        if part:
            self._run_locked(part, keys)

    @staticmethod
    def _alone_filed(job: Job[Command]) -> bool:
        try:
            return handling(job.work).alone
        except TypeError:  # no handler: it fails where its locks are asked for
            return False

    def _run_locked(self, jobs: Sequence[Job[Command]], keys: Sequence[UUID]) -> None:
        """Under the locks of ``keys``: the jobs together, or else one by one."""
        try:
            with self.ledger.locks.hold_all(keys):
                if len(jobs) > 1 and self._together(jobs, keys):
                    return
                for job in jobs:
                    try:
                        job.succeed(self._alone(job.work, keys))
                    except Exception as error:
                        job.fail(error)
                        if outage.unavailable(error):  # the others would fail alike: now
                            raise
        except Exception as error:  # the locks could not be had (a lost connection, say)
            for job in jobs:
                if not job.done:
                    job.fail(error)

    def _together(self, jobs: Sequence[Job[Command]], locked: Sequence[UUID]) -> bool:
        """One save for every command the aggregates accept; False (nothing saved, every
        command left to run alone) when the batch cannot be trusted."""
        unit = Unit(self.ledger, locked, self.registers)
        ran: list[_Ran] = []
        refused: list[tuple[Job[Command], LedgerError]] = []
        for job in jobs:
            before = unit.pending()
            try:
                self._check_sealed(job.work, unit)
                change = handling(job.work).handle(job.work, unit)
            except LedgerError as refusal:
                if unit.changed_since(before):
                    self.registers.forget(unit.registers())
                    return False
                refused.append((job, refusal))
                continue
            except BaseException as error:
                self.registers.forget(unit.registers())
                if outage.unavailable(error):  # the database is away: no job can run alone
                    raise
                return False
            unit.add(change)
            mine = tuple(change.target.pending_events[before.get(change.target.id, 0) :])
            record = self._record(job.work, change) if job.work.idempotency_key else None
            ran.append(_Ran(job, change, change.target.version, mine, record))
        records = [r.record for r in ran if r.record is not None]
        try:
            recordings = self.ledger.save(*unit.to_save(), *records) if ran else []
        except IntegrityError:
            # A retried request (its record exists), a key twice in the batch, or another
            # writer: sort it out one command at a time.
            self.registers.forget(unit.registers())
            return False
        except BaseException:
            self.registers.forget(unit.registers())
            raise
        positions = {
            (r.domain_event.originator_id, r.domain_event.originator_version): r.notification.id
            for r in recordings
        }
        for r in ran:
            target_id, version = r.change.target.id, r.version
            position = positions.get((target_id, version)) or self.ledger.position_of(
                target_id, version
            )
            r.job.succeed(Outcome(target_id, version, position, r.change.result, events=r.events))
        for job, reason in refused:
            try:
                self._abandon(job.work)
                replay = self._replay(job.work)
            except Exception as error:  # the key was used for another request, say
                job.fail(error)
                continue
            if replay is not None:
                job.succeed(replay)
            else:
                job.fail(reason)
        return True

    # --- one command alone --------------------------------------------------------------------

    def _alone(self, command: Command, locked: Sequence[UUID]) -> Outcome:
        """Run, save with its record, and on a conflict replay or run again (commands are
        pure functions of the loaded state and their arguments: running again is safe)."""
        entry = handling(command)
        retries = self.ledger.settings.write_retries
        for _ in range(retries + 1):
            unit = Unit(self.ledger, locked, self.registers)
            try:
                self._check_sealed(command, unit)
                change = entry.handle(command, unit)
            except LedgerError:
                self._fail(command, unit)
                replay = self._replay(command)
                if replay is not None:
                    return replay
                raise
            except BaseException:
                self._fail(command, unit)
                raise
            unit.add(change)
            records = [self._record(command, change)] if command.idempotency_key else []
            target = change.target
            try:
                recordings = self.ledger.save(*unit.to_save(), *records)
            except IntegrityError:
                self._fail(command, unit)
                replay = self._replay(command)
                if replay is not None:
                    return replay
                created = entry.creates(command)
                if created and not command.idempotency_key and self.ledger.exists(created):
                    raise command.already_exists(created) from None
                continue
            except BaseException:
                self._fail(command, unit)
                raise
            return self._outcome(target, change.result, recordings)
        raise ConcurrencyConflict(
            f"{command.command_name}: the aggregate kept changing; retried {retries} times"
        )

    def _check_sealed(self, command: Command, unit: Unit) -> None:
        """``PeriodSealed`` for a command dated inside a month its aire has sealed: one
        check for every command, from the business days it carries (``Command.days``) and
        the aire it acts on. Checked under the command's locks: a seal takes the aire's and
        its registers' (and stays' commands take their aire's)."""
        days = command.days()
        if not days:
            return
        access = self.ledger.access
        for scope in handling(command).scopes(command):
            if scope.aire_id is not None:
                aire_id = scope.aire_id
            elif scope.register_id is not None:
                aire_id = access.aire_of_register(scope.register_id)
            elif scope.stay_id is not None:
                aire_id = access.aire_of_stay(scope.stay_id)
            else:
                continue
            check_not_sealed(unit.sealed_through(aire_id), days)

    def _fail(self, command: Command, unit: Unit) -> None:
        self.registers.forget(unit.registers())
        self._abandon(command)

    def _abandon(self, command: Command) -> None:
        abandon = handling(command).abandon
        if abandon is not None:
            abandon(command, self.ledger)

    def _outcome(
        self, target: Aggregate, result: dict[str, Any], recordings: Sequence[Recording[UUID]]
    ) -> Outcome:
        mine = [r for r in recordings if r.domain_event.originator_id == target.id]
        position = max((r.notification.id for r in mine), default=0)
        events = tuple(r.domain_event for r in mine)
        return Outcome(target.id, target.version, position, result, events=events)

    # --- idempotency --------------------------------------------------------------------------

    def _record(self, command: Command, change: Change) -> IdempotencyRecord:
        assert command.idempotency_key is not None
        return IdempotencyRecord.record(
            key=command.idempotency_key,
            command=command.command_name,
            fingerprint=command.fingerprint(),
            target_id=change.target.id,
            target_version=change.target.version,
            result=change.result,
            actor=command.actor,
            at=self.ledger.now(),
        )

    def _replay(self, command: Command) -> Outcome | None:
        """The recorded outcome of the command's key, if any (one read of the record's only
        event: records never change)."""
        if not command.idempotency_key:
            return None
        ledger = self.ledger
        stored = ledger.recorder.select_events(
            IdempotencyRecord.id_for(command.idempotency_key), limit=1
        )
        if not stored:
            return None
        record = ledger.mapper.to_domain_event(stored[0])
        assert isinstance(record, IdempotencyRecord.Recorded)
        if record.fingerprint != command.fingerprint():
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request", field="Idempotency-Key"
            )
        position, event = ledger.stored_at(record.target_id, record.target_version)
        return Outcome(
            record.target_id,
            record.target_version,
            position,
            record.result,
            replayed=True,
            events=(event,) if event is not None else (),
        )
