"""Helpers for the real-Krita test (tests/test_krita_real.py)."""
