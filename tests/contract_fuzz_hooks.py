"""schemathesis hooks for docs/openapi.yaml (loaded through SCHEMATHESIS_HOOKS by tests/contract_fuzz.py).

The contract states each field's shape with `pattern`, lengths, ranges and enums. A few rules no
regular expression can state have a custom `format` instead, and each format has a strategy here
that generates only values the server accepts:

- `phone-number`: a number valid in its country's numbering plan (libphonenumber's metadata), as a
  person types it with its country code. The strategy writes valid US numbers (an area code in use,
  an exchange from 200 up, four digits) in the ways people type them; every one of them was checked
  against the server.
- `iana-time-zone`: a zone of the IANA database.
- What only the running stack knows, read from the fixture file that tests/contract_fuzz.py writes
  (its path in SMS_FUZZ_FIXTURE): `telesign-customer-id` and `telesign-api-key` (credentials
  TeleSign accepts), `support-number` (the account's numbers), `member-id` (a member of the
  account), and one `*-cursor` format per list (a `next_cursor` that list gave out). Without the
  fixture these formats have no value to offer.

A custom format is a closed set to schemathesis: it takes any string its strategy would not draw
for an invalid one, and expects the server to refuse it. So a format names values that only the
server's own check or its data admits, never a shape most strings have (those have a `pattern`).

Rules that the contract states in words, and a case generated as valid does not always keep, are
kept by `map_case` for valid (positive) components only; a component generated to be invalid is
never touched:

- `GET /conversations`: `assigned` goes with every live status (no `status`, or one naming open,
  active and waiting without a `customer`), never with `closed`.
- Business hours: in a day, intervals end after they start and do not overlap.
- `POST /accounts`: each support number once (compared as stored, digits only).
- A number's settings take at most 7168 bytes stored (`number_settings_too_large`): the automated
  messages of a valid `PATCH` are shortened, longest first, until the settings fit.
- `POST /accounts/{account_id}/numbers`: an account has at most 50 numbers (`too_many_numbers`), so
  valid additions go to the fixture's accounts in turn (`number-sinks`), never past 50 each; a long
  code or toll-free number added is one of its own area code, never a customer's nor one added
  before.
- `Idempotency-Key`: a key the account used for another request is 422 `idempotency_key_reused`,
  so each valid key gets a suffix no other request had (still 1 to 255 visible ASCII characters).
- Numbers as the server's JSON reader takes them. A whole number is written as one: JSON Schema's
  `integer` admits `60.0`, which the server refuses (400 `invalid_json`: its integer fields take
  integer literals only; the contract says so in its description). And an integer literal past
  64 bits is read as a float, imprecisely, so one near the largest float (`-1797...368`, 309
  digits, exactly -f64::MAX) is refused as out of range, even in a field the server ignores (the
  unknown fields of a support number). Valid bodies spell `60.0` as `60` and keep integers within
  64 bits. Both are deviations of the server, named in the report of this fuzzer's first run.
"""

from __future__ import annotations

import itertools
import json
import os

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation

# --- Values of the running stack ------------------------------------------------------------


def _fixture() -> dict:
    path = os.environ.get("SMS_FUZZ_FIXTURE")
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


FIXTURE = _fixture()


def _known(name: str) -> st.SearchStrategy[str]:
    values = FIXTURE.get(name) or []
    return st.sampled_from(values) if values else st.nothing()


# --- Phone numbers --------------------------------------------------------------------------

# Area codes in use (every number below was accepted by the server's libphonenumber check).
AREA_CODES = ["201", "206", "212", "213", "303", "305", "312", "404", "415", "425", "503", "512", "617", "702", "718"]

# The area code of the support numbers valid additions add (never a customer's: the leak scan of
# `make test` holds the logs to no customer's number, and a support number is logged).
SUPPORT_AREA = "919"

