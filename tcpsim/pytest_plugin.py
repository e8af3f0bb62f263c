"""tcpsim's pytest plugin (entry point ``pytest11``): a ``tcpsim_net`` fixture.

    def test_handshake(tcpsim_net):
        server = tcpsim_net.hosts["server"]
        ...

``tcpsim_net`` is a fresh Network seeded with ``--tcpsim-seed`` (default 0,
shown in the report header) holding hosts ``client`` and ``server``.  When a
test that used it fails, the report gets a section with the network's seed
and its trace drawn as a ladder diagram, so the failure can be read (and
rerun) without a debugger.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .network import Network

DEFAULT_SEED = 0
_NETS = pytest.StashKey[list[Network]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tcpsim", "tcpsim simulated networks")
    group.addoption("--tcpsim-seed", type=int, default=None, metavar="N",
                    help=f"seed of the tcpsim_net fixture's network (default: the "
                         f"tcpsim_seed ini value, else {DEFAULT_SEED})")
    parser.addini("tcpsim_seed", f"seed of the tcpsim_net fixture's network (default {DEFAULT_SEED})",
                  default=str(DEFAULT_SEED))


def _seed(config: pytest.Config) -> int:
    seed = config.getoption("tcpsim_seed")
    if seed is None:
        text = str(config.getini("tcpsim_seed")).strip()
        try:
            seed = int(text)
        except ValueError:
            raise pytest.UsageError(f"tcpsim_seed must be an integer, not {text!r}") from None
    return seed


def pytest_report_header(config: pytest.Config) -> str:
    return f"tcpsim: seed {_seed(config)} (tcpsim_net; change with --tcpsim-seed)"


@pytest.fixture
def tcpsim_seed(request: pytest.FixtureRequest) -> int:
    """The seed ``tcpsim_net`` is built with."""
    return _seed(request.config)


@pytest.fixture
def tcpsim_net(request: pytest.FixtureRequest, tcpsim_seed: int) -> Iterator[Network]:
    """A fresh Network (seeded, default Config) with hosts ``client`` and ``server``."""
    net = Network(seed=tcpsim_seed)
    net.add_host("client")
    net.add_host("server")
    request.node.stash.setdefault(_NETS, []).append(net)
    yield net
    net.close()


def ladder_text(net: Network) -> str:
    """The trace as a ladder diagram; its plain lines where the ladder export is missing."""
    try:
        return net.trace.ladder()
    except ImportError:
        return str(net.trace)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    nets = item.stash.get(_NETS, None)
    if nets and report.failed:
        for net in nets:
            body = ladder_text(net) or "(nothing happened on the network)"
            report.sections.append((f"tcpsim network (seed {net.seed}, {report.when})", body))
