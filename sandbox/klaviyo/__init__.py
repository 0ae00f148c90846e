"""Simulated Klaviyo (JSON:API, revision header, cursor paging, tiered rate limits)."""
