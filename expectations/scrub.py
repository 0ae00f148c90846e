"""Validation results keep a sample of the unexpected values, and an email column's unexpected
values are people's addresses. The stored results are masked (seamline.masking) before Data Docs
render them, so the data lead sees `<email>` where a customer's address failed a check, and still
sees the bad status, the negative quantity or the malformed date as it was."""

from __future__ import annotations

import json
from pathlib import Path

from seamline.masking import mask_pii


def scrub_results(gx_dir: Path) -> int:
    """Mask emails and phones in every stored validation result; returns how many files changed.

    Masked value by value, not in the file's text: in JSON an address may follow an escape
    (`"\\tjane@..."`), where a text pattern would either miss it or break the escape."""
    changed = 0
    root = gx_dir / "uncommitted" / "validations"
    for path in root.rglob("*.json") if root.is_dir() else ():
        text = path.read_text()
        if "@" not in text and not any(ch.isdigit() for ch in text):
            continue
        result = json.loads(text)
        masked = _masked(result)
        if masked != result:
            path.write_text(json.dumps(masked, indent=2))
            changed += 1
    return changed


def _masked(value):
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


def scrub_sample(values: list) -> list:
    """The sample kept in ops.quality_results, masked the same way."""
    return [mask_pii(v) if isinstance(v, str) else v for v in values]
