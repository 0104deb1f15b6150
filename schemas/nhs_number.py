"""NHS number validation (NHS Data Dictionary: 10 digits, modulus 11 check digit), refusing
numbers that no person in England, Wales or the Isle of Man can hold.

By their first three digits, the shared numbering scheme issues 300 to 319, 400 to 499 and 600
to 799; numbers beginning 9 are never issued to patients and are what NHS England's test and
training environments use. Everything else is refused even when its check digit is right:
Scotland's CHI numbers (010 to 311: a date of birth then digits; those of the 30th and 31st
share 300 to 311 with England's and cannot be told apart, so those are let through), Northern
Ireland's H&C numbers (320 to 399), and 000, 5xx and 8xx, never issued. A number of one
repeated digit (4444444444 has a valid check digit) is a placeholder a system fills in when it
does not know the number.
"""

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_ISSUABLE_PREFIXES = (range(300, 320), range(400, 500), range(600, 800), range(900, 1000))


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None where the number can never be valid (10)."""
    remainder = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


def is_issuable(value: str) -> bool:
    """Whether a well-formed number lies in a range issued to people (or kept for testing)."""
    prefix = int(value[:3])
    in_range = any(prefix in issued for issued in _ISSUABLE_PREFIXES)
    return in_range and len(set(value)) > 1


def validate_nhs_number(value: str) -> str:
    compact = value.replace(" ", "")
    if not is_valid_nhs_number(compact):
        raise ValueError("not a valid NHS number (10 digits with a modulus-11 check digit)")
    if not is_issuable(compact):
        raise ValueError("not an NHS number that is ever issued (a reserved or placeholder range)")
    return compact
