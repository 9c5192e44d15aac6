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
    "pareto_front",
    "pruning",
    "r2_score",
    "refit",
    "register_primitive",
    "round_constants",
    "select",
    "smoothed_l_half",
    "sparsity_penalty",
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
        "lies",
        "rational",
        "stack",
    }
    assert expected <= _public(symnet.layers)


def test_no_top_level_layers_module():
    import importlib.util

    assert importlib.util.find_spec("layers") is None
    assert importlib.util.find_spec("pruning") is None
