"""Consent by purpose: the versioned texts, a person's current answers and their history,
and granting or withdrawing one purpose."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.consent import Consent as ConsentModel
from models.consent import ConsentEvent as ConsentEventModel
from models.consent import ConsentPurpose as ConsentPurposeModel
from resolvers import consent as rules
from schema.context import Info

ConsentPurpose = ConsentPurposeModel
strawberry.enum(ConsentPurposeModel, name="ConsentPurpose",
                description="What a consent is for: REGISTRATION (the account and service "
                            "records), LOCATION (nearby help requests and check-in), SMS, "
                            "LEADERBOARD_DISPLAY (name on public leaderboards).")


@strawberry.type(description="The text of one version of a consent purpose.")
class ConsentText:
    purpose: ConsentPurpose = strawberry.field(description="The purpose.")
    version: int = strawberry.field(description="Version; a new wording is a new version.")
    current: bool = strawberry.field(description="Whether this is the version agreed to now.")
    text: str = strawberry.field(description="What the person agrees to (Chinese).")


@strawberry.type(description="A person's current answer for one purpose.")
class Consent:
    purpose: ConsentPurpose = strawberry.field(description="The purpose.")
    version: int = strawberry.field(description="The text version last agreed to.")
    granted: bool = strawberry.field(description="False once withdrawn.")
    updated_at: datetime = strawberry.field(description="When it was last granted or withdrawn.")

    @classmethod
    def from_model(cls, model: ConsentModel) -> Consent:
        return cls(purpose=ConsentPurposeModel(model.purpose), version=model.version,
                   granted=model.granted, updated_at=model.updated_at)


@strawberry.type(description="One grant or withdrawal, as recorded (append-only).")
class ConsentRecord:
    purpose: ConsentPurpose = strawberry.field(description="The purpose.")
    version: int = strawberry.field(description="The text version.")
    granted: bool = strawberry.field(description="Granted (true) or withdrawn (false).")
    client_address: str = strawberry.field(description="Network address it came from.")
    guardian_name: str | None = strawberry.field(description="Under 14: the guardian who consented.")
    guardian_relation: str | None = strawberry.field(description="The guardian's relation.")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_model(cls, model: ConsentEventModel) -> ConsentRecord:
        return cls(purpose=ConsentPurposeModel(model.purpose), version=model.version,
                   granted=model.granted, client_address=model.client_address,
                   guardian_name=model.guardian_name, guardian_relation=model.guardian_relation,
                   created_at=model.created_at)


async def consents_of(info: Info, volunteer_id: int) -> list[Consent]:
    return [Consent.from_model(m) for m in await rules.consents_of(info.context.viewer, volunteer_id)]


async def history_of(info: Info, volunteer_id: int) -> list[ConsentRecord]:
    records = await rules.consent_history(info.context.viewer, volunteer_id)
    return [ConsentRecord.from_model(m) for m in records]


@strawberry.type
class ConsentQuery:
    @strawberry.field(description="Every version of every consent text, newest first per purpose. "
                                  "Public: read before agreeing.")
    def consent_texts(self) -> list[ConsentText]:
        return [ConsentText(purpose=purpose, version=version, text=text,
                            current=version == rules.current_version(purpose))
                for purpose, versions in rules.TEXTS.items()
                for version, text in sorted(versions.items(), reverse=True)]


@strawberry.type
class ConsentMutation:
    @strawberry.mutation(description="Agree to the current text of one purpose. Under 14, a "
                                     "guardian's name and relation are required and recorded.")
    async def grant_consent(
        self, info: Info, purpose: ConsentPurpose,
        version: Annotated[int | None, strawberry.argument(
            description="The version read; refused if it is not the current one.")] = None,
        guardian_name: str | None = None,
        guardian_relation: str | None = None,
    ) -> Consent:
        model = await rules.do_set_consent(
            info.context.viewer, ConsentPurposeModel(purpose), True, info.context.client_address,
            version=version, guardian_name=guardian_name, guardian_relation=guardian_relation)
        return Consent.from_model(model)

    @strawberry.mutation(description="Withdraw one purpose; takes effect at once (no more nearby "
                                     "matching, SMS or leaderboard name). REGISTRATION is "
                                     "withdrawn by deleting the account.")
    async def withdraw_consent(self, info: Info, purpose: ConsentPurpose) -> Consent:
        model = await rules.do_set_consent(info.context.viewer, ConsentPurposeModel(purpose), False,
                                           info.context.client_address)
        return Consent.from_model(model)
