"""The background-thread loop written once (issue #19): start, stop, wake, a failing turn, a pause that a wake
does not cut short. Real threads; turns signal through events, so no test depends on how fast the machine is
(a long wait that a test expects to be cut short is an hour: only stop or wake can end it in time)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from seamline.service.background import BackgroundLoop

HOUR = 3600.0
PATIENCE = 10.0  # how long a test waits for something that must happen; never reached when it works


class Turns:
    """Counts turns and lets a test wait for the n-th."""

    def __init__(self, answer: Callable[[int], float] = lambda n: HOUR) -> None:
        self.answer = answer
        self.count = 0
        self.threads: set[str] = set()
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self.count += 1
            self.threads.add(threading.current_thread().name)
            n = self.count
            self._changed.notify_all()
        return self.answer(n)

    def wait_for(self, n: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= n, timeout=PATIENCE)


def test_start_runs_turns_in_a_named_daemon_thread_and_stop_joins_it() -> None:
    turns = Turns()
    loop = BackgroundLoop("seamline-test", turns)
    assert not loop.running
    assert turns.count == 0, "nothing runs before start"
    loop.start()
    assert turns.wait_for(1)
    assert loop.running
    loop.stop()
    assert not loop.running
    assert turns.threads == {"seamline-test"}
    assert turns.count == 1, "stop ended the hour's wait at once, with no further turn"


def test_a_second_start_while_running_starts_no_second_thread() -> None:
    turns = Turns()
    loop = BackgroundLoop("seamline-test", turns)
    loop.start()
    assert turns.wait_for(1)
    before = threading.active_count()
    loop.start()
    assert threading.active_count() == before
    loop.stop()


def test_wake_cuts_the_wait_short_for_another_turn() -> None:
    turns = Turns()
    loop = BackgroundLoop("seamline-test", turns)
    loop.start()
    assert turns.wait_for(1)
    loop.wake()
    assert turns.wait_for(2)
    loop.wake()
    assert turns.wait_for(3)
    loop.stop()


def test_a_turn_answering_zero_goes_again_at_once() -> None:
    turns = Turns(lambda n: 0.0 if n < 5 else HOUR)
    loop = BackgroundLoop("seamline-test", turns)
    loop.start()
    assert turns.wait_for(5)
    loop.stop()
    assert turns.count == 5


def test_a_failing_turn_is_logged_and_the_loop_goes_on() -> None:
    def answer(n: int) -> float:
        if n == 1:
            raise RuntimeError("database away")
        return HOUR

    turns = Turns(answer)
    loop = BackgroundLoop("seamline-test", turns, error_wait=0.0)
    loop.start()
    assert turns.wait_for(2), "the turn after the failure ran"
    assert loop.running
    loop.stop()


def test_the_first_turn_waits_first_wait_and_a_wake_or_stop_ends_that_wait() -> None:
    turns = Turns()
    loop = BackgroundLoop("seamline-sweeper", turns, first_wait=HOUR)
    loop.start()
    assert turns.count == 0, "no turn before the first wait is over"
    loop.wake()
    assert turns.wait_for(1)
    loop.stop()

    idle = Turns()
    never = BackgroundLoop("seamline-sweeper", idle, first_wait=HOUR)
    never.start()
    never.stop()
    assert idle.count == 0, "stopped during its first wait: no turn at all"


def test_a_pause_is_not_cut_short_by_wake_but_is_by_stop() -> None:
    paused = threading.Event()
    resumed = threading.Event()
    loop: BackgroundLoop

    def turn() -> float:
        paused.set()
        stopped = loop.pause(HOUR)
        resumed.set()
        return 0.0 if not stopped else HOUR

    loop = BackgroundLoop("seamline-test", turn)
    loop.start()
    assert paused.wait(PATIENCE)
    loop.wake()
    assert not resumed.wait(0.2), "a wake does not end a pause"
    loop.stop()
    assert resumed.is_set(), "stop ended the pause, and the thread was joined"
    assert loop.stopping


def test_stop_event_is_set_on_stop_for_a_turn_blocked_on_its_own_wait() -> None:
    blocked = threading.Event()
    loop: BackgroundLoop

    def turn() -> float:
        blocked.set()
        loop.stop_event.wait(HOUR)  # like a LISTEN connection polling the stop event
        return 0.0

    loop = BackgroundLoop("seamline-listen", turn)
    loop.start()
    assert blocked.wait(PATIENCE)
    loop.stop()
    assert not loop.running


def test_a_stopped_loop_starts_again() -> None:
    turns = Turns()
    loop = BackgroundLoop("seamline-test", turns)
    loop.start()
    assert turns.wait_for(1)
    loop.stop()
    loop.start()
    assert turns.wait_for(2)
    loop.stop()
