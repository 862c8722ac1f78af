"""Notifications: channels (WeCom/DingTalk robots, e-mail, webhook), an outbox, rate limits."""
