"""Tests of portico.accounting."""
