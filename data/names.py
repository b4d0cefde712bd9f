"""Map the names found in source files to registry ids.

Sources spell the same place many ways: "Ségou", "SEGOU", "Segou region", "Région de
Ségou", "Tombouctou/Timbuktu", "DR Congo (Zaire)". :class:`NameResolver` reduces every
spelling to a normal form (accents and case folded, punctuation to spaces, words such as
"region"/"Région de" stripped) and looks it up among the ids, names and aliases of the
registry. An unknown name is an :class:`~riskcast.errors.InputError` naming the file, the
row and the three closest known names, so a person can add an alias instead of guessing.

Parsers call the column helpers (:meth:`NameResolver.resolve_column`,
:meth:`NameResolver.country_column`), which resolve each distinct name once and map the
answer back onto the rows, so a file of 100,000 events costs a few dozen look-ups.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections import defaultdict

import pandas as pd
import pycountry

from data.registry import Region, Registry
from riskcast.errors import InputError, shown

logger = logging.getLogger(__name__)

#: Normal forms of place names that sources list as a country but that belong to no single
#: country (disputed between two). Parsers drop such rows and log how many.
UNASSIGNABLE_COUNTRY_NAMES: frozenset[str] = frozenset({"kashmir", "jammu and kashmir"})

MAX_COMPARED = 100
"""Longest name (characters) compared with the registry for "closest known names"."""

# Words sources wrap around an admin name; stripped from both the query and the registry.
_PREFIX_RE = re.compile(
    r"^(?:region|province|district|departement|department|cercle|prefecture|state|commune)"
    r"(?: (?:de la|de l|de|du|des|d|of the|of))? "
)
_SUFFIX_RE = re.compile(r" (?:region|province|district|state|cercle|prefecture)$")
_PARENTHESES_RE = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)\s*$")


def normalise(name: object) -> str:
    """The comparison form of a name: no accents, case-folded, punctuation as spaces.

    "Ségou" → "segou", "Centre-Nord" → "centre nord", "Cote D'Ivoire" → "cote d ivoire".
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"[\W_]+", " ", text)
    return " ".join(text.split())


def strip_affixes(key: str) -> str:
    """Drop administrative words around a normalised name ("region de segou" → "segou")."""
    stripped = _SUFFIX_RE.sub("", _PREFIX_RE.sub("", key))
    return stripped or key


