"""Notifications: the admin's targets (webhooks, Apprise URLs) told when jobs end and when
subscriptions find new items (see notifier.py)."""
