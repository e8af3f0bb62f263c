"""A trace as a classic pcap file that Wireshark and tshark open.

Each segment is written once, where it was sent (the capture point is the
sender): dropped segments are in the file, and so are the network's duplicate
copies, so Wireshark's TCP analysis sees the retransmissions and duplicates the
run made.  Link type 101 (raw IPv4): every record is an IPv4 header, a TCP
header (with the MSS option on SYNs) and the payload, both checksums correct.
Timestamps are the virtual send times, counted from the Unix epoch.

The whole file is big-endian (the pcap magic says so), so one ``struct`` format
packs a record header, the IPv4 header and the TCP header together, and the
checksums are computed arithmetically: the ones' complement sum of 16-bit words
is congruent to the numbers themselves modulo 0xFFFF, because 2**16 == 1 there.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from ..timers import TICKS_PER_SECOND

PCAP_MAGIC = 0xA1B2C3D4        # microsecond timestamps
LINKTYPE_RAW = 101             # raw IPv4/IPv6, no link-layer header
SNAPLEN = 65535
IP_TTL = 64
IP_PROTO_TCP = 6

_GLOBAL_HEADER = struct.pack("!IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)

# record header (ts_sec, ts_usec, incl_len, orig_len), IPv4 header, TCP header
_PLAIN = struct.Struct("!IIII" "HHHHHH4s4s" "HHIIHHHH")
_WITH_MSS = struct.Struct("!IIII" "HHHHHH4s4s" "HHIIHHHH" "HH")

_IP_FIXED = 0x4500 + 0x4000 + ((IP_TTL << 8) | IP_PROTO_TCP)   # ver/IHL/TOS, DF, TTL/proto
_DF = 0x4000
_TTL_PROTO = (IP_TTL << 8) | IP_PROTO_TCP
_MSS_KIND_LEN = 0x0204                                        # option kind 2, length 4


def _fold(total: int) -> int:
    """The Internet checksum of 16-bit words whose plain sum is ``total`` (RFC 1071)."""
    s = total % 0xFFFF
    if s == 0 and total:
        s = 0xFFFF
    return 0xFFFF - s


def _addr(text: str, cache: dict[str, tuple[bytes, int]]) -> tuple[bytes, int]:
    found = cache.get(text)
    if found is None:
        parts = [int(p) for p in text.split(".")]
        raw = bytes(parts)
        found = cache[text] = (raw, int.from_bytes(raw, "big"))
    return found


def pcap_records(packets: Any) -> tuple[list[bytes], int]:
    """The pcap records for ``packets`` (trace.Packet values) and how many there are."""
    out: list[bytes] = []
    append = out.append
    addrs: dict[str, tuple[bytes, int]] = {}
    plain_pack = _PLAIN.pack
    mss_pack = _WITH_MSS.pack
    from_bytes = int.from_bytes
    per_tick = TICKS_PER_SECOND
    count = 0
    for pkt in packets:
        seg = pkt.segment
        src_raw, src_n = _addr(pkt.src_addr, addrs)
        dst_raw, dst_n = _addr(pkt.dst_addr, addrs)
        payload = seg.payload
        plen = len(payload)
        mss = seg.mss
        tcp_len = (20 if mss is None else 24) + plen
        total = 20 + tcp_len
        if total > 0xFFFF:
            raise ValueError(f"segment #{pkt.id} is too long for one IPv4 packet ({total} octets)")
        ident = pkt.id & 0xFFFF
        ip_csum = _fold(_IP_FIXED + total + ident + src_n + dst_n)
        sport = seg.src_port
        dport = seg.dst_port
        seq = seg.seq
        ack = seg.ack
        off_flags = ((tcp_len - plen) << 10) | (int(seg.flags) & 0x3F)   # data offset in words << 12
        window = seg.window
        tcp_sum = src_n + dst_n + IP_PROTO_TCP + tcp_len + sport + dport + seq + ack + off_flags + window
        if plen:
            tcp_sum += from_bytes(payload, "big") << 8 if plen & 1 else from_bytes(payload, "big")
        sec, usec = divmod(pkt.sent_at_ticks, per_tick)
        if per_tick != 1_000_000:
            usec = usec * 1_000_000 // per_tick
        if mss is None:
            append(plain_pack(sec, usec, total, total,
                              0x4500, total, ident, _DF, _TTL_PROTO, ip_csum, src_raw, dst_raw,
                              sport, dport, seq, ack, off_flags, window, _fold(tcp_sum), 0))
        else:
            tcp_sum += _MSS_KIND_LEN + mss
            append(mss_pack(sec, usec, total, total,
                            0x4500, total, ident, _DF, _TTL_PROTO, ip_csum, src_raw, dst_raw,
                            sport, dport, seq, ack, off_flags, window, _fold(tcp_sum), 0,
                            _MSS_KIND_LEN, mss))
        if plen:
            append(payload)
        count += 1
    return out, count


def write_pcap(trace: Any, path: str | os.PathLike[str]) -> int:
    """Write every segment of ``trace`` to ``path`` as a classic pcap; return how many.

    ``trace`` is a ``tcpsim.Trace`` (or anything with ``.packets``, or a list of
    ``Packet``).  Open the file with ``wireshark FILE`` or ``tshark -r FILE``.
    """
    packets = getattr(trace, "packets", trace)
    records, count = pcap_records(packets)
    with open(path, "wb") as f:
        f.write(_GLOBAL_HEADER)
        f.write(b"".join(records))
    return count
