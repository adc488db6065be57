"""Evidence retrieval over a context's token windows.

One :class:`Retriever` protocol with three implementations: :class:`BM25Retriever` (Lucene BM25, the
default), :class:`DenseRetriever` (sentence-transformers, default the offline MiniLM package)
and :class:`HybridRetriever` (reciprocal rank fusion). :class:`EvidenceIndex` is what scorers
use: built once per context, queried by every statement of every candidate. Heavy libraries are
imported only when an index is built.
"""

from .base import Hit, Index, Retriever
from .bm25 import BM25Retriever
from .config import RetrievalConfig, build_retriever
from .dense import DenseRetriever
from .evidence import EvidenceIndex
from .hybrid import HybridRetriever

__all__ = [
    "BM25Retriever",
    "DenseRetriever",
    "EvidenceIndex",
    "Hit",
    "HybridRetriever",
    "Index",
    "RetrievalConfig",
    "Retriever",
    "build_retriever",
]
