"""Task analysis: what kind of task a prompt is, how hard, whether speed matters and whether it needs reasoning.

Rules (compiled regexes, keyword sets, length) cover every task type; a learned classifier, trained on the
labelled bundled data, adds evidence for the types that data covers, weighted by how familiar the prompt looks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.routing.features import hashed_counts

if TYPE_CHECKING:
    from podium.routing.task_classifier import TaskClassifier

TASK_TYPES: tuple[str, ...] = (
    "code",
    "math",
    "reasoning",
    "knowledge_qa",
    "writing",
    "chat",
    "extraction",
    "planning",
)
DIFFICULTIES: tuple[str, ...] = ("simple", "moderate", "complex", "expert")
USE_CASES: tuple[str, ...] = ("simple", "moderate", "complex", "expert", "speed-critical", "reasoning")

_WORD = re.compile(r"[a-z0-9_+#']+")


@dataclass(frozen=True, slots=True)
class _Rule:
    """One piece of evidence: any listed word, any phrase (word-bounded) or the structural pattern."""

    words: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None

    def hit(self, text: str, words: set[str], joined: str) -> bool:
        return (
            not self.words.isdisjoint(words)
            or any(f" {p} " in joined for p in self.phrases)
            or (self.pattern is not None and self.pattern.search(text) is not None)
        )


def _r(words: str = "", phrases: tuple[str, ...] = (), pattern: str | None = None, flags: int = 0) -> _Rule:
    return _Rule(frozenset(words.split()), phrases, re.compile(pattern, flags) if pattern else None)


# Keyword sets and cheap structural patterns: set lookups keep analysis well under a millisecond.
_RULES: dict[str, tuple[_Rule, ...]] = {
    "code": (
        _r(pattern=r"```|\bdef \w+\(|\bclass \w+[:(]|=>|\w\(\)|;\n|</\w+>"),
        _r(
            "python javascript typescript java rust golang c++ sql regex api bug debug compile refactor "
            "exception implement algorithm script code function",
            ("unit test", "unit tests", "stack trace"),
        ),
    ),
    "math": (
        _r(pattern=r"\d\s*[-+*/^=]\s*\d|\$\d|\d%|\\frac|sqrt"),
        _r(
            "calculate compute solve equation probability percent average integral derivative theorem",
            ("how many", "how much", "sum of", "product of", "prove that"),
        ),
    ),
    "reasoning": (
        _r("why logic logical puzzle riddle infer deduce implies therefore reason", ("step by step",)),
        _r(pattern=r"(?:^|\s)_(?:\s|[.,]|$)"),
    ),
    "knowledge_qa": (
        _r(
            pattern=r"(?:^|[.,;:!?]\s+)(?:[Ww]hat|[Ww]ho|[Ww]hen|[Ww]here|[Ww]hich|[Hh]ow do|[Hh]ow does)\b",
            flags=re.MULTILINE,
        ),
        _r(pattern=r"^\s*[A-D]\)\s", flags=re.MULTILINE),
        # "What is Python?": a short question asking what something is, even when the thing is a language name
        _r(
            pattern=r"\A\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?"
            r"[A-Za-z][\w.+#-]*(?:\s+[A-Za-z][\w.+#-]*){0,2}\s*\?\s*\Z",
            flags=re.IGNORECASE,
        ),
    ),
    "writing": (
        _r(
            "essay story poem email letter blog article tweet speech slogan headline",
            ("cover letter", "product description", "blog post"),
        ),
        _r("rewrite draft compose proofread tone style creative catchy"),
    ),
    "chat": (
        _r(
            pattern=r"^\s*(?:hi|hello|hey|thanks|thank you|good morning|good evening|how are you)\b",
            flags=re.IGNORECASE,
        ),
    ),
    "extraction": (
        _r("extract parse classify categorize label tag", ("pull out", "list all", "find all", "named entities")),
        _r("json csv yaml fields table", ("as json", "to json")),
        _r("summarize summarise summary tl;dr", ("key points",)),
    ),
    "planning": (
        _r(
            "plan roadmap schedule itinerary strategy milestone milestones architecture migrate migration",
            ("steps to", "break it down", "break this down", "design a", "design an", "design the"),
        ),
    ),
}
_EXPERT = _r(
    "prove formal formally optimize optimise distributed concurrent concurrency lock-free thread-safe threadsafe "
    "asymptotic cryptography cryptographic compiler kernel theorem lemma research novel tradeoffs trade-offs "
    "scalability scalable",
    ("security audit", "race condition", "race conditions", "time complexity"),
)
_COMPLEX = _r(
    "analyze analyse compare evaluate design refactor debug architecture comprehensive multi-step",
    ("explain why", "step by step", "in detail", "pros and cons"),
)
_SPEED = _r(
    "quick quickly asap urgent urgently real-time realtime fast immediately briefly one-liner tl;dr autocomplete",
    ("right now", "in one word", "in one line", "in one sentence", "low latency"),
)
_REASONING_HINT = _r("why prove derive reason justify deduce", ("step by step", "explain how", "explain why"))
_LEARNED_WEIGHT = 2.0
_SHORT_PROMPT = 80
_RULE_HEAD, _RULE_TAIL = 400, 1200  # rules read the opening and the end of long prompts: keeps analysis ~O(1)


@dataclass(frozen=True, slots=True)
class TaskProfile:
    """What task analysis found. ``signals`` holds the evidence (rule hits, classifier scores, length)."""

    task_type: str
    difficulty: str
    speed_critical: bool
    needs_reasoning: bool
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def use_cases(self) -> tuple[str, ...]:
        """The executor use cases (the orchestration config's vocabulary) this prompt falls under."""
        out = [self.difficulty]
        if self.speed_critical:
            out.append("speed-critical")
        if self.needs_reasoning:
            out.append("reasoning")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class _Text:
    raw: str
    words: set[str]
    joined: str

    @classmethod
    def of(cls, text: str) -> _Text:
        words = _WORD.findall(text.lower())
        return cls(text, set(words), " " + " ".join(words) + " ")

    def has(self, rule: _Rule) -> bool:
        return rule.hit(self.raw, self.words, self.joined)


def rule_scores(prompt: str) -> dict[str, float]:
    """Count of rule hits per task type."""
    return _scores(_Text.of(prompt))


def _scores(text: _Text) -> dict[str, float]:
    return {t: float(sum(1 for rule in rules if text.has(rule))) for t, rules in _RULES.items()}


def _rule_text(prompt: str) -> str:
    if len(prompt) <= _RULE_HEAD + _RULE_TAIL:
        return prompt
    return prompt[:_RULE_HEAD] + "\n" + prompt[-_RULE_TAIL:]


def _learned_scores(
    prompt: str, counts: dict[int, float], classifier: TaskClassifier | None
) -> tuple[dict[str, float], float]:
    if classifier is None:
        from podium.routing.task_classifier import default_task_classifier

        classifier = default_task_classifier()
    probs, known = classifier.scores(counts)
    trust = known * known * (1.0 if len(prompt) >= _SHORT_PROMPT else 0.25)
    return probs, trust


def _difficulty(text: _Text, task_type: str, n_words: int) -> str:
    if task_type in ("code", "math", "reasoning", "planning") and text.has(_EXPERT):
        return "expert"  # a proof, a concurrency or distributed-systems design: hard however short the prompt
    level = 0 if n_words < 40 else 1 if n_words < 200 else 2
    level += text.has(_COMPLEX) + text.has(_EXPERT)
    if task_type in ("code", "math", "planning") and level == 0 and n_words >= 12:
        level = 1
    return DIFFICULTIES[min(level, 3)]


def analyze(
    prompt: str,
    *,
    learned: bool = True,
    counts: dict[int, float] | None = None,
    classifier: TaskClassifier | None = None,
) -> TaskProfile:
    """Profile one prompt: task type, difficulty, speed-critical, needs-reasoning, and the evidence.

    ``counts`` (from ``features.hashed_counts``) can be passed in when the caller already computed them;
    ``classifier`` replaces the shipped task classifier (evaluation trains one on its training split only).
    """
    text = _Text.of(_rule_text(prompt))
    scores = _scores(text)
    signals: dict[str, Any] = {"rules": {k: v for k, v in scores.items() if v}, "chars": len(prompt)}
    if learned and prompt.strip():
        probs, trust = _learned_scores(prompt, counts if counts is not None else hashed_counts(prompt), classifier)
        for label, p in probs.items():
            scores[label] = scores.get(label, 0.0) + _LEARNED_WEIGHT * trust * p
        signals["learned"] = {k: round(v, 3) for k, v in probs.items()}
        signals["learned_trust"] = round(trust, 3)
    best = max(scores.values())
    task_type = "chat" if best <= 0.5 else max(TASK_TYPES, key=lambda t: (scores.get(t, 0.0), -TASK_TYPES.index(t)))
    # Long prompts are judged on an excerpt, so count words cheaply from the length.
    n_words = len(prompt.split()) if len(prompt) <= 4000 else len(prompt) // 6
    difficulty = _difficulty(text, task_type, n_words)
    needs_reasoning = (
        task_type in ("math", "reasoning", "planning")
        or difficulty in ("complex", "expert")
        or text.has(_REASONING_HINT)
    )
    signals["scores"] = {k: round(v, 3) for k, v in scores.items() if v}
    return TaskProfile(task_type, difficulty, text.has(_SPEED), needs_reasoning, signals)
