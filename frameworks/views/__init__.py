"""Views: one module per page family, routed by ``frameworks/urls.py``; ``editing`` and
``http`` are helpers the view modules share, not views."""
