"""2D axisymmetric finite-element particle model: transient Li diffusion and linear elasticity with
the intercalation strain as an eigenstrain (scikit-fem), for the geometry of Liu et al. 2024, Fig. 5 and
Supplementary Figs. 27–28: a sphere of radius R with a central void (radius a) and a pore of radius
r_p on the symmetry axis, separated from the void by a bridge of width g; bridge point A is the
middle of that bridge. Liu et al. 2024 solved the same problem in COMSOL (2D axisymmetric).

The meridional quarter plane (r ≥ 0, z ≥ 0) is meshed (a small DistMesh, Persson & Strang, SIAM Rev.
46, 329 (2004), refined near the void and pore); mirror symmetry at z = 0 means the pore has a twin at
−z. Quadratic (P2) triangles; every integral carries the axisymmetric weight r.

Diffusion: ∫ ∂c/∂t v r dA + ∫ D ∇c·∇v r dA = ∫_outer N v r ds, zero flux on the void, pore, axis and
symmetry plane; implicit Euler, constant D (the stress-coupled flux is in the 1D model only).
Elasticity: σ = λ tr(ε)I + 2με − (3λ + 2μ)θI, θ = ε*(c) − ε*(c₀), ε_θθ = u_r/r; ∇·σ = 0, traction-free
outer, void and pore surfaces, u_r = 0 on the axis, u_z = 0 on z = 0. Stresses are L²-projected onto
P2 for output; σ_θ is the azimuthal (hoop) stress.

Example: :func:`solve_fem`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr
from scipy.sparse.linalg import splu
from scipy.spatial import Delaunay

from redoxmap.errors import FemError, ParameterError
from redoxmap.history import with_history
from redoxmap.models.mechanics import surface_flux
from redoxmap.models.particle_params import ParticleParameters


def _geometry(params: ParticleParameters, pores: bool) -> tuple[float, float, float]:
    """(void radius, pore radius, pore centre z); pore radius 0 when there is none."""
    a, rp = params.void_radius_m, params.pore_radius_m if pores else 0.0
    zp = a + params.pore_gap_m + rp
    if rp > 0 and zp + rp >= params.radius_m:
        raise FemError(
            f"pore of radius {rp!r} m centred at z = {zp!r} m does not fit inside radius_m = "
            f"{params.radius_m!r}: expected void + gap + 2·pore < radius"
        )
    return a, rp, zp


def _signed_distance(params: ParticleParameters, pores: bool) -> Callable[[np.ndarray], np.ndarray]:
    a, rp, zp = _geometry(params, pores)
    big = params.radius_m

    def fd(p: np.ndarray) -> np.ndarray:
        rho = np.hypot(p[:, 0], p[:, 1])
        d = np.maximum.reduce([rho - big, -p[:, 0], -p[:, 1]])
        if a > 0:
            d = np.maximum(d, a - rho)
        if rp > 0:
            d = np.maximum(d, rp - np.hypot(p[:, 0], p[:, 1] - zp))
        return d

    return fd


def particle_mesh(
    params: ParticleParameters,
    *,
    pores: bool = True,
    h_max_m: float | None = None,
    h_min_m: float | None = None,
    iterations: int = 60,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Triangle mesh of the meridional quarter plane (r ≥ 0, z ≥ 0) of the particle, from a DistMesh
    iteration (Persson & Strang, SIAM Rev. 46, 329 (2004)) with element size growing from
    ``h_min_m`` at the void and pore to ``h_max_m``.

    Parameters
    ----------
    params : ParticleParameters
        Geometry: radius, void radius, pore radius and gap.
    pores : bool
        Include the pore on the symmetry axis.
    h_max_m : float, optional
        Largest element size (m); default a fraction of the radius.
    h_min_m : float, optional
        Element size at the void and pore (m); default a fraction of the smallest feature.
    iterations : int
        DistMesh iterations.
    seed : int
        Seed of the initial point jitter.

    Returns
    -------
    points : numpy.ndarray
        Node coordinates (n, 2) as (r, z) in metres.
    triangles : numpy.ndarray
        Node indices (m, 3) of each triangle.

    Raises
    ------
    FemError
        If the pore does not fit inside the particle.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> pts, tri = particle_mesh(liu2024_parameters(), h_max_m=2e-6, iterations=20)
    >>> pts.shape[1], tri.shape[1], bool(pts[:, 0].min() >= 0)
    (2, 3, True)
    """
    big = params.radius_m
    a, rp, zp = _geometry(params, pores)
    h_max = h_max_m or big / 16
    features = [x for x in (a, rp, params.pore_gap_m if rp > 0 else 0.0) if x > 0]
    h_min = h_min_m or min([h_max, *(f / 4 for f in features)])
    fd = _signed_distance(params, pores)

    def fh(p: np.ndarray) -> np.ndarray:
        dist = np.full(len(p), np.inf)
        if a > 0:
            dist = np.minimum(dist, np.abs(np.hypot(p[:, 0], p[:, 1]) - a))
        if rp > 0:
            dist = np.minimum(dist, np.abs(np.hypot(p[:, 0], p[:, 1] - zp) - rp))
        if not np.isfinite(dist).all():
            return np.full(len(p), h_max)
        return np.minimum(h_max, h_min + 0.3 * dist)

    fixed = [[0, big], [big, 0]] + ([[a, 0], [0, a]] if a > 0 else [[0, 0]])
    if rp > 0:
        fixed += [[0, zp - rp], [0, zp + rp], [0, a + params.pore_gap_m / 2]]
    fixed = np.array(fixed, float)
    rng = np.random.default_rng(seed)
    xs = np.arange(0, big + h_min, h_min)
    ys = np.arange(0, big + h_min, h_min * np.sqrt(3) / 2)
    gx, gy = np.meshgrid(xs, ys)
    gx[1::2] += h_min / 2
    p = np.column_stack([gx.ravel(), gy.ravel()])
    p = p[fd(p) < -0.3 * h_min]
    h = fh(p)
    p = p[rng.random(len(p)) < (h.min() / h) ** 2]
    # boundary points at the local spacing, so the curved surfaces are resolved from the start
    curves = (
        [(big, (0.0, 0.0))] + ([(a, (0.0, 0.0))] if a > 0 else []) + ([(rp, (0.0, zp))] if rp > 0 else [])
    )
    extra = []
    for radius, (cr, cz) in curves:
        n = max(int(np.ceil(radius * np.pi / 2 / fh(np.array([[cr + radius, cz]]))[0])), 4)
        ang = np.linspace(-np.pi / 2 if cz > 0 else 0, np.pi / 2, 2 * n if cz > 0 else n)[1:-1]
        extra.append(np.column_stack([cr + radius * np.cos(ang), cz + radius * np.sin(ang)]))
    p = np.vstack([fixed, *extra, p])
    p = p[fd(p) < 1e-3 * h_min]
    _, keep = np.unique(np.round(p / (1e-3 * h_min)), axis=0, return_index=True)
    p = p[np.sort(keep)]
    p = np.vstack([fixed, p[np.all(np.abs(p[:, None] - fixed[None]).sum(-1) > 1e-3 * h_min, axis=1)]])
    nfix = len(fixed)
    eps = 1e-3 * h_min
    tri = None
    for _ in range(iterations):
        tri = Delaunay(p).simplices
        centroid = p[tri].mean(1)
        tri = tri[fd(centroid) < -1e-3 * h_min]
        bars = np.unique(np.sort(np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]), axis=1), axis=0)
        vec = p[bars[:, 0]] - p[bars[:, 1]]
        length = np.hypot(vec[:, 0], vec[:, 1])
        hb = fh((p[bars[:, 0]] + p[bars[:, 1]]) / 2)
        target = hb * 1.2 * np.sqrt((length**2).sum() / (hb**2).sum())
        force = np.maximum(target - length, 0) / length
        fvec = force[:, None] * vec
        total = np.zeros_like(p)
        np.add.at(total, bars[:, 0], fvec)
        np.add.at(total, bars[:, 1], -fvec)
        total[:nfix] = 0
        p = p + 0.2 * total
        d = fd(p)
        out = d > 0
        if out.any():
            q = p[out]
            dx = (fd(q + [eps, 0]) - d[out]) / eps
            dy = (fd(q + [0, eps]) - d[out]) / eps
            p[out] = q - (d[out] / (dx**2 + dy**2))[:, None] * np.column_stack([dx, dy])
        if np.abs(0.2 * total[d < -1e-3 * h_min]).max(initial=0) < 1e-3 * h_min:
            break
    p = np.maximum(p, 0.0)  # projection round-off on the axis and the symmetry plane
    tri = Delaunay(p).simplices
    tri = tri[fd(p[tri].mean(1)) < -1e-3 * h_min]
    # drop slivers left on the curved boundary and unused points
    e = p[tri]
    area = 0.5 * np.abs(
        (e[:, 1, 0] - e[:, 0, 0]) * (e[:, 2, 1] - e[:, 0, 1])
        - (e[:, 2, 0] - e[:, 0, 0]) * (e[:, 1, 1] - e[:, 0, 1])
    )
    tri = tri[area > 1e-4 * fh(e.mean(1)) ** 2]
    used = np.unique(tri)
    index = np.full(len(p), -1)
    index[used] = np.arange(used.size)
    return p[used], index[tri]


