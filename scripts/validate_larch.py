"""Compute Larch's normalization and linear-combination-fit results as references for redoxmap's tests.

Run by ``make validate`` (xraylarch is in the ``validate`` extra, never a runtime or test dependency).
Uses only xraylarch and what it brings (numpy, scipy, lmfit). Writes
tests/data/larch/larch_reference.json; tests/data/larch/SOURCES.md says what each number is and
describes Larch's default normalization algorithm in words. ``--out FILE`` writes elsewhere.

1. Mn K-edge standards (XASDataLibrary, tests/data/xdi): μ(E) = ln(i0/itrans), then
   ``larch.xafs.pre_edge`` with all defaults.
2. Mn3O4 fitted with MnO, Mn2O3, MnO2 (their own Larch ``norm``) by ``larch.math.lincombo_fit``,
   6530–6590 eV, sum to one, default (unbounded) weights.
3. Larch's documented Au L3 example (tests/data/larch/au_l3, already normalized by Athena):
   six-standard sum-to-one fits, the exact non-negative sum-to-one optimum (every support solved in
   closed form, checked by SLSQP) and the best two- and three-standard fits of ``lincombo_fitall``.
"""

import argparse
import datetime
import itertools
import json
import platform
from pathlib import Path

import larch
import lmfit
import numpy as np
import scipy
from larch import Group
from larch.math import index_of, interp, lincombo_fit, lincombo_fitall
from larch.math.lincombo_fitting import groups2matrix
from larch.xafs import pre_edge
from larch.xafs.pre_edge import _finde0
from scipy.optimize import minimize

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
OUT = DATA / "larch" / "larch_reference.json"
MN_NAMES = ("MnO", "Mn3O4", "Mn2O3", "MnO2")
MN_VALENCE = {"MnO": 2, "Mn2O3": 3, "MnO2": 4}
MN_FIT_EV = (6530.0, 6590.0)
AU_NAMES = ("s1", "s2", "s3", "s4", "s5", "s6")
AU_FIT_EV = (11870.0, 12030.0)
# weights printed in Larch's documentation (doc/fitting_examples.rst) for fit1.lar and fit2.lar
AU_DOCUMENTED = {("s1", "s2"): (0.47066003, 0.52933996),
                 ("s1", "s2", "s5"): (0.27866516, 0.53207041, 0.18926442)}


