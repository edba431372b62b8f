"""Test doubles that run as real servers: a deterministic OpenAI-compatible stub and a fault-injecting one.

They are not models: they recognise which synthesis step a prompt belongs to and answer with valid (or
deliberately broken) JSON, so tests and benchmarks can drive the real CLI, LLM client and runner fast and
reproducibly. ``python -m emopillars.testing.stub_server`` / ``python -m emopillars.testing.fault_server``
start them in their own process. :mod:`emopillars.testing.browser` holds the flags every browser test
launches Chromium with.
"""
