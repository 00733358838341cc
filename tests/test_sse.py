"""SSE decoder: one example per WHATWG rule, plus re-chunking properties checked by Hypothesis."""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aikit._http.sse import ServerSentEvent, SSEDecoder

E = ServerSentEvent


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.flush()


# --- examples, one per rule -------------------------------------------------------------------


def test_single_event() -> None:
    assert decode(b"data: hello\n\n") == [E(data="hello")]


def test_openai_style_stream_with_done() -> None:
    body = b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'
    assert [e.data for e in decode(body)] == ['{"a":1}', '{"a":2}', "[DONE]"]


def test_multiple_data_lines_join_with_lf() -> None:
    assert decode(b"data: a\ndata: b\ndata:\n\n") == [E(data="a\nb\n")]


def test_one_leading_space_removed_only() -> None:
    assert decode(b"data:  two\n\ndata:none\n\n") == [E(data=" two"), E(data="none")]


def test_field_without_colon_has_empty_value() -> None:
    assert decode(b"data\n\n") == [E(data="")]
    assert decode(b"data\ndata\n\n") == [E(data="\n")]


def test_value_may_contain_colons() -> None:
    assert decode(b"data: a: b:c\n\n") == [E(data="a: b:c")]


def test_event_name() -> None:
    assert decode(b"event: error\ndata: {}\n\n") == [E(event="error", data="{}")]


def test_empty_event_name_means_default() -> None:
    assert decode(b"event: x\nevent:\ndata: d\n\n") == [E(event=None, data="d")]


def test_event_name_does_not_leak_into_next_event() -> None:
    assert decode(b"event: a\ndata: 1\n\ndata: 2\n\n") == [E("a", "1"), E(None, "2")]


def test_event_without_data_is_not_dispatched() -> None:
    # WHATWG: an empty data buffer resets the event type and dispatches nothing.
    assert decode(b"event: ping\n\ndata: x\n\n") == [E(data="x")]


def test_id_persists_across_events() -> None:
    events = decode(b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.id for e in events] == ["7", "7", ""]


def test_id_with_nul_is_ignored() -> None:
    assert decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")[1].id == "1"


def test_id_without_data_still_sets_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 5\n\ndata: x\n\n") == [E(data="x", id="5")]
    assert decoder.last_event_id == "5"


def test_retry() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 3000\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [3000, None]
    assert decoder.reconnection_time == 3000


def test_retry_must_be_ascii_digits() -> None:
    for bad in (b"retry: 1.5", b"retry: -1", b"retry: ", b"retry: 1e3", "retry: \u0663".encode()):
        assert decode(bad + b"\ndata: x\n\n") == [E(data="x")], bad


def test_comments_are_ignored() -> None:
    assert decode(b": keep-alive\n\n:\ndata: x\n: mid\ndata: y\n\n") == [E(data="x\ny")]


def test_unknown_and_misspelled_fields_are_ignored() -> None:
    assert decode(b"foo: bar\nData: no\n data: no\ndata: yes\n\n") == [E(data="yes")]


