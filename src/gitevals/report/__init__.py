"""Renderers: turning runs and summaries into text for people."""
