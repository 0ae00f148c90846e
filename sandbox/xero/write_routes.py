"""The write routes of the simulated Xero API (what sandbox/xero/writes.py does, over HTTP).

- `PUT|POST /Contacts` `{"Contacts": [{"Name", "EmailAddress", "FirstName", "LastName"}]}` (or one bare
  contact): 200 with the saved contacts; an element with a ContactID updates that contact.
- `PUT|POST /Invoices` `{"Invoices": [...]}`: create ACCREC invoices; elements that all carry an
  InvoiceID change those invoices' Status instead. `POST /Invoices/{InvoiceID}` changes one.
- `PUT|POST /CreditNotes` `{"CreditNotes": [...]}`: create ACCRECCREDIT credit notes.

Every write passes the same checks as a read (bearer token, Xero-Tenant-Id, the tenant's rate limits,
which writes count against). A refused document is 400 `{"ErrorNumber": 10, "Type":
"ValidationException", "Message": "A validation exception occurred", "Elements": [...]}`, every
element echoed and the failing ones carrying `ValidationErrors: [{"Message"}]`; nothing is saved. A
body that is not JSON is 400 `PostDataInvalidException` (ErrorNumber 14).

`Idempotency-Key` (at most 128 characters, Xero's limit): the first successful answer is kept for 24
hours of the world's clock; the same key with the same method, path and body gets that answer again
(and changes nothing); the same key with anything else is 400 (a problem body, Title "Idempotency
key reused": Xero's exact answer is unverified, this is the sandbox's documented choice). Refused
requests are not kept, so a corrected retry under the same key is processed.
"""

from __future__ import annotations

import hashlib

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.http import json_response
from sandbox.xero.store import XContact, XCreditNote, XInvoice, ms
from sandbox.xero.writes import XeroValidation

MAX_KEY = 128
KEEP_MS = 24 * 3600 * 1000

# collection -> (store method, the element key, how a saved slot is seen)
WRITES = {
    "Contacts": ("save_contacts", "Contacts"),
    "Invoices": ("save_invoices", "Invoices"),
    "CreditNotes": ("save_credit_notes", "CreditNotes"),
}


class XeroWrites:
    def __init__(self, api):
        self.api = api  # the XeroAPI: its guard, envelope and renderer

    @property
    def world(self):
        return self.api.world

    @property
    def store(self):
        return self.api.world.xero

    def routes(self) -> list[Route]:
        path = self.api.api_path
        routes = []
        for name in WRITES:
            for spelling in (name, name.lower()):
                routes.append(Route(f"{path}/{spelling}", self._handler(name), methods=["POST", "PUT"]))
        for spelling in ("Invoices", "invoices"):
            routes.append(Route(f"{path}/{spelling}/{{id}}", self._handler("Invoices", single=True), methods=["POST"]))
        return routes

    def _handler(self, name: str, single: bool = False):
        async def handle(request: Request) -> Response:
            from sandbox.xero.api import XeroError

            try:
                headers = self.api._guard(request)
            except XeroError as exc:
                return exc.response
            try:
                body = await request.body()
                return await run_in_threadpool(self._write, request, name, single, body, headers)
            except XeroError as exc:
                return exc.response
            finally:
                self.store.limiter.release(self.store.tenant_id)
        return handle

    def _write(self, request: Request, name: str, single: bool, raw: bytes, headers: dict) -> Response:
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.blake2b(b"%s %s\n%s" % (request.method.encode(), request.url.path.lower().encode(), raw),
                                      digest_size=16).hexdigest()
        if key is not None:
            key = key.strip()
            if not key or len(key) > MAX_KEY:
                raise self.api._problem(400, "Bad Request", f"Idempotency-Key must be 1 to {MAX_KEY} characters.",
                                        headers)
        with self.world.lock:
            if key is not None:
                kept = self.store.idempotency.get(key)
                if kept is not None and ms(self.world.clock.now()) - kept[3] < KEEP_MS:
                    if kept[0] != fingerprint:
                        raise self.api._problem(400, "Idempotency key reused",
                                                "This Idempotency-Key was already used for a different request "
                                                "in the last 24 hours.", headers)
                    return Response(kept[2], kept[1], {**headers, "Idempotent-Replayed": "true"},
                                    media_type="application/json")
            try:
                doc = orjson.loads(raw or b"null")
            except orjson.JSONDecodeError as exc:
                return json_response({"ErrorNumber": 14, "Type": "PostDataInvalidException",
                                      "Message": f"The request body is not valid JSON: {exc}"}, 400, headers)
            method, plural = WRITES[name]
            elements = doc.get(plural, doc) if isinstance(doc, dict) else doc
            if isinstance(elements, dict):  # Xero also takes one bare element
                elements = [elements]
            try:
                if single:
                    element = elements[0] if isinstance(elements, list) and elements else {}
                    slots = [self.world.write("xero", "update_invoice", invoice_id=request.path_params["id"],
                                              invoice=element)]
                else:
                    slots = self.world.write("xero", method, **{_ARG[name]: elements})
            except XeroValidation as exc:
                return json_response({"ErrorNumber": 10, "Type": "ValidationException",
                                      "Message": "A validation exception occurred", "Elements": exc.elements},
                                     400, headers)
            view = _VIEWS[name]
            records = [self.store.contact_list[s] if view is XContact else view(self.store, s) for s in slots]
            body = {**self.api._envelope(request), name: [self.api._render(name, r, True) for r in records]}
            text = orjson.dumps(body).decode()
            if key is not None:
                self.world.write("xero", "remember_response", key=key, fingerprint=fingerprint, status=200, body=text)
        return Response(text, 200, headers, media_type="application/json")


_ARG = {"Contacts": "contacts", "Invoices": "invoices", "CreditNotes": "credit_notes"}
_VIEWS = {"Contacts": XContact, "Invoices": XInvoice, "CreditNotes": XCreditNote}
