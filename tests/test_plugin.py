"""tcpsim's pytest plugin, run in throwaway pytest sessions (pytester)."""

from __future__ import annotations

from tcpsim import Network
from tcpsim.pytest_plugin import ladder_text
from tcpsim.trace import Trace

pytest_plugins = ["pytester"]

HANDSHAKE_THEN_FAIL = """
def test_handshake_then_fail(tcpsim_net):
    srv = tcpsim_net.hosts["server"].socket()
    srv.bind(("", 80)); srv.listen(5)
    cli = tcpsim_net.hosts["client"].socket()
    cli.connect(("server", 80))
    srv.accept()
    assert False, "deliberate"
"""


def test_fixture_gives_a_fresh_seeded_network_with_client_and_server(pytester):
    pytester.makepyfile("""
        import tcpsim

        def test_one(tcpsim_net, tcpsim_seed):
            assert isinstance(tcpsim_net, tcpsim.Network)
            assert sorted(tcpsim_net.hosts) == ["client", "server"]
            assert tcpsim_net.seed == tcpsim_seed == 0
            assert tcpsim_net.now == 0 and not tcpsim_net.trace.segments()
            tcpsim_net.hosts["client"].socket().connect_ex(("server", 80))

        def test_two_is_fresh(tcpsim_net):
            assert not tcpsim_net.trace.segments()
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_report_header_shows_the_seed(pytester):
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest().stdout.fnmatch_lines(["tcpsim: seed 0 *"])
    pytester.runpytest("--tcpsim-seed", "42").stdout.fnmatch_lines(["tcpsim: seed 42 *"])


def test_seed_option_and_ini_reach_the_fixture(pytester):
    pytester.makepyfile("""
        def test_seed(tcpsim_net, request):
            assert tcpsim_net.seed == int(request.config.getoption("expected"))
    """)
    pytester.makeconftest("""
        def pytest_addoption(parser):
            parser.addoption("--expected")
    """)
    pytester.runpytest("--tcpsim-seed", "7", "--expected", "7").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ntcpsim_seed = 11\n")
    pytester.runpytest("--expected", "11").assert_outcomes(passed=1)


def test_a_failing_test_gets_the_ladder_in_its_report(pytester):
    pytester.makepyfile(HANDSHAKE_THEN_FAIL)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tcpsim network (seed 0, call)*"])
    # What the section shows is the network's own ladder of the same run.
    net = Network(seed=0)
    net.add_host("client"), net.add_host("server")
    srv = net.hosts["server"].socket()
    srv.bind(("", 80)), srv.listen(5)
    net.hosts["client"].socket().connect(("server", 80))
    srv.accept()
    expected = [line.rstrip() for line in ladder_text(net).splitlines() if line.strip()]
    shown = [line.rstrip() for line in result.outlines]
    assert expected and all(line in shown for line in expected)


def test_a_passing_test_gets_no_section(pytester):
    pytester.makepyfile("def test_ok(tcpsim_net):\n    tcpsim_net.run()\n")
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1)
    assert "tcpsim network" not in result.stdout.str()


def test_the_plugin_is_registered_once_when_installed_and_on_the_path(pytester):
    # The project's own layout: pythonpath holds the source tree while the
    # installed entry point loads the same module.  One registration, not two.
    pytester.makeini("[pytest]\npythonpath = .\n")
    pytester.makepyfile("""
        import tcpsim.pytest_plugin

        def test_once(request):
            found = [name for name, plugin in request.config.pluginmanager.list_name_plugin()
                     if plugin is tcpsim.pytest_plugin]
            assert found == ["tcpsim"]
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_it_can_be_switched_off_by_its_entry_point_name(pytester):
    pytester.makepyfile("def test_uses(tcpsim_net):\n    pass\n")
    result = pytester.runpytest("-p", "no:tcpsim")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'tcpsim_net' not found*"])


def test_ladder_falls_back_to_trace_lines_without_the_export(monkeypatch):
    net = Network(seed=3)
    net.add_host("client"), net.add_host("server")
    net.hosts["client"].socket().connect_ex(("server", 80))

    def missing(self, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'tcpsim.export.ladder'")
    monkeypatch.setattr(Trace, "ladder", missing)
    assert ladder_text(net) == str(net.trace)
    assert "SYN" in ladder_text(net)


def test_the_fixture_here_too(tcpsim_net):
    # This very suite runs with the plugin loaded from the entry point.
    assert sorted(tcpsim_net.hosts) == ["client", "server"]
