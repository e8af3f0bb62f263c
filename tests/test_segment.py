"""Segment values, Flags and State spellings (SPEC section 1)."""

import pytest

from tcpsim import Flags, Segment, State
from tcpsim.segment import flag_names


def test_flag_wire_values_are_rfc_9293s():
    assert (Flags.FIN, Flags.SYN, Flags.RST, Flags.PSH, Flags.ACK, Flags.URG) == (1, 2, 4, 8, 16, 32)


def test_seg_len_counts_syn_and_fin():
    # RFC 9293 3.4: SEG.LEN includes SYN and FIN.
    assert Segment(src_port=1, dst_port=2, seq=0, ack=0, flags=Flags.SYN, window=0).seg_len == 1
    fin = Segment(src_port=1, dst_port=2, seq=0, ack=0, flags=Flags.FIN | Flags.ACK, window=0,
                  payload=b"abc")
    assert fin.seg_len == 4
    assert Segment(src_port=1, dst_port=2, seq=0, ack=0, flags=Flags.ACK, window=0).seg_len == 0


def test_segment_is_an_immutable_value():
    a = Segment(src_port=1, dst_port=2, seq=3, ack=4, flags=Flags.ACK, window=5, payload=b"x")
    b = Segment(src_port=1, dst_port=2, seq=3, ack=4, flags=Flags.ACK, window=5, payload=b"x")
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.seq = 9
    assert a.replace(seq=9).seq == 9 and a.seq == 3
    assert a != a.replace(payload=b"y")


def test_a_mutable_payload_is_copied_into_the_value():
    buf = bytearray(b"abc")
    seg = Segment(src_port=1, dst_port=2, seq=3, payload=buf)
    other = seg.replace(payload=memoryview(bytearray(b"xyz")))
    buf[0] = ord("z")
    assert seg.payload == b"abc" and type(seg.payload) is bytes and type(other.payload) is bytes
    assert hash(seg) == hash(Segment(src_port=1, dst_port=2, seq=3, payload=b"abc"))


def test_segment_needs_keywords():
    with pytest.raises(TypeError):
        Segment(1, 2, 3, 4, 16, 5)


def test_str_is_one_line_with_the_textbook_fields():
    s = Segment(src_port=1, dst_port=2, seq=100, ack=301, flags=Flags.SYN | Flags.ACK, window=65535,
                mss=1460)
    assert str(s) == "SYN,ACK seq=100 ack=301 win=65535 mss=1460"
    j = {100: "K", 301: "J+1"}
    assert s.format(j.get, j.get) == "SYN,ACK seq=K ack=J+1 win=65535 mss=1460"
    # no ack= when the ACK bit is off, as in "SYN seq=J"
    assert str(s.replace(flags=Flags.SYN, mss=None)) == "SYN seq=100 win=65535"


def test_flag_names_read_like_tcpdump():
    assert flag_names(Flags.FIN | Flags.ACK) == "FIN,ACK"
    assert flag_names(Flags.RST | Flags.ACK) == "RST,ACK"
    assert flag_names(Flags.PSH | Flags.ACK) == "PSH,ACK"
    assert str(Flags.SYN | Flags.ACK) == "SYN,ACK"


def test_states_print_with_the_rfcs_spelling():
    assert str(State.SYN_SENT) == "SYN-SENT"
    assert str(State.SYN_RECEIVED) == "SYN-RECEIVED"
    assert str(State.TIME_WAIT) == "TIME-WAIT"
    assert [s.name for s in State] == [
        "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
        "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]
    assert State.parse("syn-sent") is State.SYN_SENT
    assert State.parse("TIME_WAIT") is State.TIME_WAIT
    with pytest.raises(ValueError, match="unknown state"):
        State.parse("SYN-WAIT")


def test_flags_of_a_segment_are_flags_whatever_built_it():
    import tcpsim

    seg = Segment(src_port=1, dst_port=2, seq=0, flags=18)          # an int, as on the wire
    assert isinstance(seg.flags, Flags) and Flags.SYN in seg.flags and str(seg.flags) == "SYN,ACK"
    net = tcpsim.Network(seed=1)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen()
    client.socket().connect(("server", 80))
    segs = [p.segment for p in net.trace.segments()]
    assert [s.flags for s in segs] == [Flags.SYN, Flags.SYN | Flags.ACK, Flags.ACK]
    assert all(isinstance(s.flags, Flags) for s in segs)
    assert Flags.ACK in segs[2].flags and Flags.SYN not in segs[2].flags


def test_segment_copies_and_pickles_as_an_equal_value():
    import copy
    import pickle

    seg = Segment(src_port=1, dst_port=2, seq=3, ack=4, flags=Flags.ACK | Flags.PSH, window=5,
                  payload=b"data", mss=None)
    for other in (copy.copy(seg), copy.deepcopy(seg), pickle.loads(pickle.dumps(seg))):
        assert other == seg and type(other) is Segment and isinstance(other.flags, Flags)


def test_a_segments_fields_cannot_be_deleted():
    seg = Segment(src_port=1, dst_port=2, seq=3)
    with pytest.raises(AttributeError, match="immutable"):
        del seg.seq
    assert seg.seq == 3
