"""Tests for ctxrisk.pipelines.memory: memory freed by a batch goes back to the system, after each file and step."""

from pathlib import Path

import pyarrow as pa
import pytest

from ctxrisk.pipelines import memory, runner
from ctxrisk.pipelines.errors import ValidationError


def test_release_asks_arrow_and_the_c_heap_and_keeps_live_data(monkeypatch):
    calls = []

    class Pool:
        def release_unused(self):
            calls.append("arrow")

    class Libc:
        def malloc_trim(self, pad):
            calls.append(("trim", pad))
            return 1

    kept = pa.array(range(1000))
    monkeypatch.setattr(memory.pa, "default_memory_pool", lambda: Pool())
    monkeypatch.setattr(memory, "_libc", lambda: Libc())
    memory.release_freed_memory()
    assert calls == ["arrow", ("trim", 0)]
    monkeypatch.setattr(memory, "_libc", lambda: None)  # not glibc: Arrow's pool only
    memory.release_freed_memory()
    assert calls[-1] == "arrow"
    assert kept.to_pylist()[-1] == 999


def test_the_real_release_runs_here():
    memory.release_freed_memory()  # glibc and mimalloc on the reference machine; must not raise elsewhere


def test_every_ingest_releases_memory_even_when_the_file_is_refused(monkeypatch, tmp_path, con, settings):
    released = []
    monkeypatch.setattr(runner, "release_freed_memory", lambda: released.append(True))
    good = tmp_path / "i.csv"
    good.write_text("incident_id,occurred_at,latitude,longitude,category\nI1,2024-01-01,53.1,-2.4,Shoplifting\n")
    assert runner.ingest_one(con, "incidents", good, settings=settings).rows_loaded == 1
    assert released == [True]
    with pytest.raises(ValidationError):
        runner.ingest_one(con, "incidents", Path(tmp_path / "missing.csv"), settings=settings)
    assert released == [True, True]


def test_the_heap_keeps_freed_memory_for_reuse_once_set(monkeypatch):
    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(memory, "_TUNED", False)
    monkeypatch.setattr(memory, "_libc", lambda: Libc())
    memory.keep_freed_memory_for_reuse()
    memory.keep_freed_memory_for_reuse()  # once per process
    # M_MMAP_THRESHOLD (-3): under 32 MiB from the heap; M_TRIM_THRESHOLD (-1): keep up to 64 MiB free
    assert calls == [(-3, 32 << 20), (-1, 64 << 20)]
    monkeypatch.setattr(memory, "_TUNED", False)
    monkeypatch.setattr(memory, "_libc", lambda: None)  # not glibc: nothing to set
    memory.keep_freed_memory_for_reuse()
    assert len(calls) == 2


def test_an_ingest_sets_the_heap_up_first(monkeypatch, tmp_path, con, settings):
    order = []
    monkeypatch.setattr(runner, "keep_freed_memory_for_reuse", lambda: order.append("heap"))
    monkeypatch.setattr(runner, "release_freed_memory", lambda: order.append("release"))
    path = tmp_path / "incidents.csv"
    path.write_text("incident_id,occurred_at,latitude,longitude,category\nI1,2024-01-01,53.1,-2.4,Shoplifting\n")
    assert runner.ingest_one(con, "incidents", path, settings=settings).rows_loaded == 1
    assert order == ["heap", "release"]


def test_an_ingest_allocates_arrow_memory_from_jemalloc_and_gives_the_pool_back(monkeypatch, tmp_path, con, settings):
    from ctxrisk.pipelines import sources

    before = pa.default_memory_pool().backend_name
    seen = []
    real = sources.read_source

    def read(*args, **kwargs):
        seen.append(pa.default_memory_pool().backend_name)
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "read_source", read)
    path = tmp_path / "2024-01-city-of-london-street.csv"
    path.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
        "Crime type,Last outcome category,Context\n"
        "c1,2024-01,City of London Police,City of London Police,-0.09,51.51,On or near X,E01000001,"
        "City of London 001A,Robbery,,\n"
    )
    assert runner.ingest_one(con, "police-uk-street", path, settings=settings).rows_loaded == 1
    assert seen == ["jemalloc"] and pa.default_memory_pool().backend_name == before

    def no_jemalloc():
        raise NotImplementedError("this pyarrow was built without jemalloc")

    monkeypatch.setattr(pa, "jemalloc_memory_pool", no_jemalloc)
    with memory.arrow_memory_for_ingest():  # glibc: its heap, tuned for reuse
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before
    monkeypatch.setattr(memory, "_libc", lambda: None)  # neither: Arrow keeps its own pool
    with memory.arrow_memory_for_ingest():
        assert pa.default_memory_pool().backend_name == before
