"""NHS number validation (NHS Data Dictionary: 10 digits, modulus 11 check digit)."""

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


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


def validate_nhs_number(value: str) -> str:
    compact = value.replace(" ", "")
    if not is_valid_nhs_number(compact):
        raise ValueError("not a valid NHS number (10 digits with a modulus-11 check digit)")
    return compact
