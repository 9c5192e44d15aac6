"""The command-line interface, run in-process."""

from typer.testing import CliRunner

from symnet.cli import app


def test_demo_finds_the_ground_truth():
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "equivalent: yes" in result.output
    assert ">>" in result.output  # the selected row is marked


def test_help_lists_demo():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output
