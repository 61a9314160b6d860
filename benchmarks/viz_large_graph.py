"""How long `babygrad.viz.draw` takes on a 2,000-tensor graph, with each layout program present.

    python benchmarks/viz_large_graph.py

Prints draw time (building the DOT text) and render time (running the layout program to SVG) for two
graph shapes: a 2,000-long chain and a running sum of 500 products (1,999 tensors, wide and deep),
with the defaults (cap of max_nodes tensors, repeated chains collapsed), with the cap only, and with
everything drawn. The goal: default draw + render under 3 seconds with each engine.
"""
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from babygrad import Tensor
from babygrad import viz


class _Op:
    """Just enough of an op for drawing: a class name, parameters, `_inputs`."""
    def __call__(self, *inputs):
        out = Tensor(self.forward(*[t.data for t in inputs]))
        out._op, out._inputs = self, inputs
        return out


class AddScalar(_Op):
    def __init__(self, scalar):
        self.scalar = scalar

    def forward(self, a):
        return a + self.scalar


class Add(_Op):
    def forward(self, a, b):
        return a + b


class Mul(_Op):
    def forward(self, a, b):
        return a * b


def chain(n=2000):
    t = Tensor([0.0])
    for _ in range(n - 1):
        t = AddScalar(1.0)(t)
    return t


def running_sum(pairs=500):
    rng = np.random.default_rng(0)
    total = Mul()(Tensor(rng.normal(size=2)), Tensor(rng.normal(size=2)))
    for _ in range(pairs - 1):
        total = Add()(total, Mul()(Tensor(rng.normal(size=2)), Tensor(rng.normal(size=2))))
    return total


def engines():
    found = {"dot": shutil.which("dot"),
             "graphviz-pure": shutil.which("graphviz-pure")
             or shutil.which("graphviz-pure", path=str(Path(sys.executable).parent))}
    return {name: path for name, path in found.items() if path}


def measure(root, max_nodes, collapse):
    start = time.perf_counter()
    drawing = viz.draw(root, max_nodes=max_nodes, collapse_chains=collapse)
    drawn = time.perf_counter()
    svg = drawing.svg()
    rendered = time.perf_counter()
    return drawn - start, rendered - drawn, len(svg)


def main():
    graphs = {"chain of 2000": chain(), "running sum, 1999 tensors": running_sum()}
    available = engines()
    if not available:
        print("no layout program found:", viz.ENGINE_HELP)
        return 1
    print(f"{'engine':<14} {'graph':<27} {'max_nodes':>9} {'collapse':>8} {'draw s':>8} {'render s':>9} "
          f"{'total s':>8} {'SVG kB':>7}")
    for name, path in available.items():
        os.environ["BABYGRAD_DOT"] = path
        for label, root in graphs.items():
            for max_nodes, collapse in ((viz.DEFAULT_MAX_NODES, True), (viz.DEFAULT_MAX_NODES, False),
                                        (None, False)):
                try:
                    d, r, size = measure(root, max_nodes, collapse)
                except RuntimeError as error:           # e.g. the layout timed out
                    print(f"{name:<14} {label:<27} {str(max_nodes):>9} {str(collapse):>8}  failed: {error}")
                    continue
                print(f"{name:<14} {label:<27} {str(max_nodes):>9} {str(collapse):>8} {d:8.3f} {r:9.3f} "
                      f"{d + r:8.3f} {size / 1000:7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