def solve_fem(
    params: ParticleParameters,
    c_rate: float,
    dod_pct: float = 20.0,
    *,
    pores: bool = True,
    n_t: int = 100,
    n_out: int = 5,
    h_max_m: float | None = None,
    h_min_m: float | None = None,
) -> xr.Dataset:
    """Axisymmetric finite-element discharge of the particle at ``c_rate`` to ``dod_pct`` % (equations
    in the module doc; the geometry of Liu et al. 2024, Fig. 5 and Supplementary Figs. 27–28).

    Parameters
    ----------
    params : ParticleParameters
        The particle (geometry, transport, elasticity).
    c_rate : float
        C-rate of the discharge (> 0).
    dod_pct : float
        Depth of discharge to reach (%, in (0, 100]).
    pores : bool
        Include the pore on the symmetry axis (else a sphere with a central void).
    n_t : int
        Implicit Euler time steps.
    n_out : int
        Number of times at which the fields are returned.
    h_max_m, h_min_m : float, optional
        Element sizes of :func:`particle_mesh` (m).

    Returns
    -------
    xarray.Dataset
        ``concentration_mol_m3``, ``hoop_pa``, ``radial_pa`` (spherical radial stress n·σ·n,
        n = (r, z)/ρ) and ``von_mises_pa`` on ``(time, node)`` at ``n_out`` times; the mesh
        (``node_r``, ``node_z`` in m, ``triangles``); per time ``dod_pct``, ``bridge_hoop_pa`` and
        ``bridge_von_mises_pa`` at bridge point A (or at the void's equator, or the centre, without
        pores) and ``surface_hoop_pa`` at the outer equator (R, 0).

    Raises
    ------
    ParameterError
        If the C-rate is not positive or ``dod_pct`` is outside (0, 100].
    FemError
        If scikit-fem is missing or the geometry cannot be meshed.

    Examples
    --------
    >>> from redoxmap.models.particle_params import liu2024_parameters
    >>> res = solve_fem(liu2024_parameters(), 10.0, 20.0, n_t=5, n_out=2, h_max_m=1.5e-6)
    >>> res.hoop_pa.dims, bool(res.bridge_hoop_pa[-1] > 1e8)  # tension at the bridge (Pa)
    (('time', 'node'), True)
    """
    try:
        from skfem import (
            Basis,
            BilinearForm,
            ElementTriP2,
            ElementVector,
            FacetBasis,
            LinearForm,
            MeshTri,
            condense,
            solve,
        )
        from skfem.helpers import dot, grad
    except ImportError as exc:  # pragma: no cover - scikit-fem is a declared dependency
        raise FemError(
            "solve_fem needs the package scikit-fem, which is not installed: expected "
            "`pip install 'scikit-fem>=12.0'`"
        ) from exc

    flux = surface_flux(params, c_rate)
    if c_rate < 0 or not 0 < dod_pct <= 100:
        raise ParameterError(
            f"c_rate = {c_rate!r}, dod_pct = {dod_pct!r}: expected a positive C-rate and a "
            "depth of discharge in (0, 100] %"
        )
    a, rp, zp = _geometry(params, pores)
    points, triangles = particle_mesh(params, pores=pores, h_max_m=h_max_m, h_min_m=h_min_m)
    scale = params.radius_m  # work in units of R for conditioning
    mesh = MeshTri(np.ascontiguousarray(points.T / scale), np.ascontiguousarray(triangles.T))
    big = 1.0
    candidates = mesh.boundary_facets()
    ends = np.hypot(*mesh.p[:, mesh.facets[:, candidates]])  # (2, n) endpoint radii
    outer = candidates[np.all(ends > big * (1 - 1e-6), axis=0)]
    basis = Basis(mesh, ElementTriP2())
    fbasis = FacetBasis(mesh, ElementTriP2(), facets=outer)
    vbasis = basis.with_element(ElementVector(ElementTriP2()))

    @BilinearForm
    def mass(u, v, w):
        return u * v * w.x[0]

    @BilinearForm
    def laplace(u, v, w):
        return dot(grad(u), grad(v)) * w.x[0]

    @LinearForm
    def boundary(v, w):
        return v * w.x[0]

    # diffusion in units of R: ∂c/∂t = (D/R²)Δc, flux N/R per unit (scaled) length
    m_mat = mass.assemble(basis)
    k_mat = laplace.assemble(basis) * params.diffusivity / scale**2
    f_vec = boundary.assemble(fbasis) * flux / scale
    duration = dod_pct / 100 * 3600.0 / c_rate
    dt = duration / n_t
    lu = splu((m_mat / dt + k_mat).tocsc())
    c0 = params.initial_fraction * params.c_max_mol_m3
    c = np.full(basis.N, c0)

    lam = (
        params.youngs_modulus_pa
        * params.poisson_ratio
        / ((1 + params.poisson_ratio) * (1 - 2 * params.poisson_ratio))
    )
    mu = params.youngs_modulus_pa / (2 * (1 + params.poisson_ratio))
    bulk3 = 3 * lam + 2 * mu

    def strains(u, r):
        g = u.grad
        return g[0, 0], g[1, 1], 0.5 * (g[0, 1] + g[1, 0]), u[0] / r

    @BilinearForm
    def elastic(u, v, w):
        r = w.x[0]
        err, ezz, erz, ett = strains(u, r)
        frr, fzz, frz, ftt = strains(v, r)
        tr_u, tr_v = err + ezz + ett, frr + fzz + ftt
        return (lam * tr_u * tr_v + 2 * mu * (err * frr + ezz * fzz + 2 * erz * frz + ett * ftt)) * r

    @LinearForm
    def eigen(v, w):
        r = w.x[0]
        frr, fzz, _, ftt = strains(v, r)
        return bulk3 * w.theta * (frr + fzz + ftt) * r

    k_el = elastic.assemble(vbasis)
    fixed = np.concatenate(
        [vbasis.get_dofs(lambda x: x[0] < 1e-9).all("u^1"), vbasis.get_dofs(lambda x: x[1] < 1e-9).all("u^2")]
    )

    probe_pts = np.array([[big, 0.0]])
    if rp > 0:
        bridge = (0.0, (a + params.pore_gap_m / 2) / scale)
    elif a > 0:
        bridge = (a / scale, 0.0)
    else:
        bridge = (0.0, 0.0)
    probe_pts = np.vstack([probe_pts, [bridge]])
    # probes need points inside the polygonal mesh: nudge onto the nearest vertex
    near = [int(np.argmin(np.hypot(*(mesh.p - q[:, None])))) for q in probe_pts]
    vertex_dofs = basis.nodal_dofs[0, near]

    out_steps = np.unique(np.linspace(0, n_t, n_out + 1).round().astype(int))[1:]
    records = {k: [] for k in ("c", "hoop", "radial", "vm")}
    times = []

    for step in range(1, n_t + 1):
        c = lu.solve(m_mat @ c / dt + f_vec)
        if step not in out_steps:
            continue
        theta = params.eigenstrain(c) - params.eigenstrain(np.full_like(c, c0))
        load = eigen.assemble(vbasis, theta=basis.interpolate(theta))
        u = solve(*condense(k_el, load, D=fixed))
        uf = vbasis.interpolate(u)
        x = np.asarray(vbasis.global_coordinates())
        err, ezz, erz, ett = strains(uf, x[0])
        th = np.asarray(basis.interpolate(theta))
        tr = err + ezz + ett - 3 * th
        s_rr = lam * tr + 2 * mu * (err - th)
        s_zz = lam * tr + 2 * mu * (ezz - th)
        s_rz = 2 * mu * erz
        s_tt = lam * tr + 2 * mu * (ett - th)
        rho = np.hypot(x[0], x[1])
        nr, nz = x[0] / rho, x[1] / rho
        s_sph = nr * nr * s_rr + nz * nz * s_zz + 2 * nr * nz * s_rz
        vm = np.sqrt(0.5 * ((s_rr - s_zz) ** 2 + (s_zz - s_tt) ** 2 + (s_tt - s_rr) ** 2) + 3 * s_rz**2)
        records["c"].append(c.copy())
        records["hoop"].append(basis.project(s_tt))
        records["radial"].append(basis.project(s_sph))
        records["vm"].append(basis.project(vm))
        times.append(step * dt)

    nv = mesh.nvertices
    hoop = np.array(records["hoop"])
    vm = np.array(records["vm"])
    time = np.array(times)
    ds = xr.Dataset(coords={"time": time})
    ds["node_r"] = ("node", mesh.p[0] * scale)
    ds["node_z"] = ("node", mesh.p[1] * scale)
    ds["triangles"] = (("triangle", "corner"), mesh.t.T)
    vertex = basis.nodal_dofs[0]
    ds["concentration_mol_m3"] = (("time", "node"), np.array(records["c"])[:, vertex])
    ds["hoop_pa"] = (("time", "node"), hoop[:, vertex])
    ds["radial_pa"] = (("time", "node"), np.array(records["radial"])[:, vertex])
    ds["von_mises_pa"] = (("time", "node"), vm[:, vertex])
    ds["dod_pct"] = ("time", 100 * time * c_rate / 3600.0)
    ds["surface_hoop_pa"] = ("time", hoop[:, vertex_dofs[0]])
    ds["bridge_hoop_pa"] = ("time", hoop[:, vertex_dofs[1]])
    ds["bridge_von_mises_pa"] = ("time", vm[:, vertex_dofs[1]])
    hist = with_history(
        {},
        "solve_fem",
        c_rate=c_rate,
        dod_pct=dod_pct,
        pores=pores,
        n_t=n_t,
        n_vertices=nv,
        n_triangles=mesh.nelements,
    )
    ds.attrs = {
        "c_rate": float(c_rate),
        "c_max_mol_m3": params.c_max_mol_m3,
        "bridge_r_m": float(mesh.p[0, near[1]] * scale),
        "bridge_z_m": float(mesh.p[1, near[1]] * scale),
        "history": "; ".join(hist["history"]),
    }
    return ds
