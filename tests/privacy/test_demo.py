from models.hours import Certificate
from models.privacy import DataRequest, DataRequestKind, DataRequestStatus
from resolvers.demo import seed_demo


async def test_demo_has_a_certificate_and_requests_to_decide_and_to_build(db):
    assert await seed_demo() is True
    certificate = await Certificate.get()
    assert certificate.content["volunteerName"] == "王芳" and certificate.content["totalHours"] > 0
    kinds = {(r.kind, r.status) for r in await DataRequest.all()}
    assert kinds == {(DataRequestKind.RECORD_CORRECTION, DataRequestStatus.PENDING),
                     (DataRequestKind.CORRECTION, DataRequestStatus.REFUSED),
                     (DataRequestKind.EXPORT, DataRequestStatus.PENDING)}
