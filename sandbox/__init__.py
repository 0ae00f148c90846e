"""Faithful simulators of the five vendor APIs over one deterministic retail world."""
