"""pcap export (tcpsim.export.pcap): byte layout, checksums, and what tshark makes of it.

The checksum reference below is RFC 1071's loop, written plainly; tshark runs
with checksum validation on and must find every frame good, no malformed frame,
the flags and raw numbers the trace recorded, Wireshark's relative numbers equal
to tcpsim's "relative" naming, and a retransmission exactly where the trace
resent sequence space it had sent before.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tcpsim
from tcpsim import Config, Flags, Network, Segment
from tcpsim.export.naming import Conversations
from tcpsim.export.pcap import pcap_bytes, write_pcap
from tcpsim.trace import Packet

from support import established

PORT = 9001          # no Wireshark dissector claims it: payloads stay "data"
PI_ERROR = 0x00800000   # Wireshark's expert severity "error" (malformed, bad checksum)


def ones_complement_sum(data: bytes) -> int:
    """RFC 1071: add 16-bit words with end-around carry."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return total


def records(blob: bytes):
    """The (ts_sec, ts_usec, packet bytes) of a classic little-endian pcap file, after its header."""
    offset = 24
    while offset < len(blob):
        sec, usec, incl, orig = struct.unpack_from("<IIII", blob, offset)
        assert incl == orig
        yield sec, usec, blob[offset + 16:offset + 16 + incl]
        offset += 16 + incl


def check_packet(pkt: Packet, sec: int, usec: int, raw: bytes) -> None:
    """One record against the trace's packet, field by field; both checksums verify."""
    seg = pkt.segment
    assert sec * 1_000_000 + usec == pkt.sent_at_ticks
    ver_ihl, _, total, ident, frag, ttl, proto, _, src, dst = struct.unpack_from("!BBHHHBBH4s4s", raw)
    assert (ver_ihl, total, frag, ttl, proto) == (0x45, len(raw), 0x4000, 64, 6)
    assert (src, dst) == (bytes(map(int, pkt.src_addr.split("."))), bytes(map(int, pkt.dst_addr.split("."))))
    assert ident == pkt.id & 0xFFFF
    assert ones_complement_sum(raw[:20]) == 0xFFFF                  # IPv4 header checksum
    tcp = raw[20:]
    sport, dport, seq, ack, off_flags, window, _, urgent = struct.unpack_from("!HHIIHHHH", tcp)
    assert (sport, dport, seq, ack, window, urgent) == (seg.src_port, seg.dst_port, seg.seq, seg.ack,
                                                        seg.window, 0)
    assert off_flags & 0x3F == int(seg.flags)
    header = (off_flags >> 12) * 4
    if seg.mss is None:
        assert header == 20
    else:
        assert header == 24 and tcp[20:24] == struct.pack("!BBH", 2, 4, seg.mss)
    assert tcp[header:] == seg.payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    assert ones_complement_sum(pseudo + tcp) == 0xFFFF              # TCP checksum


def test_file_header_and_every_record():
    net, cli, conn = established(seed=3, port=PORT)
    cli.sendall(b"hello")                                # odd length
    cli.sendall(bytes(range(256)) * 12)                  # full segments and a tail
    conn.sendall(b"\xff" * 1461)
    cli.close()
    conn.close()
    net.run()
    blob = pcap_bytes(net.trace)
    assert blob[:4] == bytes.fromhex("d4c3b2a1")          # little-endian, microseconds
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack_from("<IHHiIII", blob)
    assert (magic, major, minor, zone, sigfigs, linktype) == (0xA1B2C3D4, 2, 4, 0, 0, 101)
    assert snaplen >= 1500
    found = list(records(blob))
    assert len(found) == len(net.trace.packets)
    for pkt, (sec, usec, raw) in zip(net.trace.packets, found):
        check_packet(pkt, sec, usec, raw)


@given(payload=st.binary(max_size=3000), seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1),
       flags=st.integers(0, 63), window=st.integers(0, 65535), mss=st.none() | st.integers(0, 65535),
       ticks=st.integers(0, 2**40))
