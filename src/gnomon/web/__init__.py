"""The web UI: pages for people, served by the API process next to the REST API and `/docs`.

Server-rendered HTML (Jinja2, autoescaped) and one stylesheet of its own; every page reads with
JavaScript off. It sits above the API (`gnomon.api`) and reads the store through
`gnomon.storage.overview` and `gnomon.storage.run_detail`, never through SQL of its own.
"""

from gnomon.web.site import install_pages

__all__ = ["install_pages"]
