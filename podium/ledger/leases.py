"""Reservations are leases: a ledger renews its own, and settles those of replicas that stopped renewing theirs.

A background thread renews this ledger's lease every ``every`` seconds and, in the same transaction, settles the
pending rows of dead owners (pid gone on this host, lease expired, or older than ``stale_pending_s``) at their
reserved worst case, so one crashed replica's holds do not block the others' budgets until it restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from podium.core.clock import Clock
from podium.ledger import operations as ops
from podium.ledger.recovery import owner_alive
from podium.ledger.writer import BatchWriter, Tx

log = logging.getLogger("podium.ledger")


class LeaseKeeper:
    """Holds ``owner``'s lease in the database (shared mode) and reclaims dead owners' reservations."""

    def __init__(
        self,
        writer: BatchWriter,
        *,
        owner: str,
        clock: Clock,
        lease_s: float,
        stale_pending_s: float,
        shared: bool,
    ) -> None:
        self._writer = writer
        self.owner = owner
        self._clock = clock
        self.lease_s = lease_s
        self._stale_pending_s = stale_pending_s
        self._shared = shared
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, every: float) -> None:
        """Take the lease now; renew it (and reclaim) every ``every`` seconds on a thread, unless ``every`` is 0."""
        self._writer.call(partial(ops.renew_lease, owner=self.owner, expires_at=self._end(self._clock.now())))
        if every > 0:
            self._thread = threading.Thread(target=self._loop, args=(every,), name="podium-ledger-lease", daemon=True)
            self._thread.start()

    def _end(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_s)

    def reclaim(self) -> int:
        """Renew this lease and settle the reservations of dead replicas at their reserved worst case; return how
        many. Blocking."""
        now = self._clock.now()
        stale_before = now - timedelta(seconds=self._stale_pending_s)
        alive: Callable[[str], bool] = owner_alive if self._shared else (lambda owner: False)

        def op(tx: Tx) -> int:
            if self._shared:
                ops.renew_lease(tx, self.owner, self._end(now))
            return ops.recover(tx, alive, stale_before, now, self_owner=self.owner)

        count = self._writer.call(op)
        if count:
            log.warning("ledger reclaimed %d reservation(s) of replicas that stopped", count)
        return count

    def _loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.reclaim()
            except Exception as exc:  # noqa: BLE001 - a database hiccup: the next round tries again
                if self._stop.is_set():
                    return
                log.warning("ledger lease renewal failed: %s", exc)

    def stop(self) -> None:
        """Stop renewing; in shared mode drop the lease (else it just expires)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._shared:
            try:
                self._writer.call(partial(ops.drop_lease, owner=self.owner))
            except Exception as exc:  # noqa: BLE001 - the lease then just expires
                log.debug("dropping the ledger lease failed: %s", exc)