def test_checksums_hold_for_any_segment(payload, seq, ack, flags, window, mss, ticks):
    seg = Segment(src_port=1, dst_port=65535, seq=seq, ack=ack, flags=flags, window=window,
                  payload=payload, mss=mss)
    pkt = Packet(70000, "a", "b", "10.255.0.1", "172.16.9.254", seg, ticks, ticks + 1)
    ((sec, usec, raw),) = records(pcap_bytes([pkt]))
    check_packet(pkt, sec, usec, raw)


def test_write_pcap_writes_the_file_and_counts(tmp_path):
    net = Network(seed=1)
    client, _ = net.add_host("client"), net.add_host("server")
    with pytest.raises(ConnectionRefusedError):
        client.socket().connect(("server", PORT))
    path = tmp_path / "refused.pcap"
    assert tcpsim.write_pcap(net.trace, path) == 2 == len(net.trace.packets)
    assert path.read_bytes() == pcap_bytes(net.trace)
    assert write_pcap(net.trace.segments(), str(path)) == 2          # a list of packets will do


# -- tshark -------------------------------------------------------------------------------------


FIELDS = ("frame.time_epoch", "ip.checksum.status", "tcp.checksum.status", "tcp.flags",
          "tcp.seq_raw", "tcp.ack_raw", "tcp.seq", "tcp.ack", "tcp.len", "tcp.srcport",
          "tcp.dstport", "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
          "tcp.analysis.spurious_retransmission", "_ws.malformed", "_ws.expert.severity")