def test_line_endings_cr_lf_crlf() -> None:
    expected = [E(data="a\nb"), E(data="c")]
    assert decode(b"data: a\rdata: b\r\rdata: c\r\r") == expected
    assert decode(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n") == expected
    assert decode(b"data: a\ndata: b\r\n\rdata: c\n\r\n") == expected


def test_crlf_split_across_chunks_is_one_line_break() -> None:
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [E(data="a\nb")]


def test_cr_cr_is_two_line_breaks() -> None:
    assert decode(b"data: a\r", b"\r") == [E(data="a")]


def test_lf_after_cr_only_skipped_once() -> None:
    assert decode(b"data: a\r", b"\n", b"\n") == [E(data="a")]


def test_bom_stripped_at_start_even_when_split() -> None:
    assert decode(b"\xef\xbb\xbfdata: x\n\n") == [E(data="x")]
    assert decode(b"\xef", b"\xbb", b"\xbf", b"data: x\n\n") == [E(data="x")]


def test_only_one_bom_is_stripped() -> None:
    # The second BOM becomes part of the field name, so the line is an unknown field.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [E(data="y")]


def test_bom_inside_value_is_kept() -> None:
    assert decode(b"data: \xef\xbb\xbfx\n\n") == [E(data="\ufeffx")]


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: h\u00e9llo \u20ac \U0001f600\n\n".encode()
    for cut in range(len(raw) + 1):
        assert decode(raw[:cut], raw[cut:]) == [E(data="h\u00e9llo \u20ac \U0001f600")], cut


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode(b"data: a\xffb\xe2\x82\n\n") == [E(data="a\ufffdb\ufffd")]


def test_nul_and_non_ascii_in_data() -> None:
    assert decode("data: \x00\u00fc\u4e2d\n\n".encode()) == [E(data="\x00\u00fc\u4e2d")]


def test_trailing_event_without_blank_line_is_discarded() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: cut") == [E(data="a")]
    assert decoder.flush() == []
    assert decoder.pending


def test_trailing_terminated_line_without_blank_line_is_discarded() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.flush() == []
    assert decoder.pending


def test_complete_stream_is_not_pending() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\n: trailing comment\n")
    assert decoder.flush() == []
    assert not decoder.pending


def test_empty_chunks_are_harmless() -> None:
    assert decode(b"", b"data: a\r", b"", b"\n", b"", b"\n", b"") == [E(data="a")]


def test_byte_by_byte_long_stream() -> None:
    # 2,000 events fed one byte at a time: the decoder must stay linear (this runs in well
    # under a second; a decoder that re-scans its buffer would take minutes).
    payload = b"".join(
        b'data: {"choices":[{"delta":{"content":"tok%d"}}]}\r\n\r\n' % i for i in range(2000)
    )
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for i in range(len(payload)):
        events += decoder.feed(payload[i : i + 1])
    assert len(events) == 2000
    assert events[-1].data == '{"choices":[{"delta":{"content":"tok1999"}}]}'


def test_long_line_across_many_chunks() -> None:
    line = b"x" * 200_000
    chunks = [b"data: "] + [line[i : i + 7] for i in range(0, len(line), 7)] + [b"\n\n"]
    assert decode(*chunks) == [E(data="x" * 200_000)]


# --- properties ------------------------------------------------------------------------------


def reference(raw: bytes) -> tuple[list[ServerSentEvent], bool]:
    """A direct, non-incremental reading of the WHATWG algorithm, used as the oracle."""
    text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, partial = re.split(r"\r\n|\r|\n", text)
    events: list[ServerSentEvent] = []
    data: list[str] = []
    event: str | None = None
    retry: int | None = None
    last_id: str | None = None
    seen = False
    for line in lines:
        if line == "":
            if data:
                events.append(E(event, "\n".join(data), last_id, retry))
            data, event, retry, seen = [], None, None, False
            continue
        if line.startswith(":"):
            continue
        seen = True
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value or None
        elif field == "id" and "\0" not in value:
            last_id = value
        elif field == "retry" and re.fullmatch(r"[0-9]+", value):
            retry = int(value)
    return events, bool(partial) or seen


values = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12
)
line_end = st.sampled_from([b"\n", b"\r", b"\r\n"])
field_line = st.one_of(
    values.map(lambda v: "data: " + v),
    values.map(lambda v: "data:" + v),
    st.just("data"),
    values.map(lambda v: "event: " + v),
    values.map(lambda v: "id: " + v),
    st.sampled_from(["id: 1", "id: 2\x00", "id"]),
    st.one_of(st.integers(0, 10**6).map(str), values).map(lambda v: "retry: " + v),
    values.map(lambda v: ":" + v),
    values.map(lambda v: "x-other: " + v),
)
junk = st.binary(max_size=3)  # raw bytes, often invalid UTF-8 (or even stray CR/LF)


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 6))):
        for line in draw(st.lists(field_line, max_size=5)):
            out.append(line.encode("utf-8"))
            if draw(st.integers(0, 9)) == 0:
                out.append(draw(junk))
            out.append(draw(line_end))
        out.append(draw(line_end))  # the blank line that dispatches
    if draw(st.booleans()):
        out.append(draw(field_line).encode("utf-8"))  # unterminated tail
    return b"".join(out)


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(cuts), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(points)]


def run(chunks: list[bytes]) -> tuple[list[ServerSentEvent], bool]:
    decoder = SSEDecoder()
    events = [e for c in chunks for e in decoder.feed(c)]
    events += decoder.flush()
    return events, decoder.pending


fast = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@fast
@given(raw=streams(), data=st.data())
def test_rechunking_never_changes_events(raw: bytes, data: st.DataObject) -> None:
    whole = run([raw])
    assert whole == reference(raw)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    assert run(split(raw, cuts)) == whole


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=streams())
def test_byte_at_a_time_equals_whole(raw: bytes) -> None:
    assert run([raw[i : i + 1] for i in range(len(raw))]) == run([raw])


@fast
@given(raw=st.binary(max_size=80), data=st.data())
def test_arbitrary_bytes_match_reference(raw: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=8))
    assert run(split(raw, cuts)) == reference(raw)
