"""Config defaults (SPEC section 1) and the Linux preset."""

import dataclasses

import pytest

from tcpsim import Config


def test_defaults_are_the_specs():
    c = Config()
    assert (c.mss, c.recv_buffer, c.send_buffer, c.msl) == (1460, 65535, 65535, 120.0)
    assert (c.rto_initial, c.rto_min, c.rto_max) == (1.0, 1.0, 60.0)        # RFC 6298
    assert (c.syn_retries, c.retries) == (6, 15)
    assert (c.delayed_ack, c.nagle, c.rst_on_close_with_unread, c.isn) == (False, False, True, None)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().mss = 536


def test_linux_preset():
    c = Config.linux()
    assert 2 * c.msl == 60.0                      # TIME-WAIT lasts 60 s on Linux
    assert (c.rto_min, c.rto_max) == (0.2, 120.0)
    assert c.delayed_ack and c.backlog_slack == 1 and c.reset_with_ack
    assert Config.linux(mss=536).mss == 536


@pytest.mark.parametrize("kw", [dict(mss=0), dict(recv_buffer=0), dict(msl=-1), dict(rto_min=0),
                                dict(rto_min=5, rto_max=1), dict(retries=-1), dict(isn=2**32),
                                dict(isn="7"), dict(msl=float("nan")), dict(rto_max=float("inf")),
                                dict(rto_initial=0), dict(challenge_ack_limit=-1),
                                dict(ack_delay=0.5)])   # RFC 1122 4.2.3.2: "MUST be less than 0.5 seconds"
def test_bad_values_are_refused(kw):
    with pytest.raises(ValueError):
        Config(**kw)


@pytest.mark.parametrize("name", ["delayed_ack", "nagle", "rst_on_close_with_unread",
                                  "reset_with_ack"])
def test_switches_are_booleans(name):
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        Config(**{name: "yes"})


def test_an_isn_callable_that_returns_no_int_is_named_and_leaves_the_socket_unconnected():
    from tcpsim import Network

    net = Network(config=Config(isn=lambda: "x"))
    client, server = net.add_host("client"), net.add_host("server")
    sock = client.socket()
    with pytest.raises(TypeError, match=r"Config.isn\(\) returned 'x'"):
        sock.connect(("server", 80))
    assert client.connections() == [] and net.in_flight == []
