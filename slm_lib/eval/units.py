"""Units of measure for the number check: each name maps to a dimension and a factor to its base unit.

Lengths go to metres, masses to grams, volumes to litres, times to seconds, temperatures to kelvin
(with an offset), data sizes to bytes; "%", currencies and bits are their own dimensions.

Example:
    >>> UNITS["km"], UNITS["°f"][0]
    (('length', 1000.0, 0.0), 'temperature')
    >>> unit_after("32 degrees Fahrenheit", 2)[:2]
    ('fahrenheit', 'temperature')
"""

from __future__ import annotations

import re

__all__ = ["UNITS", "UNIT_WORDS", "unit_after"]

# unit -> (dimension, factor to the base unit, offset); temperatures go to kelvin.
UNITS: dict[str, tuple[str, float, float]] = {}
for names, dim, factor, offset in (
    ("mm millimetre millimetres millimeter millimeters", "length", 1e-3, 0.0),
    ("cm centimetre centimetres centimeter centimeters", "length", 1e-2, 0.0),
    ("m metre metres meter meters", "length", 1.0, 0.0),
    ("km kilometre kilometres kilometer kilometers", "length", 1e3, 0.0),
    ("inch inches", "length", 0.0254, 0.0),
    ("ft foot feet", "length", 0.3048, 0.0),
    ("mi mile miles", "length", 1609.344, 0.0),
    ("mg milligram milligrams", "mass", 1e-3, 0.0),
    ("g gram grams gramme grammes", "mass", 1.0, 0.0),
    ("kg kilo kilos kilogram kilograms kilogramme", "mass", 1e3, 0.0),
    ("tonne tonnes", "mass", 1e6, 0.0),
    ("lb lbs pound pounds", "mass", 453.59237, 0.0),
    ("oz ounce ounces", "mass", 28.349523125, 0.0),
    ("ml millilitre millilitres milliliter milliliters", "volume", 1e-3, 0.0),
    ("l litre litres liter liters", "volume", 1.0, 0.0),
    ("ms millisecond milliseconds", "time", 1e-3, 0.0),
    ("s sec secs second seconds", "time", 1.0, 0.0),
    ("min mins minute minutes", "time", 60.0, 0.0),
    ("h hr hrs hour hours", "time", 3600.0, 0.0),
    ("day days", "time", 86400.0, 0.0),
    ("week weeks", "time", 604800.0, 0.0),
    ("year years", "time", 31557600.0, 0.0),
    ("decade decades", "time", 315576000.0, 0.0),
    ("times", "ratio", 1.0, 0.0),
    ("°c ºc celsius", "temperature", 1.0, 273.15),
    ("°f ºf fahrenheit", "temperature", 5 / 9, 273.15 - 32 * 5 / 9),
    ("kelvin kelvins", "temperature", 1.0, 0.0),
    ("% percent", "percent", 1.0, 0.0),
    ("$ usd dollar dollars", "usd", 1.0, 0.0),
    ("€ eur euro euros", "eur", 1.0, 0.0),
    ("£ gbp", "gbp", 1.0, 0.0),
    ("kb kilobyte kilobytes", "bytes", 1e3, 0.0),
    ("mb megabyte megabytes", "bytes", 1e6, 0.0),
    ("gb gigabyte gigabytes", "bytes", 1e9, 0.0),
    ("tb terabyte terabytes", "bytes", 1e12, 0.0),
    ("bit bits", "bits", 1.0, 0.0),
    ("byte bytes", "bytes", 1.0, 0.0),
    ("degree degrees °", "degrees", 1.0, 0.0),
):
    for name in names.split():
        UNITS[name] = (dim, factor, offset)

UNIT_WORDS = frozenset(name for name in UNITS if name.isalpha() and len(name) > 2)

_AFTER = re.compile(
    r"(?:\s*|-)(°\s*[cCfF]\b|º\s*[cCfF]\b|%|°|per\s*cent\b|degrees?\s+(?:celsius|fahrenheit)\b|[A-Za-z]+)", re.I
)
_ALIASES = {
    "percent": "%",
    "percent.": "%",
    "degreescelsius": "celsius",
    "degreecelsius": "celsius",
    "degreesfahrenheit": "fahrenheit",
    "degreefahrenheit": "fahrenheit",
}


def unit_after(text: str, end: int) -> tuple[str, str, float, float, int]:
    """``(unit name, dim, factor, offset, end)`` of a unit right after position ``end`` (or empty)."""
    m = _AFTER.match(text, end)
    if not m:
        return "", "", 1.0, 0.0, end
    raw = re.sub(r"\s+", "", m.group(1).lower()).replace("º", "°")
    raw = _ALIASES.get(raw, raw)
    if raw in UNITS:
        dim, factor, offset = UNITS[raw]
        return raw, dim, factor, offset, m.end()
    return (raw, "", 1.0, 0.0, end) if m.group(1).isalpha() else ("", "", 1.0, 0.0, end)
