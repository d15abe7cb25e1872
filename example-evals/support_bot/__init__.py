"""Pinecone Outfitters' support bot: the example agent that gitevals evaluates."""

from .agent import answer, answer_async

__all__ = ["answer", "answer_async"]
