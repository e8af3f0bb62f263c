"""A trace as a classic pcap file that Wireshark and tshark open.

Each segment is written once, where it was sent (the capture point is the
sender): dropped segments are in the file, and so are the network's duplicate
copies, so Wireshark's TCP analysis sees the retransmissions and duplicates the
run made; a segment the link corrupted is written as it left the sender, intact.  Link type 101 (raw IPv4): every record is an IPv4 header, a TCP
header (with the MSS option on SYNs) and the payload, both checksums correct.
Timestamps are the virtual send times, counted from the Unix epoch.

The file's own headers are little-endian, as tcpdump and dpkt write them on
the usual (x86, ARM) machines, whatever machine writes it; the packets inside are
in network byte order.  The checksums are computed arithmetically: the ones'
complement sum of 16-bit words is congruent to the numbers themselves modulo
0xFFFF, because 2**16 == 1 there.
"""

from __future__ import annotations

import os
import struct
from typing import Any, Iterator

from ..timers import TICKS_PER_SECOND
from . import as_trace

PCAP_MAGIC = 0xA1B2C3D4        # microsecond timestamps, like tcpsim's ticks
assert TICKS_PER_SECOND == 1_000_000, "pcap.py writes ticks as microseconds"
LINKTYPE_RAW = 101             # raw IPv4/IPv6, no link-layer header
SNAPLEN = 65535
IP_TTL = 64
IP_PROTO_TCP = 6

_GLOBAL_HEADER = struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_RAW)

_RECORD = struct.Struct("<IIII")                  # ts_sec, ts_usec, incl_len, orig_len
_PLAIN = struct.Struct("!HHHHHH4s4s" "HHIIHHHH")   # IPv4 header, TCP header
_WITH_MSS = struct.Struct("!HHHHHH4s4s" "HHIIHHHH" "HH")

_IP_FIXED = 0x4500 + 0x4000 + ((IP_TTL << 8) | IP_PROTO_TCP)   # ver/IHL/TOS, DF, TTL/proto
_DF = 0x4000
_TTL_PROTO = (IP_TTL << 8) | IP_PROTO_TCP
_MSS_KIND_LEN = 0x0204                                        # option kind 2, length 4


def _path(src: str, dst: str, cache: dict[tuple[str, str], tuple]) -> tuple:
    """Per (source, destination) address pair: both as 4 octets, their sum in the TCP
    pseudo-header, and the constant part of the IPv4 header's sum."""
    a = bytes(int(part) for part in src.split("."))
    b = bytes(int(part) for part in dst.split("."))
    addr_sum = int.from_bytes(a, "big") + int.from_bytes(b, "big")
    found = cache[src, dst] = (a, b, addr_sum + IP_PROTO_TCP, addr_sum + _IP_FIXED)
    return found


_FOLDS: dict[int, tuple[int, tuple[tuple[int, int], ...]]] = {}


