"""Which models a routed call may choose from: the one owner of that question (``CandidateResolver``).

Strategies, the client and the gateway only consume its answer, a ``CandidateList`` that remembers why it was
narrowed. The rules, in order, for a call that names no model:

1. Start list. Models passed to ``route(candidates=)`` win, then ``routing.candidates`` (``--models``). Otherwise,
   in live mode (``default_candidates``):
   - when ``routing.executors`` is set (or its alias ``orchestration.executors``; podium.config.aliases), the
     executors whose provider is enabled and whose key is set (local servers need none) are the
     candidates. The prompt's use cases are ``meta.complexity`` when it is one of the orchestration config's six, else what task
     analysis finds (difficulty, plus ``speed-critical`` / ``reasoning``); when some executors list one of
     them, only those are candidates, else every reachable executor is. When no executor is reachable, the rule
     below applies;
   - otherwise every current (neither deprecated nor legacy) remote catalog model whose provider is enabled and has its key set.
   In replay mode the recorded models are the start list.
2. Who may use what: a caller's allow-list (``CallMeta.model_allowed``, e.g. a gateway key's ``allowed_models``)
   and the policies (``policy:``) drop the models they refuse. In replay mode only models with a recorded answer
   to this very prompt stay (a prompt no model recorded fails with ReplayMissError).
3. ``narrow``: models of a disabled provider are dropped. Then the preferences: when
   ``routing.prefer_free_models`` is true and some candidate costs $0 (input and output price 0) and
   qualifies, only the qualifying $0 models are kept; then, when ``routing.prefer_open_weights`` is true and some
   remaining qualifying model has open weights, only those. A model qualifies when the strategy would accept
   it: it has the capabilities the request needs, the request fits its context window, and its predicted quality
   (the learned router's, else the prior for its quality tier) reaches the routing quality threshold. When no
   preferred model qualifies, the list is left as it was, so a preference never picks a model the strategy
   would otherwise reject.

Each narrowing is remembered on the list it returns (``CandidateList.narrowed_by``) so ``--explain`` can say why the
list is shorter than every reachable model.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from podium.catalog import Catalog
from podium.config.orchestration import USE_CASES, ExecutorConfig
from podium.config.routing import RoutingSettings
from podium.core.errors import ConfigError, ContextWindowError, NoCandidateError, UnknownModelError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest
from podium.engine.providers import ProviderPool

if TYPE_CHECKING:
    from podium.policy import PolicySet
    from podium.providers.replay import ReplayProvider
    from podium.routing.learned_router import QualityRouter

RouterLoader = Callable[[], "QualityRouter | None"]


class CandidateList(list[str]):
    """Candidate model ids that remember why the list was narrowed (one plain sentence each, for ``--explain``)."""

    def __init__(self, ids: Iterable[str] = (), narrowed_by: Iterable[str] = ()) -> None:
        super().__init__(ids)
        self.narrowed_by: tuple[str, ...] = tuple(narrowed_by)


def _reasons(candidates: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(getattr(candidates, "narrowed_by", ()))


def is_free(spec: ModelSpec) -> bool:
    """A $0 model: both its input and output price are known and zero (``:free`` variants, local servers)."""
    return spec.input_per_million == 0 and spec.output_per_million == 0


def default_candidates(
    catalog: Catalog, providers: ProviderPool, settings: RoutingSettings, request: ChatRequest, meta: CallMeta
) -> list[str] | None:
    """The live start list (rule 1): the reachable executors for the prompt's use cases, else reachable models."""
    if providers.replay:
        return None
    executors = settings.executors
    if executors:
        use_cases = request_use_cases(request, meta)
        key = settings.key_of("executors")
        chosen = executor_candidates(executors, catalog, providers, use_cases, key=key)
        if chosen:
            return CandidateList(chosen, [_executor_reason(executors, chosen, use_cases, key)])
        return CandidateList(
            reachable_models(catalog, providers, _named(catalog, settings)),
            [f"no configured executor ({key}) can be reached, so every reachable model is a candidate"],
        )
    return reachable_models(catalog, providers, _named(catalog, settings))


