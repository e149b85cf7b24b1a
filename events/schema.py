"""JSON Schema of every event type, for upstream teams (``casetrack schema DIR``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from events.catalog import EVENT_TYPES
from events.codec import typed_model


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type's structured-mode envelope (newest schema version)."""
    schema = typed_model(event_type).model_json_schema(mode="validation")
    _payload, version = EVENT_TYPES[event_type]
    schema["$id"] = f"urn:casetrack:event:{event_type}:v{version}"
    schema["title"] = f"{event_type} (schemaversion {version})"
    schema["properties"]["type"] = {"const": event_type}
    schema.setdefault("required", [])
    for name in ("specversion", "id", "source", "type", "subject", "time", "data"):
        if name not in schema["required"]:
            schema["required"].append(name)
    return schema


def export_schemas(out_dir: Path) -> list[Path]:
    """Write ``<type>.schema.json`` for every event type; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for event_type in EVENT_TYPES:
        path = out_dir / f"{event_type}.schema.json"
        path.write_text(json.dumps(event_schema(event_type), ensure_ascii=False, indent=2) + "\n")
        paths.append(path)
    return paths
