"""Inbound protocols other than OpenAI chat completions (OpenAI Responses, Anthropic
Messages), each translated onto the chat-completions path the gateway already serves."""
