"""Build podium/catalog/quality_profiles.json from tools/profile_sources.csv (stdlib only).

    python tools/build_profiles.py            # rewrite the JSON, print the sanity checks
    python tools/build_profiles.py --check    # exit 1 if the JSON on disk differs from a rebuild

Scale: Arena Elo-equivalent, anchored on the LMArena text leaderboard *without* style control as of 2025-03-26
(source key LMA2025; gpt-4-0314 = 1186.1, gpt-4-1106-preview = 1249.9, mixtral-8x7b = 1114.0). Every other source is
put on that scale by a rule computed here from the CSV, so every number is traceable:

* LMASC2026 (LMArena text overall, style control, captured 2026-08-16; the only table listing the 2025 models) ->
  line  LMA2025 = a + b * LMASC2026  matching the mean and standard deviation of the models listed in both tables
  (a symmetric fit: least squares would shrink the slope and compress the 2025 frontier).
* Arena-Hard-Auto win rates (AH01/AH01P vs gpt-4-0314, AH2HP vs o3-mini, AH2CW vs gemini-2.0-flash-001) ->
  Elo-equivalent  anchor + 400*log10(w/(100-w))  with the baseline's LMA2025 Elo as anchor, then (because
  Arena-Hard separates models about twice as widely as the arena) rescaled to the LMA2025 spread by matching the
  mean and standard deviation over the models present in both tables.
* OLMCODE coding Elo (openlm.ai mirror of the LMSYS leaderboard, no style control) is on the LMA2025 scale as is.

Category mapping: code <- arena "Coding" (OLMCODE); reasoning <- Arena-Hard hard prompts (v0.1, else v2.0 Hard
Prompt); writing <- Arena-Hard v2.0 Creative Writing; knowledge <- the overall arena figure (the arena has no
knowledge category); math <- no public source was found, so it is the overall figure marked as an estimate.
A category without a figure is the overall figure with "estimate": true and a note saying so.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES_CSV = ROOT / "tools" / "profile_sources.csv"
CATALOG_JSON = ROOT / "podium" / "catalog" / "models.json"
OUT_JSON = ROOT / "podium" / "catalog" / "quality_profiles.json"
CATEGORIES = ("code", "math", "reasoning", "knowledge", "writing")

_GPT4O_NOTE = ("style-controlled table used for the gpt-4o pair: without style control LMArena puts gpt-4o-mini "
               "(1272.1) above gpt-4o-2024-08-06 (1265.2), the response-style artefact that led LMArena to add style "
               "control (blog 2024-08-29); with style control they are 1335 vs 1318")

# catalog id -> how its overall figure is obtained:
#   ("A", name)  LMA2025 row `name` (measured, native scale)
#   ("B", name)  LMASC2026 row `name`, converted to the LMA2025 scale (measured, converted)
#   ("EST", rule, args)  no public figure for this model; derived from relatives (estimate)
# `name` is also the leaderboard name under which its category figures are looked up. Third item: per-id note.
MAPPING: dict[str, tuple] = {
    "anthropic:claude-3-haiku": ("A", "claude-3-haiku-20240307", ""),
    "anthropic:claude-3-5-haiku": ("A", "claude-3-5-haiku-20241022", ""),
    "anthropic:claude-haiku-4-5": ("B", "claude-haiku-4-5-20251001", ""),
    "anthropic:claude-3-5-sonnet": ("A", "claude-3-5-sonnet-20241022", ""),
    "anthropic:claude-3-7-sonnet": ("A", "claude-3-7-sonnet-20250219", "non-thinking row"),
    "anthropic:claude-sonnet-4": ("B", "claude-sonnet-4-20250514", "non-thinking row"),
    "anthropic:claude-sonnet-4-5": ("B", "claude-sonnet-4-5-20250929", "non-thinking row"),
    "anthropic:claude-3-opus": ("A", "claude-3-opus-20240229", ""),
    "anthropic:claude-opus-4": ("B", "claude-opus-4-20250514", "non-thinking row"),
    "anthropic:claude-opus-4-1": ("B", "claude-opus-4-1-20250805", "non-thinking row"),
    "anthropic:claude-opus-4-5": ("B", "claude-opus-4-5-20251101", "non-thinking row"),
    "openai:gpt-4o-mini": ("B", "gpt-4o-mini-2024-07-18", _GPT4O_NOTE),
    "openai:gpt-4o": ("B", "gpt-4o-2024-08-06", _GPT4O_NOTE + "; the gpt-4o alias serves 2024-08-06"),
    "openai:gpt-4": ("A", "gpt-4-0613", "gpt-4 = gpt-4-0613"),
    "openai:gpt-4-turbo": ("A", "gpt-4-turbo-2024-04-09", ""),
    "openai:gpt-4.1": ("B", "gpt-4.1-2025-04-14", ""),
    "openai:gpt-4.1-mini": ("B", "gpt-4.1-mini-2025-04-14", ""),
    "openai:gpt-4.1-nano": ("B", "gpt-4.1-nano-2025-04-14", ""),
    "openai:gpt-5": ("B", "gpt-5-high", "arena row gpt-5-high (reasoning effort high); API default effort is medium"),
    "openai:gpt-5-mini": ("B", "gpt-5-mini-high", "arena row gpt-5-mini-high (reasoning effort high)"),
    "openai:gpt-5-nano": ("B", "gpt-5-nano-high", "arena row gpt-5-nano-high (reasoning effort high)"),
    "openai:o1": ("A", "o1-2024-12-17", ""),
    "openai:o3": ("B", "o3-2025-04-16", ""),
    "openai:o3-mini": ("A", "o3-mini", "default (medium) reasoning effort row"),
    "openai:o4-mini": ("B", "o4-mini-2025-04-16", ""),
    "openai:gpt-3.5-turbo": ("A", "gpt-3.5-turbo-0125", ""),
    "gemini:gemini-2.5-pro": ("B", "gemini-2.5-pro", "GA model (the 2025-03-26 table only has the exp-03-25 preview)"),
    "gemini:gemini-2.5-flash": ("B", "gemini-2.5-flash", ""),
    "gemini:gemini-2.5-flash-lite": ("B", "gemini-2.5-flash-lite-preview-06-17-thinking",
                                     "arena row is the 06-17 preview the GA model was cut from"),
    "gemini:gemma-3-27b-it": ("A", "gemma-3-27b-it", ""),
    "groq:llama-3.3-70b-versatile": ("A", "llama-3.3-70b-instruct", "Groq serves Llama 3.3 70B Instruct"),
    "groq:llama-3.1-8b-instant": ("A", "llama-3.1-8b-instruct", "Groq serves Llama 3.1 8B Instruct"),
    "groq:openai/gpt-oss-120b": ("B", "gpt-oss-120b", ""),
    "groq:openai/gpt-oss-20b": ("B", "gpt-oss-20b", ""),
    "deepseek:deepseek-chat": ("B", "deepseek-v3.2-exp", "deepseek-chat served DeepSeek-V3.2-Exp at the catalog price date "
                               "(2025-11-01; $0.28/$0.42)"),
    "deepseek:deepseek-reasoner": ("B", "deepseek-v3.2-exp-thinking", "deepseek-reasoner served DeepSeek-V3.2-Exp (thinking) at "
                                   "the catalog price date (2025-11-01)"),
    "moonshot:kimi-k2.5": ("B", "kimi-k2.5-thinking", "arena row kimi-k2.5-thinking (kimi-k2.5-instant is 1431 raw)"),
    "moonshot:moonshot-v1-128k": ("EST", "copy", ("A", "gpt-3.5-turbo-0125"),
                                  "moonshot-v1 (Oct 2023) was never on LMArena or Arena-Hard; weak estimate from "
                                  "gpt-3.5-turbo-0125, a general chat model of the same generation and positioning"),
    "moonshot:moonshot-v1-8k": ("EST", "copy", ("A", "gpt-3.5-turbo-0125"),
                                "same model as moonshot-v1-128k (shorter context); weak estimate from gpt-3.5-turbo-0125"),
    "mistral:mistral-large-latest": ("B", "mistral-large-3", "mistral-large-latest = Mistral Large 3 at the catalog price "
                                     "($0.5/$1.5)"),
    "mistral:mistral-medium-latest": ("B", "mistral-medium-2508", "Mistral Medium 3.1"),
    "mistral:mistral-small-latest": ("B", "mistral-small-2506", "Mistral Small 3.2"),
    "mistral:codestral-latest": ("EST", "copy", ("B", "mistral-small-2506"),
                                 "Codestral is not on LMArena; estimate from Mistral Small 3.2 (same vendor, similar "
                                 "size class)"),
    "mistral:open-mistral-nemo": ("EST", "copy", ("A", "ministral-8b-2410"),
                                  "Mistral NeMo 12B is not on LMArena; estimate from Ministral-8B-2410 (same vendor, "
                                  "nearest size on the board; likely a slight underestimate)"),
    "mistral:ministral-8b-latest": ("A", "ministral-8b-2410", ""),
    "mistral:magistral-medium-latest": ("B", "magistral-medium-2506", "arena row is magistral-medium-2506; "
                                        "-latest may be a later 1.x release"),
    "together:meta-llama/Llama-3.3-70B-Instruct-Turbo": ("A", "llama-3.3-70b-instruct", "Together Turbo = FP8 serving"),
    "together:meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": ("A", "llama-3.1-8b-instruct", "Together Turbo = FP8 serving"),
    "together:Qwen/Qwen2.5-72B-Instruct-Turbo": ("A", "qwen2.5-72b-instruct", "Together Turbo = FP8 serving"),
    "together:Qwen/Qwen2.5-Coder-32B-Instruct": ("A", "qwen2.5-coder-32b-instruct", ""),
    "together:deepseek-ai/DeepSeek-V3": ("A", "deepseek-v3", ""),
    "together:deepseek-ai/DeepSeek-R1-0528": ("B", "deepseek-r1-0528", ""),
    "together:moonshotai/Kimi-K2-Instruct": ("B", "kimi-k2-0711-preview", "Kimi-K2-Instruct = the 0711 release"),
    "together:openai/gpt-oss-120b": ("B", "gpt-oss-120b", ""),
    # 2023 "replay" models: all from the one 2025-03-26 public table (never from recorded benchmark outcomes).
    "openai:gpt-4-1106-preview": ("A", "gpt-4-1106-preview", ""),
    "openai:gpt-3.5-turbo-1106": ("A", "gpt-3.5-turbo-1106", ""),
    "anthropic:claude-v2": ("A", "claude-2.0", ""),
    "anthropic:claude-v1": ("A", "claude-1", "arena row claude-1 (Claude 1.x); catalog api model claude-1.3"),
    "anthropic:claude-instant-v1": ("A", "claude-instant-1", "arena row claude-instant-1; catalog api model claude-instant-1.2"),
    "together:llama-2-70b-chat": ("A", "llama-2-70b-chat", ""),
    "together:mixtral-8x7b-chat": ("A", "mixtral-8x7b-instruct-v0.1", "LMArena's fixed anchor model (1114.0)"),
    "together:mistral-7b-chat": ("A", "mistral-7b-instruct", "Mistral-7B-Instruct-v0.1"),
    "together:yi-34b-chat": ("A", "yi-34b-chat", ""),
    "together:wizardlm-13b-v1.2": ("A", "wizardlm-13b", "arena row WizardLM-13b-v1.2"),
    "together:codellama-34b-instruct": ("A", "codellama-34b-instruct", ""),
    "openrouter:openai/gpt-4o-mini": ("B", "gpt-4o-mini-2024-07-18", _GPT4O_NOTE + "; same model as openai:gpt-4o-mini"),
    "openrouter:openai/gpt-4o": ("B", "gpt-4o-2024-08-06", _GPT4O_NOTE + "; same model as openai:gpt-4o"),
    "openrouter:anthropic/claude-3-haiku": ("A", "claude-3-haiku-20240307", "same model as anthropic:claude-3-haiku"),
    "openrouter:anthropic/claude-3-opus": ("A", "claude-3-opus-20240229", "same model as anthropic:claude-3-opus"),
    "openrouter:anthropic/claude-sonnet-4.5": ("B", "claude-sonnet-4-5-20250929", "same model as anthropic:claude-sonnet-4-5"),
    "openrouter:google/gemini-2.5-pro": ("B", "gemini-2.5-pro", "same model as gemini:gemini-2.5-pro"),
    "openrouter:google/gemini-2.5-flash": ("B", "gemini-2.5-flash", "same model as gemini:gemini-2.5-flash"),
    "openrouter:deepseek/deepseek-chat": ("B", "deepseek-v3.2-exp", "routes to DeepSeek's deepseek-chat (same price); "
                                          "same model as deepseek:deepseek-chat"),
    "openrouter:deepseek/deepseek-r1": ("A", "deepseek-r1", "original DeepSeek-R1 (2025-01)"),
    "openrouter:moonshotai/kimi-k2.5": ("B", "kimi-k2.5-thinking", "same model as moonshot:kimi-k2.5"),
    "openrouter:deepseek/deepseek-r1:free": ("A", "deepseek-r1", ":free variant shares the paid model's figures"),
    "openrouter:deepseek/deepseek-chat-v3-0324:free": ("B", "deepseek-v3-0324", ":free variant shares the paid model's figures"),
    "openrouter:meta-llama/llama-3.3-70b-instruct:free": ("A", "llama-3.3-70b-instruct", ":free variant shares the paid model's figures"),
    "openrouter:qwen/qwen-2.5-coder-32b-instruct:free": ("A", "qwen2.5-coder-32b-instruct", ":free variant shares the paid model's figures"),
    "openrouter:google/gemini-2.0-flash-exp:free": ("A", "gemini-2.0-flash-exp", ":free variant shares the paid model's figures"),
    "openrouter:mistralai/mistral-7b-instruct:free": ("EST", "copy", ("A", "mistral-7b-instruct-v0.2"),
                                                      "OpenRouter serves Mistral-7B-Instruct v0.3, which is not on LMArena; "
                                                      "estimate from v0.2 (same model line)"),
    "ollama:llama3.2": ("A", "llama-3.2-3b-instruct", "ollama default tag = 3B, 4-bit quantized (quantization not "
                        "reflected in the figure)"),
    "ollama:llama3.1": ("A", "llama-3.1-8b-instruct", "ollama default tag = 8B, 4-bit quantized (quantization not "
                        "reflected in the figure)"),
    "ollama:qwen2.5-coder": ("EST", "size_down", ("qwen2.5-coder-32b-instruct", "llama-3.1-70b-instruct", "llama-3.1-8b-instruct"),
                             "ollama default tag = 7B, not on LMArena"),
    "ollama:mistral": ("EST", "copy", ("A", "mistral-7b-instruct-v0.2"),
                       "ollama default tag = Mistral-7B-Instruct v0.3 (not on LMArena); estimate from v0.2"),
    "ollama:deepseek-r1": ("EST", "copy", ("A", "llama-3.1-8b-instruct"),
                           "ollama default tag is an ~8B distilled model (DeepSeek-R1 distilled into a Llama-3.1-8B/Qwen-8B "
                           "base), not on LMArena; estimate from Llama-3.1-8B-Instruct (same size class)"),
    "vllm:meta-llama/Llama-3.1-8B-Instruct": ("A", "llama-3.1-8b-instruct", ""),
    "vllm:Qwen/Qwen2.5-Coder-7B-Instruct": ("EST", "size_down", ("qwen2.5-coder-32b-instruct", "llama-3.1-70b-instruct", "llama-3.1-8b-instruct"),
                                            "Qwen2.5-Coder-7B is not on LMArena"),
    "llamacpp:llama-3.2-3b-instruct": ("A", "llama-3.2-3b-instruct", "GGUF quantization not reflected in the figure"),
    "llamacpp:qwen2.5-coder-7b-instruct": ("EST", "size_down", ("qwen2.5-coder-32b-instruct", "llama-3.1-70b-instruct", "llama-3.1-8b-instruct"),
                                           "Qwen2.5-Coder-7B is not on LMArena"),
}

# Arena-Hard tables: CSV category -> (profile category, LMA2025 name of the table's baseline).
ARENA_HARD = {
    "arena_hard_v01": ("reasoning", "gpt-4-0314"),
    "arena_hard_v2_hard_prompt": ("reasoning", "o3-mini"),
    "arena_hard_v2_creative_writing": ("writing", "gemini-2.0-flash-001"),
}


def load_rows() -> list[dict[str, str]]:
    with SOURCES_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def short(source: str) -> str:
    return source.split(":", 1)[0]


class Sources:
    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.by: dict[tuple[str, str, str], dict[str, str]] = {}
        for r in rows:
            key = (short(r["source"]), r["leaderboard_name"], r["category"])
            if key in self.by:
                raise SystemExit(f"duplicate row {key}")
            self.by[key] = r
        self.a = {n: float(r["value"]) for (s, n, c), r in self.by.items() if s == "LMA2025" and c == "overall"}
        self.b = {n: float(r["value"]) for (s, n, c), r in self.by.items() if s == "LMASC2026" and c == "overall"}
        common = sorted(set(self.a) & set(self.b))
        xs, ys = [self.b[n] for n in common], [self.a[n] for n in common]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        self.b_slope = statistics.pstdev(ys) / statistics.pstdev(xs)
        self.b_icpt = my - self.b_slope * mx
        self.b_n = len(common)
        self.b_rmse = math.sqrt(statistics.fmean((y - self.conv_b(x)) ** 2 for x, y in zip(xs, ys)))
        # Arena-Hard: raw Elo-equivalent then mean/SD match to LMA2025 over the shared models.
        self.ah: dict[str, dict[str, float]] = {}
        self.ah_fit: dict[str, tuple[float, float, int, float]] = {}
        for cat, (_, baseline) in ARENA_HARD.items():
            anchor = self.a[baseline]
            raw = {n: self.winrate_elo(float(r["value"]), anchor)
                   for (s, n, c), r in self.by.items() if c == cat}
            shared = sorted(set(raw) & set(self.a))
            rx, ay = [raw[n] for n in shared], [self.a[n] for n in shared]
            b = statistics.pstdev(ay) / statistics.pstdev(rx)
            a = statistics.fmean(ay) - b * statistics.fmean(rx)
            self.ah[cat] = raw
            self.ah_fit[cat] = (a, b, len(shared), anchor)

    def conv_b(self, x: float) -> float:
        return self.b_icpt + self.b_slope * x

    @staticmethod
    def winrate_elo(w: float, anchor: float) -> float:
        return anchor + 400 * math.log10(w / (100 - w))

    def b_text(self) -> str:
        return (f"converted to the LMA2025 scale as {self.b_icpt:.2f} + {self.b_slope:.4f} x score (mean/SD match over "
                f"the {self.b_n} models in both tables, RMSE {self.b_rmse:.1f})")


def fig(score: float, source: str, as_of: str, estimate: bool, note: str = "") -> dict:
    out = {"score": round(score, 1), "source": source, "as_of": as_of, "estimate": estimate}
    if note:
        out["note"] = note
    return out


def overall_of(src: Sources, kind: str, name: str) -> tuple[float, str, str]:
    """(score on the LMA2025 scale, source text, as_of) of a measured overall figure."""
    if kind == "A":
        r = src.by[("LMA2025", name, "overall")]
        return float(r["value"]), f'{r["source"]}; row "{name}"', r["as_of"]
    r = src.by[("LMASC2026", name, "overall")]
    return (src.conv_b(float(r["value"])),
            f'{r["source"]}; row "{name}" = {r["value"]}, {src.b_text()}', r["as_of"])


def build_profile(src: Sources, cid: str, spec: tuple) -> dict:
    kind = spec[0]
    if kind == "EST":
        _, rule, args, note = spec
        if rule == "copy":
            base_kind, base = args
            score, base_src, as_of = overall_of(src, base_kind, base)
            derivation = f'estimate: overall figure of "{base}" ({base_src})'
        else:  # size_down: family figure minus the 70B->8B gap of Llama 3.1 on the same table
            big, l70, l8 = args
            gap = src.a[l70] - src.a[l8]
            score = src.a[big] - gap
            as_of = src.by[("LMA2025", big, "overall")]["as_of"]
            derivation = (f'estimate: LMA2025 "{big}" ({src.a[big]:.1f}) minus the LMA2025 gap between "{l70}" and '
                          f'"{l8}" ({gap:.1f}) as a size penalty for the 7B sibling')
        overall = fig(score, derivation, as_of, True, note)
        profile = {"overall": overall}
        for cat in CATEGORIES:
            profile[cat] = fig(score, derivation, as_of, True,
                               f"no public figure for this model; derived overall estimate used ({note})")
        return profile

    _, name, note = spec
    score, source, as_of = overall_of(src, kind, name)
    profile = {"overall": fig(score, source, as_of, False, note)}
    cats: dict[str, dict] = {}
    # code: arena Coding Elo (same scale as LMA2025)
    r = src.by.get(("OLMCODE", name, "coding"))
    if r is not None:
        cats["code"] = fig(float(r["value"]), f'{r["source"]}; row "{name}" ({r["note"]})', r["as_of"], False)
    # reasoning / writing: Arena-Hard, converted
    for cat, (pcat, baseline) in ARENA_HARD.items():
        if pcat in cats or name not in src.ah[cat]:
            continue
        r = src.by[(next(s for (s, n, c) in src.by if n == name and c == cat), name, cat)]
        a, b, n_shared, anchor = src.ah_fit[cat]
        raw = src.ah[cat][name]
        text = (f'{r["source"]}; row "{name}" win rate {r["value"]}% converted to Elo-equivalent '
                f'{anchor:.1f} + 400*log10(w/(100-w)) = {raw:.1f} (anchor: LMA2025 Elo of baseline "{baseline}"), '
                f"then rescaled to the LMA2025 spread as {a:.2f} + {b:.4f} x Elo (mean/SD match over {n_shared} models "
                f"in both tables)")
        cats[pcat] = fig(a + b * raw, text, r["as_of"], False)
    cats["knowledge"] = fig(score, source, as_of, False,
                            "LMArena has no knowledge category; the overall arena figure is used")
    for cat in CATEGORIES:
        if cat not in cats:
            cats[cat] = fig(score, source, as_of, True, f"no {cat} figure in the sources for this model; overall used")
        profile[cat] = cats[cat]
    return profile


def sanity(profiles: dict[str, dict]) -> list[str]:
    s = {cid: p["overall"]["score"] for cid, p in profiles.items()}
    chains = [
        ["openai:gpt-5", "openai:gpt-4o", "openai:gpt-4-1106-preview", "openai:gpt-3.5-turbo-1106"],
        ["anthropic:claude-sonnet-4-5", "anthropic:claude-3-5-sonnet", "anthropic:claude-v2", "anthropic:claude-instant-v1"],
        ["openai:gpt-4o", "openai:gpt-4o-mini"], ["openai:gpt-4.1", "openai:gpt-4.1-mini", "openai:gpt-4.1-nano"],
        ["openai:gpt-5", "openai:gpt-5-mini", "openai:gpt-5-nano"], ["openai:o3", "openai:o4-mini"],
        ["anthropic:claude-sonnet-4-5", "anthropic:claude-haiku-4-5"], ["anthropic:claude-3-5-sonnet", "anthropic:claude-3-5-haiku"],
        ["anthropic:claude-3-opus", "anthropic:claude-3-haiku"],
        ["gemini:gemini-2.5-pro", "gemini:gemini-2.5-flash", "gemini:gemini-2.5-flash-lite"],
    ]
    problems = []
    for chain in chains:
        for hi, lo in zip(chain, chain[1:]):
            ok = s[hi] > s[lo]
            print(f"  {'ok ' if ok else 'BAD'} {hi} {s[hi]} > {lo} {s[lo]}")
            if not ok:
                problems.append(f"{hi} !> {lo}")
    ranked = sorted(s.values())
    for cid in ("ollama:llama3.2", "llamacpp:llama-3.2-3b-instruct", "ollama:mistral", "together:mistral-7b-chat"):
        pct = sum(v < s[cid] for v in ranked) / len(ranked)
        ok = pct <= 0.25
        print(f"  {'ok ' if ok else 'BAD'} {cid} {s[cid]} in bottom quarter (percentile {pct:.2f})")
        if not ok:
            problems.append(f"{cid} not near the bottom")
    return problems


def build() -> str:
    src = Sources(load_rows())
    # Embedding models answer no prompts, so they have no answer-quality profile.
    catalog_ids = [m["id"] for m in json.loads(CATALOG_JSON.read_text(encoding="utf-8"))["models"]
                   if m.get("kind") != "embedding"]
    missing = [c for c in catalog_ids if c not in MAPPING]
    extra = [c for c in MAPPING if c not in catalog_ids]
    if missing or extra:
        raise SystemExit(f"mapping out of date: missing {missing}, not in catalog {extra}")
    profiles = {cid: build_profile(src, cid, MAPPING[cid]) for cid in catalog_ids}
    doc = {
        "version": 1,
        "scale": "arena-elo",
        "description": ("Per-model quality on the LMArena (Chatbot Arena) Elo scale anchored on the 2025-03-26 text "
                        "leaderboard (gpt-4-0314 = 1186), overall and per task category, each figure with its public "
                        "source and date; built by tools/build_profiles.py from tools/profile_sources.csv."),
        "profiles": profiles,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = build()
    if "--check" in argv:
        same = OUT_JSON.exists() and OUT_JSON.read_text(encoding="utf-8") == text
        print("quality_profiles.json is up to date" if same else "quality_profiles.json differs from a rebuild")
        return 0 if same else 1
    OUT_JSON.write_text(text, encoding="utf-8")
    profiles = json.loads(text)["profiles"]
    n_fig = sum(len(p) for p in profiles.values())
    n_est = sum(f["estimate"] for p in profiles.values() for f in p.values())
    print(f"wrote {OUT_JSON.relative_to(ROOT)}: {len(profiles)} models, {n_fig} figures, "
          f"{n_fig - n_est} measured, {n_est} estimated")
    print("sanity checks:")
    problems = sanity(profiles)
    if problems:
        print("SANITY FAILURES: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
