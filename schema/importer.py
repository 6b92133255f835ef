"""Claiming an account that an organisation imported (the GraphQL side of bulk import)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.auth import Viewer
from resolvers.importer import do_claim_account
from schema.context import Info
from schema.volunteer import PHONE_DESCRIPTION, AuthPayload, auth_payload


@strawberry.type
class ImporterMutation:
    @strawberry.mutation(description="Claim an imported account: prove phone and ID number, set a "
                         "password and accept the terms. Returns a session token (throttled).")
    async def claim_account(
        self, info: Info, phone: Annotated[str, strawberry.argument(description=PHONE_DESCRIPTION)],
        id_number: str, password: str, consent: bool,
    ) -> AuthPayload:
        token, model = await do_claim_account(phone, id_number, password, consent,
                                              info.context.client_address)
        info.context.viewer = Viewer(model)
        return auth_payload(token, model)
