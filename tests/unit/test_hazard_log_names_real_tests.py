"""The clinical safety hazard log and the DPIA claim only what the suite shows.

Both documents point readers at the tests that show a control works, as pytest node ids
(`tests/integration/test_overrides.py::test_refusal_without_override_withholds`). A test renamed
or removed would leave a control claimed but no longer shown, so each reference must name a
file that exists and defines that test. The hazard log must also give every hazard a control,
every control its evidence (tests, or the words "no automated test"), and every rating the
value its own risk matrix gives. Pure: reads the files and parses Python with `ast`.
"""

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAZARD_LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
DPIA = ROOT / "docs" / "dpia.md"

# A node id: the file, then the class (if any) and the function; a parametrized id's
# bracketed part is not part of the function's name.
TEST_REFERENCE = re.compile(r"(?<![\w/.])(tests/[\w/]+\.py)((?:::\w+)+)(?:\[[^\]\s`]*\])?")
HAZARD_HEADING = re.compile(r"^### (H-\d{3}):", re.MULTILINE)
RATING_ROW = re.compile(
    r"^\| (initial|residual) risk \| likelihood ([A-Za-z ]+); severity (\w+); rating (\d) \|$",
    re.MULTILINE,
)
REGISTER_ROW = re.compile(r"^\| (H-\d{3}) \| [^|]+ \| (\d) \| (\d) \|$", re.MULTILINE)
NO_TEST = "no automated test"


def named_tests(text: str) -> list[str]:
    return [path + node for path, node in TEST_REFERENCE.findall(text)]


def defined_tests(source: str) -> set[str]:
    """The node ids, below the file, of the test functions a module defines."""
    return set(_tests_in(ast.parse(source).body, ""))


def _tests_in(body: list[ast.stmt], prefix: str) -> list[str]:
    found: list[str] = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            found.append(prefix + node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found.extend(_tests_in(node.body, f"{prefix}{node.name}::"))
    return found


def missing_tests(references: list[str], root: Path) -> list[str]:
    missing = []
    for reference in references:
        path, _, node = reference.partition("::")
        if node not in _tests_defined_in(root / path):
            missing.append(reference)
    return missing


@cache
def _tests_defined_in(module: Path) -> frozenset[str]:
    # A document names the same file many times; each is parsed once.
    return frozenset(defined_tests(module.read_text()) if module.is_file() else ())


def hazard_sections(text: str) -> dict[str, str]:
    """Each hazard's id and its text, up to the next heading of any level."""
    starts = list(HAZARD_HEADING.finditer(text))
    sections = {}
    for match in starts:
        rest = text[match.end() :]
        following = re.search(r"^#{1,3} ", rest, re.MULTILINE)
        sections[match.group(1)] = rest[: following.start()] if following else rest
    return sections


def control_rows(section: str) -> list[list[str]]:
    """The rows of the hazard's controls table, as cells."""
    lines = section.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("| control |")), None)
    if header is None:
        return []
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def risk_matrix(text: str) -> dict[tuple[str, str], int]:
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| likelihood \\ severity"))
    severities = [cell.strip() for cell in lines[header].strip("|").split("|")][1:]
    matrix = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        likelihood, *ratings = [cell.strip() for cell in line.strip("|").split("|")]
        for severity, rating in zip(severities, ratings, strict=True):
            matrix[(likelihood, severity)] = int(rating)
    return matrix


def test_every_test_the_hazard_log_and_the_dpia_name_exists_where_they_say() -> None:
    for document in (HAZARD_LOG, DPIA):
        references = named_tests(document.read_text())

        assert references, f"{document.name} names no tests"
        assert missing_tests(references, ROOT) == [], f"{document.name} names tests not defined"


def test_every_hazard_has_a_control_and_every_control_names_its_evidence() -> None:
    sections = hazard_sections(HAZARD_LOG.read_text())

    assert sections, "the hazard log describes no hazards"
    for hazard, section in sections.items():
        rows = control_rows(section)
        assert rows, f"{hazard} has no control"
        for row in rows:
            evidence = row[-1]
            assert named_tests(evidence) or NO_TEST in evidence, f"{hazard} {row[0]}"


def test_every_rating_is_what_the_matrix_gives_for_its_likelihood_and_severity() -> None:
    text = HAZARD_LOG.read_text()
    matrix = risk_matrix(text)

    for hazard, section in hazard_sections(text).items():
        ratings = RATING_ROW.findall(section)
        assert [stage for stage, *_ in ratings] == ["initial", "residual"], hazard
        for stage, likelihood, severity, rating in ratings:
            assert matrix[(likelihood, severity)] == int(rating), f"{hazard} {stage} risk"


def test_the_register_lists_every_hazard_with_the_ratings_its_section_gives() -> None:
    text = HAZARD_LOG.read_text()
    register = [(hazard, int(a), int(b)) for hazard, a, b in REGISTER_ROW.findall(text)]

    described = [
        (hazard, *(int(rating) for *_, rating in RATING_ROW.findall(section)))
        for hazard, section in hazard_sections(text).items()
    ]

    assert register == described


def test_a_test_that_is_absent_misplaced_or_in_no_file_is_reported(tmp_path: Path) -> None:
    module = tmp_path / "tests" / "unit" / "test_sample.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', [1])\n"
        "async def test_plain(n: int) -> None: ...\n\n"
        "class TestGroup:\n"
        "    def test_method(self) -> None: ...\n\n"
        "def make_payload() -> None: ...\n"
    )
    text = (
        "`tests/unit/test_sample.py::test_plain[1]`, tests/unit/test_sample.py::TestGroup::"
        "test_method, tests/unit/test_sample.py::test_method, "
        "tests/unit/test_sample.py::make_payload, tests/unit/test_sample.py::test_absent, "
        "tests/unit/test_nowhere.py::test_plain"
    )

    missing = missing_tests(named_tests(text), tmp_path)

    assert missing == [
        "tests/unit/test_sample.py::test_method",
        "tests/unit/test_sample.py::make_payload",
        "tests/unit/test_sample.py::test_absent",
        "tests/unit/test_nowhere.py::test_plain",
    ]


def test_a_hazard_without_controls_or_with_a_control_shown_by_nothing_is_caught() -> None:
    text = (
        "### H-001: Bare\n\n| | |\n|---|---|\n| effect | none |\n\n"
        "### H-002: Unshown\n\n| control | what | kind | shown by |\n|---|---|---|---|\n"
        "| C1 | a control | design | trust us |\n\n## Afterwards\n"
    )

    sections = hazard_sections(text)

    assert control_rows(sections["H-001"]) == []
    [row] = control_rows(sections["H-002"])
    assert row[-1] == "trust us" and not named_tests(row[-1])
