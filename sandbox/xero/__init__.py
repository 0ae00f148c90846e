"""Simulated Xero Accounting API (OAuth2 with rotating refresh tokens, tenant header, per-tenant limits)."""
