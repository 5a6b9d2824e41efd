"""End-to-end tests: the built web app in Debian's headless Chromium against the real server."""
