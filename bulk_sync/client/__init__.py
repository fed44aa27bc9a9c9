"""The echowin API client: typed calls, paced to the rate limits, safely retried.

    EchowinClient   every endpoint (http.py)
    Pacer           token buckets per rate class, corrected by X-RateLimit-* (pacing.py)
    retry policy    tenacity: 429 / 5xx / unsent transport errors (retry.py)
    ContactPager    every contact, page by page (pagination.py)

The client never imports the sandbox: both read the contract from the reference.
"""

from . import models
from .http import EchowinClient
from .pacing import Pacer, RateClass
from .pagination import ContactPager
from .retry import ClientStats

__all__ = ["ClientStats", "ContactPager", "EchowinClient", "Pacer", "RateClass", "models"]
