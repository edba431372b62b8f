"""Emo Pillars: an open LLM as a teacher for fine-grained, context-aware emotion classification."""

import os

# Spinning OpenMP threads make torch many times slower on small shared machines (measured 10x on
# 2 cores); passive waiting costs nothing on a quiet one. Set before anything imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
