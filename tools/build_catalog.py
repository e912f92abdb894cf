"""One-off build of podium/catalog/models.json from the LiteLLM 1.109.1 reference + curated facts.

Not shipped: the curated choices (tiers, aliases, capabilities) are editorial. Run from the repo root:
    python tools/build_catalog.py [PATH_TO_LITELLM_PRICES_JSON_GZ]
"""

from __future__ import annotations

import gzip
import json
import sys
from datetime import date
from pathlib import Path

from podium.catalog.litellm_import import price_tiers, request_fee
from podium.catalog.mapping import decimal_str, document_from_specs, spec_from_mapping, tier_to_mapping
from podium.core.money import per_million

REF = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/reference/model_prices_litellm_1.109.1.json.gz")
LITELLM = json.loads(gzip.decompress(REF.read_bytes()))
AS_OF = "2025-11-01"
LIT = "litellm 1.109.1 model_prices_and_context_window.json"


def dec(x):
    return None if x is None else format(per_million(x), "f")


def from_litellm(key, *, note=None, ctx=None, out=None, **extra):
    e = LITELLM[key]
    src_url = e.get("source")
    src = f"{LIT} ({src_url})" if src_url else f"{LIT} (entry {key!r})"
    if note:
        src = f"{src}; {note}"
    d = {
        "input_per_million": dec(e.get("input_cost_per_token")),
        "output_per_million": dec(e.get("output_cost_per_token")),
        "cached_input_per_million": dec(e.get("cache_read_input_token_cost")),
        "cache_write_per_million": dec(e.get("cache_creation_input_token_cost")),
        "reasoning_per_million": dec(e.get("output_cost_per_reasoning_token")),
        "request_fee_usd": decimal_str(request_fee(e)),
        "price_tiers": [tier_to_mapping(t) for t in price_tiers(e, {
            "input_per_million": per_million(e["input_cost_per_token"]) if "input_cost_per_token" in e else None,
            "output_per_million": per_million(e["output_cost_per_token"]) if "output_cost_per_token" in e else None,
        })],
        "context_window": ctx or e.get("max_input_tokens") or e.get("max_tokens"),
        "max_output_tokens": out or e.get("max_output_tokens") or e.get("max_tokens"),
        "price_source": src,
        "price_as_of": AS_OF,
    }
    d.update(extra)
    return d


def manual(inp, outp, *, source, as_of=AS_OF, ctx, out, cached=None, write=None, **extra):
    d = {
        "input_per_million": inp,
        "output_per_million": outp,
        "cached_input_per_million": cached,
        "cache_write_per_million": write,
        "context_window": ctx,
        "max_output_tokens": out,
        "price_source": source,
        "price_as_of": as_of,
    }
    d.update(extra)
    return d


M: list[dict] = []

# Open weights: the model's weights are published for anyone to download (whatever the licence). By family, on the
# model part of the id. Not open: GPT-4*/o*, Claude, Gemini, mistral-medium, magistral-medium, codestral-latest
# (25.x is API-only), moonshot-v1 and kimi-k2.5 (left out until its weights are confirmed).
OPEN_FAMILIES = (
    "llama", "mixtral", "mistral-7b", "mistral-small", "mistral-large", "open-mistral-nemo", "ministral", "qwen",
    "deepseek", "gemma", "yi-34b", "gpt-oss", "wizardlm", "kimi-k2-instruct",
)
OPEN_IDS = {"ollama:mistral"}


def open_weights(id_):
    model = id_.split(":", 1)[1].lower()
    return id_ in OPEN_IDS or any(family in model for family in OPEN_FAMILIES)


def add(id_, data, *, caps, tier, aliases=(), api=None, **extra):
    entry = {"id": id_, **data, "capabilities": sorted(caps), "quality_tier": tier, "aliases": list(aliases),
             "open_weights": open_weights(id_)}
    if api:
        entry["api_model"] = api
    entry.update(extra)
    M.append(entry)


# ---------------------------------------------------------------- Anthropic
US = {"region": "us"}
A_NOTE = "no first-party anthropic entry in this LiteLLM file; {} lists Anthropic's list price"
add("anthropic:claude-3-haiku", from_litellm("vercel_ai_gateway/anthropic/claude-3-haiku",
    note=A_NOTE.format("the Vercel AI Gateway entry")), api="claude-3-haiku-20240307",
    caps={"vision", "tools", "json", "fast", "long-context"}, tier="basic",
    aliases=["claude-haiku-3", "claude-3-haiku-20240307"], **US)