# How people type a number with its country code: `+1 (425) 555-0100` and the like.
LAYOUTS = [
    "+1 {a} {e} {l}",
    "+1 ({a}) {e}-{l}",
    "+1-{a}-{e}-{l}",
    "+1.{a}.{e}.{l}",
    "+1{a}{e}{l}",
    "1{a}{e}{l}",
    "1 {a} {e} {l}",
    "+1 {a}/{e}-{l}",
]


def _typed(layout: str, digits: str) -> str:
    """A US number (11 digits, `1` first) written in `layout`."""
    return layout.format(a=digits[1:4], e=digits[4:7], l=digits[7:])


PHONE_NUMBERS = st.builds(
    lambda area, exchange, line, layout: _typed(layout, f"1{area}{exchange}{line:04d}"),
    st.sampled_from(AREA_CODES),
    st.integers(200, 999).map(str),
    st.integers(0, 9999),
    st.sampled_from(LAYOUTS),
)


def _support_numbers() -> st.SearchStrategy[str]:
    """The account's support numbers as people type them (short codes as their digits)."""
    typed = []
    for number in FIXTURE.get("support-number") or []:
        if len(number) == 11 and number.startswith("1"):
            typed.extend(_typed(layout, number) for layout in LAYOUTS)
        else:
            typed.append(number)
    return st.sampled_from(typed) if typed else st.nothing()


# --- Text -----------------------------------------------------------------------------------

# The zones the server's tz database knows (each one checked against it).
TIME_ZONES = [
    "UTC",
    "Europe/Warsaw",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Africa/Nairobi",
    "Etc/GMT+5",
]

# White space as the server trims it (Rust's `char::is_whitespace`).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"

# Each valid Idempotency-Key gets one of these.
_KEYS = itertools.count(1)
_RUN = os.urandom(4).hex()

# --- The formats ----------------------------------------------------------------------------

schemathesis.openapi.format("phone-number", PHONE_NUMBERS)
schemathesis.openapi.format("iana-time-zone", st.sampled_from(TIME_ZONES))
schemathesis.openapi.format("support-number", _support_numbers())
for _name in (
    "telesign-customer-id",
    "telesign-api-key",
    "member-id",
    "accounts-cursor",
    "canned-responses-cursor",
    "members-cursor",
    "conversations-cursor",
    "messages-cursor",
    "audit-cursor",
):
    schemathesis.openapi.format(_name, _known(_name))

# --- Rules between fields -------------------------------------------------------------------

LIVE = {"open", "active", "waiting"}


def _valid_at(case, location: ParameterLocation) -> bool:
    meta = case.meta
    return meta is not None and not meta.is_negative_at(location)


def _assigned_fits(query: dict) -> bool:
    """Whether `assigned` goes with the statuses asked for (always true without `assigned`)."""
    if "assigned" not in query or "status" not in query:
        return True
    statuses = {s.strip(WHITE_SPACE) for s in str(query["status"]).split(",")}
    if "closed" in statuses:
        return False
    return "customer" in query or LIVE <= statuses


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hours_kept(hours):
    """Business hours with each day's intervals made to follow one another: the times of a day,
    sorted, taken two by two."""
    if not isinstance(hours, dict):
        return hours
    kept = {}
    for day, intervals in hours.items():
        if not isinstance(intervals, list):
            kept[day] = intervals
            continue
        times = {}
        for pair in intervals:
            for t in pair:
                times.setdefault(_minutes(t), t)
        ordered = [times[m] for m in sorted(times)]
        kept[day] = [[ordered[i], ordered[i + 1]] for i in range(0, len(ordered) - 1, 2)]
    return kept


# The integers the server's JSON reader reads exactly: i64 and u64.
LOWEST, HIGHEST = -(2**63), 2**64 - 1


