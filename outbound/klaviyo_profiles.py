"""Golden customers -> Klaviyo profiles, created or updated by email (profile import)."""

from __future__ import annotations

from ingest.klaviyo.settings import JSONAPI
from outbound.clients import send_json
from outbound.writer import Context, Job, Sent


class KlaviyoProfiles(Job):
    name = "klaviyo_profiles"
    vendor = "klaviyo"
    model = "outbound_klaviyo_profiles"
    local_key_column = "customer_key"

    def version(self, row: dict) -> str:
        return row["profile_version"]  # a changed golden name is sent again

    def summary(self, row: dict) -> dict:
        return {"customer_key": row["customer_key"], "update": bool(row["profile_exists"]),
                "profile_version": row["profile_version"]}

    def personal(self, row: dict) -> tuple:
        return (row.get("email"), row.get("first_name"), row.get("last_name"))

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        attributes = {"email": row["email"]}
        for field in ("first_name", "last_name"):
            if row.get(field):
                attributes[field] = row[field]
        body = {"data": {"type": "profile", "attributes": attributes}}
        status, answer = send_json(ctx.client("klaviyo"), "klaviyo", "POST", "profile-import/", body,
                                   resource="profile_import", headers={"Content-Type": JSONAPI})
        remote = ((answer or {}).get("data") or {}).get("id") if isinstance(answer, dict) else None
        return Sent(remote, status)
