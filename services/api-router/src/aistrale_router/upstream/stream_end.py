"""Whether an upstream stream gave a whole answer: every choice it opened got a
`finish_reason`. A stream that ends without one (a bare `[DONE]`, as llama-cpp-python's
server sends when another request interrupts it, or the connection closing after some
content) is relayed as an error event, never as a clean end: the client must be able to
tell a cut answer from a whole one."""

from __future__ import annotations

from typing import Any

from aistrale_common.errors import UpstreamFailed


class ChoiceEnds:
    __slots__ = ("_done", "_open", "cut_short")

    def __init__(self) -> None:
        self._open: set[int] = set()  # choice indices seen without a finish_reason yet
        self._done: set[int] = set()  # choice indices that got one (a later chunk of theirs,
        # continuous usage say, does not reopen them)
        self.cut_short = False  # upstream sent `[DONE]` before every choice finished

    def note(self, chunk: dict[str, Any]) -> None:
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            if choice.get("finish_reason"):
                self._done.add(index)
                self._open.discard(index)
            elif index not in self._done:
                self._open.add(index)

    def incomplete(self) -> bool:
        return not self._done or bool(self._open)


def incomplete_stream() -> UpstreamFailed:
    return UpstreamFailed("The model's server ended the stream before the answer was complete.")