def tshark(path) -> list[dict[str, str]]:
    exe = shutil.which("tshark")
    assert exe, "tshark is not installed: apt-get install tshark (.ci/run installs it)"
    cmd = [exe, "-r", str(path), "-n", "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


def resent(packets) -> list[bool]:
    """Per packet: does it carry sequence space its direction had already sent?"""
    highest: dict[tuple, int] = {}
    out = []
    for p in packets:
        seg = p.segment
        key = (p.src_addr, seg.src_port, p.dst_addr, seg.dst_port)
        end = (seg.seq + seg.seg_len) % 2**32
        top = highest.get(key)
        before = top is not None and 0 < (top - seg.seq) % 2**32 < 2**31     # seq < top, mod 2**32
        out.append(bool(seg.seg_len) and before)
        if seg.seg_len and (top is None or 0 < (end - top) % 2**32 < 2**31):
            highest[key] = end
    return out


def faulty_transfer(isn=None):
    """Data both ways over a link that loses, duplicates and reorders segments."""
    net, cli, conn = established(seed=7, config=Config(mss=200, isn=isn), port=PORT)
    net.set_link("client", "server", loss=0.15, duplicate=0.15, reorder=0.2)
    data = bytes(range(256)) * 20
    cli.sendall(data)
    got = b""
    while len(got) < len(data):
        got += conn.recv(100_000)
    conn.sendall(b"reply" * 201)
    cli.close()
    conn.close()
    net.run()
    assert got == data
    assert net.stats["lost"] and net.stats["duplicated"] and net.stats["reordered"]
    return net


def check_against_trace(net: Network, frames: list[dict[str, str]]) -> None:
    packets = net.trace.packets
    assert len(frames) == len(packets)
    relative = Conversations(packets).relative_names
    flagged = []
    for pkt, f in zip(packets, frames):
        seg = pkt.segment
        assert f["_ws.malformed"] == "", (pkt, f)
        assert all(int(s) < PI_ERROR for s in f["_ws.expert.severity"].split(",") if s), (pkt, f)
        assert (f["ip.checksum.status"], f["tcp.checksum.status"]) == ("1", "1"), pkt   # 1: good
        assert int(f["tcp.flags"], 16) == int(seg.flags)
        assert (int(f["tcp.seq_raw"]), int(f["tcp.ack_raw"])) == (seg.seq, seg.ack)
        assert (int(f["tcp.srcport"]), int(f["tcp.dstport"]), int(f["tcp.len"])) == \
            (seg.src_port, seg.dst_port, len(seg.payload))
        assert round(float(f["frame.time_epoch"]) * 1e6) == pkt.sent_at_ticks
        seq_name, ack_name = relative[pkt.id]                    # tcpsim's relative naming ...
        assert f["tcp.seq"] == seq_name                          # ... is Wireshark's
        if seg.flags & Flags.ACK:
            assert f["tcp.ack"] == ack_name
        flagged.append(any(f[k] for k in FIELDS[11:14]))
    assert flagged == resent(packets)
    assert any(flagged)


def test_tshark_reads_a_faulty_transfer_as_the_trace_made_it(tmp_path):
    net = faulty_transfer()
    path = tmp_path / "faulty.pcap"
    write_pcap(net.trace, path)
    check_against_trace(net, tshark(path))
    assert any(p.duplicate_of is not None for p in net.trace.packets)
    assert any(p.fate == "dropped" for p in net.trace.packets)


def test_tshark_reads_a_wraparound_run(tmp_path):
    net = faulty_transfer(isn=2**32 - 3)
    path = tmp_path / "wrap.pcap"
    write_pcap(net.trace, path)
    frames = tshark(path)
    check_against_trace(net, frames)
    raw = [int(f["tcp.seq_raw"]) for f in frames]
    assert max(raw) >= 2**32 - 3 and min(raw) < 5000          # the numbers went round


def test_tshark_agrees_on_segments_outside_any_connection(tmp_path):
    net = Network(seed=2)
    client, _ = net.add_host("client"), net.add_host("server")
    with pytest.raises(ConnectionRefusedError):
        client.socket().connect(("server", PORT))               # SYN, then RST,ACK seq=0
    net.inject("client", "server", Segment(src_port=5000, dst_port=PORT, seq=1000, ack=7777,
                                           flags=Flags.ACK | Flags.PSH, window=512, payload=b"odd"))
    net.run()                                                   # answered by RST seq=7777
    assert [p.segment.flags for p in net.trace.packets] == [2, 20, 24, 4]
    path = tmp_path / "strays.pcap"
    write_pcap(net.trace, path)
    frames = tshark(path)
    # Wireshark: a side with no SYN is based one below its first sequence number, or one
    # below the first acknowledgment its peer sends it; a segment without ACK shows ack 0
    assert [(f["tcp.seq"], f["tcp.ack"]) for f in frames] == [("0", "0"), ("1", "1"), ("1", "1"), ("1", "0")]
    relative = Conversations(net.trace.packets).relative_names
    assert [relative[p.id][0] for p in net.trace.packets] == ["0", "1", "1", "1"]
    assert [relative[p.id][1] for p in net.trace.packets][1:3] == ["1", "1"]
    for f in frames:
        assert (f["ip.checksum.status"], f["tcp.checksum.status"], f["_ws.malformed"]) == ("1", "1", "")


def test_the_exports_take_a_network_for_its_trace_and_refuse_other_things(tmp_path):
    net = Network(seed=2)
    client, server = net.add_host("client"), net.add_host("server")
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen()
    client.socket().connect(("server", 80))
    assert write_pcap(net, tmp_path / "a.pcap") == 3
    assert (tmp_path / "a.pcap").read_bytes() == pcap_bytes(net.trace.packets)
    assert tcpsim.ladder_diagram(net) == tcpsim.ladder_diagram(net.trace)
    assert tcpsim.state_graph(net).source == tcpsim.state_graph(net.trace).source
    for call, args in ((write_pcap, ("trace", tmp_path / "b.pcap")), (tcpsim.ladder_diagram, (3,)),
                       (tcpsim.state_graph, ("trace",)), (tcpsim.state_graph, ([net, "x"],))):
        with pytest.raises(TypeError, match=r"net\.trace"):
            call(*args)
    assert not (tmp_path / "b.pcap").exists()
