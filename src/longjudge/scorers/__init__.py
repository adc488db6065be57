"""Scorers turn (example, candidates) into rewards: ``longreward`` and ``s2l``."""

from .base import Scorer

__all__ = ["Scorer"]
