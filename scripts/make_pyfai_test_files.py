"""Write the pyFAI-integrated test patterns of tests/data/xrd/ with pyFAI itself (not a redoxmap dependency).

A 400 × 400 detector (100 µm pixels) 0.1 m from the sample, beam at its centre, λ = 0.7293 Å; the image
is 10 counts plus Gaussian rings (σ 0.1°) at 2θ = 8° (1000) and 12° (500); ``integrate1d`` with 120 bins
writes one file per unit (2th_deg, q_nm^-1, q_A^-1). Run in a throwaway venv, in tests/data/xrd:

    python -m venv /tmp/pyfai && /tmp/pyfai/bin/pip install "pyFAI==2023.9.0"   # tag pyfai2023, with errors
    /tmp/pyfai/bin/python ../../../scripts/make_pyfai_test_files.py pyfai2023 1
    # pyFAI 2026.9.0: tag pyfai2026 without errors, pyfai2026err with errors (its column line names no unit)
"""

import sys

import numpy as np
import pyFAI
from pyFAI.detectors import Detector

try:
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator
except ImportError:  # pyFAI before 2024
    from pyFAI.azimuthalIntegrator import AzimuthalIntegrator


def main(tag: str, with_errors: bool) -> None:
    detector = Detector(pixel1=1e-4, pixel2=1e-4, max_shape=(400, 400))
    ai = AzimuthalIntegrator(dist=0.1, poni1=0.02, poni2=0.02, detector=detector, wavelength=0.7293e-10)
    two_theta = np.degrees(ai.twoThetaArray((400, 400)))
    image = (10.0 + 1000 * np.exp(-0.5 * ((two_theta - 8.0) / 0.1) ** 2)
             + 500 * np.exp(-0.5 * ((two_theta - 12.0) / 0.1) ** 2))
    for unit in ("2th_deg", "q_nm^-1", "q_A^-1"):
        extra = {"error_model": "poisson"} if with_errors else {}
        ai.integrate1d(image, 120, unit=unit, filename=f"{tag}_{unit.replace('^-1', 'inv')}.dat", **extra)
    print(f"pyFAI {pyFAI.version}: wrote {tag}_*.dat")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "1")
