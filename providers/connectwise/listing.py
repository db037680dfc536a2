"""The run's one read of ConnectWise: every company, the agreements of the mapped companies, and the additions of
each mapped agreement, read once and kept current with the run's own writes.

ConnectWise lists additions per agreement only (the API has no list across agreements), so a run costs the
companies' pages, the mapped companies' agreements (`company/id in (...)` in conditions of at most 1,000 characters:
about 180 companies a list), and one list per mapped agreement, whatever the number of lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from mappings.truth import ContractRef, Missing
from providers.connectwise.client import ConnectWiseClient
from providers.connectwise.models import Addition, Agreement, Company
from providers.connectwise.verify import Companies, Located, Target, agreement_of, company_of, locate


class Listing:
    """What the run read of ConnectWise (see the module's notes); `read` reads only what it has not read yet."""

    def __init__(self, client: ConnectWiseClient) -> None:
        self.client = client
        self._companies: Companies | None = None
        self.agreements: dict[int, Agreement] = {}
        self._listed_companies: set[int] = set()
        # agreement id -> addition id -> addition, for every agreement whose additions were listed.
        self.additions: dict[int, dict[int, Addition]] = {}

    def companies(self) -> Companies:
        if self._companies is None:
            self._companies = Companies(self.client.companies())
        return self._companies

    def read(self, refs: Iterable[ContractRef]) -> None:
        """Everything the references need that the run has not read yet (nothing, once it has)."""
        companies = self.companies()
        owners: dict[ContractRef, tuple[Company, Target]] = {}
        for ref in refs:
            company, target = company_of(ref, companies), Target.of(ref)
            if isinstance(company, Company) and isinstance(target, Target):
                owners[ref] = company, target
        unlisted = {company.id for company, _ in owners.values()} - self._listed_companies
        if unlisted:
            self.agreements.update((a.id, a) for a in self.client.agreements_of(sorted(unlisted)))
            self._listed_companies |= unlisted
        # An agreement named by id may be another company's: read too, so the comparison can say whose it is.
        by_id = {t.agreement_id for _, t in owners.values() if t.agreement_id is not None} - set(self.agreements)
        if by_id:
            self.agreements.update((a.id, a) for a in self.client.agreements_by_id(sorted(by_id)))
        for company, target in owners.values():
            agreement = agreement_of(target, company, self.agreements)
            if isinstance(agreement, Agreement) and agreement.id not in self.additions:
                self.reread_additions(agreement.id)

    def reread_additions(self, agreement_id: int) -> None:
        """The agreement's additions as ConnectWise holds them now, in place of what the run read of them."""
        self.additions[agreement_id] = {a.id: a for a in self.client.additions(agreement_id)}

    def additions_of(self, agreement_id: int) -> Sequence[Addition]:
        return list(self.additions.get(agreement_id, {}).values())

    def put(self, agreement_id: int, addition: Addition) -> None:
        """An addition as ConnectWise holds it after a write or a re-read of it."""
        self.additions.setdefault(agreement_id, {})[addition.id] = addition

    def locate(self, ref: ContractRef) -> Located | Missing:
        """The company, agreement and addition of a reference, from what was read (`read` it first)."""
        return locate(ref, self.companies(), self.agreements, _Listed(self.additions))

    def field_id(self, caption: str) -> int | None:
        """The id of the custom field with this caption, from any addition read (every addition carries the same
        fields), or None when none was read."""
        for found in self.additions.values():
            for addition in found.values():
                field = addition.custom_field(caption)
                if field is not None and field.id is not None:
                    return field.id
        return None


class _Listed(Mapping[int, Sequence[Addition]]):
    """The additions read, by agreement, as `locate` takes them: only the one agreement it asks for is turned into a
    list (copying every agreement's for each line made a run's lookups grow with lines times agreements)."""

    def __init__(self, found: Mapping[int, Mapping[int, Addition]]) -> None:
        self.found = found

    def __getitem__(self, agreement_id: int) -> Sequence[Addition]:
        return list(self.found[agreement_id].values())

    def __iter__(self) -> Iterator[int]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)
