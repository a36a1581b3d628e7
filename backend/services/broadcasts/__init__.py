"""Broadcasts: organizers' announcements to a town's residents, delivered within Telegram's limits."""
