"""Compiled patterns for structured PII; each names its flags, case-sensitive unless stated."""

from __future__ import annotations

import re

_NOT_IN_WORD_BEFORE = r"(?<![\w\-.+])"
_NOT_IN_WORD_AFTER = r"(?![\w]|-\d|\.\d)"

# Card numbers: unbroken, or in consistent 4-4-4-4(-3) / 4-6-5 / 4-6-4 groups.
CARD = re.compile(
    _NOT_IN_WORD_BEFORE
    + r"(?:\d{12,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5})"
    + _NOT_IN_WORD_AFTER,
    re.ASCII,
)

# An IBAN's start; the recognizer trims the match to the country's registered length.
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}", re.ASCII)

SSN = re.compile(
    _NOT_IN_WORD_BEFORE + r"(\d{3})([- ])(\d{2})\2(\d{4})" + _NOT_IN_WORD_AFTER, re.ASCII
)
# Nine bare digits count only right after the words that name them.
SSN_BARE = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?| #)?)\s*(?:is|:|#|=)?\s*(\d{3})()(\d{2})(\d{4})\b",
    re.IGNORECASE | re.ASCII,
)

EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])",
    re.ASCII,
)

IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)", re.ASCII)
IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[0-9A-Za-z]+)?(?![\w:])",
    re.ASCII,
)

# Known secret shapes. Case matters for every prefix, so no IGNORECASE anywhere here.
SECRETS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![\w-])sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}", re.ASCII),
    re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", re.ASCII),
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Za-z0-9])", re.ASCII),
    re.compile(r"(?<![\w])gh[pousr]_[A-Za-z0-9]{36,255}(?!\w)", re.ASCII),
    re.compile(r"(?<![\w])github_pat_[A-Za-z0-9_]{50,255}", re.ASCII),
    re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])", re.ASCII),
    re.compile(r"(?<![\w-])xox[abposre]-[0-9A-Za-z-]{10,}", re.ASCII),
    re.compile(r"(?<![\w])[sr]k_(?:live|test)_[0-9A-Za-z]{16,}", re.ASCII),
    re.compile(
        r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", re.ASCII
    ),
    re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
        re.ASCII | re.DOTALL,
    ),
)

# USPS street suffixes (Publication 28, appendix C1), full and abbreviated.
_SUFFIXES = (
    "Alley|Aly|Annex|Arcade|Avenue|Ave|Bayou|Beach|Bend|Bluffs?|Bottom|Boulevard|Blvd|Branch|"
    "Bridge|Brooks?|Burgs?|Bypass|Camp|Canyon|Cape|Causeway|Centers?|Ctr|Circles?|Cir|Cliffs?|"
    "Club|Common|Commons|Corners?|Course|Courts?|Ct|Coves?|Creek|Crescent|Crest|Crossing|"
    "Crossroad|Curve|Dale|Dam|Divide|Drives?|Dr|Estates?|Expressway|Extensions?|Falls?|Ferry|"
    "Fields?|Flats?|Fords?|Forest|Forges?|Forks?|Fort|Freeway|Gardens?|Gateway|Glens?|Greens?|"
    "Groves?|Harbors?|Haven|Heights|Highway|Hwy|Hills?|Hollow|Inlet|Islands?|Isle|Junctions?|"
    "Keys?|Knolls?|Lakes?|Land|Landing|Lane|Ln|Light|Lights|Loaf|Locks?|Lodge|Loop|Mall|Manors?|"
    "Meadows?|Mews|Mill|Mills|Mission|Motorway|Mount|Mountains?|Neck|Orchard|Oval|Overpass|Park|"
    "Parks|Parkways?|Pkwy|Pass|Passage|Path|Pike|Pines?|Place|Pl|Plains?|Plaza|Points?|Ports?|"
    "Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Ridges?|River|Road|Roads|Rd|Route|Row|Rue|Run|Shoals?|"
    "Shores?|Skyway|Springs?|Spurs?|Squares?|Sq|Station|Stravenue|Stream|Streets?|St|Summit|"
    "Terrace|Ter|Throughway|Trace|Track|Trafficway|Trail|Trailer|Tunnel|Turnpike|Underpass|"
    "Unions?|Valleys?|Viaduct|Via|Views?|Villages?|Ville|Vista|Walks?|Wall|Way|Ways|Wells?"
)
_CAP_WORD = r"[A-Z][a-z]+(?:['-][A-Za-z]+)?"
# "4821 Wilson Path Suite 120, Lake Jenniferberg, NE 84930": the city/state/ZIP tail is optional.
ADDRESS = re.compile(
    r"(?<![\w-])\d{1,6}[A-Z]?(?: (?:[NSEW]\.?|North|South|East|West))?"
    rf"(?: {_CAP_WORD}){{1,4}} (?:{_SUFFIXES})\b\.?"
    r"(?:,? (?:Apt\.?|Apartment|Suite|Ste\.?|Unit|#) ?[0-9A-Z]{1,6}\b)?"
    rf"(?:,?\s(?:{_CAP_WORD} ){{0,2}}{_CAP_WORD},? [A-Z]{{2}} \d{{5}}(?:-\d{{4}})?(?!\d))?",
    re.ASCII,
)

# A name after an honorific or an introduction; the NER alone misses many of these.
_NAME = r"[A-Z][a-z]+(?:[ -][A-Z][a-z']+){0,2}\b(?: (?:Jr|Sr)\b\.?| (?:II|III|IV)\b)?"
# "Ind" is the UK gender-neutral title some forms offer beside "Mx".
_HONORIFIC = r"(?:Mr|Mrs|Ms|Mx|Ind|Miss|Dr|Prof|Sir|Dame)\.? "
PERSON_CUE = re.compile(
    rf"(\b{_HONORIFIC}{_NAME})|(?:\b[Mm]y name is |\bDear )((?:{_HONORIFIC})?{_NAME})",
    re.ASCII,
)
