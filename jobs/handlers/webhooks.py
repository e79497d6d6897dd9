"""Registers `webhook.deliver` (defined next to the webhook service it belongs to)."""
import webhooks.service  # noqa: F401
