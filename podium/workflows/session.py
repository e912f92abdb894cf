"""What every non-project workflow run needs: the config, an engine client under the run's hard budget, call
metadata that groups the run's ledger rows, and the run-record store. Everything that does I/O is injected."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import BudgetExceededError, ValidationError
from podium.core.json_types import JSONObject
from podium.core.money import usd
from podium.core.pipeline import CallMeta
from podium.workflows.records import COMPLETED, FAILED, PAUSED, RunRecord, RunStep, RunStore
from podium.workflows.typed import InvalidModelOutputError, TypedAnswer

if TYPE_CHECKING:
    import httpx

    from podium.config import PodiumConfig
    from podium.engine import Podium


T = TypeVar("T")
UsdAmount = str | Decimal | float  # as given: "2.5", 2.5 or Decimal("2.5")


class Recorded(Protocol):
    """A workflow's result as its run record keeps it."""

    def to_dict(self) -> JSONObject: ...


def new_run_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def positive_usd(value: object, field: str) -> Decimal:
    """``value`` as a positive USD amount, or a one-line ValidationError naming ``field``."""
    try:
        amount: Decimal | None = usd(str(value).strip().lstrip("$"))
    except ValidationError:
        amount = None
    if amount is None or amount <= 0:
        raise ValidationError(
            f"{field} {value!r} is not valid; give a positive amount in USD such as 2.0", field=field, value=value
        )
    return amount


def workflow_environment(
    config: PodiumConfig | None, env: Mapping[str, str] | None, home: Path | None
) -> tuple[dict[str, str], PodiumConfig, Path]:
    """The environment, config and home a workflow runs with: each one given, else the process's own."""
    from podium.catalog.store import podium_home

    environ = dict(os.environ if env is None else env)
    if config is None:
        from podium.config.root import load_config

        config = load_config(env=environ).config
    return environ, config, home or podium_home(environ)


class WorkflowSession:
    """Config, engine clients and the run store for a workflow; ``log_prompts`` keeps prompts and answers."""

    def __init__(
        self,
        config: PodiumConfig | None = None,
        *,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock = SYSTEM_CLOCK,
        store: RunStore | None = None,
        log_prompts: bool = False,
    ) -> None:
        self.env, self.config, self.home = workflow_environment(config, env, home)
        self.http_client = http_client
        self.clock = clock
        self._owns_store = store is None
        self.store = store or RunStore.in_home(self.home, clock=clock)
        self.log_prompts = log_prompts

    @asynccontextmanager
    async def client(
        self, run_id: str, max_usd: Decimal | None, *, config: PodiumConfig | None = None
    ) -> AsyncIterator[Podium]:
        """An engine client whose calls tagged ``project=run_id`` are held to ``max_usd`` by the ledger."""
        from podium.engine import Podium
        from podium.workflows.project.budget import with_project_budget  # the package imports this module

        base = config if config is not None else self.config
        budgeted = with_project_budget(base, run_id, max_usd) if max_usd is not None else base
        client = Podium.from_config(
            budgeted, env=self.env, http_client=self.http_client, home=self.home, clock=self.clock
        )
        try:
            yield client
        finally:
            await client.aclose()

    def meta(self, run_id: str, *, workflow: str, task_type: str, step: str, role: str) -> CallMeta:
        """Call metadata: ledger rows group by run (``project``), say what they were for (``task_type``), and keep
        prompt and answer text only when prompt logging is on."""
        return CallMeta(
            project=run_id,
            task_type=task_type,
            log_text=self.log_prompts,
            tags={"workflow": workflow, "step": step, "role": role},
        )

    @contextmanager
    def saving_failure(self, run: RunRecord, step: RunStep) -> Iterator[None]:
        """Save a single-step run stopped by its budget as paused, or without a usable answer as failed; re-raise."""
        try:
            yield
        except BudgetExceededError as exc:
            step.status, step.error = PAUSED, str(exc)
            run.status, run.stop_reason = PAUSED, "budget"
            self.store.save(run, step)
            raise
        except InvalidModelOutputError as exc:
            step.status, step.error, step.cost_usd, step.tokens = FAILED, str(exc), exc.cost_usd, exc.tokens
            run.status, run.stop_reason = FAILED, str(exc)
            self.store.save(run, step)
            raise

    def save_completed(self, run: RunRecord, step: RunStep, answer: TypedAnswer[T], result: Recorded) -> None:
        """Save a single-step run as completed: the step's model, cost and output, and the run's ``result``."""
        step.model, step.cost_usd, step.tokens, step.attempts = (
            answer.model,
            answer.cost_usd,
            answer.tokens,
            answer.attempts,
        )
        step.output = result.to_dict()
        step.prompts = answer.exchanges if self.log_prompts else None
        run.status, run.result = COMPLETED, result.to_dict()
        self.store.save(run, step)

    def close(self) -> None:
        if self._owns_store:
            self.store.close()


class SessionWorkflow:
    """Base of the workflows run on a ``WorkflowSession``: the one given, or their own, closed with them."""

    def __init__(
        self, config: PodiumConfig | None = None, *, session: WorkflowSession | None = None, **session_kwargs: Any
    ) -> None:
        self.session = session or WorkflowSession(config, **session_kwargs)
        self._owns_session = session is None

    def close(self) -> None:
        if self._owns_session:
            self.session.close()
