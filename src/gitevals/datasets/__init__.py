"""Datasets: items and their content hashes, loading and validating a file (cached per git blob),
editing it in place, importing CSV/JSONL rows, and its versions in git history.
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
    from ._edit import EditableDataset, create_dataset, dataset_file, new_id, versioned_edit
    from ._item import Dataset, DatasetItem, make_item
    from ._load import load_dataset
    from ._tabular import (
        FORMATS,
        ColumnMap,
        ImportPlan,
        apply_import,
        default_mapping,
        detect_format,
        export_text,
        plan_import,
        read_rows,
    )
    from ._versions import DatasetHistory, dataset_commits, item_changes

__all__ = [
    "ColumnMap",
    "Dataset",
    "DatasetHistory",
    "DatasetItem",
    "EditableDataset",
    "FORMATS",
    "ImportPlan",
    "apply_import",
    "create_dataset",
    "dataset_commits",
    "dataset_file",
    "default_mapping",
    "detect_format",
    "export_text",
    "item_changes",
    "load_dataset",
    "make_item",
    "new_id",
    "plan_import",
    "read_rows",
    "versioned_edit",
]

__getattr__, __dir__ = attach(__name__, {
    "_edit": ["EditableDataset", "create_dataset", "dataset_file", "new_id", "versioned_edit"],
    "_item": ["Dataset", "DatasetItem", "make_item"],
    "_load": ["load_dataset"],
    "_tabular": ["FORMATS", "ColumnMap", "ImportPlan", "apply_import", "default_mapping", "detect_format", "export_text", "plan_import", "read_rows"],
    "_versions": ["DatasetHistory", "dataset_commits", "item_changes"],
})
