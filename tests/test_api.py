"""The public surface is deliberate: pin it."""

import symnet
import symnet.layers
import symnet.pruning

PUBLIC = {
    "Candidate",
    "PRIMITIVES",
    "PopulationTrainer",
    "Primitive",
    "Schedule",
    "SearchConfig",
    "SymbolicLayer",
    "SymbolicNetwork",
    "SymbolicRegressor",
    "TrainConfig",
    "TrainState",
    "cache_dir",
    "check_primitive",
    "discover",
    "export_member",
    "get_primitive",
    "init_population",
    "is_symbolic_solution",
    "l1",
    "layers",
    "datasets",
    "distill",
    "dynamics",
    "pareto_front",
    "pruning",
    "r2_score",
    "sweep",
    "refit",
    "register_primitive",
    "round_constants",
    "search",
    "select",
    "set_cache_dir",
    "init_distributed",
    "smoothed_l_half",
    "sparsity_penalty",
    "systems",
    "units",
    "weighted_mse",
}


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def test_top_level_names():
    assert PUBLIC <= _public(symnet)
    # Nothing undeclared leaks (submodules imported for internal use are private).
    assert _public(symnet) - PUBLIC <= {"cli", "data"}


def test_layers_names():
    expected = {
        "AbstractSymbolicLayer",
        "Mask",
        "MASK_SUFFIX",
        "PRESETS",
        "SymbolicLayer",
        "SymbolicNetwork",
        "UnitSpec",
        "default_network",
        "eql",
        "eql_div",
        "kan",
        "KAN_UNITS",
        "SymbolicKANLayer",
        "lies",
        "rational",
        "stack",
    }
    assert expected <= _public(symnet.layers)


def test_subpackages_declare_their_public_names():
    """Each subpackage's ``__all__`` lists exactly its public names, and each resolves."""
    import symnet.datasets
    import symnet.distill
    import symnet.search
    import symnet.systems
    import symnet.units

    for module in (symnet.search, symnet.systems, symnet.datasets, symnet.distill, symnet.units):
        assert set(module.__all__) == _public(module) - {"annotations"}, module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_one_set_of_defaults():
    """The estimator's keyword defaults are the search's (SearchConfig) defaults, and
    those are what the estimator always used (the search's own were smaller)."""
    params = symnet.SymbolicRegressor().get_params()
    assert params["preset"] == ("default", "rational") and params["rounds"] is None
    assert params["max_candidates"] == 10 and params["batch_size"] == 256
    assert params["steps"] == 3000 and params["views"] == ("raw", "log", "square")
    config = symnet.search.DEFAULT_CONFIG
    assert config == symnet.SearchConfig()
    for field in ("preset", "rounds", "width", "n_restarts", "sparsity", "max_candidates"):
        assert params[field] == getattr(config, field), field
    for field in ("validation_fraction", "views", "early_stop_condition", "oversample_worst"):
        assert params[field] == getattr(config, field), field
    assert params["steps"] == config.train.steps
    assert params["learning_rate"] == config.train.learning_rate
    assert params["batch_size"] == config.train.batch_size
    assert symnet.SymbolicRegressor()._search_config() == config


def test_version_comes_from_the_package_metadata():
    import pathlib
    import tomllib

    pyproject = pathlib.Path(__file__).parents[1] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert symnet.__version__ == declared


def test_no_top_level_layers_module():
    import importlib.util

    assert importlib.util.find_spec("layers") is None
    assert importlib.util.find_spec("pruning") is None
