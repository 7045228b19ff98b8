"""The scheduling daemon, run history, source health and its notifications."""
