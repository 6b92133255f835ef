from core import pii
from models.hours import Certificate
from models.privacy import DataRequest, DataRequestKind, DataRequestStatus
from models.volunteer import Volunteer
from resolvers.demo import seed_demo
from resolvers.demo_privacy import HOME_ADDRESSES


async def test_demo_has_a_certificate_and_requests_to_decide_and_to_build(db):
    assert await seed_demo() is True
    certificate = await Certificate.get()
    assert certificate.content["volunteerName"] == "王芳" and certificate.content["totalHours"] > 0
    kinds = {(r.kind, r.status) for r in await DataRequest.all()}
    assert kinds == {(DataRequestKind.RECORD_CORRECTION, DataRequestStatus.PENDING),
                     (DataRequestKind.CORRECTION, DataRequestStatus.REFUSED),
                     (DataRequestKind.EXPORT, DataRequestStatus.PENDING)}
    addresses = {pii.phone_of(v): pii.home_address_of(v) for v in await Volunteer.all()
                 if v.home_address_cipher}
    assert addresses == HOME_ADDRESSES
