"""Money and tokens: the price catalog, offline token counting, cost in integer micro-USD."""
