"""One module per vendor: a ProviderSpec (URL, auth, dialect, limits, data policy) and little
else.
"""
