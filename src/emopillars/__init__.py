"""Emo Pillars: an open LLM as a teacher for fine-grained, context-aware emotion classification."""

__version__ = "0.1.0"