def read_xdi_mu(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Energy and μ = ln(i0/itrans) from an XDI file, columns found by their ``Column.N`` labels."""
    columns = {}
    for line in path.read_text().splitlines():
        if line.startswith("# Column."):
            number, label = line[len("# Column."):].split(":", 1)
            columns[label.split()[0]] = int(number) - 1
    missing = {"energy", "i0", "itrans"} - set(columns)
    if missing:
        raise SystemExit(f"{path}: no column labelled {sorted(missing)} (found {sorted(columns)})")
    table = np.loadtxt(path, comments="#")
    return table[:, columns["energy"]], np.log(table[:, columns["i0"]] / table[:, columns["itrans"]])


def normalize_mn(name: str) -> tuple[Group, dict]:
    """Larch ``pre_edge`` with every default on one XASDataLibrary Mn standard."""
    path = DATA / "xdi" / f"{name}_rt_01.xdi"
    energy, mu = read_xdi_mu(path)
    group = Group(energy=energy, mu=mu, filename=name)
    pre_edge(group)
    details = group.pre_edge_details
    # first, unsmoothed pass of find_e0 (private helper): which point the smoothing window centres on
    e0_raw, i0_raw, step_raw = _finde0(energy, mu, estep=None, use_smooth=False)
    norm_coefs = {f"norm_c{i}": float(getattr(details, f"norm_c{i}")) for i in range(details.nnorm + 1)}
    ipre = [index_of(energy - group.e0, getattr(details, key)) for key in ("pre1", "pre2")]
    return group, {
        "file": f"tests/data/xdi/{path.name}",
        "npts": int(energy.size),
        "e0": float(group.e0),
        "e0_index": int(np.abs(energy - group.e0).argmin()),
        "edge_step": float(group.edge_step),
        "pre1": float(details.pre1), "pre2": float(details.pre2),
        "norm1": float(details.norm1), "norm2": float(details.norm2),
        "nnorm": int(details.nnorm),
        "npre": 1 if ipre[1] - ipre[0] >= 3 else 0,
        "pre_slope": float(details.pre_slope), "pre_offset": float(details.pre_offset),
        **norm_coefs,
        "find_e0_first_pass_e0": float(e0_raw),
        "find_e0_first_pass_index": int(i0_raw),
        "find_e0_energy_step_estimate": float(step_raw),
        "find_e0_smoothing_step_ev": 0.5 * (max(0.01, min(1.0, step_raw))
                                            + max(0.01, min(1.0, e0_raw / 25000))),
        "energy_ev": energy.tolist(),
        "norm": group.norm.tolist(),
        "flat": group.flat.tolist(),
    }


def exact_sum_to_one_nnls(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Minimum of |y − a w|² with w ≥ 0 and Σw = 1, by solving every support in closed form.

    The problem is a convex QP; its minimiser is the equality-constrained least-squares solution on
    its own support, so the best feasible support solution over all 2^n − 1 supports is the optimum.
    """
    ncomp = a.shape[1]
    best = (np.inf, None)
    for size in range(1, ncomp + 1):
        for support in itertools.combinations(range(ncomp), size):
            sub = a[:, support]
            kkt = np.zeros((size + 1, size + 1))
            kkt[:size, :size] = sub.T @ sub
            kkt[:size, size] = kkt[size, :size] = 1.0
            w = np.linalg.solve(kkt, np.append(sub.T @ y, 1.0))[:size]
            if np.all(w >= 0):
                chisqr = float(((y - sub @ w) ** 2).sum())
                if chisqr < best[0]:
                    full = np.zeros(ncomp)
                    full[list(support)] = w
                    best = (chisqr, full)
    return best[1]


def slsqp_sum_to_one_nnls(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The same optimum by scipy's SLSQP, as an independent check."""
    ncomp = a.shape[1]
    res = minimize(lambda w: ((y - a @ w) ** 2).sum(), np.full(ncomp, 1.0 / ncomp),
                   jac=lambda w: -2 * a.T @ (y - a @ w), method="SLSQP",
                   bounds=[(0, None)] * ncomp, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                   options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


def fit_summary(result: Group, y: np.ndarray) -> dict:
    """Weights, their standard errors and fit statistics of one lincombo_fit result."""
    return {
        "standards": list(result.weights),
        "weights": {k: float(v) for k, v in result.weights.items()},
        "weights_stderr": {k: float(result.params[k].stderr) for k in result.weights
                           if result.params[k].stderr is not None},
        "sum": float(sum(result.weights.values())),
        "rfactor": float(result.rfactor),
        "chisqr": float(result.chisqr),
        "redchi": float(result.redchi),
        "npts": int(y.size),
        "nvarys": int(result.result.nvarys),
    }


def statistics(a: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict:
    resid = y - a @ w
    return {"chisqr": float((resid**2).sum()), "rfactor": float((resid**2).sum() / (y**2).sum())}


def mn3o4_lcf(groups: dict[str, Group]) -> dict:
    """Mn3O4 = Σ w_i standard_i over 6530–6590 eV, Σw = 1, Larch's defaults otherwise."""
    standards = [groups[n] for n in MN_VALENCE]
    result = lincombo_fit(groups["Mn3O4"], standards, xmin=MN_FIT_EV[0], xmax=MN_FIT_EV[1], sum_to_one=True)
    summary = fit_summary(result, result.ydata)
    w = result.weights
    valence = sum(MN_VALENCE[k] * w[k] for k in MN_VALENCE)
    # the last weight is 1 − the others, so ∂valence/∂c_i = v_i − v_last over lmfit's varied c0, c1
    v = list(MN_VALENCE.values())
    grad = np.array([v[int(name[1:])] - v[-1] for name in result.result.var_names], dtype=float)
    valence_stderr = float(np.sqrt(grad @ result.result.covar @ grad))
    _, matrix = groups2matrix([groups["Mn3O4"], *standards], xmin=MN_FIT_EV[0], xmax=MN_FIT_EV[1])
    exact = exact_sum_to_one_nnls(matrix[1:].T, matrix[0])
    return {
        "unknown": "Mn3O4", "standards_valence": MN_VALENCE,
        "fit_range_ev": list(MN_FIT_EV),
        "fit_energy_ev": result.xdata.tolist(),
        **summary,
        "valence": float(valence),
        "valence_stderr": valence_stderr,
        "weights_unconstrained_lstsq": {k: float(v) for k, v in result.weights_lstsq.items()},
        "exact_nonnegative_sum_to_one": dict(zip(MN_VALENCE, exact.tolist(), strict=True)),
    }


def read_au(name: str) -> Group:
    table = np.loadtxt(DATA / "larch" / "au_l3" / f"{name}.dat", comments="#")
    return Group(energy=table[:, 0], norm=table[:, 1], filename=name)


def au_lcf() -> dict:
    """Larch's Au L3 example: sum-to-one fits, exact optimum, best 2- and 3-standard fits."""
    unknown = read_au("unknown")
    standards = [read_au(n) for n in AU_NAMES]
    lo, hi = AU_FIT_EV
    i1, i2 = index_of(unknown.energy, lo), index_of(unknown.energy, hi)
    energy_fit = unknown.energy[i1:i2 + 1]
    y = unknown.norm[i1:i2 + 1]

    six_default = lincombo_fit(unknown, standards, xmin=lo, xmax=hi, sum_to_one=True)
    six_bounded = lincombo_fit(unknown, standards, xmin=lo, xmax=hi, sum_to_one=True,
                               minvals=[0.0] * 6, maxvals=[1.0] * 6)
    if not np.array_equal(six_default.xdata, energy_fit):
        raise SystemExit("lincombo_fit's grid differs from index_of(11870)..index_of(12030)")

    exact, check = {}, {}
    for kind in ("cubic", "linear"):
        a = np.column_stack([interp(s.energy, s.norm, energy_fit, kind=kind) for s in standards])
        w = exact_sum_to_one_nnls(a, y)
        w_slsqp = slsqp_sum_to_one_nnls(a, y)
        check[kind] = float(np.abs(w - w_slsqp).max())
        if check[kind] > 1e-4:
            raise SystemExit(f"exact optimum and SLSQP differ by {check[kind]:.2g} ({kind})")
        exact[kind] = {"weights": dict(zip(AU_NAMES, w.tolist(), strict=True)),
                       "weights_slsqp": dict(zip(AU_NAMES, w_slsqp.tolist(), strict=True)),
                       **statistics(a, y, w)}
        if kind == "linear":  # the documented example interpolates linearly: its printed fits must come out
            for names, documented in AU_DOCUMENTED.items():
                idx = [AU_NAMES.index(n) for n in names]
                ours = exact_sum_to_one_nnls(a[:, idx], y)
                if np.abs(ours - documented).max() > 2e-4:
                    raise SystemExit(f"documented fit {names} not reproduced: {ours} vs {documented}")

    ranked = lincombo_fitall(unknown, standards, xmin=lo, xmax=hi, sum_to_one=True, max_output=1000)
    ranked_list = [{"standards": list(r.weights), "weights": {k: float(v) for k, v in r.weights.items()},
                    "redchi": float(r.redchi), "rfactor": float(r.rfactor), "chisqr": float(r.chisqr)}
                   for r in ranked]
    best = {}
    for size in (2, 3):
        top = next(r for r in ranked if len(r.weights) == size)
        best[f"best_{size}_standards"] = fit_summary(top, top.ydata)

    return {
        "files": [f"tests/data/larch/au_l3/{n}.dat" for n in ("unknown", *AU_NAMES)],
        "array": "second column (munorm, normalized by Athena); no further normalization",
        "fit_range_ev": list(AU_FIT_EV),
        "fit_index_range_inclusive": [int(i1), int(i2)],
        "fit_energy_ev": energy_fit.tolist(),
        "npts": int(energy_fit.size),
        "six_standards_default_bounds": fit_summary(six_default, y),
        "six_standards_bounds_0_1": fit_summary(six_bounded, y),
        "exact_nonnegative_sum_to_one_cubic": exact["cubic"],
        "exact_nonnegative_sum_to_one_linear": exact["linear"],
        "exact_vs_slsqp_max_abs_difference": check,
        "documented_example_weights": [{"standards": list(k), "weights": list(v)}
                                       for k, v in AU_DOCUMENTED.items()],
        **best,
        "fitall_ranked_by_redchi": ranked_list,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output file (default %(default)s)")
    out = parser.parse_args().out
    normalized = {name: normalize_mn(name) for name in MN_NAMES}
    groups = {name: g for name, (g, _) in normalized.items()}
    reference = {
        "generated_by": "scripts/validate_larch.py",
        "date": datetime.date.today().isoformat(),
        "versions": {"xraylarch": larch.__version__, "lmfit": lmfit.__version__, "numpy": np.__version__,
                     "scipy": scipy.__version__, "python": platform.python_version()},
        "mn_k_pre_edge_defaults": {name: summary for name, (_, summary) in normalized.items()},
        "mn3o4_lcf": mn3o4_lcf(groups),
        "au_l3_lcf": au_lcf(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(reference, indent=1) + "\n")
    tmp.replace(out)
    mn = reference["mn_k_pre_edge_defaults"]
    for name in MN_NAMES:
        print(f"{name:6s} e0 {mn[name]['e0']:.3f} eV  edge step {mn[name]['edge_step']:.5f}")
    lcf = reference["mn3o4_lcf"]
    print(f"Mn3O4 valence {lcf['valence']:.4f} ± {lcf['valence_stderr']:.4f}; wrote {out}")


if __name__ == "__main__":
    main()
