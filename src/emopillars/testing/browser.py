"""How the tests launch Debian's headless Chromium under Playwright (one set of flags for every browser fixture).

Headless, no sandbox (containers, root), no GPU, and nothing that reaches the network on its own (QUIC,
background networking, component updates, sync, first-run pages): the browser only loads what a test serves.
"""

from __future__ import annotations

CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
