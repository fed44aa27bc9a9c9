"""Seed data for sandbox teams, read from a YAML file (`samples/sandbox-seed.yaml`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .models import DEFAULT_TAG_COLOR

DEFAULT_SEED_NAME = "sandbox-seed.yaml"


class SeedError(ValueError):
    """The seed file cannot be read or does not describe a valid team."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class SeedUser(_Model):
    first_name: str = Field(alias="firstName")
    last_name: str = Field(alias="lastName")
    email: str
    picture: str | None = None


class SeedCustomField(_Model):
    name: str
    label: str
    type: str = "text"
    required: bool = False
    placeholder: str | None = None
    help_text: str | None = Field(default=None, alias="helpText")
    options: list[str] | None = None


class SeedBoard(_Model):
    name: str
    description: str | None = None
    custom_field_schema: dict[str, Any] | None = Field(default=None, alias="customFieldSchema")


class SeedTag(_Model):
    name: str
    color: str = DEFAULT_TAG_COLOR


class SeedTeam(_Model):
    name: str = "Sandbox Team"


class Seed(_Model):
    """What every new sandbox team starts with."""

    team: SeedTeam = SeedTeam()
    users: list[SeedUser] = Field(min_length=1)
    crm_stages: list[str] = Field(default_factory=list, alias="crmStages")
    custom_fields: list[SeedCustomField] = Field(default_factory=list, alias="customFields")
    boards: list[SeedBoard] = Field(default_factory=list)
    tags: list[SeedTag] = Field(default_factory=list)

    @field_validator("tags")
    @classmethod
    def _unique_tag_names(cls, tags: list[SeedTag]) -> list[SeedTag]:
        seen: set[str] = set()
        for tag in tags:
            key = tag.name.casefold()
            if key in seen:
                raise ValueError(f"tag {tag.name!r} appears twice (names are case-insensitive)")
            seen.add(key)
        return tags


def default_seed_path() -> Path:
    """The seed shipped with the package (the project's `samples/sandbox-seed.yaml`)."""
    return Path(str(resources.files(__package__).joinpath(DEFAULT_SEED_NAME)))


def load_seed(path: Path | None = None) -> Seed:
    """Read and validate a seed file; raises SeedError with the file name and the reason."""
    path = path or default_seed_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SeedError(f"seed file {path} is not valid YAML: {exc}") from exc
    try:
        return Seed.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SeedError(f"seed file {path} is invalid: {problems}") from exc
