"""The leaderboard page and its figures (matplotlib, Jinja2)."""

from .leaderboard import build_context, render, write_leaderboard

__all__ = ["build_context", "render", "write_leaderboard"]
