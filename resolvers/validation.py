"""Input checks shared by every use case. Each failure names the offending field."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

from resolvers.errors import BadInput

PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
PHONE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

# Text limits (characters). Documented in README "Input limits".
NAME_MAX = 50
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 20_000
TAG_MAX = 30
TAGS_MAX = 20
PASSWORD_MIN = 8
PASSWORD_MAX = 128


@dataclass(frozen=True)
class IdentityFacts:
    id_number: str
    birth_date: date
    gender: str  # "MALE" | "FEMALE"


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def check_id_number(raw: str, field: str = "idNumber", today: date | None = None) -> IdentityFacts:
    value = (raw or "").strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise BadInput(field, "ID number must be 18 characters: 17 digits and a check digit or X.")
    if id_check_char(value[:17]) != value[17]:
        raise BadInput(field, "ID number check digit is wrong.")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise BadInput(field, "ID number contains an impossible birth date.") from None
    if birth > (today or date.today()) or birth.year < 1900:
        raise BadInput(field, "ID number contains a birth date in the future.")
    gender = "MALE" if int(value[16]) % 2 == 1 else "FEMALE"
    return IdentityFacts(id_number=value, birth_date=birth, gender=gender)


def normalise_phone(raw: str | None) -> str | None:
    """The 11-digit number as people type it: full-width digits (NFKC), spaces and hyphens
    between groups, a +86, 0086 or 86 country prefix. None if what remains is not a mainland
    mobile number."""
    value = PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    for prefix in ("+86", "0086", "86"):
        if value.startswith(prefix) and len(value) == len(prefix) + 11:
            value = value.removeprefix(prefix)
            break
    return value if PHONE_RE.fullmatch(value) else None


def check_phone(raw: str, field: str = "phone") -> str:
    value = normalise_phone(raw)
    if value is None:
        raise BadInput(field, "Phone must be a mainland mobile number: 11 digits starting with 1.")
    return value


def check_password(raw: str, field: str = "password") -> str:
    if not (PASSWORD_MIN <= len(raw or "") <= PASSWORD_MAX):
        raise BadInput(field, f"Password must be {PASSWORD_MIN}–{PASSWORD_MAX} characters.")
    return raw


def check_text(
    raw: str | None, field: str, *, max_len: int, required: bool = True, min_len: int = 1
) -> str:
    value = (raw or "").strip()
    if not value:
        if required:
            raise BadInput(field, f"{field} is required.")
        return ""
    if len(value) < min_len:
        raise BadInput(field, f"{field} must be at least {min_len} characters.")
    if len(value) > max_len:
        raise BadInput(field, f"{field} must be at most {max_len} characters.")
    return value


URL_MAX = 500


def check_url(raw: str | None, field: str, *, required: bool = False) -> str | None:
    """An http(s) link with a host and no whitespace, at most URL_MAX characters."""
    value = (raw or "").strip()
    if not value:
        if required:
            raise BadInput(field, f"{field} is required.")
        return None
    parts = urlsplit(value)
    if (len(value) > URL_MAX or any(ch.isspace() for ch in value)
            or parts.scheme not in ("http", "https") or not parts.hostname):
        raise BadInput(field, f"{field} must be an http(s) link of at most {URL_MAX} characters.")
    return value


def check_optional_text(raw: str | None, field: str, *, max_len: int) -> str | None:
    value = check_text(raw, field, max_len=max_len, required=False)
    return value or None


def check_tags(raw: list[str] | None, field: str) -> list[str]:
    tags: list[str] = []
    for item in raw or []:
        tag = check_text(item, field, max_len=TAG_MAX)
        if "," in tag:
            raise BadInput(field, f"{field} entries may not contain commas.")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise BadInput(field, f"At most {TAGS_MAX} {field}.")
    return tags


def check_coordinates(
    latitude: float | None, longitude: float | None, prefix: str = ""
) -> tuple[float | None, float | None]:
    lat_field, lon_field = f"{prefix}latitude", f"{prefix}longitude"
    if (latitude is None) != (longitude is None):
        raise BadInput(lat_field if latitude is None else lon_field, "Give both latitude and longitude.")
    if latitude is None or longitude is None:
        return None, None
    if not math.isfinite(latitude) or not -90 <= latitude <= 90:
        raise BadInput(lat_field, "Latitude must be between -90 and 90.")
    if not math.isfinite(longitude) or not -180 <= longitude <= 180:
        raise BadInput(lon_field, "Longitude must be between -180 and 180.")
    return latitude, longitude


def check_radius(radius_km: float, field: str = "near.radiusKm", max_km: float = 100.0) -> float:
    if not math.isfinite(radius_km) or not 0 < radius_km <= max_km:
        raise BadInput(field, f"radiusKm must be greater than 0 and at most {max_km}.")
    return radius_km


def check_aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise BadInput(field, f"{field} must include a UTC offset.")
    return value.astimezone(timezone.utc)


def encode_tags(tags: list[str]) -> str:
    """Tags are stored as ',a,b,' so one portable LIKE '%,a,%' finds them on every backend."""
    return "," + ",".join(tags) + "," if tags else ""


def decode_tags(stored: str | None) -> list[str]:
    return [t for t in (stored or "").split(",") if t]


def tag_pattern(tag: str) -> str:
    return f",{tag},"


def mask_id_number(value: str) -> str:
    return value[:6] + "*" * 8 + value[14:]


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[7:]


HOME_ADDRESS_MAX = 200


def mask_address(value: str) -> str:
    """The address down to its district, the rest hidden: 北京市朝阳区****. Never more than
    half of it, so a short address shows little."""
    district = next((i + 1 for i, char in enumerate(value[:10]) if char in "区县旗"), 0)
    city = max((i + 1 for i, char in enumerate(value[:8]) if char in "省市"), default=0)
    return value[:min(district or city or 2, len(value) // 2)] + "****"
