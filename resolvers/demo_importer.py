"""Demo data for the volunteer import run from the web: the platform admin's import of a
street's roster, done, with two residents imported (waiting to claim their accounts) and one
row rejected for its phone."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from models.team import Team
from models.volunteer import Volunteer

ADMIN_PHONE = "13800000000"


async def seed_import(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.importer_jobs import do_queue_import, run_import_job
    from resolvers.maintenance import make_id_number

    rng = random.Random(26)
    rows = [("姓名", "手机号", "身份证号", "所属区", "队伍", "技能"),
            ("周敏", "13900000101", make_id_number(male=False, rng=rng), "朝阳区", "朝阳区志愿服务总队",
             "急救"),
            ("吴强", "13900000102", make_id_number(rng=rng), "朝阳区", "", "驾驶；维修"),
            ("郑丽", "1390000010", make_id_number(male=False, rng=rng), "朝阳区", "", "")]
    with tempfile.TemporaryDirectory(prefix="tongxin-demo-") as folder:
        path = Path(folder) / "roster.csv"
        path.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8-sig")
        job = await do_queue_import(people[ADMIN_PHONE], "安贞街道志愿者名册.csv", path)
    await run_import_job(job.id)
