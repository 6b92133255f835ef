from models.activity import Activity, SignUp, SignUpStatus
from models.station import StationClosure, StationHours
from resolvers.demo import seed_demo


async def test_demo_has_a_station_schedule_a_holiday_and_a_staffed_duty_shift(db):
    assert await seed_demo() is True
    assert await StationHours.filter(service_point__name="国贸地铁站志愿服务驿站").count() == 7
    assert await StationClosure.filter(service_point_id__isnull=True, reason="元旦").count() == 1
    shift = await Activity.get(title="国贸驿站周六值班（上午）")
    assert shift.service_point_id is not None
    assert await SignUp.filter(activity_id=shift.id, status=SignUpStatus.CONFIRMED).count() == 1