def _named(catalog: Catalog, settings: RoutingSettings) -> set[str]:
    """Catalog ids of the models the routing config names (legacy ones among them stay routable)."""
    return {catalog.get(m).id for m in settings.named_models() if m in catalog}


def _executor_reason(
    executors: Sequence[ExecutorConfig], chosen: Sequence[str], use_cases: Sequence[str], key: str
) -> str:
    wanted = ", ".join(use_cases) or "no particular"
    if any(set(ex.use_cases) & set(use_cases) for ex in executors):
        how = f"the reachable executors for {wanted} tasks"
    else:
        how = f"every reachable executor (none lists {wanted} tasks)"
    return f"candidates narrowed to {how} ({key}): {', '.join(chosen)}"


def reachable_models(catalog: Catalog, providers: ProviderPool, named: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Current remote chat models (embedding models are never routed to) whose provider is enabled and has its key
    set, plus the legacy ones the routing config names (``named``).

    Local servers join only when listed in ``routing.candidates`` or ``routing.executors`` (a catalog entry
    does not mean a server runs).
    """
    reachable: dict[str, bool] = {}  # by provider: a key lookup may read ./.env, so once per provider
    for m in catalog.all():
        if m.provider not in reachable:
            reachable[m.provider] = not providers.is_local(m) and providers.can_serve(m)
    models = [m.id for m in catalog.all() if m.kind == "chat" and (m.current or (m.id in named and not m.deprecated))
              and reachable[m.provider]]
    if not models:
        raise NoCandidateError(
            "no model can be reached: set a provider key such as OPENAI_API_KEY or ANTHROPIC_API_KEY, "
            "configure a local server (ollama, vllm, llamacpp), list models in `routing.candidates`, "
            "or use --replay for the bundled recorded answers",
            unreachable=True,  # callers without --replay (testgen) say what applies to them instead
        )
    return models


def request_use_cases(request: ChatRequest, meta: CallMeta) -> tuple[str, ...]:
    """``meta.complexity`` when it is an orchestration use case, else the use cases task analysis finds in the prompt."""
    if meta.complexity in USE_CASES:
        return (meta.complexity,)
    from podium.routing.task_analysis import analyze

    return analyze(request.last_user_text).use_cases


def executor_candidates(
    executors: Sequence[ExecutorConfig],
    catalog: Catalog,
    providers: ProviderPool,
    use_cases: Sequence[str],
    *,
    key: str = "routing.executors",
) -> list[str]:
    """Reachable executors' model ids: those listing one of ``use_cases`` when any do, else all of them."""
    reachable: list[tuple[ExecutorConfig, str]] = []
    for i, executor in enumerate(executors):
        spec = _executor_spec(catalog, executor, f"{key}[{i}]")
        if providers.can_serve(spec):
            reachable.append((executor, spec.id))
    matching = [model for ex, model in reachable if set(ex.use_cases) & set(use_cases)]
    return list(dict.fromkeys(matching or [model for _, model in reachable]))


def _executor_spec(catalog: Catalog, executor: ExecutorConfig, where: str) -> ModelSpec:
    try:
        return catalog.get(executor.model_id)
    except UnknownModelError:
        hint = ", ".join(catalog.suggest(executor.model_id)) or "run `podium models` to list models"
        raise ConfigError(
            f"{where}.model = {executor.model!r} (provider {executor.provider}) is not a known model; {hint}",
            field=f"{where}.model",
            value=executor.model,
        ) from None


def narrow(
    candidates: Sequence[str] | None,
    *,
    catalog: Catalog,
    providers: ProviderPool,
    settings: RoutingSettings,
    router: RouterLoader,
    request: ChatRequest,
) -> list[str] | None:
    """Rule 3: drop disabled providers' models, then keep only the preferred qualifying models when any exist.

    Returns ``candidates`` itself when nothing changes, so a strategy's own default list stays its default.
    """
    free, open_weights = settings.prefer_free_models, settings.prefer_open_weights
    if not (free or open_weights or providers.has_disabled()):
        return None if candidates is None else CandidateList(candidates, _reasons(candidates))
    ids = candidates if candidates is not None else settings.candidates
    model_router = router() if ids is None or free or open_weights else None
    if ids is None:
        ids = model_router.models if model_router is not None else None
        if ids is None:
            return None  # the strategy has no list either: it says so
    specs = [catalog.get(m) for m in ids]
    enabled = [s for s in specs if providers.is_enabled(s)]
    if specs and not enabled:
        providers.check_enabled(specs[0])  # raises one line naming the setting
    kept = [s.id for s in enabled]
    reasons = list(_reasons(candidates))
    if len(kept) < len(specs):
        off = sorted({s.provider for s in specs if not providers.is_enabled(s)})
        reasons.append(f"dropped the models of disabled providers ({', '.join(off)}; providers.<name>.enabled)")
    if free or open_weights:
        kept, why = preferred(kept, catalog=catalog, settings=settings, router=model_router, request=request,
                              free=free, open_weights=open_weights)
        reasons += why
    unchanged = kept == [s.id for s in specs]
    if unchanged and candidates is None:
        return None if not reasons else CandidateList([s.id for s in specs], reasons)
    return CandidateList(candidates if unchanged and candidates is not None else kept, reasons)


def preferred(
    ids: Sequence[str],
    *,
    catalog: Catalog,
    settings: RoutingSettings,
    router: QualityRouter | None,
    request: ChatRequest,
    free: bool,
    open_weights: bool,
) -> tuple[list[str], list[str]]:
    """``ids`` narrowed to the qualifying $0 (then open-weights) models, or ``ids`` unchanged when none qualifies;
    and a sentence per preference saying what it did."""
    from podium.routing.strategies.base import CandidatePool

    try:
        usable, _ = CandidatePool(catalog, settings, router).build(request, ids)
    except NoCandidateError:
        return list(ids), []  # nothing can take the request: the strategy says why
    chosen = [c for c in usable if (c.predicted_quality or 0.0) >= settings.threshold]
    narrowed, reasons = False, []
    for wanted, keep, what, setting in (
        (free, is_free, "$0 models", settings.key_of("prefer_free_models")),
        (open_weights, _open, "open-weights models", "routing.prefer_open_weights"),
    ):
        subset = [c for c in chosen if keep(c.model)] if wanted else []
        if subset:
            chosen, narrowed = subset, True
            reasons.append(f"candidates narrowed to {what} predicted to reach quality {settings.threshold:.2f} "
                           f"({setting}): {', '.join(c.id for c in subset)}")
        elif wanted:
            reasons.append(f"{setting} is on, but no {what[:-1]} is predicted to reach quality "
                           f"{settings.threshold:.2f} for this request, so it narrowed nothing")
    return ([c.id for c in chosen] if narrowed else list(ids)), reasons


def _open(spec: ModelSpec) -> bool:
    return spec.open_weights


class CandidateResolver:
    """The models a routed call may use, with the reasons the list was narrowed (``--explain`` shows them).

    ``policies_for(meta)`` returns the policy set that applies to a call (or None); ``router()`` the learned router,
    loaded on first use (its recorded models are the replay start list and it rates preferred models).
    """

    def __init__(
        self,
        catalog: Catalog,
        providers: ProviderPool,
        settings: RoutingSettings,
        *,
        router: RouterLoader,
        policies_for: Callable[[CallMeta], PolicySet | None] = lambda _meta: None,
        random: Callable[[], float] | None = None,
    ) -> None:
        self._catalog = catalog
        self._providers = providers
        self._settings = settings
        self._router = router
        self._policies_for = policies_for
        self._random = random or _random.Random().random  # injected in tests; a trial draw is not a secret
        self._replay: ReplayProvider | None = None

    def resolve(
        self, request: ChatRequest, meta: CallMeta, explicit: Sequence[str] | None = None, *, trial: bool = False
    ) -> list[str] | None:
        """The candidate list for this call, or None for "the strategy's own default list" (nothing narrowed it).

        ``trial`` (a call about to run, not an explanation) lets ``routing.trial_share`` of calls go to one of
        ``routing.trial_models``, so a model new to the deployment gets answers to rate.
        """
        candidates: Sequence[str] | None = explicit
        if candidates is None and self._settings.candidates is None:
            candidates = default_candidates(self._catalog, self._providers, self._settings, request, meta)
        if candidates is None and self._settings.candidates is not None:
            candidates = CandidateList(self._settings.candidates)
        if candidates is None and self._providers.replay:
            candidates = self._replay_models()
        candidates = self._allowed(candidates, request, meta)
        found = narrow(
            candidates, catalog=self._catalog, providers=self._providers, settings=self._settings,
            router=self._router, request=request,
        )
        if found is None:
            return None
        found = fitting(self._catalog, found, request)  # a routed prompt goes only to models whose window holds it
        return self._trial(found) if trial else found

    def _trial(self, found: Sequence[str]) -> Sequence[str]:
        s = self._settings
        if not s.trial_models or s.trial_share <= 0:
            return found
        ids = {self._catalog.get(m).id for m in s.trial_models if m in self._catalog}
        among = [m for m in found if m in ids]
        if not among or self._random() >= s.trial_share:
            return found
        chosen = among[int(self._random() * len(among)) % len(among)]
        why = (f"trial share {s.trial_share:.0%}: this call goes to {chosen} (routing.trial_models), so ratings of "
               "its answers can teach the router")
        return CandidateList([chosen], (*_reasons(found), why))

    def _allowed(self, candidates: Sequence[str] | None, request: ChatRequest, meta: CallMeta) -> Sequence[str] | None:
        policies = self._policies_for(meta)
        if candidates is None and (policies or meta.model_allowed is not None):
            router = self._router()  # the strategy's own default list, made explicit so it can be filtered
            candidates = router.models if router is not None else None
        if candidates is None:
            return None
        reasons = list(_reasons(candidates))
        specs = [self._catalog.get(c) for c in candidates]
        if meta.model_allowed is not None:
            kept = [s for s in specs if meta.model_allowed(s.id)]
            if not kept:
                raise NoCandidateError(
                    "no candidate model is allowed for this caller (its allowed_models match none of "
                    f"{', '.join(s.id for s in specs[:6])}{', ...' if len(specs) > 6 else ''})"
                )
            if len(kept) < len(specs):
                reasons.append("candidates narrowed to the caller's allowed models")
            specs = kept
        if policies:
            specs = list(policies.select(specs, request))
        if self._providers.replay:
            specs = self._recorded(specs, request)
        return CandidateList([s.id for s in specs], reasons)

    def _replay_provider(self) -> ReplayProvider:
        if self._replay is None:
            from podium.providers.replay import ReplayProvider

            self._replay = ReplayProvider()
        return self._replay

    def _replay_models(self) -> CandidateList:
        return CandidateList([m for m in self._replay_provider().models if m in self._catalog])

    def _recorded(self, specs: Sequence[ModelSpec], request: ChatRequest) -> list[ModelSpec]:
        """In replay mode: the models with a recorded answer to this prompt (a strategy cannot use any other)."""
        replay = self._replay_provider()
        texts = (request.last_user_text, request.prompt_text)
        found = [s for s in specs if any(replay.lookup(t, s) is not None for t in texts)]
        if not found:
            raise replay.miss(request, [s.id for s in specs])
        return found


def fitting(catalog: Catalog, candidates: Sequence[str], request: ChatRequest) -> Sequence[str]:
    """The candidates whose context window holds the prompt; all of them unchanged when each does."""
    tokens = estimate_request_tokens(request)
    specs = [catalog.get(c) for c in candidates]
    if all(tokens <= s.context_window for s in specs):
        return candidates
    kept = [c for c, s in zip(candidates, specs, strict=True) if tokens <= s.context_window]
    if not kept:
        widest = max(specs, key=lambda s: s.context_window)
        raise ContextWindowError(widest.id, tokens, widest.context_window)
    reasons = (*getattr(candidates, "narrowed_by", ()), "candidates narrowed to models whose context window holds the prompt")
    return CandidateList(kept, reasons)
