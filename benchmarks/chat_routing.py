"""Where judged (free-form) chat prompts go: a decision check, not a quality measurement.

The bundled recorded data holds no judged chat answers, so routing quality on chat prompts cannot be measured here.
This benchmark shows what the router decides instead: for hand-labelled chat prompts (easy: a cheaper model answers
about as well; hard: a stronger model clearly helps), which model the default rule (the cheapest candidate predicted
to reach the quality threshold) picks from each candidate set, and the price of that choice relative to always taking
the set's strongest model (200 prompt + 300 answer tokens, catalog prices).

Run: python benchmarks/chat_routing.py [--threshold 0.7] [--verbose]
"""

from __future__ import annotations

import argparse
from collections import Counter
from decimal import Decimal

from podium.catalog import Catalog
from podium.core.types import Usage
from podium.routing.decision_rules import choose_cheapest
from podium.routing.learned_router import QualityRouter, default_router

PROMPTS: tuple[tuple[str, str], ...] = (
    ("easy", "Write a short, friendly email to my team reminding them about the Friday potluck."),
    ("easy", "Compose a haiku about autumn leaves."),
    ("easy", "What are some good names for a golden retriever puppy?"),
    ("easy", "Hi! How are you today?"),
    ("easy", "Give me three tips for sleeping better."),
    ("easy", "Translate 'Where is the train station?' into Spanish."),
    ("easy", "Summarize the plot of Romeo and Juliet in two sentences."),
    ("easy", "Write a catchy slogan for a lemonade stand."),
    ("easy", "Suggest a vegetarian dinner recipe that takes under 30 minutes."),
    ("easy", "Rewrite this sentence to sound more polite: 'Send me the report now.'"),
    ("easy", "Tell me a fun fact about octopuses."),
    ("easy", "Pretend you are a pirate and greet me."),
    ("easy", "Recommend five classic science fiction novels."),
    ("mid", "Explain how vaccines train the immune system, for a high-school audience."),
    ("mid", "Compare the economic policies of Keynesianism and monetarism."),
    ("mid", "Draft a persuasive essay arguing that cities should invest in bike lanes, with counterarguments."),
    ("mid", "Write a SQL query that returns the top 3 customers by total order value from tables customers and orders."),
    ("mid", "What are the pros and cons of remote work for a small startup?"),
    ("mid", "Explain the difference between TCP and UDP and when to use each."),
    ("hard", "Prove that there are infinitely many primes of the form 4k+3."),
    ("hard", "Implement a thread-safe LRU cache in Java with O(1) get and put, and explain the locking strategy."),
    ("hard", "Design a distributed rate limiter for a multi-region API gateway; discuss consistency tradeoffs."),
    ("hard", "Write a Rust function that parses a simple arithmetic expression with +,-,*,/ and parentheses into an "
             "AST and evaluates it."),
    ("hard", "Given a sorted rotated array with duplicates, write an algorithm to find the minimum and analyze its "
             "worst-case time complexity."),
    ("hard", "Explain the Monty Hall problem and prove with Bayes' theorem why switching is better, then extend it "
             "to n doors."),
    ("hard", "Debug this code and explain the bug:\n```python\ndef avg(xs):\n    return sum(xs) / len(xs) if xs else 0"
             "\nprint(avg([1,2,'3']))\n```"),
    ("hard", "Write a regex that matches valid IPv4 addresses and explain each part; list edge cases it must reject."),
)
USAGE = Usage(input_tokens=200, output_tokens=300)


def candidate_sets(catalog: Catalog, router: QualityRouter) -> dict[str, list[str]]:
    current = [s for s in catalog if s.current and s.kind == "chat" and s.quality is not None and s.priced
               and s.cost(USAGE)]
    return {
        "recorded 2023 models (11)": list(router.models),
        "OpenAI, current": [s.id for s in current if s.provider == "openai"],
        "Anthropic, current": [s.id for s in current if s.provider == "anthropic"],
        "Gemini, current": [s.id for s in current if s.provider == "gemini"],
        "all current, paid": [s.id for s in current],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--verbose", action="store_true", help="print every prompt's choice")
    args = parser.parse_args()
    catalog, router = Catalog.bundled(), default_router()
    print(f"{'candidate set':28} {'label':5} {'prompts':>7} {'cost vs strongest':>17}  choices")
    for name, models in candidate_sets(catalog, router).items():
        models = router.predictable(models)
        costs: dict[str, Decimal | None] = {m: catalog.get(m).cost(USAGE) for m in models}
        top = max(models, key=lambda m: router.predict("Hi", models)[m])
        for label in ("easy", "mid", "hard"):
            chosen: Counter[str] = Counter()
            spent = Decimal(0)
            group = [p for lab, p in PROMPTS if lab == label]
            for prompt in group:
                pick = choose_cheapest(router.predict(prompt, models), costs, args.threshold)
                chosen[pick] += 1
                spent += costs[pick] or Decimal(0)
                if args.verbose:
                    print(f"    {pick:40} {prompt[:60]!r}")
            share = spent / ((costs[top] or Decimal(1)) * len(group))
            picks = ", ".join(f"{m.split(':', 1)[1]} {n}" for m, n in chosen.most_common())
            print(f"{name:28} {label:5} {len(group):>7} {float(share):>16.1%}  {picks}")


if __name__ == "__main__":
    main()
