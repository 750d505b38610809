"""Rows written once and kept forever: the base of document versions and history rows.

PostgreSQL refuses the same statements with a trigger (migration 0004); this is the ORM's side.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class ImmutableRowError(RuntimeError):
    """Raised when code tries to change or remove a row that is written once and kept forever."""


class ImmutableQuerySet(models.QuerySet):
    """A queryset that can insert and read but never change or remove rows.

    PostgreSQL refuses the same statements with a trigger (migration 0004), so raw SQL and other
    programs are covered too; this class makes the ORM fail early, on every database.
    """

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise ImmutableRowError(f"{self.model.__name__} rows are written once and never changed")

    # Each replaces a method of another signature on purpose: whatever is passed, it refuses.
    update = _refuse  # type: ignore[assignment]
    delete = _refuse  # type: ignore[assignment]
    bulk_update = _refuse  # type: ignore[assignment]
    update_or_create = _refuse  # type: ignore[assignment]
    # The deletion collector's fast path; nothing cascades here, but nothing may slip through.
    _raw_delete = _refuse  # type: ignore[assignment]


class ImmutableModel(models.Model):
    """save() inserts only; delete() refuses."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRowError(f"{type(self).__name__} rows are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRowError(f"{type(self).__name__} rows are never removed")
