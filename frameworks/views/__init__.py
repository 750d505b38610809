"""Views: one module per page family, routed by ``frameworks/urls.py``; ``editing``,
``http`` and ``refusals`` are helpers the view modules share, not views."""
