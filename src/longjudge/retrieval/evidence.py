"""The per-context evidence index: windows + retrieval index, built once, queried by all.

A LongReward prompt builds one :class:`EvidenceIndex` in its ``prepare`` step; every statement
of every candidate of that prompt then asks it for evidence. The index is read-only after
``build`` (safe to share across threads and tasks) and remembers the answers to queries it has
already seen, since candidates of one prompt often repeat the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..text import Tokenizer, token_windows
from ..types import Chunk, Evidence
from .base import Hit, Index, Retriever
from .config import RetrievalConfig, build_retriever

_MEMO_LIMIT = 20_000


@dataclass(frozen=True)
class EvidenceIndex:
    """One context's evidence windows and their retrieval index."""

    chunks: tuple[Chunk, ...]
    index: Index
    config: RetrievalConfig
    _memo: dict[str, list[Hit]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        context: str,
        config: RetrievalConfig | None = None,
        tokenizer: Tokenizer | None = None,
        retriever: Retriever | None = None,
    ) -> EvidenceIndex:
        """Cut ``context`` into windows and index them (the expensive, once-per-context step)."""
        cfg = config or RetrievalConfig()
        chunks = tuple(
            token_windows(
                context, cfg.window_tokens, tokenizer, align_sentences=cfg.align_sentences
            )
        )
        return cls(chunks, (retriever or build_retriever(cfg)).build(chunks), cfg)

    def query(self, statement: str, question: str = "") -> str:
        """The retrieval query for a statement (the question first when configured)."""
        if self.config.query_with_question and question.strip():
            return f"{question.strip()}\n{statement}"
        return statement

    def hits_many(self, queries: Sequence[str]) -> list[list[Hit]]:
        """Top-k hits per query (best first); repeated queries are answered from memory."""
        known = {q: self._memo.get(q) for q in queries}
        missing = [q for q, hits in known.items() if hits is None]
        if missing:
            found = self.index.search_many(missing, self.config.top_k)
            if len(self._memo) + len(missing) > _MEMO_LIMIT:
                self._memo.clear()
            for query, hits in zip(missing, found, strict=True):
                known[query] = self._memo[query] = hits
        return [known[q] or [] for q in queries]

    def _evidence(self, hits: list[Hit]) -> list[Evidence]:
        out = [
            Evidence(
                chunk_index=h.chunk_index,
                start=self.chunks[h.chunk_index].start,
                end=self.chunks[h.chunk_index].end,
                score=h.score,
            )
            for h in hits
        ]
        return sorted(out, key=lambda ev: ev.start)

    def evidence(self, statement: str, question: str = "") -> list[Evidence]:
        """Top-k windows for one statement, in document order, with their offsets."""
        return self.evidence_many([statement], question)[0]

    def evidence_many(self, statements: Sequence[str], question: str = "") -> list[list[Evidence]]:
        """``evidence`` for several statements in one batch (dense: one encoder call)."""
        hits = self.hits_many([self.query(s, question) for s in statements])
        return [self._evidence(h) for h in hits]


__all__ = ["EvidenceIndex"]
