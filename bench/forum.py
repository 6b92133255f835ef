"""Forum at scale: 100k posts (10k threads × 10 posts, Chinese text segmented with jieba),
then search latency through the GraphQL schema (p50/p99) and the SQL statements per
`board { threads(first: 50) { ... author ... replyCount } }` query, on a scratch database.

    .venv/bin/python bench/forum.py [--backend sqlite|postgres|both] [--posts 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bench.common import scratch_database
from core import pii
from db.config import tortoise_config
from forum.models import Board, Post, Thread
from forum.search import install_search_index, segment_document
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context

POSTS_PER_THREAD = 10
BOARDS = ["fangyi", "zhulao", "shixi", "ershou", "shenghuo"]
SUBJECTS = ["社区", "志愿者", "老人", "青少年", "居民", "队员", "邻居", "医生", "学生", "团队"]
ACTIONS = ["开展", "参加", "组织", "报名", "分享", "总结", "招募", "讨论", "帮助", "记录"]
TOPICS = ["防疫志愿服务", "核酸检测引导", "助老探访", "垃圾分类宣传", "法律援助", "应急救援演练",
          "图书馆整理", "义务家教", "环保清洁", "陪诊服务", "心理疏导", "交通文明劝导",
          "二手物品交换", "实习招聘", "跑步活动", "English corner", "Python workshop"]
PLACES = ["朝阳区", "海淀区", "东城区", "西城区", "丰台区", "石景山区"]
TAILS = ["大家很积极。", "收获很多。", "欢迎报名参加。", "请注意安全。", "感谢各位的付出！",
         "下次还来。", "有问题请留言。", "时间是周末上午。"]
QUERIES = ["防疫", "志愿服务", "核酸检测", "助老", "垃圾分类", "法律援助", "应急救援", "陪诊",
           "心理疏导", "朝阳区 防疫", "社区 志愿者", "english", "python", "图书馆", "环保 清洁",
           "实习", "跑步", "不存在的词"]
SEARCH = "query($q: String!) { searchForum(query: $q, first: 20) { edges { node { title } } } }"
BOARD_THREADS = """
query($slug: String!) {
  board(slug: $slug) { threads(first: 50) { edges { node { author { displayName } replyCount } } } }
}
"""


def sentence(rng: random.Random) -> str:
    return (f"{rng.choice(PLACES)}{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}"
            f"{rng.choice(TOPICS)}，{rng.choice(SUBJECTS)}{rng.choice(TAILS)}")


class StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().strip().upper().startswith(("SELECT", "WITH")):
            self.count += 1


def generate(posts: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """Thread titles and (body, search_text) per post; segmentation happens once per run."""
    rng = random.Random(42)
    threads = []
    started = time.perf_counter()
    for _ in range(posts // POSTS_PER_THREAD):
        title = f"{rng.choice(PLACES)}{rng.choice(TOPICS)}{rng.choice(['招募', '总结', '经验'])}"
        bodies = []
        for index in range(POSTS_PER_THREAD):
            body = sentence(rng) + sentence(rng)
            text = segment_document(title, title, body) if index == 0 else segment_document(body)
            bodies.append((body, text))
        threads.append((title, bodies))
    print(f"  generated and segmented {posts} posts in {time.perf_counter() - started:.1f} s")
    return threads


async def load(database_url: str, postgres: bool,
               threads: list[tuple[str, list[tuple[str, str]]]]) -> None:
    EXECUTOR_CACHE.clear()  # cached INSERTs are per connection name, not per dialect
    await Tortoise.init(config=tortoise_config(database_url))
    await Tortoise.generate_schemas(safe=True)
    await install_search_index(postgres)
    started = time.perf_counter()
    people = [Volunteer(**pii.identity_columns(f"139{i:08d}", f"11010519900101{i:04d}"),
                        real_name=f"志愿者{i}", display_name=f"志愿者{i}", gender="MALE",
                        birth_date=datetime(1990, 1, 1).date(), district="朝阳区",
                        volunteer_number=f"TXB{i:012d}") for i in range(500)]
    await Volunteer.bulk_create(people, batch_size=500)
    ids = [v.id for v in await Volunteer.all().only("id")]
    boards = [await Board.create(slug=slug, name=slug, description="", category="项目",
                                 created_by_id=ids[0]) for slug in BOARDS]
    rng = random.Random(7)
    base = datetime.now(UTC) - timedelta(days=365)
    thread_rows = [
        Thread(board_id=boards[i % len(boards)].id, author_id=rng.choice(ids), title=title,
               reply_count=POSTS_PER_THREAD - 1, pinned=(i % 500 == 0),
               last_post_at=base + timedelta(minutes=i))
        for i, (title, _) in enumerate(threads)
    ]
    await Thread.bulk_create(thread_rows, batch_size=2000)
    thread_ids = [t.id for t in await Thread.all().order_by("id").only("id")]
    batch: list[Post] = []
    for thread_id, (_, bodies) in zip(thread_ids, threads, strict=True):
        for index, (body, text) in enumerate(bodies):
            batch.append(Post(thread_id=thread_id, author_id=rng.choice(ids), body=body,
                              is_opening=index == 0, search_text=text))
        if len(batch) >= 5000:
            await Post.bulk_create(batch, batch_size=5000)
            batch = []
    if batch:
        await Post.bulk_create(batch, batch_size=5000)
    if postgres:
        from tortoise import connections

        await connections.get("default").execute_script("ANALYZE")
    print(f"  loaded {await Post.all().count()} posts in {time.perf_counter() - started:.1f} s")


async def measure(rounds: int) -> None:
    viewer = Viewer(await Volunteer.first())
    latencies: list[float] = []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            result = await schema.execute(SEARCH, variable_values={"q": query},
                                          context_value=Context(viewer=viewer))
            latencies.append((time.perf_counter() - started) * 1000)
            assert not result.errors, result.errors
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"  searchForum latency over {len(latencies)} queries: p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms")

    for label, who in (("anonymous", Viewer()), ("signed in", viewer)):
        statements, elapsed, shown = await _board_threads(who)
        print(f"  board {{ threads(first: 50) {{ author replyCount }} }} ({label}): {shown} "
              f"threads, {statements} SQL statements, {elapsed:.1f} ms")


async def _board_threads(viewer: Viewer) -> tuple[int, float, int]:
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        started = time.perf_counter()
        result = await schema.execute(BOARD_THREADS, variable_values={"slug": "fangyi"},
                                      context_value=Context(viewer=viewer))
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        logger.removeHandler(counter)
    assert not result.errors, result.errors
    assert result.data is not None
    return counter.count, elapsed, len(result.data["board"]["threads"]["edges"])


async def run(database_url: str, postgres: bool, threads: list, rounds: int) -> None:
    try:
        await load(database_url, postgres, threads)
        await measure(rounds)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    threads = generate(args.posts)
    if args.backend in ("sqlite", "both"):
        print("SQLite (FTS5):")
        with tempfile.TemporaryDirectory() as scratch:
            asyncio.run(run(f"sqlite://{scratch}/forum.sqlite3", False, threads, args.rounds))
    if args.backend in ("postgres", "both"):
        print("PostgreSQL (GIN over to_tsvector('simple', ...)):")
        with scratch_database("tongxin_bench_forum") as url:
            asyncio.run(run(url, True, threads, args.rounds))


if __name__ == "__main__":
    main()
