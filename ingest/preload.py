"""What the extraction workers' fork server loads before it forks them (``prepare.PRELOAD``).

Importing this module imports everything a worker runs (page preparation, feed parsing) and
loads the language model, once, in the fork server: every worker forked from it starts warm,
where each used to load the model on its first page (about 0.5 s of CPU per worker, inside
the first seconds of a run). Nothing else imports it.
"""

from ingest.extract.lang import load_model
from ingest.feeds.parse import parse_feed
from ingest.prepare import prepare_page

__all__ = ["parse_feed", "prepare_page"]

load_model()