add("anthropic:claude-3-5-haiku", from_litellm("anthropic.claude-3-5-haiku-20241022-v1:0",
    note=A_NOTE.format("the Bedrock entry anthropic.claude-3-5-haiku-20241022-v1:0")), api="claude-3-5-haiku-20241022",
    caps={"code", "tools", "json", "fast", "long-context"}, tier="standard",
    aliases=["claude-haiku-3.5", "claude-3.5-haiku", "claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"], **US)
add("anthropic:claude-haiku-4-5", from_litellm("claude-haiku-4-5"), api="claude-haiku-4-5-20251001",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "fast", "long-context"}, tier="advanced",
    aliases=["claude-haiku-4.5", "claude-haiku-4-5-20251001", "claude-haiku"], **US)
add("anthropic:claude-3-5-sonnet", from_litellm("anthropic.claude-3-5-sonnet-20241022-v2:0",
    note=A_NOTE.format("the Bedrock entry anthropic.claude-3-5-sonnet-20241022-v2:0")), api="claude-3-5-sonnet-20241022",
    caps={"code", "math", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["claude-sonnet-3.5", "claude-3.5-sonnet", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-latest"],
    deprecated=True, description="retired by Anthropic in October 2025; kept for old configs and price history", **US)
add("anthropic:claude-3-7-sonnet", from_litellm("vercel_ai_gateway/anthropic/claude-3-7-sonnet",
    note=A_NOTE.format("the Vercel AI Gateway entry")), api="claude-3-7-sonnet-20250219",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["claude-sonnet-3.7", "claude-3.7-sonnet", "claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest"], **US)
add("anthropic:claude-sonnet-4", from_litellm("anthropic.claude-sonnet-4-20250514-v1:0",
    note=A_NOTE.format("the Bedrock entry anthropic.claude-sonnet-4-20250514-v1:0")), api="claude-sonnet-4-20250514",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["claude-sonnet-4.0", "claude-sonnet-4-0", "claude-4-sonnet", "claude-sonnet-4-20250514"], **US)
add("anthropic:claude-sonnet-4-5", from_litellm("claude-sonnet-4-5-20250929"), api="claude-sonnet-4-5-20250929",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier",
    aliases=["claude-sonnet-4.5", "claude-sonnet-4-5-20250929", "claude-sonnet"], **US)
add("anthropic:claude-3-opus", from_litellm("anthropic.claude-3-opus-20240229-v1:0",
    note=A_NOTE.format("the Bedrock entry anthropic.claude-3-opus-20240229-v1:0")), api="claude-3-opus-20240229",
    caps={"code", "math", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["claude-opus-3", "claude-3-opus-20240229", "claude-3-opus-latest"], **US)
add("anthropic:claude-opus-4", from_litellm("anthropic.claude-opus-4-20250514-v1:0",
    note=A_NOTE.format("the Bedrock entry anthropic.claude-opus-4-20250514-v1:0")), api="claude-opus-4-20250514",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier",
    aliases=["claude-opus-4.0", "claude-opus-4-0", "claude-4-opus", "claude-opus-4-20250514"], **US)
add("anthropic:claude-opus-4-1", from_litellm("anthropic.claude-opus-4-1-20250805-v1:0",
    note=A_NOTE.format("the Bedrock entry anthropic.claude-opus-4-1-20250805-v1:0")), api="claude-opus-4-1-20250805",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier",
    aliases=["claude-opus-4.1", "claude-opus-4-1-20250805"], **US)
add("anthropic:claude-opus-4-5", from_litellm("claude-opus-4-5"), api="claude-opus-4-5-20251101",
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier",
    aliases=["claude-opus-4.5", "claude-opus-4-5-20251101", "claude-opus"], **US)

# ---------------------------------------------------------------- OpenAI
O = {"region": "us"}
add("openai:gpt-4o-mini", from_litellm("gpt-4o-mini"), caps={"code", "vision", "tools", "json", "fast"},
    tier="standard", aliases=["gpt-4o-mini-2024-07-18", "gpt4o-mini"], **O)
add("openai:gpt-4o", from_litellm("gpt-4o"), caps={"code", "math", "vision", "tools", "json"}, tier="advanced",
    aliases=["gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt4o"], **O)
add("openai:gpt-4", from_litellm("gpt-4"), caps={"code", "math", "tools"}, tier="advanced", aliases=["gpt-4-0613"], **O)
add("openai:gpt-4-turbo", from_litellm("gpt-4-turbo"), caps={"code", "math", "vision", "tools", "json"},
    tier="advanced", aliases=["gpt-4-turbo-2024-04-09"], **O)
add("openai:gpt-4.1", from_litellm("gpt-4.1"), caps={"code", "math", "vision", "tools", "json", "long-context"},
    tier="advanced", aliases=["gpt-4.1-2025-04-14"], **O)
add("openai:gpt-4.1-mini", from_litellm("gpt-4.1-mini"),
    caps={"code", "vision", "tools", "json", "fast", "long-context"}, tier="standard",
    aliases=["gpt-4.1-mini-2025-04-14"], **O)
add("openai:gpt-4.1-nano", from_litellm("gpt-4.1-nano"), caps={"vision", "tools", "json", "fast", "long-context"},
    tier="basic", aliases=["gpt-4.1-nano-2025-04-14"], **O)
add("openai:gpt-5", from_litellm("gpt-5"), caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"},
    tier="frontier", aliases=["gpt-5-2025-08-07"], **O)
add("openai:gpt-5-mini", from_litellm("gpt-5-mini"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["gpt-5-mini-2025-08-07"], **O)
add("openai:gpt-5-nano", from_litellm("gpt-5-nano"),
    caps={"reasoning", "vision", "tools", "json", "fast", "long-context"}, tier="standard",
    aliases=["gpt-5-nano-2025-08-07"], **O)
add("openai:o1", from_litellm("o1"), caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"},
    tier="frontier", aliases=["o1-2024-12-17"], **O)
add("openai:o3", from_litellm("o3"), caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"},
    tier="frontier", aliases=["o3-2025-04-16"], **O)
add("openai:o3-mini", from_litellm("o3-mini"), caps={"code", "math", "reasoning", "tools", "json", "long-context"},
    tier="advanced", aliases=["o3-mini-2025-01-31"], **O)
add("openai:o4-mini", from_litellm("o4-mini"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["o4-mini-2025-04-16"], **O)
add("openai:gpt-3.5-turbo", from_litellm("gpt-3.5-turbo"), caps={"tools", "json", "fast"}, tier="basic",
    aliases=["gpt-3.5-turbo-0125", "gpt-35-turbo"], **O)
# Embedding models: served by POST /v1/embeddings only; chat routing never picks them (kind="embedding").
EMB = "an embedding model: input tokens only, no output"
for name, tier in (("text-embedding-3-small", "basic"), ("text-embedding-3-large", "standard")):
    add(f"openai:{name}", from_litellm(name, out=1, note=f"entry {name!r}"), caps=set(), tier=tier, kind="embedding",
        description=EMB, **O)

# ---------------------------------------------------------------- Gemini (Google AI Studio)
G_FREE = "Google AI Studio has a free tier for this model (Google may use free-tier prompts to improve its products)"
add("gemini:gemini-2.5-pro", from_litellm("gemini/gemini-2.5-pro",
    note="prompts over 200K tokens cost $2.50 in / $15 out per 1M"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier",
    aliases=["gemini-pro", "gemini-2.5-pro-latest"], free_tier=True, description=G_FREE)
add("gemini:gemini-2.5-flash", from_litellm("gemini/gemini-2.5-flash"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "fast", "long-context"}, tier="advanced",
    aliases=["gemini-flash"], free_tier=True, description=G_FREE)
add("gemini:gemini-2.5-flash-lite", from_litellm("gemini/gemini-2.5-flash-lite"),
    caps={"vision", "tools", "json", "fast", "long-context"}, tier="standard",
    aliases=["gemini-flash-lite"], free_tier=True, description=G_FREE)
add("gemini:gemma-3-27b-it", from_litellm("gemini/gemma-3-27b-it"), caps={"vision", "json"}, tier="standard",
    aliases=["gemma-3-27b"], free_tier=True, trains_on_outputs=True,
    description="free on Google AI Studio only; free-tier prompts may be used to improve Google's products")

# ---------------------------------------------------------------- Groq
GROQ_SRC = "https://groq.com/pricing (list price; not in the litellm 1.109.1 reference file)"
GROQ_FREE = "Groq's free tier allows {} requests/min and {} tokens/min; paid keys get more (override default_rpm)"
add("groq:llama-3.3-70b-versatile", manual("0.59", "0.79", source=GROQ_SRC, ctx=131072, out=32768),
    caps={"code", "tools", "json", "fast"}, tier="standard", aliases=["llama-3.3-70b"],
    free_tier=True, region="us", default_rpm=30, default_tpm=12000, description=GROQ_FREE.format(30, "12,000"))
add("groq:llama-3.1-8b-instant", manual("0.05", "0.08", source=GROQ_SRC, ctx=131072, out=131072),
    caps={"tools", "json", "fast"}, tier="basic", aliases=["llama-3.1-8b"],
    free_tier=True, region="us", default_rpm=30, default_tpm=6000, description=GROQ_FREE.format(30, "6,000"))
add("groq:openai/gpt-oss-120b", from_litellm("groq/openai/gpt-oss-120b"),
    caps={"code", "math", "reasoning", "tools", "json", "fast"}, tier="advanced", free_tier=True, region="us")
add("groq:openai/gpt-oss-20b", from_litellm("groq/openai/gpt-oss-20b"),
    caps={"reasoning", "tools", "json", "fast"}, tier="standard", free_tier=True, region="us")

# ---------------------------------------------------------------- DeepSeek
DS = {"region": "cn", "trains_on_outputs": True,
      "description": "DeepSeek's terms allow it to use API inputs and outputs to improve its services"}
add("deepseek:deepseek-chat", from_litellm("deepseek-chat"), caps={"code", "math", "tools", "json"},
    tier="advanced", aliases=["deepseek-v3"], **DS)
add("deepseek:deepseek-reasoner", from_litellm("deepseek-reasoner"), caps={"code", "math", "reasoning", "json"},
    tier="advanced", aliases=["deepseek-r1"], **DS)

# ---------------------------------------------------------------- Moonshot (Kimi)
add("moonshot:kimi-k2.5", from_litellm("moonshot/kimi-k2.5"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["kimi-k2.5", "kimi-k2-5", "kimi"], region="cn")
add("moonshot:moonshot-v1-128k", from_litellm("moonshot/moonshot-v1-128k"), caps={"tools", "json"},
    tier="standard", region="cn")
add("moonshot:moonshot-v1-8k", from_litellm("moonshot/moonshot-v1-8k"), caps={"tools", "json", "fast"},
    tier="basic", region="cn")

# ---------------------------------------------------------------- Mistral
EU = {"region": "eu"}
add("mistral:mistral-large-latest", from_litellm("mistral/mistral-large-latest"),
    caps={"code", "math", "tools", "json", "long-context"}, tier="advanced", aliases=["mistral-large"], **EU)
add("mistral:mistral-medium-latest", from_litellm("mistral/mistral-medium-latest"),
    caps={"code", "math", "vision", "tools", "json", "long-context"}, tier="advanced", aliases=["mistral-medium"], **EU)
add("mistral:mistral-small-latest", from_litellm("mistral/mistral-small-latest"),
    caps={"vision", "tools", "json", "fast", "long-context"}, tier="standard", aliases=["mistral-small"], **EU)
add("mistral:codestral-latest", from_litellm("mistral/codestral-latest"), caps={"code", "tools", "json", "fast"},
    tier="standard", aliases=["codestral"], **EU)
add("mistral:open-mistral-nemo", from_litellm("mistral/open-mistral-nemo"), caps={"tools", "json", "fast"},
    tier="basic", aliases=["mistral-nemo"], **EU)
add("mistral:ministral-8b-latest", from_litellm("mistral/ministral-8b-latest"), caps={"tools", "json", "fast"},
    tier="basic", aliases=["ministral-8b"], **EU)
add("mistral:magistral-medium-latest", from_litellm("mistral/magistral-medium-latest"),
    caps={"code", "math", "reasoning", "json", "long-context"}, tier="advanced", aliases=["magistral-medium"], **EU)

# ---------------------------------------------------------------- Together (live)
T = {"region": "us"}
add("together:meta-llama/Llama-3.3-70B-Instruct-Turbo",
    from_litellm("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"), caps={"code", "tools", "json"},
    tier="standard", aliases=["llama-3.3-70b-instruct-turbo"], **T)
add("together:meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    from_litellm("together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"), caps={"tools", "json", "fast"},
    tier="basic", **T)
add("together:Qwen/Qwen2.5-72B-Instruct-Turbo", from_litellm("together_ai/Qwen/Qwen2.5-72B-Instruct-Turbo"),
    caps={"code", "math", "tools", "json"}, tier="standard", **T)
add("together:Qwen/Qwen2.5-Coder-32B-Instruct", from_litellm("together_ai/Qwen/Qwen2.5-Coder-32B-Instruct"),
    caps={"code", "json"}, tier="standard", aliases=["qwen2.5-coder-32b"], **T)
add("together:deepseek-ai/DeepSeek-V3", from_litellm("together_ai/deepseek-ai/DeepSeek-V3"),
    caps={"code", "math", "tools", "json"}, tier="advanced", **T)
add("together:deepseek-ai/DeepSeek-R1-0528", from_litellm("together_ai/deepseek-ai/DeepSeek-R1-0528",
    out=32768), caps={"code", "math", "reasoning", "json"}, tier="advanced", **T)
add("together:moonshotai/Kimi-K2-Instruct", from_litellm("together_ai/moonshotai/Kimi-K2-Instruct", ctx=131072,
    out=16384), caps={"code", "tools", "json"}, tier="advanced", aliases=["kimi-k2"], **T)
add("together:openai/gpt-oss-120b", from_litellm("together_ai/openai/gpt-oss-120b"),
    caps={"code", "math", "reasoning", "tools", "json"}, tier="advanced", **T)

# ---------------------------------------------------------------- Replay data (RouterBench), historical prices
RB = "RouterBench recorded per-call costs (recorded 2023-12), podium/data/*_train.csv.gz: every row fits cost = in*{}+out*{} per 1M tokens{}"
RB_AS_OF = "2023-12-15"


def rb(inp, outp, *, also="", ctx, out):
    return manual(inp, outp, source=RB.format(inp, outp, also), as_of=RB_AS_OF, ctx=ctx, out=out)


RETIRED = "retired upstream; Podium answers it from the bundled replay data (podium eval)"
add("openai:gpt-4-1106-preview", rb("10", "30", also="; same as litellm 1.109.1 entry 'gpt-4-1106-preview'",
    ctx=128000, out=4096), caps={"code", "math", "tools", "json"}, tier="advanced",
    aliases=["gpt-4-1106-preview"], region="us")
add("openai:gpt-3.5-turbo-1106", rb("1", "2", also="; same as litellm 1.109.1 entry 'gpt-3.5-turbo-1106'",
    ctx=16385, out=4096), caps={"tools", "json", "fast"}, tier="basic", aliases=["gpt-3.5-turbo-1106"], region="us")
add("anthropic:claude-v2", rb("8", "24", also="; same as litellm 1.109.1 entry 'anthropic.claude-v2:1' (Bedrock)",
    ctx=100000, out=8191), api="claude-2.0", caps={"code"}, tier="standard", aliases=["claude-v2", "claude-2"],
    deprecated=True, description=RETIRED, region="us")
add("anthropic:claude-v1", rb("8", "24", also="; same as litellm 1.109.1 entry 'anthropic.claude-v1' (Bedrock)",
    ctx=100000, out=8191), api="claude-1.3", caps=set(), tier="standard", aliases=["claude-v1", "claude-1"],
    deprecated=True, description=RETIRED, region="us")
add("anthropic:claude-instant-v1", rb("0.8", "2.4",
    also="; same as litellm 1.109.1 entry 'anthropic.claude-instant-v1' (Bedrock)", ctx=100000, out=8191),
    api="claude-instant-1.2", caps={"fast"}, tier="basic", aliases=["claude-instant-v1", "claude-instant"],
    deprecated=True, description=RETIRED, region="us")
add("together:llama-2-70b-chat", rb("0.9", "0.9", also=" (Together's 41B-80B band; litellm 'together-ai-41.1b-80b')",
    ctx=4096, out=4096), api="meta-llama/Llama-2-70b-chat-hf", caps=set(), tier="basic",
    aliases=["meta/llama-2-70b-chat", "llama-2-70b-chat"], deprecated=True, description=RETIRED, region="us")
add("together:mixtral-8x7b-chat", rb("0.6", "0.6",
    also="; same as litellm 1.109.1 entry 'together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1'", ctx=32768, out=32768),
    api="mistralai/Mixtral-8x7B-Instruct-v0.1", caps={"code", "fast"}, tier="standard",
    aliases=["mistralai/mixtral-8x7b-chat", "mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"], region="us")
add("together:mistral-7b-chat", rb("0.2", "0.2",
    also="; same as litellm 1.109.1 entry 'together_ai/mistralai/Mistral-7B-Instruct-v0.1'", ctx=32768, out=32768),
    api="mistralai/Mistral-7B-Instruct-v0.1", caps={"fast"}, tier="basic",
    aliases=["mistralai/mistral-7b-chat", "mistral-7b"], region="us")
add("together:yi-34b-chat", rb("0.8", "0.8", also=" (Together's 21B-41B band; litellm 'together-ai-21.1b-41b')",
    ctx=4096, out=4096), api="zero-one-ai/Yi-34B-Chat", caps=set(), tier="basic",
    aliases=["zero-one-ai/Yi-34B-Chat", "yi-34b"], deprecated=True, description=RETIRED, region="us")
add("together:wizardlm-13b-v1.2", rb("0.3", "0.3", also=" (Together's 8B-21B band; litellm 'together-ai-8.1b-21b')",
    ctx=4096, out=4096), api="WizardLM/WizardLM-13B-V1.2", caps=set(), tier="basic",
    aliases=["WizardLM/WizardLM-13B-V1.2", "wizardlm-13b"], deprecated=True, description=RETIRED, region="us")
add("together:codellama-34b-instruct", rb("0.776", "0.776", ctx=16384, out=4096),
    api="togethercomputer/CodeLlama-34b-Instruct", caps={"code"}, tier="basic",
    aliases=["meta/code-llama-instruct-34b-chat", "codellama-34b"], deprecated=True, description=RETIRED, region="us")

# ---------------------------------------------------------------- OpenRouter
OR_PASS = "OpenRouter passes through the provider's list price; price from {} {}"
OR = {"region": "global"}


def via_or(key):
    d = from_litellm(key)
    d["price_source"] = OR_PASS.format(LIT, d["price_source"][len(LIT) + 1 :])
    return d


add("openrouter:openai/gpt-4o-mini", via_or("gpt-4o-mini"), caps={"code", "vision", "tools", "json", "fast"},
    tier="standard", **OR)
add("openrouter:openai/gpt-4o", via_or("gpt-4o"), caps={"code", "math", "vision", "tools", "json"}, tier="advanced",
    **OR)
add("openrouter:anthropic/claude-3-haiku", via_or("vercel_ai_gateway/anthropic/claude-3-haiku"),
    caps={"vision", "tools", "json", "fast", "long-context"}, tier="basic",
    aliases=["anthropic/claude-3-haiku-20240307", "openrouter:anthropic/claude-3-haiku-20240307"], **OR)
add("openrouter:anthropic/claude-3-opus", via_or("anthropic.claude-3-opus-20240229-v1:0"),
    caps={"code", "math", "vision", "tools", "json", "long-context"}, tier="advanced",
    aliases=["anthropic/claude-3-opus-20240229", "openrouter:anthropic/claude-3-opus-20240229"], **OR)
add("openrouter:anthropic/claude-sonnet-4.5", via_or("claude-sonnet-4-5-20250929"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier", **OR)
add("openrouter:google/gemini-2.5-pro", via_or("gemini/gemini-2.5-pro"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="frontier", **OR)
add("openrouter:google/gemini-2.5-flash", via_or("gemini/gemini-2.5-flash"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "fast", "long-context"}, tier="advanced", **OR)
add("openrouter:deepseek/deepseek-chat", via_or("deepseek-chat"), caps={"code", "math", "tools", "json"},
    tier="advanced", **OR)
add("openrouter:deepseek/deepseek-r1", via_or("deepseek/deepseek-r1"), caps={"code", "math", "reasoning", "json"},
    tier="advanced", **OR)
add("openrouter:moonshotai/kimi-k2.5", via_or("moonshot/kimi-k2.5"),
    caps={"code", "math", "reasoning", "vision", "tools", "json", "long-context"}, tier="advanced", **OR)
OR_FREE_SRC = "https://openrouter.ai/models (\":free\" variant: $0, rate-limited; not in the litellm reference file)"
OR_FREE = {"free_tier": True, "trains_on_outputs": True, "default_rpm": 20, "region": "global",
           "description": "free variant: 20 requests/min and a daily cap; free endpoints may log prompts for training"}


def free(ctx, out):
    return manual("0", "0", source=OR_FREE_SRC, ctx=ctx, out=out)


add("openrouter:deepseek/deepseek-r1:free", free(163840, 16384), caps={"code", "math", "reasoning"},
    tier="advanced", **OR_FREE)
add("openrouter:deepseek/deepseek-chat-v3-0324:free", free(163840, 16384), caps={"code", "math", "json"},
    tier="advanced", **OR_FREE)
add("openrouter:meta-llama/llama-3.3-70b-instruct:free", free(131072, 8192), caps={"code", "tools", "json"},
    tier="standard", **OR_FREE)
add("openrouter:qwen/qwen-2.5-coder-32b-instruct:free", free(32768, 8192), caps={"code"}, tier="standard",
    **OR_FREE)
add("openrouter:google/gemini-2.0-flash-exp:free", free(1048576, 8192),
    caps={"vision", "tools", "json", "fast", "long-context"}, tier="standard", **OR_FREE)
add("openrouter:mistralai/mistral-7b-instruct:free", free(32768, 8192), caps={"fast"}, tier="basic", **OR_FREE)

# ---------------------------------------------------------------- Local servers
LOCAL = "local server (no charge)"
OLLAMA_NOTE = ("native window {}; Ollama serves num_ctx=4096 unless OLLAMA_CONTEXT_LENGTH is raised, "
               "so raise both (context_window in podium.yaml) for longer prompts")
LOC = {"region": "local", "free_tier": True}
add("ollama:llama3.2", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"fast", "tools"}, tier="basic",
    description=OLLAMA_NOTE.format("128K"), **LOC)
add("ollama:llama3.1", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"tools"}, tier="basic",
    description=OLLAMA_NOTE.format("128K"), **LOC)
add("ollama:qwen2.5-coder", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"code", "tools"}, tier="basic",
    description=OLLAMA_NOTE.format("32K"), **LOC)
add("ollama:mistral", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"fast", "tools"}, tier="basic",
    description=OLLAMA_NOTE.format("32K"), **LOC)
add("ollama:deepseek-r1", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"reasoning", "math"},
    tier="basic", description=OLLAMA_NOTE.format("128K"), **LOC)
add("vllm:meta-llama/Llama-3.1-8B-Instruct", manual("0", "0", source=LOCAL, ctx=131072, out=8192),
    caps={"tools", "json"}, tier="basic", description="vLLM serves the model's full window unless --max-model-len is set",
    **LOC)
add("vllm:Qwen/Qwen2.5-Coder-7B-Instruct", manual("0", "0", source=LOCAL, ctx=32768, out=8192),
    caps={"code", "json"}, tier="basic", description="vLLM serves the model's full window unless --max-model-len is set",
    **LOC)
LCPP = "llama-server's --ctx-size decides the window (4096 unless set); raise context_window to match"
add("llamacpp:llama-3.2-3b-instruct", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"fast"},
    tier="basic", description=LCPP, **LOC)
add("llamacpp:qwen2.5-coder-7b-instruct", manual("0", "0", source=LOCAL, ctx=4096, out=4096), caps={"code"},
    tier="basic", description=LCPP, **LOC)


# Superseded by a newer model of the same provider at a similar or lower price: callable when named, never picked
# by a strategy on its own (the recorded 2023 models included).
LEGACY = {
    "openai:gpt-4", "openai:gpt-4-turbo", "openai:gpt-3.5-turbo", "openai:gpt-4-1106-preview",
    "openai:gpt-3.5-turbo-1106", "openai:o1", "openai:gpt-4o",
    "anthropic:claude-3-opus", "anthropic:claude-3-7-sonnet", "anthropic:claude-opus-4", "anthropic:claude-opus-4-1",
    "anthropic:claude-3-haiku", "together:mixtral-8x7b-chat", "together:mistral-7b-chat",
    "openrouter:anthropic/claude-3-opus", "openrouter:anthropic/claude-3-haiku", "openrouter:openai/gpt-4o",
    "moonshot:moonshot-v1-128k", "moonshot:moonshot-v1-8k",
}


def main() -> None:
    for m in M:
        if m["id"] in LEGACY:
            m["legacy"] = True
    specs = [spec_from_mapping(m) for m in M]
    ids = [s.id for s in specs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for s in specs:
        assert s.price_source and s.price_as_of and s.price_as_of <= date(2025, 11, 1), s.id
    out = Path("podium/catalog/models.json")
    out.write_text(json.dumps(document_from_specs(specs), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(specs)} models to {out}")


if __name__ == "__main__":
    main()
