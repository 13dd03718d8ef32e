"""The prompt estimate stays an upper bound where tokenizers spend most per character."""

from __future__ import annotations

from aistrale_router.text.prompt_estimate import chat_prompt_tokens, text_tokens


def test_digits_count_one_token_each() -> None:
    """SmolLM2, Gemma and Llama 2 tokenize numbers digit by digit."""
    numbers = "3141592653 5897932384 6264338327 " * 20
    digits = sum(c.isdigit() for c in numbers)
    assert text_tokens(numbers) >= digits + (len(numbers) - digits) // 3


def test_plain_text_keeps_its_cheap_rate() -> None:
    assert text_tokens("a" * 300) == 101


def test_the_template_is_counted_per_message() -> None:
    one = chat_prompt_tokens([{"role": "user", "content": "hi"}])
    two = chat_prompt_tokens([{"role": "user", "content": "hi"}] * 2)
    assert two - one >= 8 + 1
