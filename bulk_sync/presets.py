"""Presets: the mappings that ship with bulk-sync, named without a path or `.yaml`.

`--mapping google-contacts` means the preset `google-contacts.yaml`. The presets live
in the repository's `mappings/` folder; the wheel carries that folder as
`bulk_sync/mappings/` (pyproject.toml, `force-include`), so one copy serves a source
checkout, an editable install and an installed wheel alike.
"""

from __future__ import annotations

from pathlib import Path

from .errors import MappingError

PRESET_SUFFIX = ".yaml"


def presets_dir() -> Path:
    """The folder of presets: inside the installed package, else the checkout's `mappings/`."""
    packaged = Path(__file__).with_name("mappings")
    return packaged if packaged.is_dir() else Path(__file__).parents[1] / "mappings"


def preset_names() -> list[str]:
    """Every preset's name, as `--mapping` takes it (`google-contacts`, `leads`, ...)."""
    return sorted(p.name.removesuffix(PRESET_SUFFIX) for p in presets_dir().glob("*.yaml"))


def resolve_mapping(name: str | Path) -> Path:
    """The mapping file `--mapping NAME` means.

    A path that exists wins; else a bare name (no folder, `.yaml` optional) names a
    preset; else MappingError saying the file is missing and listing the presets.
    """
    path = Path(name)
    if path.exists():
        return path
    text = str(name).strip()
    if text and "/" not in text and "\\" not in text:
        stem = text.removesuffix(PRESET_SUFFIX).casefold()
        preset = presets_dir() / f"{stem}{PRESET_SUFFIX}"
        if preset.is_file():
            return preset
    raise MappingError(
        "mapping file not found; give the path of a mapping YAML, or a preset's name: "
        + ", ".join(preset_names()),
        source=str(name),
    )
