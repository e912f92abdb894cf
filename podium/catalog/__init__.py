"""The model catalog: bundled model data, user overrides and LiteLLM-format price imports."""

from podium.catalog.catalog import Catalog
from podium.catalog.litellm_import import (
    LITELLM_PROVIDERS,
    LiteLLMImport,
    convert_litellm,
    keep_curated,
    load_litellm_file,
    specs_from_litellm,
)
from podium.catalog.mapping import spec_from_mapping, spec_to_mapping
from podium.catalog.store import podium_home, read_models_file, save_user_models, user_models_path

__all__ = [
    "LITELLM_PROVIDERS",
    "Catalog",
    "LiteLLMImport",
    "convert_litellm",
    "keep_curated",
    "load_litellm_file",
    "podium_home",
    "read_models_file",
    "save_user_models",
    "spec_from_mapping",
    "spec_to_mapping",
    "specs_from_litellm",
    "user_models_path",
]
