"""Who takes part in the demo: fictional agencies, their people and the persons cared for.

Names are invented (Wyvern Vale is nowhere); codes look like ODS codes but are chosen to be
obviously made up. NHS numbers start 999, the range NHS England keeps for testing, and carry
valid modulus-11 check digits. A second demo in the same database (`--force`) is a second
partnership, its codes and usernames numbered, so it never touches the first one's records.
"""

from dataclasses import dataclass

from schemas.nhs_number import nhs_check_digit
from schemas.vocabulary import AgencyKind

TEST_NUMBER_PREFIX = "999"


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    kind: AgencyKind
    signatory: str  # who approves agreements for it
    lead: str  # its named lead in a care team
    care_role: str


@dataclass(frozen=True)
class Cast:
    trust: DemoAgency
    council: DemoAgency
    housing: DemoAgency
    gp: DemoAgency
    people: tuple[str, str]  # NHS numbers: the first has a crisis plan, both a care team

    @property
    def agencies(self) -> tuple[DemoAgency, ...]:
        return (self.trust, self.council, self.housing, self.gp)


def cast_for(round_number: int) -> Cast:
    """The cast of the `round_number`th demo in a database (1 for the first)."""
    suffix = "" if round_number == 1 else f"-{round_number}"
    place = "Wyvern Vale" if round_number == 1 else f"Wyvern Vale {round_number}"
    return Cast(
        trust=DemoAgency(
            "RZ9" + suffix,
            f"{place} Mental Health NHS Foundation Trust",
            AgencyKind.NHS_TRUST,
            "Dr E. Marsh",
            "A. Okonjo",
            "care coordinator",
        ),
        council=DemoAgency(
            "LAZ01" + suffix,
            f"{place} Council Adult Social Care",
            AgencyKind.LOCAL_AUTHORITY,
            "K. Dunmore",
            "B. Sandhu",
            "social worker",
        ),
        housing=DemoAgency(
            "HAZ01" + suffix,
            f"{place} Homes Housing Association",
            AgencyKind.HOUSING,
            "P. Ferris",
            "C. Lowe",
            "tenancy sustainment officer",
        ),
        gp=DemoAgency(
            "Y99901" + suffix,
            f"Kestrel Lane Surgery ({place})",
            AgencyKind.GP_PRACTICE,
            "Dr J. Adeyemi",
            "Dr M. Quill",
            "general practitioner",
        ),
        people=test_nhs_numbers(round_number),
    )


def test_nhs_numbers(round_number: int) -> tuple[str, str]:
    """Two NHS numbers of the test range, different for each round."""
    first_six = f"{TEST_NUMBER_PREFIX}{round_number % 1000:03d}"
    found = [
        f"{nine}{check}"
        for serial in range(1000)
        if (check := nhs_check_digit(nine := f"{first_six}{serial:03d}")) is not None
    ]
    return found[1], found[2]
