"""Validation results keep a sample of the unexpected values, and an email column's unexpected
values are people's addresses. The stored results are masked (seamline.masking) before Data Docs
render them, so the data lead sees `<email>` where a customer's address failed a check, and still
sees the bad status, the negative quantity or the malformed date as it was."""

from __future__ import annotations

from pathlib import Path

from seamline.masking import mask_pii


def scrub_results(gx_dir: Path) -> int:
    """Mask emails and phones in every stored validation result; returns how many files changed."""
    changed = 0
    root = gx_dir / "uncommitted" / "validations"
    for path in root.rglob("*.json") if root.is_dir() else ():
        text = path.read_text()
        masked = mask_pii(text)
        if masked != text:
            path.write_text(masked)
            changed += 1
    return changed


def scrub_sample(values: list) -> list:
    """The sample kept in ops.quality_results, masked the same way."""
    return [mask_pii(v) if isinstance(v, str) else v for v in values]
