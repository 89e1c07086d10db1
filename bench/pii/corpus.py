# ruff: noqa: E501  (sentence templates and report lines read better unwrapped)
"""Labeled PII benchmark corpus, generated with Faker from a fixed seed (same seed, same corpus).

Messages with PII carry gold spans; clean messages carry none but are full of near-misses.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker

from portico.privacy._checksums import card_ok, iban_ok, luhn_ok, ssn_ok

SEED = 20240611


@dataclass
class Sample:
    text: str
    gold: list[tuple[str, int, int]] = field(default_factory=list)  # (type, start, end)


_REAL_PLACES = (
    "Berlin", "Paris", "London", "Tokyo", "Chicago", "San Francisco", "Toronto", "Madrid",
    "Lisbon", "Sydney", "Mumbai", "Nairobi", "Boston", "Seattle", "Dublin", "Amsterdam",
    "Vienna", "Prague", "Warsaw", "Istanbul", "Cairo", "Lagos", "Mexico City", "Buenos Aires",
    "São Paulo", "Singapore", "Hong Kong", "Seoul", "Bangkok", "Manila", "Denver", "Atlanta",
    "Houston", "Phoenix", "Miami", "Oslo", "Stockholm", "Helsinki", "Zurich", "Munich",
)

_CARD_PREFIXES = (  # (brand, prefix choices, length)
    ("visa", ("4",), 16), ("visa13", ("4",), 13), ("mastercard", ("51", "53", "55"), 16),
    ("mastercard2", ("2221", "2300", "2500", "2720"), 16), ("amex", ("34", "37"), 15),
    ("discover", ("6011", "65", "644", "649"), 16), ("diners", ("36", "300", "305"), 14),
    ("jcb", ("3528", "3566", "3589"), 16), ("unionpay", ("62",), 16),
    ("unionpay19", ("62",), 19), ("maestro", ("6759", "5018", "6304"), 16),
    ("mir", ("2200", "2204"), 16),
)


class _Gen:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.fakes = {loc: Faker(loc) for loc in ("de_DE", "fr_FR", "en_GB", "es_ES", "nl_NL", "it_IT")}
        for i, f in enumerate(self.fakes.values()):
            f.seed_instance(seed + i + 1)

    def person(self) -> str:
        f = self.fake
        return self.rng.choice((f.name, f.name, lambda: f"{f.first_name()} {f.last_name()}",
                                lambda: f"{f.prefix()} {f.last_name()}"))()

    def location(self) -> str:
        return self.rng.choice((self.fake.country, lambda: self.rng.choice(_REAL_PLACES)))()

    def address(self) -> str:
        f = self.fake
        street = f.street_address()
        if self.rng.random() < 0.7:
            return f"{street}, {f.city()}, {f.state_abbr()} {f.zipcode()}"
        return street

    def email(self) -> str:
        f = self.fake
        return self.rng.choice((f.email, f.free_email, f.company_email))()

    def phone(self) -> str:
        if self.rng.random() < 0.6:
            while True:
                n = f"{self.rng.randint(201, 989)}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
                num = phonenumbers.parse(n, "US")
                if phonenumbers.is_valid_number(num):
                    break
            fmt = self.rng.choice(("({0}) {1}-{2}", "{0}-{1}-{2}", "{0}.{1}.{2}", "+1 {0} {1} {2}",
                                   "+1-{0}-{1}-{2}", "1-{0}-{1}-{2}"))
            return fmt.format(n[:3], n[3:6], n[6:])
        region = self.rng.choice(("GB", "DE", "FR", "IN", "AU", "JP", "BR", "ES", "NL"))
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None
        national = str(example.national_number)
        while True:
            digits = national[:3] + "".join(self.rng.choice(string.digits) for _ in national[3:])
            num = phonenumbers.parse("+" + str(example.country_code) + digits, None)
            if phonenumbers.is_valid_number(num):
                break
        return phonenumbers.format_number(num, self.rng.choice(
            (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164)))

    def card(self) -> str:
        _, prefixes, length = self.rng.choice(_CARD_PREFIXES)
        body = self.rng.choice(prefixes)
        body += "".join(self.rng.choice(string.digits) for _ in range(length - len(body) - 1))
        digits = next(body + d for d in string.digits if luhn_ok(body + d))
        assert card_ok(digits), digits
        sep = self.rng.choice(("", " ", "-", " "))
        if not sep:
            return digits
        if length == 15:
            return sep.join((digits[:4], digits[4:10], digits[10:]))
        if length == 14:
            return sep.join((digits[:4], digits[4:10], digits[10:]))
        return sep.join(digits[i:i + 4] for i in range(0, length, 4))

    def iban(self) -> str:
        value = self.rng.choice(list(self.fakes.values())).iban()
        assert iban_ok(value), value
        if self.rng.random() < 0.5:
            return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
        return value

    def ssn(self) -> str:
        while True:
            a, g, s = self.rng.randint(1, 899), self.rng.randint(1, 99), self.rng.randint(1, 9999)
            if ssn_ok(f"{a:03d}", f"{g:02d}", f"{s:04d}"):
                break
        sep = self.rng.choice(("-", "-", "-", " "))
        return f"{a:03d}{sep}{g:02d}{sep}{s:04d}"

    def ip(self) -> str:
        f = self.fake
        return self.rng.choice((f.ipv4_public, f.ipv4_private, f.ipv6, f.ipv4))()

    def secret(self) -> str:
        r = self.rng
        def s(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
            return "".join(r.choice(alphabet) for _ in range(n))
        b64u = string.ascii_letters + string.digits + "-_"
        return r.choice((
            lambda: "sk-" + s(48),
            lambda: "sk-proj-" + s(64, b64u),
            lambda: "sk-ant-api03-" + s(93, b64u) + "AA",
            lambda: "AKIA" + s(16, string.ascii_uppercase + string.digits),
            lambda: "ghp_" + s(36),
            lambda: "github_pat_11" + s(20, string.ascii_uppercase + string.digits) + "_" + s(59),
            lambda: "AIza" + s(35, b64u),
            lambda: "xoxb-" + s(12, string.digits) + "-" + s(13, string.digits) + "-" + s(24),
            lambda: "sk_live_" + s(24),
            lambda: "eyJhbGciOiJIUzI1NiJ9.eyJ" + s(40, b64u) + "." + s(43, b64u),
            lambda: "-----BEGIN RSA PRIVATE KEY-----\n" + s(64) + "\n" + s(40)
            + "\n-----END RSA PRIVATE KEY-----",
        ))()


_TEMPLATES: dict[str, tuple[str, ...]] = {
    "PERSON": (
        "Please forward the contract to {x} before Friday.",
        "{x} asked whether the refund was processed.",
        "My name is {x} and I need help with my account.",
        "Can you draft a polite reply to {x} about the delayed shipment?",
        "Meeting notes: {x} will own the migration plan.",
        "Dear {x}, thank you for your patience.",
        "I spoke with {x} yesterday and she agreed to the new terms.",
        "Summarize this complaint from {x} in two sentences.",
    ),
    "LOCATION": (
        "We are opening a new office in {x} next spring.",
        "The customer is travelling to {x} and needs roaming enabled.",
        "I live in {x}, what time zone should I use?",
        "Ship the replacement unit to our warehouse in {x}.",
        "Our team in {x} reported the outage first.",
    ),
    "ADDRESS": (
        "Please send the invoice to {x}.",
        "My new mailing address is {x}, effective immediately.",
        "The package was delivered to {x} but nobody was home.",
        "Update the billing address on file to {x}.",
    ),
    "EMAIL": (
        "You can reach me at {x} if anything changes.",
        "Send the report to {x} by end of day.",
        "Why does {x} keep bouncing?",
        "Add {x} to the mailing list, please.",
    ),
    "PHONE": (
        "Call me back on {x} after 5pm.",
        "My phone number changed to {x}.",
        "The courier can reach the front desk at {x}.",
        "Text {x} when the order is ready.",
    ),
    "CREDIT_CARD": (
        "Charge the renewal to my card {x}, expiry 09/27.",
        "The payment with card number {x} was declined, why?",
        "I see two charges on {x} for the same order.",
        "Replace the card on file with {x}.",
    ),
    "IBAN": (
        "Please wire the deposit to IBAN {x}.",
        "My bank account for the refund is {x}.",
        "Is {x} a valid account for SEPA transfers?",
    ),
    "US_SSN": (
        "My social security number is {x}, please verify my identity.",
        "The form lists SSN {x} but it should be mine.",
        "Employee record: tax id {x}, start date March 3.",
    ),
    "IP_ADDRESS": (
        "Requests from {x} are being rate limited.",
        "Whitelist {x} in the firewall for the VPN.",
        "The server at {x} stopped answering pings at 10:42.",
    ),
    "SECRET": (
        "Here is my API key {x}, why does it return 401?",
        "export OPENAI_API_KEY={x}",
        "The config has token: {x} — is that safe to commit?",
        "Debug this: client = Client(api_key=\"{x}\")",
    ),
}

_CLEAN: tuple[Callable[[random.Random], str], ...] = (
    lambda r: f"Order #{r.randint(10000000, 99999999)} shipped on 2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}.",
    lambda r: f"The meeting moved to {r.choice(['Monday', 'Tuesday', 'Thursday'])} at {r.randint(8, 17)}:{r.choice(['00', '15', '30', '45'])}.",
    lambda r: f"Version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)} fixes the memory leak in the parser.",
    lambda r: f"Product code SKU-{r.randint(1000, 9999)}-{r.choice(['XB', 'QA', 'LT'])} is out of stock.",
    lambda r: f"Revenue grew {r.randint(2, 40)}% to ${r.randint(1, 999)},{r.randint(100, 999)}.{r.randint(10, 99)} in Q{r.randint(1, 4)}.",
    lambda r: "Please Review The Attached Quarterly Report Before The Board Meeting.",
    lambda r: f"Invoice INV-{r.randint(2019, 2025)}-{r.randint(1, 99999):05d} is overdue by {r.randint(2, 60)} days.",
    lambda r: "Explain the difference between a mutex and a semaphore with an example.",
    lambda r: f"Reference number {_bad_luhn(r)} was not recognised by the system.",
    lambda r: f"The build took {r.randint(2, 59)}:{r.randint(10, 59)}:{r.randint(10, 59)} on the slow runner.",
    lambda r: f"Set the timeout to {r.randint(100, 9000)} ms and retry {r.randint(2, 9)} times.",
    lambda r: "Write a haiku about Autumn Leaves and the First Snow.",
    lambda r: f"Table {r.randint(1, 40)} needs {r.randint(2, 12)} chairs and a High Chair.",
    lambda r: f"Ticket {r.randint(100000000, 999999999)} was closed as a duplicate.",
    lambda r: f"Compare plans: Basic costs ${r.randint(5, 20)} and Premium costs ${r.randint(21, 99)} per month.",
    lambda r: "Translate 'Good Morning, Team' into French and German.",
    lambda r: f"Chapter {r.randint(1, 30)}, Section {r.randint(1, 9)}.{r.randint(1, 9)} covers Error Handling.",
    lambda r: f"The sensor read {r.randint(10, 99)}.{r.randint(0, 9)} degrees at 0{r.randint(1, 9)}:{r.randint(10, 59)} UTC.",
    lambda r: f"Invalid SSN-like value 000-{r.randint(10, 99)}-{r.randint(1000, 9999)} should be rejected by the validator.",
    lambda r: "Use the Save As button, then choose Export and pick PDF.",
    lambda r: f"Batch {r.randint(1, 9)}{r.choice('ABCDEF')}-{r.randint(100, 999)} failed the Quality Check twice.",
    lambda r: f"The account balance is {r.randint(1000, 9999)} {r.randint(1000, 9999)} points after the bonus.",
    lambda r: "Summarize the Terms and Conditions in plain English.",
    lambda r: f"Room {r.randint(100, 999)} on Floor {r.randint(1, 12)} is booked for the Design Review.",
)


def _bad_luhn(r: random.Random) -> str:
    while True:
        digits = str(r.choice((4, 5))) + "".join(r.choice(string.digits) for _ in range(15))
        if not luhn_ok(digits):
            return " ".join(digits[i:i + 4] for i in range(0, 16, 4))


def _fill(template: str, kind: str, value: str, prefix: str = "") -> Sample:
    head, tail = template.split("{x}")
    start = len(prefix) + len(head)
    return Sample(prefix + head + value + tail, [(kind, start, start + len(value))])


def build(pii_messages: int = 1100, clean_messages: int = 330, seed: int = SEED) -> tuple[list[Sample], list[Sample]]:
    g = _Gen(seed)
    makers: dict[str, Callable[[], str]] = {
        "PERSON": g.person, "LOCATION": g.location, "ADDRESS": g.address, "EMAIL": g.email,
        "PHONE": g.phone, "CREDIT_CARD": g.card, "IBAN": g.iban, "US_SSN": g.ssn,
        "IP_ADDRESS": g.ip, "SECRET": g.secret,
    }
    kinds = list(makers)
    pii: list[Sample] = []
    for i in range(pii_messages):
        kind = kinds[i % len(kinds)]
        sample = _fill(g.rng.choice(_TEMPLATES[kind]), kind, makers[kind]())
        if g.rng.random() < 0.35:   # a second entity in the same message
            other = g.rng.choice(kinds)
            extra = _fill(g.rng.choice(_TEMPLATES[other]), other, makers[other](), sample.text + " ")
            sample = Sample(extra.text, sample.gold + extra.gold)
        pii.append(sample)
    clean = [Sample(g.rng.choice(_CLEAN)(g.rng)) for _ in range(clean_messages)]
    return pii, clean
