"""`harness profiles list | show | check` through the real CLI entry point."""

import pathlib

import yaml

import hwprofiles
from harness.cli import main

LOIHI = hwprofiles.PROFILES_DIR / "loihi.yaml"


def broken_copy(tmp_path: pathlib.Path, name: str, edit) -> pathlib.Path:
    data = yaml.safe_load(LOIHI.read_text())
    data["name"] = name
    edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_check_passes_on_every_shipped_profile(capsys):
    assert main(["profiles", "check"]) == 0
    out = capsys.readouterr().out
    assert all(f"({name})" in out for name in hwprofiles.available())


def test_check_exits_2_with_one_line_per_failing_file(tmp_path, capsys):
    missing_key = broken_copy(tmp_path, "a", lambda d: d["core"].pop("neurons"))
    bad_enum = broken_copy(tmp_path, "b", lambda d: d["neuron"].update(kind="izhikevich"))
    syntax = tmp_path / "c.yaml"
    syntax.write_text("name: c\nmesh: [\n")
    assert main(["profiles", "check", str(missing_key), str(LOIHI), str(bad_enum), str(syntax)]) == 2
    captured = capsys.readouterr()
    failures = [line for line in captured.err.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 3
    assert str(missing_key) in failures[0] and "'core.neurons'" in failures[0]
    assert str(bad_enum) in failures[1] and "'neuron.kind'" in failures[1]
    assert str(syntax) in failures[2] and "'<yaml>'" in failures[2]
    assert "ok   " in captured.out and "(loihi)" in captured.out


def test_check_of_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["profiles", "check", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml" in capsys.readouterr().err


def test_list_shows_every_profile_and_whether_its_energy_is_known(capsys):
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in hwprofiles.available())
    assert "loihi_cuba" in out and "partial" in out


def test_show_prints_every_value_with_its_source(capsys):
    assert main(["profiles", "show", "loihi"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "energy.hop_ns_j" in out and "4 pJ" in out and "Davies" in out


def test_show_of_an_unknown_name_is_one_line_and_exit_2(capsys):
    assert main(["profiles", "show", "loihi3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "loihi2" in err


def test_profiles_needs_an_action():
    assert main(["profiles"]) == 2