def _folds(n: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """For an even ``n``-octet payload: where to cut it in two, and the (bits, mask) of the folds."""
    cut = (n >> 2) << 1                  # octets in the first piece: a whole number of words
    size = 8 * (n - cut)                 # bits in the larger piece, roughly
    folds = []
    while size > 1024:                   # then ``%`` on ~100 octets: cheaper than more folds
        bits = (size >> 5) << 4          # half of it, in whole 16-bit words
        folds.append((bits, (1 << bits) - 1))
        size -= bits
    found = _FOLDS[n] = (cut, tuple(folds))
    return found


def _odd_or_short_sum(payload: bytes) -> int:
    """The payload as one number (zero-padded to whole 16-bit words, as the checksum rule
    says): congruent, modulo 0xFFFF, to the sum of its words, because 2**16 is 1 there."""
    return int.from_bytes(payload + b"\0" if len(payload) & 1 else payload, "big")


CHUNK = 96        # records, headers and payloads, per write: small enough to reuse memory, large enough to batch


def pcap_chunks(packets: Any) -> Iterator[bytes]:
    """The pcap records of ``packets`` (trace.Packet values), joined a few dozen at a time.

    A checksum is the ones' complement of the ones' complement sum of 16-bit
    words; for a positive plain sum ``x`` of those words that is ``-x % 0xFFFF``.
    """
    out: list[bytes] = []
    append = out.append
    paths: dict[tuple[str, str], tuple] = {}
    record_pack = _RECORD.pack
    plain_pack = _PLAIN.pack
    mss_pack = _WITH_MSS.pack
    folds_of = _FOLDS.get
    from_bytes = int.from_bytes
    for pkt in packets:
        seg = pkt
        key = (pkt.src_addr, pkt.dst_addr)
        src, dst, pseudo, ip_sum = paths.get(key) or _path(key[0], key[1], paths)
        payload = seg.payload
        plen = len(payload)
        mss = seg.mss
        flags = seg.flags
        if type(flags) is not int:
            flags = int(flags)
        sport = seg.src_port
        dport = seg.dst_port
        seq = seg.seq
        ack = seg.ack
        window = seg.window
        ident = pkt.id & 0xFFFF
        ticks = pkt.sent_at_ticks                           # microseconds, as pcap's
        if mss is None:
            total = 40 + plen                               # IPv4 20 + TCP 20 + payload
            off_flags = 0x5000 | (flags & 0x3F)            # data offset: 5 words
            tcp_sum = pseudo + 20 + plen + sport + dport + seq + ack + off_flags + window
        else:
            total = 44 + plen                               # ... + the MSS option's 4
            off_flags = 0x6000 | (flags & 0x3F)            # data offset: 6 words
            tcp_sum = (pseudo + 24 + plen + sport + dport + seq + ack + off_flags + window
                       + _MSS_KIND_LEN + mss)
        if plen:
            if plen < 128 or plen & 1:
                tcp_sum += _odd_or_short_sum(payload)
            else:
                # The payload in two pieces, the second starting on a word boundary:
                # their sum is congruent to the whole.  Then fold it in halves (high
                # part plus low part, a whole number of words each), so that the final
                # ``%`` works on a hundred octets instead of fifteen hundred.
                cut, folds = folds_of(plen) or _folds(plen)
                part = from_bytes(payload[:cut], "big") + from_bytes(payload[cut:], "big")
                for bits, mask in folds:
                    part = (part >> bits) + (part & mask)
                tcp_sum += part
            if total > 0xFFFF:
                raise ValueError(f"segment #{pkt.id} is too long for one IPv4 packet")
        append(record_pack(ticks // 1_000_000, ticks % 1_000_000, total, total))
        if mss is None:
            append(plain_pack(0x4500, total, ident, _DF, _TTL_PROTO,
                              -(ip_sum + total + ident) % 0xFFFF, src, dst,
                              sport, dport, seq, ack, off_flags, window, -tcp_sum % 0xFFFF, 0))
        else:
            append(mss_pack(0x4500, total, ident, _DF, _TTL_PROTO,
                            -(ip_sum + total + ident) % 0xFFFF, src, dst,
                            sport, dport, seq, ack, off_flags, window, -tcp_sum % 0xFFFF, 0,
                            _MSS_KIND_LEN, mss))
        if plen:
            append(payload)
        if len(out) >= CHUNK:
            yield b"".join(out)
            out.clear()
    if out:
        yield b"".join(out)


def write_pcap(trace: Any, path: str | os.PathLike[str]) -> int:
    """Write every segment of ``trace`` to ``path`` as a classic pcap; return how many.

    ``trace`` is a ``tcpsim.Trace`` (or anything with ``.packets``, or a list of
    ``Packet``).  Open the file with ``wireshark FILE`` or ``tshark -r FILE``.
    """
    if isinstance(trace, (list, tuple)):
        packets = trace
    else:
        packets = getattr(trace, "packets", None)
        if packets is None:
            packets = as_trace(trace, "write_pcap").packets      # a Network, or a TypeError
    with open(path, "wb") as f:
        f.write(_GLOBAL_HEADER)
        for chunk in pcap_chunks(packets):
            f.write(chunk)
    return len(packets)


def pcap_bytes(trace: Any) -> bytes:
    """The whole pcap file ``write_pcap`` would write, as bytes."""
    return _GLOBAL_HEADER + b"".join(pcap_chunks(getattr(trace, "packets", trace)))
