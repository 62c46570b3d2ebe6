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
