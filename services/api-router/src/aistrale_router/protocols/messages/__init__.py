"""Anthropic's Messages API (`POST /v1/messages`) as an inbound protocol (protocols/base.py)."""
