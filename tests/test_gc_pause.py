"""harness.gc_pause: the collector is off inside the block and as it was after, an exception included."""

import gc

import pytest

from harness.gc_pause import paused


def test_collector_is_off_inside_and_back_on_after_even_on_an_error():
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), paused():
        raise ValueError
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_keep_freezes_what_the_block_left_alive_and_only_on_success():
    before = gc.get_freeze_count()
    try:
        with pytest.raises(ValueError), paused(keep=True):
            kept = [object() for _ in range(1000)]
            raise ValueError
        assert gc.get_freeze_count() == before  # an error: nothing frozen
        with paused(keep=True):
            kept = [[] for _ in range(1000)]
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.isenabled()
    finally:
        gc.unfreeze()
