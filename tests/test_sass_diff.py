"""tools.sass_diff: two versions of the kernel compared by their SASS instructions, without a GPU."""

import pytest

from conftest import needs_gluon
from tools import sass_diff


def test_instructions_leave_out_addresses_encodings_and_everything_but_code():
    sass = """
        .text._extend_attention_ws_kernel:
        /*0000*/                   LDC R1, c[0x0][0x28] ;                 /* 0x00000a00ff017b82 */
                                                                          /* 0x000fe20000000800 */
        /*0010*/              @!P0 BRA 0x1bd0 ;                           /* 0x0000001800008947 */
        //## File "kernels/extend_attention_ws.py", line 412
        /*0020*/                   HGMMA.64x64x16.F32.BF16 R24, gdesc[UR4], RZ ;
    """
    assert sass_diff.instructions(sass) == (
        "LDC R1, c[0x0][0x28]", "@!P0 BRA 0x1bd0", "HGMMA.64x64x16.F32.BF16 R24, gdesc[UR4], RZ")


@needs_gluon
def test_a_commit_against_itself_compiles_the_same_and_one_that_changed_the_code_does_not(capsys):
    """9dea780 (step 22) changed the masked tiles' code: its windowed row differs from its
    parent's, and is the same as itself, each version compiled in its own process."""
    one = ["--variants", "default", "--head-dims", "128", "--shapes", "windowed"]
    assert sass_diff.main(["--old", "9dea780~1", "--new", "9dea780"] + one) == 1
    out = capsys.readouterr().out
    assert "0 of 1 compiles the same" in out and "| default/128/windowed |" in out
    assert sass_diff.main(["--old", "9dea780", "--new", "9dea780"] + one) == 0
    assert "1 of 1 compiles the same" in capsys.readouterr().out


def test_bad_arguments_are_named(capsys):
    assert sass_diff.main(["--old", "no-such-commit"]) == 2
    assert "sass_diff: --old 'no-such-commit'" in capsys.readouterr().err
    for flag, value in (("--head-dims", "96"), ("--shapes", "tiny"), ("--variants", "fastest")):
        with pytest.raises(SystemExit) as stopped:
            sass_diff.parse_args(["--old", "HEAD", flag, value])
        assert stopped.value.code == 2 and flag in capsys.readouterr().err
