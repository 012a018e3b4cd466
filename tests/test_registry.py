"""lrbench.registry.Registry: lazy built-ins, entry points, in-process registration, suggestions, listing; and the
four registries built on it (runners, dataset schemes, evaluators, LLM score modes)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from lrbench.errors import LrbenchError
from lrbench.registry import BUILTIN, ENTRY_POINT, REGISTERED, Registry

GROUP = "lrbench.tests-registry"


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A module `regplug` and an installed distribution whose entry points (group GROUP) name its objects."""
    (tmp_path / "regplug.py").write_text(textwrap.dedent("""
        class FromBuiltin: pass
        class FromEntryPoint: pass
        class Shadowed: pass
    """))
    info = tmp_path / "regplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\nonly-installed = regplug:FromEntryPoint\n"
                                           "both = regplug:Shadowed\nbroken = regplug:Missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("regplug", None)
    yield
    sys.modules.pop("regplug", None)


def test_a_builtin_string_is_imported_on_first_use_only(plugin):
    reg = Registry("widget", group=GROUP, builtins={"lazy": "regplug:FromBuiltin"})
    assert reg.names() == ["both", "broken", "lazy", "only-installed"]
    assert reg.entries()["lazy"].origin == BUILTIN and "lazy" in reg
    assert "regplug" not in sys.modules  # listing and membership import nothing
    assert reg.get("lazy").__name__ == "FromBuiltin"
    assert "regplug" in sys.modules and reg["lazy"] is reg.get("lazy")


def test_registered_beats_builtin_beats_entry_point(plugin):
    reg = Registry("widget", group=GROUP, builtins={"both": "regplug:FromBuiltin"})
    assert reg.get("only-installed").__name__ == "FromEntryPoint"
    assert reg.entry("only-installed").origin == ENTRY_POINT
    assert reg.get("both").__name__ == "FromBuiltin"  # the installed "both" is shadowed

    class Local:
        pass

    assert reg.register("both", Local) is Local
    assert reg.get("both") is Local and reg.entry("both").origin == REGISTERED
    reg.unregister("both")
    assert reg.get("both").__name__ == "FromBuiltin"


def test_unknown_names_suggest_the_closest_and_list_the_rest(plugin):
    reg = Registry("widget", group=GROUP, builtins={"lazy": "regplug:FromBuiltin"}, key="type", hint="see docs")
    with pytest.raises(LrbenchError) as err:
        reg.get("only-instaled")
    line = str(err.value)
    assert line.startswith("type: unknown widget 'only-instaled'")
    assert "did you mean 'only-installed'?" in line and "known: both, broken, lazy, only-installed; see docs" in line
    with pytest.raises(LrbenchError) as err:
        reg.get("zzzz")
    assert "did you mean" not in str(err.value)
    assert reg.suggestion("lazzy") == "did you mean 'lazy'? "


def test_a_target_that_fails_to_import_is_one_clear_error(plugin):
    reg = Registry("widget", group=GROUP, builtins={"gone": "no_such_module_xyz:Thing"})
    with pytest.raises(LrbenchError, match="widget 'gone' failed to import from no_such_module_xyz"):
        reg.get("gone")
    with pytest.raises(LrbenchError, match="widget 'broken' failed to import from regplug: AttributeError"):
        reg.get("broken")


def test_runner_types_resolve_register_and_suggest():
    from lrbench.runners.base import Runner
    from lrbench.runners.registry import BUILTIN_RUNNERS, RUNNERS, get_runner, register_runner

    assert get_runner("bm25").type == "bm25" and set(BUILTIN_RUNNERS) <= set(RUNNERS.names())
    with pytest.raises(LrbenchError, match="unknown runner type 'bm52'.*did you mean 'bm25'"):
        get_runner("bm52")

    @register_runner
    class Mine(Runner):
        type = "bm25"  # an in-process registration wins over the built-in of the same name

    try:
        assert get_runner("bm25") is Mine
    finally:
        RUNNERS.unregister("bm25")
    assert get_runner("bm25") is not Mine
    with pytest.raises(LrbenchError, match="not a Runner subclass"):
        register_runner(object)


def test_builtin_names_match_the_classes_they_name():
    from lrbench.datasets.schemes import BUILTIN_SCHEMES, SCHEMES
    from lrbench.evaluation.evaluators import BUILTIN_EVALUATORS, EVALUATORS
    from lrbench.runners.llm.score_modes import SCORE_MODES

    assert all(SCHEMES.get(name).scheme == name for name in BUILTIN_SCHEMES)
    assert all(EVALUATORS.get(name).task == name for name in BUILTIN_EVALUATORS)
    assert {"yes-no", "generate-integer", "reason-then-score"} <= set(SCORE_MODES.names())


def test_dataset_schemes_and_score_modes_suggest_close_names(tmp_path):
    from lrbench.datasets import open_dataset
    from lrbench.runners.llm.score_modes import ScoreModeParams
    from lrbench.suites.schema import DatasetSpec

    with pytest.raises(LrbenchError, match="unknown dataset id 'tre:x'.*did you mean 'trec:'"):
        open_dataset(DatasetSpec(id="tre:x"), tmp_path)
    with pytest.raises(ValueError, match="unknown score mode 'yes-nope'.*did you mean 'yes-no'"):
        ScoreModeParams(score_mode="yes-nope")
    assert ScoreModeParams(score_mode="generate-integer").score_mode == "generate-integer"
