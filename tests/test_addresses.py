"""Hosts' IPv4 addresses: which a host may have, which comes next, what reads as one."""

import pytest

import tcpsim

from tcpsim.addresses import check_host_address, ipv4_literal, next_free_address


@pytest.mark.parametrize("address", ["0.0.0.0", "255.255.255.255", "127.0.0.1", "224.0.0.1",
                                     "10.0.0.256", "010.0.0.1", "server", ""])
def test_a_host_cannot_have_an_address_that_is_not_one_hosts_unicast_address(address):
    with pytest.raises(ValueError):
        check_host_address(address)


@pytest.mark.parametrize("address", [167772169, b"10.0.0.9", ("10.0.0.9",)])
def test_a_host_address_is_a_string(address):
    with pytest.raises(TypeError, match="address must be a str"):
        check_host_address(address)
    with pytest.raises(TypeError, match="address must be a str"):
        tcpsim.Network().add_host("h", address)


def test_a_unicast_address_is_fine():
    check_host_address("192.168.1.20")


def test_the_next_free_address_carries_past_the_last_octet():
    taken = {f"10.0.0.{n}" for n in range(1, 256)}
    assert next_free_address(set()) == "10.0.0.1"
    assert next_free_address({"10.0.0.1", "10.0.0.3"}) == "10.0.0.2"
    assert next_free_address(taken) == "10.0.1.0"


def test_literals_read_as_getaddrinfo_reads_them():
    # inet_aton's forms: "10.1" is 10.0.0.1 and "167772161" is 10.0.0.1, as in the C library
    assert ipv4_literal("10.0.0.7") == "10.0.0.7"
    assert ipv4_literal("10.1") == "10.0.0.1"
    assert ipv4_literal("167772161") == "10.0.0.1"
    assert ipv4_literal("server") is None and ipv4_literal("10.0.0.256") is None
