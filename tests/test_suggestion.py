"""The suggestion state both add-ons share (wire/suggestion.py): streaming,
alternatives, flip, accept and errors, without a host."""

from __future__ import annotations

from wire import suggestion as s
from wire.suggestion import Job, Session

A = [[0.0, 0.0], [1.0, 1.0]]
B = [[2.0, 2.0], [3.0, 3.0]]
C = [[4.0, 4.0], [5.0, 5.0]]


def job(name: str = "Sketch", frame: int = 1) -> Job:
    return Job((name, frame), "request")


def started(n: int = 2, jobs: int = 1) -> Session:
    """A session whose jobs are all submitted, with ids j1, j2, ..."""
    session = Session("suggest", [job(frame=i + 1) for i in range(jobs)], n)
    for i, j in enumerate(session.to_submit()):
        session.submitted(j, f"j{i + 1}")
    return session


def drain(session: Session) -> list[tuple[int, bool, int]]:
    """Apply the pending draws as the timer would: (frame, clear, strokes) per draw."""
    out = []
    for draw in session.pending_draws():
        out.append((draw.job.target[1], draw.clear, len(draw.strokes)))
        session.drawn(draw)
    return out


def test_strokes_are_drawn_one_by_one_as_they_stream():
    """Each tick draws only the strokes that arrived since the last one, in index order."""
    session = started()
    assert drain(session) == []
    assert session.stroke("j1", 0, 0, A)
    assert drain(session) == [(1, False, 1)]
    session.stroke("j1", 0, 1, B)
    session.stroke("j1", 1, 0, C)  # another alternative: kept, not drawn
    assert drain(session) == [(1, False, 1)]
    assert session.jobs[0].drawn == 2 and session.counts() == [2, 1]


def test_a_stroke_after_a_gap_waits_for_the_missing_one():
    """Strokes go on the layer in index order, so one that arrives early waits."""
    session = started()
    session.stroke("j1", 0, 1, B)
    assert drain(session) == []
    session.stroke("j1", 0, 0, A)
    assert drain(session) == [(1, False, 2)]


def test_done_fills_in_strokes_that_were_not_streamed():
    """`done` carries every stroke; the ones missed while streaming are drawn from it."""
    session = started(n=1)
    session.stroke("j1", 0, 0, A)
    drain(session)
    assert session.done("j1", [[A, B, C]])
    assert drain(session) == [(1, False, 2)] and not session.running


def test_messages_of_other_jobs_are_ignored():
    session = started()
    assert not session.stroke("other", 0, 0, A)
    assert not session.done("other", [[A]])
    assert not session.error("other", "no")
    assert session.running


def test_flip_wraps_around_and_redraws_the_layer():
    """Next from the last alternative shows the first; flipping empties the layer first."""
    session = started(n=3)
    for i, stroke in enumerate((A, B, C)):
        session.stroke("j1", i, 0, stroke)
    drain(session)
    assert session.flip(-1) == 2
    assert drain(session) == [(1, True, 1)]
    assert session.flip(1) == 0 and session.flip(1) == 1
    assert drain(session) == [(1, True, 1)]


def test_flip_skips_empty_alternatives_once_drawing_is_over():
    """While drawing, an empty alternative may still fill up; afterwards it is skipped."""
    session = started(n=3)
    session.stroke("j1", 0, 0, A)
    assert session.flip(1) == 1  # still running: alternative 2 may get strokes
    session.done("j1", [[A], [], [C]])
    assert session.flip(1) == 2 and session.flip(1) == 0 and session.flip(-1) == 2


def test_done_shows_an_alternative_with_strokes_when_the_current_one_is_empty():
    """The model may leave alternatives empty; the first one with strokes is put on show."""
    session = started(n=3)
    session.done("j1", [[], [], [B]])
    assert session.current == 2
    assert drain(session) == [(1, True, 1)]


def test_empty_empty_result_and_errors_are_summed_up():
    """A result without strokes, or a failed job, ends the session with a plain message."""
    session = started(n=2)
    session.done("j1", [[], []])
    assert "nothing to add" in s.summary(session)
    failed = started(n=1)
    assert failed.error("j1", "Model 'x' is not on this server.")
    assert not failed.running
    assert s.summary(failed) == ("The server could not draw this: Model 'x' is not on this server.")


def test_at_most_three_jobs_are_open_at_once():
    """Autodraw all sends its jobs three at a time (the server allows four per connection)."""
    session = Session("autodraw_all", [job(frame=f) for f in range(1, 6)], 1)
    first = session.to_submit()
    assert [j.target[1] for j in first] == [1, 2, 3]
    for i, j in enumerate(first):
        session.submitted(j, f"j{i + 1}")
    assert session.to_submit() == []
    session.done("j2", [[A]])
    assert [j.target[1] for j in session.to_submit()] == [4]
    session.failed(session.jobs[0], "gone")
    assert [j.target[1] for j in session.to_submit()] == [4, 5]


def test_summary_counts_frames_and_progress():
    session = started(n=1, jobs=2)
    session.stroke("j1", 0, 0, A)
    assert s.summary(session) == (
        "Drawing (0 of 2 done)... alternative 1 has 1 stroke so far on 2 frames."
    )
    session.done("j1", [[A]])
    session.done("j2", [[B, C]])
    assert s.summary(session) == (
        "Alternative 1 of 1: 3 strokes on 2 frames. Accept adds it "
        "to your layer, Reject removes it."
    )


def test_take_new_hands_out_every_alternatives_new_strokes_once():
    """Krita keeps all alternatives as shapes: each tick gets only the strokes that arrived."""
    session = started(n=2)
    j = session.jobs[0]
    session.stroke("j1", 0, 0, A)
    session.stroke("j1", 1, 1, C)  # waits for stroke 0 of alternative 2
    assert session.take_new(j) == {0: [A]}
    assert session.take_new(j) == {}
    session.stroke("j1", 1, 0, B)
    session.done("j1", [[A, B], [B, C]])
    assert session.take_new(j) == {0: [B], 1: [B, C]}
    assert session.shown_strokes() == [A, B]


def test_open_ids_and_stop():
    """Stop cancels the jobs still open; the summary says so until the server confirms."""
    session = started(n=1, jobs=2)
    session.done("j1", [[A]])
    assert session.open_ids() == ["j2"]
    session.cancelled = True
    assert s.summary(session) == "Stopping..."
    session.done("j2", [[]])
    assert s.summary(session).startswith("Stopped. Alternative 1 of 1: 1 stroke on 2 frames.")
