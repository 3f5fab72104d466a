"""Golden pairs for the demo fence: tests/golden/fence/<case>.md -> .html, or .err for errors.

Set UPDATE_GOLDEN=1 to rewrite the expected files from the current output (then review
the diff). The fence runs against the fixture package `fakedemos` so demos edited by
others do not move these files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from markdown import Markdown
from pyodide_demos.catalog import Catalog
from pyodide_demos.errors import FenceError
from pyodide_demos.fence import DemoFenceExtension
from pyodide_demos.prerender import Prerenderer

GOLDEN = Path(__file__).parent / "golden" / "fence"
CASES = sorted(GOLDEN.glob("*.md"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def extension(fake_demos_root: Path) -> DemoFenceExtension:
    return DemoFenceExtension(Catalog("fakedemos", fake_demos_root).load(), Prerenderer(None))


def convert(extension: DemoFenceExtension, text: str) -> str:
    """Give the HTML Pelican's Markdown settings would make of `text`."""
    md = Markdown(
        extensions=[
            "markdown.extensions.extra",
            "markdown.extensions.meta",
            "markdown.extensions.codehilite",
            extension,
        ],
        extension_configs={"markdown.extensions.codehilite": {"guess_lang": False}},
        output_format="html5",
    )
    return md.convert(text) + "\n"


def outcome(extension: DemoFenceExtension, case: Path) -> tuple[Path, str]:
    """Give the expected file for `case` and what the fence made of it."""
    try:
        return case.with_suffix(".html"), convert(extension, case.read_text())
    except FenceError as err:
        return case.with_suffix(".err"), str(err.at(f"content/articles/{case.name}")) + "\n"


def test_there_is_a_golden_case_per_behaviour() -> None:
    names = {c.stem for c in CASES}
    for needed in (
        "params",
        "defaults",
        "same_demo_twice",
        "tildes",
        "code_block_untouched",
        "escaping",
        "no_demo",
        "err_unknown_demo",
        "err_no_name",
        "err_unknown_key",
        "err_wrong_type",
        "err_out_of_bounds",
        "err_bad_choice",
        "err_bad_schedule",
        "err_schedule_node",
        "err_no_colon",
        "err_duplicate_key",
        "err_unclosed",
        "figure_id",
        "at",
        "err_id_not_slug",
        "err_duplicate_id",
        "err_id_taken",
        "err_at_not_number",
        "err_at_outside_run",
    ):
        assert needed in names


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_golden(case: Path, extension: DemoFenceExtension) -> None:
    expected, got = outcome(extension, case)
    if UPDATE:
        for stale in (case.with_suffix(".html"), case.with_suffix(".err")):
            stale.unlink(missing_ok=True)
        expected.write_text(got)
    assert expected.is_file(), f"{case.name} made {expected.suffix}, which has no golden file"
    assert got == expected.read_text()
    assert case.stem.startswith("err_") == (expected.suffix == ".err")


@pytest.mark.parametrize(
    "header", [[], ["Title: T"], ["Title: T", "Date: 2024-01-01", "Tags: a, b", "Slug: t"]]
)
def test_error_line_counts_the_metadata_header(
    extension: DemoFenceExtension, header: list[str]
) -> None:
    body = ["Intro.", "", "```demo tiny", "seed: 3", "", "nodes: 9", "```", ""]
    lines = [*header, *([""] if header else []), *body]
    with pytest.raises(FenceError) as caught:
        convert(extension, "\n".join(lines))
    assert caught.value.line == lines.index("nodes: 9") + 1
    assert "nodes: 9 is above the maximum 5" in caught.value.message


def test_each_document_numbers_its_figures_afresh(extension: DemoFenceExtension) -> None:
    text = "```demo tiny\n```\n\n```demo tiny\n```\n"
    first, second = convert(extension, text), convert(extension, text)
    assert first == second
    assert re.findall(r'id="(demo-[a-z]+-\d+)"', first) == ["demo-tiny-1", "demo-tiny-2"]


def test_same_params_run_once(fake_demos_root: Path) -> None:
    prerenderer = Prerenderer(None)
    ext = DemoFenceExtension(Catalog("fakedemos", fake_demos_root).load(), prerenderer)
    convert(ext, "```demo tiny\nseed: 2\n```\n\n```demo ring\n```\n\n```demo tiny\nseed: 2\n```\n")
    assert prerenderer.runs == 2
