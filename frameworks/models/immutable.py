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

    update = _refuse
    delete = _refuse
    bulk_update = _refuse
    update_or_create = _refuse
    # The deletion collector's fast path; nothing cascades here, but nothing may slip through.
    _raw_delete = _refuse


class ImmutableModel(models.Model):
    """save() inserts only; delete() refuses."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRowError(f"{type(self).__name__} rows are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRowError(f"{type(self).__name__} rows are never removed")
