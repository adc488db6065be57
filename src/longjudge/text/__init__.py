"""Token counting, sentence splitting and token windows that keep character offsets.

Every tokenizer here works offline and reports the character span of each token, so that a
window of tokens maps back to an exact slice of the original text:

- :class:`RegexTokenizer` (the default): no files, no download. A word or a number is one
  token, each punctuation mark is one token, each CJK character is one token. It approximates
  a subword tokenizer's count (English subword tokenizers give about 1.2-1.4 tokens per word).
- :class:`HFTokenizer`: a local ``tokenizer.json`` (or a directory holding one) through the
  ``tokenizers`` library; the offline MiniLM package ships one beside its model.
- :class:`LlamaTokenizer`: the vocabulary of a GGUF loaded by llama.cpp (the local judge's own).

:func:`token_windows` tokenizes once and cuts windows of at most ``size`` tokens that cover the
text exactly; by default they pack whole sentences (:func:`split_sentences`).
"""

from .sentences import split_sentences
from .tokenizer import (
    CJK_RANGES,
    HFTokenizer,
    LlamaTokenizer,
    RegexTokenizer,
    Span,
    Tokenizer,
    get_tokenizer,
    llama_tokenizer,
)
from .windows import token_windows

__all__ = [
    "CJK_RANGES",
    "HFTokenizer",
    "LlamaTokenizer",
    "RegexTokenizer",
    "Span",
    "Tokenizer",
    "get_tokenizer",
    "llama_tokenizer",
    "split_sentences",
    "token_windows",
]
