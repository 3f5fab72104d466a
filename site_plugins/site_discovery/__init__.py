"""Sharing and discovery for the site: search index, social cards, reading time, contents."""

from .plugin import register

__all__ = ["register"]
