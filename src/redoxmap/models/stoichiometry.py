"""Oxygen release by charge balance, and the two structural models of cycled Li-rich oxides.

Csernica et al. 2021, main text on Supplementary Notes 1, 3, 5: with Li content unchanged
(ICP-MS) and one crystallographic phase, a drop of the average TM oxidation state measured by
XAS means oxygen left the lattice (bulk electroneutrality).

For Li_a TM_m O_2 with TM valences v_i (amounts n_i, Σn_i = m):
- oxygen lost per formula unit δ = (Σ n_i v_i,pristine − Σ n_i v_i,cycled) / 2, reported as δ/2 of
  the pristine oxygen (at%);
- oxygen-vacancy model: [Li_a TM_m][O_(2−δ)], cations unchanged, so Li:TM = a/m;
- densified model: a full anion sublattice with as many cations as anions, Li_x TM_m O_(x+m),
  charge balance x + Q = 2(x + m) gives x = Q − 2m, Li:TM = x/m, where Q = 2·O − a − 2δ is the
  TM charge of the charge-balanced pristine less the measured drop (absolute valences from XAS
  carry calibration offsets, their change does not);
  normalised to O2 this is [Li_(2x/(x+m)) TM_(2m/(x+m))][O2];
- densities relative to the pristine material assume the same volume per anion site (oxygen
  vacancies leave the lattice in place; densification keeps one cation per anion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redoxmap.errors import CompositionError

#: Standard atomic weights (g/mol), IUPAC 2021 abridged values.
ATOMIC_MASS = {"Li": 6.94, "O": 15.999, "Mn": 54.938, "Ni": 58.693, "Co": 58.933, "Fe": 55.845,
               "Al": 26.982, "Mg": 24.305, "Ti": 47.867, "Na": 22.990}
TRANSITION_METALS = ("Mn", "Ni", "Co", "Fe", "Ti")


def parse_formula(formula: str) -> dict[str, float]:
    """Amounts of each element in a chemical formula.

    Parameters
    ----------
    formula : str
        E.g. ``"Li1.18Ni0.21Mn0.53Co0.08O2"`` (element symbols with optional decimal amounts).

    Returns
    -------
    dict of str to float
        ``{element: amount}`` in the order written.

    Raises
    ------
    CompositionError
        If the formula cannot be parsed or names an element without an atomic mass here.

    Examples
    --------
    >>> parse_formula("Li1.2Mn0.54Ni0.13Co0.13O2")
    {'Li': 1.2, 'Mn': 0.54, 'Ni': 0.13, 'Co': 0.13, 'O': 2.0}
    """
    parts = re.findall(r"([A-Z][a-z]?)([0-9]*\.?[0-9]*)", formula)
    if not parts or "".join(e + n for e, n in parts) != formula.replace(" ", ""):
        raise CompositionError(f"cannot parse formula {formula!r}; expected e.g. Li1.2Mn0.54Ni0.13Co0.13O2")
    out: dict[str, float] = {}
    for element, amount in parts:
        if element not in ATOMIC_MASS:
            raise CompositionError(f"{formula}: element {element} has no atomic mass here")
        out[element] = out.get(element, 0.0) + (float(amount) if amount else 1.0)
    return out


def _tm_charge(comp: dict[str, float], valence: dict[str, float]) -> float:
    tms = [e for e in comp if e in TRANSITION_METALS]
    missing = [e for e in tms if e not in valence]
    if missing:
        raise CompositionError(f"no valence given for {missing}; expected one for each of {tms}")
    return sum(comp[e] * valence[e] for e in tms)


def _mass(comp: dict[str, float]) -> float:
    return sum(ATOMIC_MASS[e] * n for e, n in comp.items())


@dataclass(frozen=True)
class OxygenRelease:
    """Charge-balance result for one cycled state (module doc; Csernica et al. 2021).

    Attributes
    ----------
    oxygen_lost_per_fu : float
        δ, oxygen lost per formula unit.
    oxygen_release_at_pct : float
        δ as a percentage of the pristine oxygen (at%).
    li_tm_vacancy : float
        Li:TM ratio of the oxygen-vacancy model (a/m).
    li_tm_densified : float
        Li:TM ratio of the densified model (x/m).
    densified_li_per_o2, densified_tm_per_o2 : float
        Li and TM per O2 of the densified model.
    density_ratio_vacancy, density_ratio_densified : float
        Density relative to the pristine material of each model.
    """

    oxygen_lost_per_fu: float
    oxygen_release_at_pct: float
    li_tm_vacancy: float
    li_tm_densified: float
    densified_li_per_o2: float
    densified_tm_per_o2: float
    density_ratio_vacancy: float
    density_ratio_densified: float


def oxygen_release(formula: str, valence_pristine: dict[str, float],
                   valence_cycled: dict[str, float]) -> OxygenRelease:
    """Oxygen lost and the predictions of the vacancy and densified models from the TM valences before
    and after cycling (module doc; Csernica et al. 2021, Supplementary Notes 1, 3, 5).

    Parameters
    ----------
    formula : str
        Pristine formula, a lithium transition-metal oxide (e.g. ``"Li1.18Ni0.21Mn0.53Co0.08O2"``).
    valence_pristine : dict of str to float
        Valence of each transition metal in the pristine material.
    valence_cycled : dict of str to float
        Valence of each transition metal after cycling (from XAS).

    Returns
    -------
    OxygenRelease
        The charge-balance result.

    Raises
    ------
    CompositionError
        If the formula is not a Li TM oxide, a TM has no valence, or the cycled TM charge leaves no
        Li in the densified structure.

    Examples
    --------
    >>> r = oxygen_release("Li1.18Ni0.21Mn0.53Co0.08O2", {"Ni": 2, "Mn": 4, "Co": 3},
    ...                    {"Ni": 2, "Mn": 3.55, "Co": 2.73})
    >>> round(r.oxygen_release_at_pct, 1), round(r.li_tm_vacancy, 2), round(r.li_tm_densified, 2)
    (6.5, 1.44, 1.12)
    """
    comp = parse_formula(formula)
    if "O" not in comp or "Li" not in comp:
        raise CompositionError(f"{formula}: expected a lithium transition-metal oxide")
    m = sum(n for e, n in comp.items() if e in TRANSITION_METALS)
    q_pristine = _tm_charge(comp, valence_pristine)
    q_cycled = _tm_charge(comp, valence_cycled)
    delta = (q_pristine - q_cycled) / 2.0
    li = comp["Li"]
    # TM charge of the cycled material from the charge-balanced pristine minus the measured drop
    # (absolute XAS valences carry calibration offsets; their change does not)
    q_after = 2.0 * comp["O"] - li - 2.0 * delta
    x = q_after - 2.0 * m  # Li left in the densified structure
    if x <= 0:
        raise CompositionError(f"TM charge {q_after:.3f} cannot keep any Li in a densified structure")
    pristine_mass = _mass(comp)
    vacancy = {**comp, "O": comp["O"] - delta}
    scale = 2.0 / (x + m)
    densified = {e: (n * scale if e in TRANSITION_METALS else n) for e, n in comp.items()}
    densified.update(Li=x * scale, O=2.0)
    return OxygenRelease(
        oxygen_lost_per_fu=delta,
        oxygen_release_at_pct=100.0 * delta / comp["O"],
        li_tm_vacancy=li / m,
        li_tm_densified=x / m,
        densified_li_per_o2=x * scale,
        densified_tm_per_o2=m * scale,
        density_ratio_vacancy=_mass(vacancy) / pristine_mass,
        density_ratio_densified=_mass(densified) / pristine_mass,
    )
