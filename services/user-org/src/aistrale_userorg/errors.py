"""user-org's one addition to the common error tree: 422 for input that parses but is
not acceptable (the admin API answers all bad input with 422 and the offending field)."""

from __future__ import annotations

import logging

from aistrale_common.errors import AistraleError


class Unprocessable(AistraleError):
    status = 422
    type = "invalid_request_error"
    code = "invalid_request"
    log_level = logging.INFO
