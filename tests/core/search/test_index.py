"""The index on the engine under test (SQLite FTS5 by default, PostgreSQL's tsvector with
GLOCAL_TEST_DATABASE_URL): word forms, ё/е, English stems, all words required, towns and
owner types apart, ranking, kept in step by index/remove in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.core.search import service as search
from backend.core.search.models import SearchEntry
from backend.db import unit_of_work
from tests.factories import make_town, seed

DOCS = {
    1: ["Большая яма на дороге у дома 5", "ул. Ленина"],
    2: ["Упала ёлка во дворе"],
    3: ["The roads are closed", "Road works"],
    4: ["Яма, яма и ещё раз яма на дорогах"],
    5: ["Не горит фонарь у школы"],
}


async def _world(runtime) -> tuple[int, int]:
    async def data(s):
        a, b = await make_town(s, slug="search-a"), await make_town(s, slug="search-b")
        for owner_id, texts in DOCS.items():
            await search.index(s, owner_type="doc", owner_id=owner_id, municipality_id=a.id, texts=texts)
        # The same words in another town and under another owner type are never found here.
        await search.index(s, owner_type="doc", owner_id=100, municipality_id=b.id, texts=["яма на дороге"])
        await search.index(s, owner_type="note", owner_id=1, municipality_id=a.id, texts=["яма на дороге"])
        return a.id, b.id

    return await seed(runtime, data)


async def _found(runtime, town: int, query: str, owner_type: str = "doc") -> list[int]:
    async with runtime.sessionmaker() as s:
        m = search.matching(s, owner_type=owner_type, municipality_id=town, query=query)
        return sorted(await s.scalars(m.ids))


async def _ranked(runtime, town: int, query: str) -> list[int]:
    async with runtime.sessionmaker() as s:
        sub = search.matching(s, owner_type="doc", municipality_id=town, query=query).ranked.subquery()
        rows = await s.execute(select(sub.c.owner_id, sub.c.rank).order_by(sub.c.rank.desc(), sub.c.owner_id))
        return [r.owner_id for r in rows]


async def test_word_forms_and_yo(runtime):
    town, other = await _world(runtime)
    assert await _found(runtime, town, "дороги") == [1, 4]  # дороге, дорогах
    assert await _found(runtime, town, "ДОРОГА") == [1, 4]
    assert await _found(runtime, town, "ёлка") == [2] == await _found(runtime, town, "елки")
    assert await _found(runtime, town, "road") == [3] == await _found(runtime, town, "Roads")
    assert await _found(runtime, town, "ленина") == [1]  # the second text counts as much as the first
    assert await _found(runtime, other, "яма") == [100]
    assert await _found(runtime, town, "яма", owner_type="note") == [1]


async def test_every_word_is_required_and_mid_word_fragments_do_not_match(runtime):
    town, _ = await _world(runtime)
    assert await _found(runtime, town, "яма дорога") == [1, 4]
    assert await _found(runtime, town, "яма ленина") == [1]
    assert await _found(runtime, town, "яма фонарь") == []
    # The LIKE scan found "орог" inside "дороге"; words are now matched whole, in any form.
    assert await _found(runtime, town, "орог") == []
    assert await _found(runtime, town, "бегемот") == []
    assert await _found(runtime, town, "!!!") == []


async def test_ranked_by_how_much_of_the_text_is_the_query(runtime):
    town, _ = await _world(runtime)
    # Appeal 4 says "яма" three times in a short text; appeal 1 once in a longer one.
    assert await _ranked(runtime, town, "яма") == [4, 1]


async def test_index_again_and_remove_stay_in_step(runtime):
    town, other = await _world(runtime)

    async def edit(s):
        await search.index(s, owner_type="doc", owner_id=5, municipality_id=town, texts=["Светофор сломан"])
        await search.remove(s, owner_type="doc", owner_id=1)
        await search.remove(s, owner_type="doc", owner_id=999)  # nothing indexed: nothing to do

    await seed(runtime, edit)
    assert await _found(runtime, town, "фонарь") == []
    assert await _found(runtime, town, "светофоры") == [5]
    assert await _found(runtime, town, "дороги") == [4]
    async with runtime.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(SearchEntry).where(SearchEntry.owner_type == "doc")) == 5

    # A rolled-back write leaves the index as it was: it shares the caller's transaction.
    try:
        async with unit_of_work(runtime.sessionmaker) as s:
            await search.index(s, owner_type="doc", owner_id=4, municipality_id=town, texts=["совсем другое"])
            await search.index(s, owner_type="doc", owner_id=6, municipality_id=town, texts=["новая дорога"])
            raise RuntimeError("the write fails after indexing")
    except RuntimeError:
        pass
    assert await _found(runtime, town, "дороги") == [4]
    assert await _found(runtime, town, "другое") == []


async def test_an_entry_can_move_to_another_town(runtime):
    town, other = await _world(runtime)

    async def move(s):
        await search.index(s, owner_type="doc", owner_id=2, municipality_id=other, texts=["Упала ёлка во дворе"])

    await seed(runtime, move)
    assert await _found(runtime, town, "елка") == [] and await _found(runtime, other, "елка") == [2]