def _readable_numbers(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return min(max(value, LOWEST), HIGHEST)
    if isinstance(value, dict):
        return {k: _readable_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable_numbers(v) for v in value]
    return value


# What a number's stored settings take, besides its messages: the number, its type, description,
# language, hours and timeouts as JSON (the description's 200 characters at 4 bytes each, the most
# intervals a week has).
SETTINGS_BYTES = 7168
SETTINGS_BESIDES_MESSAGES = 2600


MESSAGE_KINDS = ("greeting", "away", "closing", "help", "stop", "start")


def _messages_fitting(body: dict) -> dict:
    """A body's automated messages shortened until the number's settings fit; every kind it leaves
    out turned off (`null`), so that what earlier requests set cannot add to them."""
    messages = body.get("messages")
    if not isinstance(messages, dict):
        return body
    messages = {**{k: None for k in MESSAGE_KINDS}, **messages}
    texts = {k: v for k, v in messages.items() if isinstance(v, str)}
    budget = SETTINGS_BYTES - SETTINGS_BESIDES_MESSAGES
    while sum(len(json.dumps(v)) + len(k) + 4 for k, v in texts.items()) > budget:
        longest = max(texts, key=lambda k: len(json.dumps(texts[k])))
        text = texts[longest]
        kept = text[: max(1, len(text) // 2)]
        # Still a message: not only white space.
        texts[longest] = kept if kept.strip(WHITE_SPACE) else "x"
    return {**body, "messages": {**messages, **texts}}


_SINKS = itertools.count()
_ADDED = itertools.count(int.from_bytes(os.urandom(3), "big") % 7_000_000)


def _digits(number) -> str:
    return "".join(c for c in str(number) if c.isdigit())


@schemathesis.hook("map_case")
def keep_rules_between_fields(context, case):
    operation = f"{case.method.upper()} {case.path}"
    if operation == "GET /conversations" and _valid_at(case, ParameterLocation.QUERY):
        if case.query and not _assigned_fits(case.query):
            case.query = {k: v for k, v in case.query.items() if k != "status"}
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if isinstance(key, str) and _valid_at(case, ParameterLocation.HEADER):
        suffix = f"-{_RUN}-{next(_KEYS)}"
        case.headers["Idempotency-Key"] = key[: 255 - len(suffix)] + suffix
    if not isinstance(case.body, dict) or not _valid_at(case, ParameterLocation.BODY):
        return case
    body = case.body = _readable_numbers(case.body)
    numbers_route = operation in ("POST /accounts/{account_id}/numbers", "PATCH /accounts/{account_id}/numbers/{number}")
    if numbers_route:
        body = case.body = _messages_fitting(body)
    if numbers_route and "business_hours" in body:
        case.body = {**body, "business_hours": _hours_kept(body["business_hours"])}
    sinks = FIXTURE.get("number-sinks") or []
    if operation == "POST /accounts/{account_id}/numbers" and sinks and _valid_at(case, ParameterLocation.PATH):
        case.path_parameters = {**(case.path_parameters or {}), "account_id": sinks[next(_SINKS) % len(sinks)]}
    if operation == "POST /accounts/{account_id}/numbers" and body.get("type") in ("long_code", "toll_free"):
        # A number of its own, never drawn for a customer nor added before.
        case.body = {**case.body, "number": f"+1 {SUPPORT_AREA} {2_000_000 + next(_ADDED) % 8_000_000}"}
    elif operation == "POST /accounts" and isinstance(body.get("numbers"), list):
        numbers, seen = [], set()
        for n in body["numbers"]:
            if isinstance(n, dict):
                digits = _digits(n.get("number", ""))
                if digits in seen:
                    continue
                seen.add(digits)
                if "business_hours" in n:
                    n = {**n, "business_hours": _hours_kept(n["business_hours"])}
                if n.get("type") in ("long_code", "toll_free"):
                    n = {**n, "number": f"+1 {SUPPORT_AREA} {2_000_000 + next(_ADDED) % 8_000_000}"}
            numbers.append(n)
        case.body = {**body, "numbers": numbers}
    return case
