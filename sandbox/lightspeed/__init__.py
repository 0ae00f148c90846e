"""Lightspeed Retail (X-Series) API 2.0, simulated: the two shops' state, its JSON and its routes."""
