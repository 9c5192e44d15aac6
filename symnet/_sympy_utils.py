"""Small sympy helpers: bounded-time simplification, complexity, float rounding."""

from __future__ import annotations

import contextlib
import gc
import signal
import threading
import time

import sympy

__all__ = [
    "SYMPY_FAILURES",
    "bounded_simplify",
    "complexity",
    "operator_name",
    "time_limit",
    "TimeLimitExceeded",
    "round_floats",
]


class TimeLimitExceeded(Exception):
    """Raised inside :func:`time_limit` when the budget runs out."""


# What a bounded sympy call may raise besides returning: the time limit, deep recursion, and
# sympy's internal failures on awkward inputs (e.g. sympy#29159, a NaN compared in `equals`).
SYMPY_FAILURES = (TimeLimitExceeded, RecursionError, TypeError, ValueError, ZeroDivisionError)


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Interrupts the body after ``seconds`` (SIGALRM; main thread of a Unix process).

    Limits nest: inside another limit, the body gets at most what the outer one has left,
    and the outer one's alarm is re-armed with the rest on exit (so a bounded call inside a
    bounded stage does not lift the stage's limit). Elsewhere (a worker thread, Windows) the
    body runs without a limit, so callers must keep the work bounded by other means too.
    """
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def handler(signum, frame):
        # Re-arm first: if this exception lands in a callback that swallows it (e.g. a
        # garbage-collection hook), the next alarm interrupts the body again.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise TimeLimitExceeded

    # Automatic garbage collection runs callbacks (JAX registers one) that would swallow
    # the alarm's exception and report it as "ignored"; collect later instead.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    outer, _ = signal.getitimer(signal.ITIMER_REAL)  # 0.0: no limit armed around this one
    started = time.monotonic()
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer) if outer > 0 else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer > 0:  # the outer limit's rest; spent already: it fires at once
            rest = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(rest, 1e-3))
        if gc_was_enabled:
            gc.enable()


def bounded_simplify(expr: sympy.Expr, seconds: float = 2.0) -> sympy.Expr:
    """``sympy.simplify`` under a time limit; the input comes back unchanged on timeout.

    The simplified form is kept only when it is not more complex than the input. sympy's own
    failures on awkward inputs (``TypeError: Invalid NaN comparison`` from ``equals``,
    ``ZeroDivisionError``, ``ValueError``) also leave the input unchanged.
    """
    try:
        with time_limit(seconds):
            out = sympy.simplify(expr)
    except SYMPY_FAILURES:
        return expr
    return out if complexity(out) <= complexity(expr) else expr


def complexity(expr: sympy.Expr, weights=None) -> int:
    """Number of nodes of the expression tree (symbols, numbers and operators), an
    operator node counting ``weights[name]`` instead of 1 where ``weights`` (a mapping, or
    pairs) names it (PySR's ``complexity_of_operators``; names as :func:`operator_name`).

    Example:
      >>> x = sympy.Symbol("x")
      >>> complexity(sympy.sin(x) + 1), complexity(sympy.sin(x) + 1, {"sin": 3})
      (4, 6)
    """
    if not weights:
        return sum(1 for _ in sympy.preorder_traversal(expr))
    weights = dict(weights)
    return int(
        round(sum(weights.get(operator_name(e), 1) for e in sympy.preorder_traversal(expr)))
    )


def operator_name(node: sympy.Basic) -> str | None:
    """The operator a node of a formula applies: ``add``, ``mul``, ``div`` (``x**-1``),
    ``sqrt``, ``square``, ``pow`` (other powers), or a function's name (``sin``, ``exp``);
    None for symbols and numbers."""
    if node.is_Add:
        return "add"
    if node.is_Mul:
        return "mul"
    if node.is_Pow:
        return {-1: "div", sympy.Rational(1, 2): "sqrt", 2: "square"}.get(node.exp, "pow")
    if isinstance(node, sympy.Function):
        return node.func.__name__
    return None


def round_floats(expr: sympy.Expr, digits: int = 3, zero_below: float = 1e-4) -> sympy.Expr:
    """Floats rounded to ``digits`` decimals, ``|c| < zero_below`` set to 0 (SRBench).

    A float that rounds to a whole number becomes a sympy Integer, so that ``x**2.0`` and
    ``x**2`` simplify alike.
    """
    reps = {}
    for f in expr.atoms(sympy.Float):
        v = float(f)
        r = round(v, digits)
        if abs(v) < zero_below:
            reps[f] = sympy.Integer(0)
        elif r == int(r):  # x**2.0 and x**2 must compare equal under simplify
            reps[f] = sympy.Integer(int(r))
        else:
            reps[f] = sympy.Float(r)
    return expr.xreplace(reps)
