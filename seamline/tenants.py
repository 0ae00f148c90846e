"""Several shops in one database: each tenant has its own schema prefix, Postgres role, sources,
secrets, schedules and mapping overrides, named in `tenants.yml`.

```yaml
tenants:
  grocer:
    sources: [woocommerce, klaviyo, xero, lightspeed, finale]
    schedules: {sync-woocommerce: "*/15 * * * *", pipeline: "0 2 * * *"}
    mappings: tenants/grocer/mappings      # CSVs replacing the dbt seeds of the same name
  gallery:
    sources: [woocommerce, klaviyo]
```

Selecting a tenant (`seamline --tenant grocer ...` or SEAMLINE_TENANT) rewrites this process's
environment once, before anything reads it, so every stage and every subprocess (dlt, dbt, GX,
Prefect flow runs) sees the same tenant:

- SEAMLINE_SCHEMA_PREFIX=`grocer_`, and SEAMLINE_TENANT=`grocer`;
- the tenant's secrets, `TENANTS__GROCER__SOURCES__<NAME>__<KEY>` (env) or `[tenants.grocer.sources.<name>]`
  (.dlt/secrets.toml), become the `SOURCES__<NAME>__<KEY>` the sources read; another tenant's never do;
- the database session runs as the tenant's role `seamline_grocer` (created by `seamline db grant`),
  or as the login in `TENANTS__GROCER__DATABASE_URL` when the tenant has its own;
- its schedules become `SEAMLINE_SCHEDULE__<DEPLOYMENT>` overrides, its mappings a seed folder.

Without a tenants file and without --tenant nothing changes: the single-tenant default.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from seamline import settings
from seamline.errors import SeamlineError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_SECRET_SECTIONS = ("SOURCES__", "WEBHOOKS__")


@dataclass(frozen=True)
class Tenant:
    name: str
    sources: tuple[str, ...]
    schedules: dict[str, str] = field(default_factory=dict)
    mappings: Path | None = None

    @property
    def prefix(self) -> str:
        return f"{self.name}_"

    @property
    def role(self) -> str:
        return f"seamline_{self.name}"


def tenants_file() -> Path:
    return Path(os.environ.get("SEAMLINE_TENANTS_FILE", settings.PROJECT_ROOT / "tenants.yml"))


def load_tenants(path: Path | None = None) -> dict[str, Tenant]:
    """The tenants the file names ({} without a file); a malformed file is an error, not a guess."""
    path = path or tenants_file()
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SeamlineError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    entries = doc.get("tenants") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise SeamlineError(f"{path}: expected a `tenants:` mapping of tenant names")
    return {name: _tenant(path, name, spec or {}) for name, spec in entries.items()}


def _tenant(path: Path, name, spec: dict) -> Tenant:
    where = f"{path}: tenant {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise SeamlineError(f"{where}: a name is lowercase letters, digits and underscores, starting with a letter "
                            "(it names schemas and roles)")
    if not isinstance(spec, dict):
        raise SeamlineError(f"{where}: expected a mapping")
    unknown = set(spec) - {"sources", "schedules", "mappings"}
    if unknown:
        raise SeamlineError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    sources = tuple(spec.get("sources") or settings.SOURCES)
    bad = [s for s in sources if s not in settings.SOURCES]
    if bad:
        raise SeamlineError(f"{where}: unknown source(s) {', '.join(bad)}; known: {', '.join(settings.SOURCES)}")
    schedules = spec.get("schedules") or {}
    if not isinstance(schedules, dict):
        raise SeamlineError(f"{where}: schedules maps a deployment name to a cron, seconds or 'off'")
    mappings = spec.get("mappings")
    if mappings is not None:
        mappings = (path.parent / mappings).resolve()
        if not mappings.is_dir():
            raise SeamlineError(f"{where}: mappings folder {mappings} does not exist")
    return Tenant(name, sources, {str(k): str(v) for k, v in schedules.items()}, mappings)


def activate(name: str | None) -> Tenant | None:
    """Point this process at one tenant (see the module docstring); None keeps the default."""
    name = name or os.environ.get("SEAMLINE_TENANT") or None
    if not name:
        return None
    tenants = load_tenants()
    if name not in tenants:
        known = ", ".join(sorted(tenants)) or f"none: {tenants_file()} does not exist"
        raise SeamlineError(f"unknown tenant {name!r} (tenants: {known})")
    tenant = tenants[name]
    env = os.environ
    if env.get("SEAMLINE_ACTIVE_TENANT") == name:
        return tenant  # a flow-run subprocess inherits an environment already rewritten
    for key in [k for k in env if k.startswith(_SECRET_SECTIONS)]:
        del env[key]  # the default's (or another tenant's) secrets must not reach this tenant's sources
    env.update(tenant_secrets(name))
    env["SEAMLINE_TENANT"] = env["SEAMLINE_ACTIVE_TENANT"] = name
    env["SEAMLINE_SCHEMA_PREFIX"] = tenant.prefix
    env["SEAMLINE_SOURCES"] = ",".join(tenant.sources)
    own_url = env.get(f"TENANTS__{name.upper()}__DATABASE_URL")
    if own_url:
        if env.get("DATABASE_URL"):
            env.setdefault("SEAMLINE_ADMIN_DATABASE_URL", env["DATABASE_URL"])
        env["DATABASE_URL"] = own_url
        env.pop("SEAMLINE_DB_ROLE", None)
    else:
        env["SEAMLINE_DB_ROLE"] = tenant.role
    for deployment, schedule in tenant.schedules.items():
        env[f"SEAMLINE_SCHEDULE__{deployment.upper().replace('-', '_')}"] = schedule
    if tenant.mappings is not None:
        env["SEAMLINE_SEED_PATH"] = str(seed_folder(tenant).relative_to(settings.DBT_PROJECT_DIR))
    return tenant


def tenant_secrets(name: str) -> dict[str, str]:
    """`TENANTS__<NAME>__SOURCES__...` (env) and `[tenants.<name>.sources.<source>]` (dlt secrets),
    renamed to the `SOURCES__...` keys the sources read."""
    out: dict[str, str] = {}
    try:
        import dlt

        for section in ("sources", "webhooks"):
            for source in settings.SOURCES:
                values = dlt.secrets.get(f"tenants.{name}.{section}.{source}") or {}
                for key, value in dict(values).items():
                    out[f"{section.upper()}__{source.upper()}__{key.upper()}"] = str(value)
    except Exception:  # no .dlt folder, or a section that is not a table: env vars still apply
        pass
    marker = f"TENANTS__{name.upper()}__"
    for key, value in os.environ.items():
        rest = key[len(marker):] if key.startswith(marker) else ""
        if rest.startswith(_SECRET_SECTIONS):
            out[rest] = value
    return out


def seed_folder(tenant: Tenant) -> Path:
    """The project's seeds with the tenant's CSVs in place of those of the same name."""
    default = settings.DBT_PROJECT_DIR / "seeds"
    known = {p.name for p in default.glob("*.csv")}
    overrides = sorted(tenant.mappings.glob("*.csv"))
    strange = [p.name for p in overrides if p.name not in known]
    if strange:
        raise SeamlineError(f"tenant {tenant.name}: mapping file(s) {', '.join(strange)} replace no seed; "
                            f"seeds are {', '.join(sorted(known))}")
    # inside the dbt project (dbt names seed tests by their path in it), ignored by git
    folder = settings.DBT_PROJECT_DIR / "tenant_seeds" / tenant.name
    folder.mkdir(parents=True, exist_ok=True)
    for path in default.iterdir():
        if path.is_file():
            shutil.copyfile(path, folder / path.name)
    for path in overrides:
        shutil.copyfile(path, folder / path.name)
    return folder
