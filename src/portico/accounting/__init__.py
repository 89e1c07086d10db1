"""Money and tokens: the price catalog, offline token counting, cost in integer micro-USD."""

from portico.accounting._encodings import EncodingIntegrityError
from portico.accounting.catalog_io import (
    UnknownModel,
    import_prices,
    read_catalog,
    show_price,
    write_catalog,
)
from portico.accounting.litellm_prices import import_litellm
from portico.accounting.prices import ModelPrice, PriceCatalog, PriceEntry, UsageCounts
from portico.accounting.tokens import TokenCounter, TokenEstimate

__all__ = [
    "EncodingIntegrityError",
    "ModelPrice",
    "PriceCatalog",
    "PriceEntry",
    "TokenCounter",
    "TokenEstimate",
    "UnknownModel",
    "UsageCounts",
    "import_litellm",
    "import_prices",
    "read_catalog",
    "show_price",
    "write_catalog",
]
