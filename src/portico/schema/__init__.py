"""Canonical wire types (OpenAI chat completions as the superset), with no logic.

Every inbound format is translated into these types and every upstream dialect translates
out of them, so N inbound formats and M dialects need N+M translators, not N x M.
"""
