"""The command line as a whole: version, help on every subcommand, error handling."""

import subprocess
import sys

import pytest

from promptevc import __version__
from promptevc.cli import build_parser, main


def _subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_expected_subcommands_exist():
    names = set(_subcommands())
    assert {"convert", "describe", "export"} <= names


@pytest.mark.parametrize("name", _subcommands())
def test_help_for_every_subcommand(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"promptevc {name}" in out and "options:" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_user_error_is_one_line_without_traceback(tmp_path, capsys):
    rc = main(["export", "--exp", str(tmp_path / "nope"), "--out", str(tmp_path / "rel")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err and err.strip().count("\n") == 0
    assert "not an experiment dir" in err


def test_help_is_fast_and_light():
    # `promptevc --help` must not import torch (start-up time for every command).
    code = "import sys; from promptevc.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_prosody_convert_does_not_import_torch(tmp_path):
    # The embedded engine's cold start (target <= 1 s for a 3 s input) must not pay for torch.
    import soundfile as sf

    from promptevc.utils.synth import synth_speech

    src = tmp_path / "in.wav"
    sf.write(src, synth_speech(f0_hz=140.0, seconds=1.0), 16000)
    code = ("import sys; from promptevc.cli import main; "
            f"rc = main(['convert', {str(src)!r}, '--emotion', 'sad', '-o', {str(tmp_path / 'out.wav')!r}]); "
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 False"
