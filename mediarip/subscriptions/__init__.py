"""Subscriptions: channels, playlists and feeds checked on a schedule (see checker.py)."""
