"""TuneMeld: cross-service music charts as a typed, importable library.

    >>> import tunemeld
    >>> settings = tunemeld.load_settings()
    >>> report = tunemeld.etl.run(settings, stages=["full"], genres=["pop"])
    >>> with tunemeld.open_store(settings) as store:
    ...     runs = store.list_runs(5)

Nothing here does I/O at import time: every object is built from a Settings value.
"""

from tunemeld import etl
from tunemeld.config import Settings, load_settings
from tunemeld.services.store import Store, open_store

__version__ = "0.1.0"

__all__ = ["Settings", "Store", "__version__", "etl", "load_settings", "open_store"]