def is_blank(value: object) -> bool:
    """True for NaN, None and strings that are empty after stripping."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    return isinstance(value, str) and not value.strip()


def _variants(name: str) -> list[str]:
    """Spellings to try for one raw name, most specific first.

    "Tombouctou/Timbuktu" → the whole, then each side; "DR Congo (Zaire)" → the whole, the
    part outside the parentheses, the part inside.
    """
    raw = [name]
    if "/" in name:
        raw += [part for part in name.split("/") if part.strip()]
    match = _PARENTHESES_RE.match(name)
    if match:
        raw += [match["outer"], match["inner"]]
    keys: list[str] = []
    for text in raw:
        key = normalise(text)
        for candidate in (key, strip_affixes(key)):
            if candidate and candidate not in keys:
                keys.append(candidate)
    return keys


class NameResolver:
    """Resolve place names from source files to registry ids.

    Args:
        registry: the regions names may resolve to (ids, names and aliases are indexed).
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._index: dict[str, set[str]] = defaultdict(set)
        for region in registry:
            for spelling in (region.name, *region.aliases):
                key = normalise(spelling)
                self._index[key].add(region.id)
                self._index[strip_affixes(key)].add(region.id)
        self._ancestors = {region.id: self._ancestor_ids(region) for region in registry}

    def _ancestor_ids(self, region: Region) -> frozenset[str]:
        seen: set[str] = set()
        parent = region.parent
        while parent is not None and parent not in seen and parent in self.registry:
            seen.add(parent)
            parent = self.registry.get(parent).parent
        return frozenset(seen)

    def _in_scope(self, region_id: str, within: str | None) -> bool:
        return within is None or within in self._ancestors[region_id]

    def _candidates(self, name: str, within: str | None, level: str | None) -> set[str]:
        """Ids matching the first variant of ``name`` that matches anything in scope.

        An id matches only as written ("EST" is Estonia, "Est" is a Burkinabè region).
        """
        region_id = name.strip()
        if (
            region_id in self.registry
            and self._in_scope(region_id, within)
            and (level is None or self.registry.get(region_id).level == level)
        ):
            return {region_id}
        for key in _variants(name):
            found = {
                region_id
                for region_id in self._index.get(key, ())
                if self._in_scope(region_id, within)
                and (level is None or self.registry.get(region_id).level == level)
            }
            if found:
                return found
        return set()

    def closest(
        self, name: str, *, within: str | None = None, level: str | None = None
    ) -> list[str]:
        """Up to three known regions most like ``name``, written "Name (ID)", best first.

        Names longer than :data:`MAX_COMPARED` characters get no suggestions: difflib is
        quadratic in the length, and no place name is that long (a 100 KB "name" once cost
        a minute of CPU per request).
        """
        if len(name) > MAX_COMPARED:
            return []
        target = normalise(name)
        scores: list[tuple[float, str]] = []
        for region in self.registry:
            if not self._in_scope(region.id, within) or (level and region.level != level):
                continue
            best = max(
                difflib.SequenceMatcher(None, target, normalise(spelling)).ratio()
                for spelling in (region.name, *region.aliases)
            )
            scores.append((best, region.id))
        scores.sort(key=lambda pair: (-pair[0], pair[1]))
        return [f"{self.registry.get(rid).name} ({rid})" for _, rid in scores[:3]]

    def lookup(self, name: str, *, within: str | None = None) -> str | None:
        """The id ``name`` resolves to, or None when unknown.

        Raises:
            InputError: when the name matches several regions in scope (ambiguous).
        """
        found = self._candidates(str(name), within, None)
        if len(found) > 1:
            raise InputError(
                f"name '{name}' is ambiguous: it matches {', '.join(sorted(found))}"
                + (f" within {within}" if within else "")
                + "; resolve it with a scope or a more specific alias"
            )
        return next(iter(found), None)

    def resolve(
        self,
        name: str,
        *,
        within: str | None = None,
        file: str,
        row: int | None = None,
        field: str | None = None,
    ) -> str:
        """The region id for ``name`` (looked up among ``within``'s descendants if given).

        Raises:
            InputError: naming file, row and the closest known names when ``name`` is
                unknown or ambiguous.
        """
        if is_blank(name):
            raise InputError("region name is blank", file=file, row=row, field=field)
        try:
            region_id = self.lookup(name, within=within)
        except InputError as exc:
            raise InputError(exc.message, file=file, row=row, field=field) from None
        if region_id is None:
            scope = f" in {within}" if within else ""
            closest = ", ".join(self.closest(name, within=within)) or "none"
            raise InputError(
                f"unknown region '{shown(name)}'{scope}; closest known names: {closest}. "
                "Add an alias to the region registry if this is a known place.",
                file=file,
                row=row,
                field=field,
            )
        return region_id

    def country_or_none(self, name: str, *, fuzzy: bool = True) -> str | None:
        """ISO3 for a country name or code, or None when nothing matches.

        Order: registry countries (pycountry names plus the aliases of
        :data:`data.regions.COUNTRY_ALIASES`, each with "X (Y)" tried as X then Y), then
        pycountry codes (alpha-2, numeric), then pycountry's fuzzy search, accepted only
        when it returns exactly one country (fuzzy search also matches subdivisions, so a
        longer answer list means the name is not clearly a country).
        """
        found = self._candidates(str(name), None, "country")
        if len(found) == 1:
            return next(iter(found))
        if len(found) > 1:
            return None
        try:
            return pycountry.countries.lookup(str(name).strip()).alpha_3
        except LookupError:
            pass
        if not fuzzy:
            return None
        try:
            found = pycountry.countries.search_fuzzy(str(name))
        except LookupError:
            return None
        if len(found) == 1 and found[0].alpha_3 in self.registry:
            logger.info("country name %r matched %s by fuzzy search", name, found[0].alpha_3)
            return found[0].alpha_3
        return None

    def country(
        self, name: str, *, file: str, row: int | None = None, field: str | None = None
    ) -> str:
        """ISO3 of a country name (UCDP/ACLED spellings like "DR Congo (Zaire)" included).

        Raises:
            InputError: naming file, row and the closest country names when unknown.
        """
        if is_blank(name):
            raise InputError("country name is blank", file=file, row=row, field=field)
        iso3 = self.country_or_none(name)
        if iso3 is None:
            closest = ", ".join(self.closest(name, level="country")) or "none"
            raise InputError(
                f"unknown country '{shown(name)}'; closest known names: {closest}. Add an alias "
                "to data.regions.COUNTRY_ALIASES if this is a spelling of a country.",
                file=file,
                row=row,
                field=field,
            )
        return iso3

    # Column helpers: one look-up per distinct name, mapped back onto the rows.

    def resolve_column(
        self,
        names: pd.Series,
        *,
        within: pd.Series | str | None = None,
        file: str,
        rows: pd.Series | None = None,
        field: str | None = None,
        strict: bool = True,
    ) -> pd.Series:
        """Region ids for a column of names; blanks give NA.

        Args:
            names: the names, one per row.
            within: one scope id for all rows, a per-row Series of scope ids, or None.
            file: file name for error messages.
            rows: the file's row number of each entry (header = 1); default index + 2.
            field: column name for error messages.
            strict: raise on the first unknown name (True) or give NA for it (False).

        Raises:
            InputError: naming the first row holding an unknown or ambiguous name.
        """
        rows = rows if rows is not None else pd.Series(names.index + 2, index=names.index)
        scope = within if isinstance(within, pd.Series) else pd.Series(within, index=names.index)
        frame = pd.DataFrame(
            {
                "name": names.astype(object),
                "within": scope.astype(object).where(~scope.map(is_blank), ""),
                "row": rows,
            },
            index=names.index,
        )
        blank = frame["name"].map(is_blank)
        firsts = frame[~blank].groupby(["name", "within"], sort=False)["row"].min()
        answers: dict[tuple[str, str], str | None] = {}
        for (name, scope_id), first_row in firsts.items():
            scope_arg = scope_id or None
            if strict:
                answers[(name, scope_id)] = self.resolve(
                    str(name), within=scope_arg, file=file, row=int(first_row), field=field
                )
                continue
            try:
                answers[(name, scope_id)] = self.lookup(str(name), within=scope_arg)
            except InputError as exc:
                raise InputError(exc.message, file=file, row=int(first_row), field=field) from None
        if not answers:
            return pd.Series(None, index=names.index, dtype="object")
        lookup = pd.Series(answers, dtype="object")
        keys = pd.MultiIndex.from_frame(frame[["name", "within"]])
        resolved = pd.Series(lookup.reindex(keys).to_numpy(), index=names.index, dtype="object")
        return resolved.where(~blank, None)

    def country_column(
        self,
        names: pd.Series,
        *,
        file: str,
        rows: pd.Series | None = None,
        field: str | None = None,
    ) -> pd.Series:
        """ISO3 codes for a column of country names.

        Blank names and names in :data:`UNASSIGNABLE_COUNTRY_NAMES` give NA (the caller
        drops and counts them); any other unknown name raises.

        Raises:
            InputError: naming the first row of an unknown country name.
        """
        rows = rows if rows is not None else pd.Series(names.index + 2, index=names.index)
        answers: dict[object, str | None] = {}
        for name, index in names.groupby(names, sort=False).groups.items():
            if is_blank(name) or normalise(name) in UNASSIGNABLE_COUNTRY_NAMES:
                answers[name] = None
                continue
            answers[name] = self.country(
                str(name), file=file, row=int(rows.loc[index].min()), field=field
            )
        return names.map(answers).astype("object")
