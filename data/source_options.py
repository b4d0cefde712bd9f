"""Options the source parsers take: the ``[data.sources]`` sub-table of ``riskcast.toml``.

The ``[data]`` section is shared with the store and ingest settings, so the parsers' options
live in their own sub-table, validated as strictly as a section of their own (unknown keys,
also in ``[data.sources.aid_rule]``, are errors with a "did you mean" when the entry point
loads the config)::

    [data.sources]
    awsd_include_unverified = true

    [data.sources.aid_rule]
    sub_event_types = ["Looting/property destruction"]
    note_patterns = ['\\baid\\b', '\\bhumanitarian', '\\bNGOs?\\b', ...]
    exclude_event_types = ["Protests"]
"""

from __future__ import annotations

from pydantic import Field

from data.aid_rule import AidRule
from riskcast.config import StrictSection


class SourceOptions(StrictSection):
    """What the parsers may be told.

    Attributes:
        aid_rule: which ACLED events count as aid diversion (:mod:`data.aid_rule`).
        drop_partial_edge_months: leave out the first or last month of an ACLED or GED
            event file when its events stop a week or more short of the month's edge (an
            export cut on 1 August holds one day of August); logged either way.
        awsd_include_unverified: keep AWSD incidents whose ``Verified`` is not "Yes" or
            "Archived" (recent rows are often "Pending"); True keeps the publisher's full
            list, False keeps only verified incidents.
        zero_fill: write explicit zeros for months without events, inside each file's span
            and for every region the file covers, so "no event" is a stored 0 rather than a
            missing month (event files only; aggregate files carry their own zeros).
    """

    aid_rule: AidRule = Field(default_factory=AidRule)
    drop_partial_edge_months: bool = True
    awsd_include_unverified: bool = True
    zero_fill: bool = True
