r"""The Nguyen benchmark (Uy et al., *Genet. Program. Evolvable Mach.* 12, 2011).

=========  ===============================  ================  =========
task       :math:`f`                        box               n_default
=========  ===============================  ================  =========
nguyen/1   :math:`x^3 + x^2 + x`            :math:`[-1,1]`    20
nguyen/2   :math:`x^4 + x^3 + x^2 + x`      :math:`[-1,1]`    20
nguyen/3   :math:`x^5 + \dots + x`          :math:`[-1,1]`    20
nguyen/4   :math:`x^6 + \dots + x`          :math:`[-1,1]`    20
nguyen/5   :math:`\sin(x^2)\cos(x) - 1`     :math:`[-1,1]`    20
nguyen/6   :math:`\sin x + \sin(x + x^2)`   :math:`[-1,1]`    20
nguyen/7   :math:`\log(x+1) + \log(x^2+1)`  :math:`[0,2]`     20
nguyen/8   :math:`\sqrt{x}`                 :math:`[0,4]`     20
nguyen/9   :math:`\sin x + \sin(y^2)`       :math:`[-1,1]^2`  100
nguyen/10  :math:`2 \sin x \cos y`          :math:`[-1,1]^2`  100
nguyen/11  :math:`x^y`                      :math:`[0,1]^2`   100
nguyen/12  :math:`x^4 - x^3 + y^2/2 - y`    :math:`[-1,1]^2`  100
=========  ===============================  ================  =========
"""

from __future__ import annotations

from symnet.datasets._task import Task

__all__ = ["nguyen_tasks"]

_UNIT = (-1.0, 1.0)

# (formula, range of each variable); one variable is x, two are (x, y).
_DEFINITIONS: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = (
    ("x**3 + x**2 + x", (_UNIT,)),
    ("x**4 + x**3 + x**2 + x", (_UNIT,)),
    ("x**5 + x**4 + x**3 + x**2 + x", (_UNIT,)),
    ("x**6 + x**5 + x**4 + x**3 + x**2 + x", (_UNIT,)),
    ("sin(x**2)*cos(x) - 1", (_UNIT,)),
    ("sin(x) + sin(x + x**2)", (_UNIT,)),
    ("log(x + 1) + log(x**2 + 1)", ((0.0, 2.0),)),
    ("sqrt(x)", ((0.0, 4.0),)),
    ("sin(x) + sin(y**2)", (_UNIT, _UNIT)),
    ("2*sin(x)*cos(y)", (_UNIT, _UNIT)),
    ("x**y", ((0.0, 1.0), (0.0, 1.0))),
    ("x**4 - x**3 + y**2/2 - y", (_UNIT, _UNIT)),
)


def nguyen_tasks() -> tuple[Task, ...]:
    """Nguyen-1 to Nguyen-12 as tasks ``"nguyen/1"`` ... ``"nguyen/12"``."""
    tasks = []
    for index, (formula, ranges) in enumerate(_DEFINITIONS, start=1):
        variables = ("x", "y")[: len(ranges)]
        tasks.append(
            Task(
                name=f"nguyen/{index}",
                suite="nguyen",
                formula=formula,
                variables=variables,
                ranges=ranges,
                n_default=20 if len(variables) == 1 else 100,
            )
        )
    return tuple(tasks)
