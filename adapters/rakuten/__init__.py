"""楽天市場 (RMS WEB SERVICE): the adapter, its declaration and its wire helpers.

``adapter`` holds the class that declares the channel and talks to RMS; ``orders`` reads
RakutenPay order bodies; ``wire`` reads error envelopes and batches requests.
"""

from adapters.rakuten.adapter import RAKUTEN, RakutenAdapter, RakutenConfig
from adapters.rakuten.orders import ORDER_PROGRESS_WORDS

__all__ = ["ORDER_PROGRESS_WORDS", "RAKUTEN", "RakutenAdapter", "RakutenConfig"]
