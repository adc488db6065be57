"""Judge prompts as typed objects: a template file per step and language, an output model whose
JSON schema goes to the backend, a parser, and a hash stored with every result."""

from .base import Prompt, data_block, detect_language, extract_json, load_template

__all__ = ["Prompt", "data_block", "detect_language", "extract_json", "load_template"]
