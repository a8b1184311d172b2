"""The bundled demo: two fictional outlets served on loopback, for ``newsflow demo`` and e2e tests.

``site/`` holds plain files: The Loopback Courier (English, ``/courier/``, RSS and Atom),
Der Lokalbote (German, ``/bote/``, JSON Feed) and ``expected.json``, which lists what a
careful reader copies from every article that must end up stored, with the per-feed counts
and the reasoning behind them. ``server.py`` serves the directory; it is plain stdlib.

The Arabic page ``courier/ar/2021/09/16/community-garden.html`` is windows-1256 bytes. Edit
its UTF-8 twin ``community-garden.html.src`` and regenerate it with::

    python - <<'PY'
    from pathlib import Path
    page = Path("flows/demo/site/courier/ar/2021/09/16/community-garden.html")
    page.write_bytes(Path(f"{page}.src").read_text("utf-8").encode("cp1256"))
    PY
"""

from flows.demo.server import (
    DEMO_FEED_PATHS,
    DEMO_FEEDS,
    DEMO_LEGACY_PATHS,
    DEMO_SITE_DIR,
    SiteServer,
    load_expected,
    serve_demo_site,
)

__all__ = [
    "DEMO_FEEDS",
    "DEMO_FEED_PATHS",
    "DEMO_LEGACY_PATHS",
    "DEMO_SITE_DIR",
    "SiteServer",
    "load_expected",
    "serve_demo_site",
]
