from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridops.db import Base, PortableJSON, UTCDateTime


class District(Base):
    __tablename__ = "district"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


class Street(Base):
    __tablename__ = "street"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)


class Community(Base):
    __tablename__ = "community"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    street_code: Mapped[str] = mapped_column(ForeignKey("street.code"), index=True)


class Grid(Base):
    __tablename__ = "grid"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    community_code: Mapped[str] = mapped_column(ForeignKey("community.code"), index=True)
    street_code: Mapped[str] = mapped_column(ForeignKey("street.code"), index=True)
    # GeoJSON Polygon geometry (lon, lat order), WGS 84.
    polygon: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    centroid_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    households: Mapped[int | None] = mapped_column(default=None)


class GridWorker(Base):
    __tablename__ = "grid_worker"
    __table_args__ = (UniqueConstraint("grid_code", "post"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grid.code"), index=True)
    post: Mapped[str] = mapped_column(String(1))  # "A" or "B"
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    # The `sub` claim this worker signs in with.
    subject: Mapped[str] = mapped_column(String(64), unique=True)


class Unit(Base):
    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    owns_examples: Mapped[str] = mapped_column(Text, default="")


class PackLoad(Base):
    """One row per pack loaded; the checksum makes a second load of the same pack a no-op."""

    __tablename__ = "pack_load"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
