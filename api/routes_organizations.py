"""Routes for organizations (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["organizations"])
