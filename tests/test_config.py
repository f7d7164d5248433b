"""plait.config: sources and precedence, set/get, restore, validation, warnings."""

import copy
import os
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from plait import config


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """No user files or PLAIT_* variables from the machine; the live config restored."""
    saved_config = copy.deepcopy(config.config)
    saved_defaults = copy.deepcopy(config.defaults)
    for name in list(os.environ):
        if name.startswith("PLAIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(config, "paths", [str(tmp_path / "no-such-home-dir")])
    config.refresh()
    yield tmp_path
    config.defaults[:] = saved_defaults
    config.config.clear()
    config.config.update(saved_config)


def test_defaults_file_is_loaded(clean):
    assert config.get("array.chunk-size") == "128MiB"
    assert config.get("distributed.worker.memory.target") == 0.6
    assert config.get("distributed.dashboard.link") == "{scheme}://{host}:{port}/status"
    assert config.get("local.batch.max-tasks") == 64
    assert config.get("scheduler") is None and config.get("num_workers") is None


def test_precedence_defaults_then_user_file_then_env(clean, monkeypatch):
    user_dir = clean / "user"
    user_dir.mkdir()
    (user_dir / "mine.yaml").write_text(
        "array:\n  chunk_size: 64MiB\n"
        "distributed:\n  worker:\n    memory:\n      target: 0.5\n"
    )
    monkeypatch.setenv("PLAIT_CONFIG", str(user_dir))
    config.refresh()
    assert config.get("array.chunk-size") == "64MiB"  # file beats default
    assert config.get("distributed.worker.memory.target") == 0.5
    assert config.get("distributed.worker.memory.spill") == 0.7  # merged, not replaced
    assert config.get("array.slicing.split-large-chunks") is None

    monkeypatch.setenv("PLAIT_ARRAY__CHUNK_SIZE", "32MiB")
    config.refresh()
    assert config.get("array.chunk-size") == "32MiB"  # env beats file
    assert config.get("distributed.worker.memory.target") == 0.5
    assert "config" not in config.config  # PLAIT_CONFIG names a directory, not a key


def test_yaml_files_read_in_name_order_and_other_files_ignored(clean):
    (clean / "a.yaml").write_text("scheduler: threads\nnum_workers: 2\n")
    (clean / "b.yml").write_text("scheduler: sync\n")
    (clean / "c.txt").write_text("num_workers: 9\n")
    (clean / "empty.yaml").write_text("")
    merged = config.collect(paths=[str(clean)], env={})
    assert merged == {"scheduler": "sync", "num-workers": 2}


def test_yaml_file_that_is_not_a_mapping_is_named_in_the_error(clean):
    (clean / "bad.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="bad.yaml.*mapping"):
        config.collect_yaml([str(clean)])


def test_env_values_are_parsed_as_literals(clean):
    env = {
        "PLAIT_DISTRIBUTED__WORKER__MEMORY__TARGET": "0.7",
        "PLAIT_NUM_WORKERS": "3",
        "PLAIT_SCHEDULER": "processes",
        "PLAIT_SHUFFLE": "None",
        "PLAIT_TOKENIZE__ENSURE_DETERMINISTIC": "true",
        "PLAIT_MY_LIST": "[1, 'a']",
        "PLAIT_TIMEOUT": "30s",
        "PLAIT_CONFIG": "/somewhere",
        "OTHER": "1",
    }
    assert config.collect_env(env) == {
        "distributed": {"worker": {"memory": {"target": 0.7}}},
        "num-workers": 3,
        "scheduler": "processes",
        "shuffle": None,
        "tokenize": {"ensure-deterministic": True},
        "my-list": [1, "a"],
        "timeout": "30s",
    }


def test_env_var_reaches_live_config(clean, monkeypatch):
    monkeypatch.setenv("PLAIT_DISTRIBUTED__WORKER__MEMORY__TARGET", "0.7")
    monkeypatch.setenv("PLAIT_SCHEDULER", "processes")
    config.refresh()
    assert config.get("distributed.worker.memory.target") == 0.7
    assert config.get("scheduler") == "processes"


def test_dash_and_underscore_are_the_same_key(clean):
    with config.set(array__chunk_size="1MiB"):
        assert config.config["array"]["chunk-size"] == "1MiB"
        assert config.get("array.chunk_size") == config.get("array.chunk-size") == "1MiB"
    with config.set({"array.chunk-size": "2MiB", "num_workers": 3}):
        assert config.get("array.chunk_size") == "2MiB"
        assert config.get("num-workers") == config.get("num_workers") == 3
    assert config.get("array.chunk_size") == "128MiB"


def test_context_manager_restores_values_and_removes_new_keys(clean):
    with config.set({"array.chunk-size": "1MiB", "my-lib.option.depth": 5}) as c:
        assert c is config.config
        assert config.get("my-lib.option.depth") == 5
        assert config.get("array.chunk-size") == "1MiB"
    assert config.get("array.chunk-size") == "128MiB"
    assert "my-lib" not in config.config
    with pytest.warns(UserWarning, match="array.new-key"):  # near 'array.chunk-size'
        with config.set({"array.new-key": 1}):
            pass
    assert "new-key" not in config.config["array"]
    assert config.config["array"]["slicing"] == {"split-large-chunks": None}


def test_context_manager_restores_after_an_exception(clean):
    with pytest.raises(RuntimeError):
        with config.set(scheduler="sync"):
            raise RuntimeError("boom")
    assert config.get("scheduler") is None


def test_nested_contexts_restore_in_order(clean):
    with config.set(scheduler="threads"):
        with config.set(scheduler="sync", num_workers=2):
            assert config.get("scheduler") == "sync"
            with config.set({"scheduler": "processes"}):
                assert config.get("scheduler") == "processes"
            assert config.get("scheduler") == "sync"
        assert config.get("scheduler") == "threads"
        assert config.get("num_workers") is None
    assert config.get("scheduler") is None


def test_set_without_with_is_global_until_changed(clean):
    config.set(scheduler="sync")
    assert config.get("scheduler") == "sync"
    seen = []
    t = threading.Thread(target=lambda: seen.append(config.get("scheduler")))
    t.start()
    t.join()
    assert seen == ["sync"]
    config.set(scheduler="threads")
    assert config.get("scheduler") == "threads"


def test_set_from_many_threads_restores_everything(clean):
    errors = []

    def work(i: int) -> None:
        try:
            for j in range(300):
                with config.set({f"smoke.t{i}": j}):
                    time.sleep(0)  # let other threads enter and leave meanwhile
                    assert config.get(f"smoke.t{i}") == j
        except Exception as e:  # reported below; a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert "smoke" not in config.config


def test_misspelt_key_warns_with_closest_known_key(clean):
    with pytest.warns(UserWarning) as record:
        config.set(schedular="threads")
    assert str(record[0].message) == (
        "unknown configuration key 'schedular'; did you mean 'scheduler'?"
    )
    assert record[0].filename == __file__  # points at the caller's line
    assert config.get("schedular") == "threads"  # still set
    with pytest.warns(UserWarning, match="did you mean 'distributed.worker.memory.target'"):
        with config.set({"distributed.worker.memory.targt": 0.5}):
            pass
    with pytest.warns(UserWarning, match="did you mean 'array.chunk-size'"):
        with config.set({"array": {"chunk-szie": "1MiB"}}):
            pass


def test_known_keys_and_unrelated_own_keys_do_not_warn(clean):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with config.set({"distributed.worker.memory.target": 0.5, "zzqx-plugin": 1}):
            pass
        config.open_sections.add("array")
        try:
            with config.set({"array.chunk-szie": 1}):
                pass
        finally:
            config.open_sections.discard("array")


def test_unknown_scheduler_name_raises_and_lists_valid_names(clean):
    with pytest.raises(ValueError, match="unknown scheduler 'thread'") as info:
        config.set(scheduler="thread")
    for name in ("sync", "synchronous", "single-threaded", "threads", "threading",
                 "processes", "multiprocessing"):
        assert repr(name) in str(info.value)
    assert set(config.SCHEDULER_NAMES) >= {"threads", "processes", "sync"}
    assert config.get("scheduler") is None


def test_failed_validation_changes_nothing(clean):
    with pytest.raises(ValueError):
        config.set(num_workers=2, scheduler="nope")
    assert config.get("num_workers") is None


def test_scheduler_objects_are_accepted(clean):
    def my_get(dsk, keys, **kwargs):
        return [None for _ in keys]

    class Client:
        def get(self, dsk, keys, **kwargs):
            return []

    with ThreadPoolExecutor(1) as pool:
        for value in (my_get, pool, Client(), "Threads", None):
            with config.set(scheduler=value):
                assert config.get("scheduler") is value
    with pytest.raises(TypeError, match="scheduler must be"):
        config.set(scheduler=3)


def test_registered_scheduler_name_is_accepted(clean, monkeypatch):
    monkeypatch.setattr(config, "SCHEDULER_NAMES", config.SCHEDULER_NAMES)
    with pytest.raises(ValueError):
        config.set(scheduler="distributed")
    config.register_scheduler_name("distributed")
    with config.set(scheduler="distributed"):
        assert config.get("scheduler") == "distributed"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4", True])
def test_num_workers_must_be_positive_int(clean, bad):
    with pytest.raises(ValueError, match=r"num_workers must be a positive integer"):
        config.set(num_workers=bad)


def test_num_workers_valid_values(clean):
    for good in (1, 8, None):
        with config.set(num_workers=good):
            assert config.get("num_workers") == good


def test_get_missing_key_names_key_and_closest(clean):
    with pytest.raises(KeyError) as info:
        config.get("distributed.worker.memory.targt")
    message = info.value.args[0]
    assert "'distributed.worker.memory.targt'" in message
    assert "did you mean 'distributed.worker.memory.target'" in message
    with pytest.raises(KeyError, match="'qqqq' not found") as info:
        config.get("qqqq")
    assert "did you mean" not in info.value.args[0]


def test_get_default_and_override_with(clean):
    assert config.get("no.such.key", 7) == 7
    assert config.get("no.such.key", None) is None
    assert config.get("array.chunk-size.deeper", "d") == "d"  # through a leaf
    assert config.get("array.chunk-size", override_with="9MiB") == "9MiB"
    assert config.get("array.chunk-size", override_with=None) == "128MiB"


def test_update_defaults_keeps_user_values(clean):
    config.set({"array.chunk-size": "64MiB"})
    config.update_defaults({
        "array": {"chunk_size": "256MiB", "backend": "numpy"},
        "visualization": {"engine": "cytoscape"},
    })
    assert config.get("array.chunk-size") == "64MiB"  # the user's value survives
    assert config.get("array.backend") == "numpy"  # new default added
    assert config.get("visualization.engine") == "cytoscape"  # unchanged default moves
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with config.set(array__backend="cupy"):  # now a known key: no warning
            pass
    config.refresh()
    assert config.get("array.backend") == "numpy"
    assert config.get("array.chunk-size") == "256MiB"


def test_deprecated_key_warns_and_uses_new_key(clean):
    with pytest.warns(FutureWarning, match="use 'dataframe.shuffle.method'"):
        with config.set({"dataframe.shuffle.algorithm": "tasks"}):
            assert config.get("dataframe.shuffle.method") == "tasks"
    assert config.get("dataframe.shuffle.method") is None
    assert "algorithm" not in config.config["dataframe"]["shuffle"]


def test_deprecated_key_in_env_is_renamed(clean, monkeypatch):
    monkeypatch.setenv("PLAIT_DATAFRAME__SHUFFLE__ALGORITHM", "disk")
    with pytest.warns(FutureWarning):
        config.refresh()
    assert config.get("dataframe.shuffle.method") == "disk"
    assert "algorithm" not in config.config["dataframe"]["shuffle"]


def test_update_and_merge():
    old = {"a": {"b": 1, "c": 2}, "d": 3}
    assert config.update(old, {"a": {"b": 10, "e_f": 4}}) is old
    assert old == {"a": {"b": 10, "c": 2, "e-f": 4}, "d": 3}
    assert config.update({"a": 1}, {"a": 2, "b": 3}, priority="old") == {"a": 1, "b": 3}
    first, second = {"x": {"y": [1]}}, {"x": {"z": 2}}
    merged = config.merge(first, second)
    assert merged == {"x": {"y": [1], "z": 2}}
    merged["x"]["y"].append(2)
    assert first == {"x": {"y": [1]}}  # merge copies


def test_expand_environment_variables(monkeypatch):
    monkeypatch.setenv("PLAIT_TEST_ROOT", "/data")
    value = {"dir": "$PLAIT_TEST_ROOT/tmp", "list": ["${PLAIT_TEST_ROOT}"], "n": 1}
    assert config.expand_environment_variables(value) == {
        "dir": "/data/tmp", "list": ["/data"], "n": 1}


def test_config_module_imports_only_stdlib_and_yaml():
    code = (
        "import importlib.util, sys\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('cfg', {config.__file__!r})\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(mod)\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before} - {'cfg'}\n"
        "extra = new - set(sys.stdlib_module_names) - {'yaml', '_yaml'}\n"
        "extra = {m for m in extra if 'cython' not in m}  # PyYAML's C loader\n"
        "assert not extra, extra\n"
        "import plait.config\n"
        "heavy = [m for m in ('numpy', 'pandas') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
