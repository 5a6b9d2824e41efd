"""Keeping yt-dlp current without rebuilding (issue 15).

- :mod:`.release`  which yt-dlp runs, and how old it is (its version is its release date)
- :mod:`.folder`   the update folder under the data directory, put ahead of the bundled
  yt-dlp at start (:func:`~.folder.activate`, before anything imports yt_dlp)
- :mod:`.index`    asking PyPI (or a PEP 503 index) for the newest release of a channel
- :mod:`.install`  pip into the update folder, then proving the result imports
- :mod:`.updater`  the daily check, updates and rollbacks, as a task in the root nursery
- :mod:`.hints`    the line a failure message gains when an outdated yt-dlp is the likely cause

This package imports nothing here, on purpose: :func:`~.folder.activate` must run before
yt_dlp is imported, so importing ``mediarip.ytdlp`` must not import it.
"""
