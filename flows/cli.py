"""The `seamline` command. A user error prints one line on stderr and exits non-zero."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from seamline.errors import SeamlineError
from seamline.runtime import configure


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamline", description="ELT for small omnichannel retailers.")
    p.add_argument("--tenant", help="the shop to work on, as named in tenants.yml (default: $SEAMLINE_TENANT, "
                                    "or the single-tenant default)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the whole pipeline against the sandbox and print a summary")
    sb = sub.add_parser("sandbox", help="serve the simulated vendor APIs on loopback")
    sb.add_argument("--port", type=int, default=8700)
    sb.add_argument("--scale", type=int, default=1000, help="web orders in the world (100 to 1,000,000)")
    sb.add_argument("--seed", type=int, default=7)
    sb.add_argument("--faults", default="", help="e.g. 'woocommerce:error_rate=0.1;xero:rate_limit=day'")
    sy = sub.add_parser("sync", help="extract and load sources into raw_<source>")
    sy.add_argument("sources", nargs="*", help="source names (default: all configured)")
    sy.add_argument("--full-refresh", action="store_true", help="drop the raw tables and cursors, reload all")
    sub.add_parser("transform", help="dbt build")
    sub.add_parser("quality", help="run the Great Expectations checkpoint and score the integrations")
    rn = sub.add_parser("run", help="the Prefect pipeline flow: syncs, then dbt build, then quality")
    rn.add_argument("sources", nargs="*")
    rn.add_argument("--full-refresh", action="store_true")
    st = sub.add_parser("status", help="health of each integration")
    st.add_argument("--json", action="store_true")
    rp = sub.add_parser("report", help="the weekly integration health report (Markdown and HTML)")
    rp.add_argument("--week", help="ISO week, e.g. 2024-W03 (default: the current week so far)")
    rp.add_argument("--out", help="output folder (default: SEAMLINE_HOME/reports)")
    rt = sub.add_parser("retry", help="replay a manual-queue item (see `seamline queue`) and close it")
    rt.add_argument("item_id", type=int, nargs="?")
    rt.add_argument("--dead-letter", type=int, metavar="ID", help="replay a webhook event from ops.dead_letter")
    sub.add_parser("queue", help="list the open manual-queue items and webhook dead letters")
    sv = sub.add_parser("serve", help="serve the deployments on their schedules (and the dashboard)")
    sv.add_argument("--port", type=int, default=8765, help="dashboard and webhook port")
    db = sub.add_parser("db", help="database administration").add_subparsers(dest="db_command", required=True)
    gr = db.add_parser("grant", help="roles and privileges isolating this schema prefix (tenant)")
    gr.add_argument("--analyst-password-env", metavar="VAR", help="set the analyst role's password from $VAR")
    gr.add_argument("--hashed-password-env", metavar="VAR",
                    help="set the hashed analyst role's password (marts without PII) from $VAR")
    gr.add_argument("--owner-password-env", metavar="VAR",
                    help="let the tenant's owner role log in, with the password in $VAR (for a tenant DATABASE_URL)")
    sub.add_parser("doctor", help="check the database (Supabase) is ready and safe for Seamline")
    ob = sub.add_parser("outbound", help="write what the marts say should exist into Xero, Klaviyo, WooCommerce, Finale")
    ob.add_argument("jobs", nargs="*", help="outbound job names (default: all enabled)")
    ob.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    er = sub.add_parser("erase", help="remove a person from every table and keep them out of later syncs")
    er.add_argument("--email", required=True, help="the person's email address")
    er.add_argument("--dry-run", action="store_true", help="say what would be erased, change nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    configure()
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from seamline.tenants import activate

        activate(args.tenant)
        return _dispatch(args)
    except SeamlineError as exc:
        print(f"seamline: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seamline: interrupted", file=sys.stderr)
        return 130


def _check_sources(names: list[str]) -> list[str]:
    from ingest.pipeline import available_sources

    known = available_sources()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SeamlineError(f"unknown source(s) {', '.join(unknown)}; available: {', '.join(known)}")
    return names or list(known)


def _dispatch(args) -> int:
    if args.command == "sandbox":
        return _sandbox(args)
    from seamline.database import get_database

    if args.command == "doctor":
        from seamline.doctor import doctor

        lines, code = doctor(get_database(check=False, admin=True))  # the pooler is refused before connecting
        print("\n".join(lines))
        return code
    if args.command == "db":
        from seamline.grants import grant_tenant, password_from_env

        print("\n".join(grant_tenant(get_database(admin=True), password_from_env(args.analyst_password_env),
                                      owner_password=password_from_env(args.owner_password_env, "--owner-password-env"),
                                      hashed_password=password_from_env(args.hashed_password_env,
                                                                        "--hashed-password-env"))))
        return 0
    if args.command == "demo":
        from flows.demo import run_demo

        return run_demo()
    if args.command == "sync":
        names = _check_sources(args.sources)
        if os.environ.get("PREFECT_API_URL"):
            return _sync_through_prefect(names, args.full_refresh)
        from ingest.processes import sync_all

        results = sync_all(names, full_refresh=args.full_refresh, trigger="cli")
        for r in results:
            print(f"{r.source}: {r.status}, {r.rows} rows, {r.api_calls} API calls, {r.duration_ms} ms"
                  + (f", finished {r.recovered_packages} interrupted load(s)" if r.recovered_packages else ""))
        failed = [r for r in results if not r.ok]
        for r in failed:
            print(f"seamline: {r.message}", file=sys.stderr)
        return 1 if failed else 0
    if args.command == "transform":
        from flows.dbt import run_dbt

        result = run_dbt(get_database(), "build")
        print(f"dbt build: {'ok' if result.success else 'failed'} {result.counts}")
        for failure in result.failures:
            print(f"seamline: {failure.splitlines()[0]}", file=sys.stderr)
        return 0 if result.success else 1
    if args.command == "quality":
        from expectations import run_quality

        q = run_quality(get_database())
        for name, score in sorted(q.scores.items()):
            print(f"{name}: {score:.1f}")
        print(f"Data Docs: {q.data_docs_path}")
        return 0
    if args.command == "run":
        from flows.pipeline import pipeline_flow

        result = pipeline_flow(sources=_check_sources(args.sources), full_refresh=args.full_refresh, trigger="cli")
        return 0 if result.ok else 1
    if args.command == "status":
        from flows.status import format_table, integration_status, to_json

        rows = integration_status(get_database())
        print(to_json(rows) if args.json else format_table(rows))
        return 0
    if args.command == "report":
        from flows.report import build_report, to_markdown, write_report

        report = build_report(get_database(), week=args.week)
        md, page = write_report(report, args.out)
        print(to_markdown(report))
        print(f"written: {md}\n         {page}", file=sys.stderr)
        return 0
    if args.command == "queue":
        from flows.manual_queue import open_items

        items = open_items(get_database())
        for item in items:
            print(f"{item.item_id:>4}  {item.flow_name} {json.dumps(item.parameters)}  attempts {item.attempts}\n"
                  f"      error: {item.error}\n      needs: {item.needs}")
        if not items:
            print("the manual queue is empty")
        from webhooks.store import dead_letters

        for letter in dead_letters(get_database()):
            print(f"dead letter {letter.dead_id}: {letter.source} {letter.topic} (event {letter.event_id}), "
                  f"{letter.attempts} attempts\n      reason: {letter.reason}\n"
                  f"      replay: seamline retry --dead-letter {letter.dead_id}")
        return 0
    if args.command == "retry":
        if args.dead_letter is not None:
            return _retry_dead_letter(get_database(), args.dead_letter)
        if args.item_id is None:
            raise SeamlineError("retry needs a manual-queue item ID or --dead-letter ID")
        return _retry(get_database(), args.item_id)
    if args.command == "outbound":
        from outbound.cli import run_outbound

        return run_outbound(get_database(), args.jobs, dry_run=args.dry_run)
    if args.command == "erase":
        from seamline.erasure import erase_cli

        return erase_cli(get_database(), args.email, dry_run=args.dry_run)
    if args.command == "serve":
        from flows.serve import serve

        return serve(port=args.port)
    raise SeamlineError(f"unknown command {args.command}")


def _sync_through_prefect(names: list[str], full_refresh: bool) -> int:
    """With a Prefect server configured, a manual sync is a flow run like the UI's "Run"."""
    from flows.ladder import SyncFailed
    from flows.sync import sync_flow

    failed = False
    for name in names:
        try:
            summary = sync_flow(source=name, full_refresh=full_refresh, trigger="cli", use_ladder=False)
            print(f"{name}: {summary['status']}, {summary['rows']} rows, {summary['api_calls']} API calls")
        except SyncFailed as exc:
            print(f"seamline: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _retry(db, item_id: int) -> int:
    from flows.ladder import SyncFailed
    from flows.manual_queue import close, get, record_failed_replay

    item = get(db, item_id)
    if item.status != "open":
        raise SeamlineError(f"manual-queue item {item_id} is already {item.status}")
    try:
        if item.flow_name == "sync":
            from flows.sync import sync_flow

            sync_flow(**item.parameters, trigger="retry", use_ladder=False)
        elif item.flow_name == "pipeline":
            from flows.pipeline import pipeline_flow

            result = pipeline_flow(**{**item.parameters, "trigger": "retry"})
            if not result.ok:
                raise SeamlineError(f"the pipeline ran but {', '.join(result.stale_sources) or 'dbt'} failed again")
        elif item.flow_name == "outbound":
            from flows.outbound import outbound_flow

            outbound_flow(**item.parameters, trigger="retry", use_ladder=False)
        else:
            raise SeamlineError(f"cannot replay a {item.flow_name!r} item")
    except (SyncFailed, SeamlineError) as exc:
        if item.flow_name != "sync":  # a failed sync replay already counted itself on the same item
            record_failed_replay(db, item_id, str(exc))
        print(f"seamline: replay of item {item_id} failed: {exc}", file=sys.stderr)
        return 1
    close(db, item_id)
    print(f"item {item_id} replayed and closed")
    return 0


def _retry_dead_letter(db, dead_id: int) -> int:
    from webhooks.replay import replay_dead_letter

    outcome = replay_dead_letter(db, dead_id)
    if not outcome.ok:
        print(f"seamline: replay of dead letter {dead_id} failed: {outcome.message}", file=sys.stderr)
        return 1
    print(f"dead letter {dead_id} replayed (sync run {outcome.run_id}) and closed")
    return 0


def _sandbox(args) -> int:
    from sandbox.faults import FaultPlan
    from sandbox.server import SandboxServer
    from sandbox.world import World

    if not 100 <= args.scale <= 1_000_000:
        raise SeamlineError("--scale must be between 100 and 1,000,000")
    try:
        faults = FaultPlan.parse(args.faults)
    except ValueError as exc:
        raise SeamlineError(f"--faults: {exc}") from None
    server = SandboxServer(World(seed=args.seed, scale=args.scale), port=args.port, faults=faults)
    for key, value in server.settings().items():
        print(f"{key}={value}")
    print(f"# sandbox serving on {server.base_url} (Ctrl-C to stop)", flush=True)
    server.serve_forever()
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
