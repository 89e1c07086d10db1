"""Migration scripts, oldest first; each is a frozen snapshot, never edited after release."""
