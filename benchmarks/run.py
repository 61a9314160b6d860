"""babygrad's speed against hand-written NumPy (the floor) and PyTorch CPU, as ratios, in one run.

    python benchmarks/run.py            # everything, with a table of ratios, targets and PASS/MISS
    python benchmarks/run.py ops mlp    # only some cases: ops, mlp, train, chain, large

It exits with status 1 when a ratio misses its target, 2 for an unknown case.

Cases:
  ops    per-op overhead: a chain of 2,000 small ops (8x8 float32), forward and backward, time per op
  mlp    one epoch of an MLP 64-128-10 (ReLU, softmax cross-entropy from core ops, plain SGD) on
         scikit-learn's digits in batches of 64
  train  training with the public API (nn.Sequential of Linear, ReLU, Linear; CrossEntropyLoss; SGD with
         momentum; batches of 32): the time of an epoch in steady state, epoch after epoch of one training run
         with the garbage collector on, against the same network, weights and batches in PyTorch
  chain  backward through a 1,000,000-op chain (x * 1.0001 + 0.5, over and over): time, and peak memory against
         the forward graph's (growth of peak resident size, each engine in its own subprocess)
  large  a chain of 1024x1024 float32 matmuls, forward and backward, where BLAS does the work

Optional: torch (its columns are skipped without it), scikit-learn (digits for `mlp`; random data of the same
shape without it), threadpoolctl (names the BLAS kernel and thread count). Each time is the median of several
repeats, the engines taking turns; a ratio is the median over rounds of babygrad's time divided by the other's
in the same round, so smaller is better for babygrad.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, when set, slow down a current NumPy's OpenBLAS: this script re-executes
itself without them (in the benchmark only; nothing else changes them).
"""
import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SLOWING_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in SLOWING_BLAS_VARIABLES):  # before NumPy loads OpenBLAS
    env = {key: value for key, value in os.environ.items() if key not in SLOWING_BLAS_VARIABLES}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import babygrad  # noqa: E402
from babygrad import Tensor, no_grad  # noqa: E402

try:
    import torch
except ImportError:
    torch = None


def blas_info():
    """(description of NumPy's BLAS, its thread count), from threadpoolctl when installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)", os.cpu_count() or 1
    for pool in threadpool_info():
        if pool["user_api"] == "blas" and "numpy" in pool["filepath"]:
            kernel = pool.get("architecture") or "?"
            return f"{pool['internal_api']} {pool.get('version')} kernel {kernel}, {pool['num_threads']} threads", \
                pool["num_threads"]
    return "not found by threadpoolctl", os.cpu_count() or 1


def interleaved(runs, repeats):
    """{engine: [what its run returned, once per round]}, the engines taking turns: a slow spell of a noisy
    machine then falls on every engine alike, not on whichever happened to run during it. Each round starts with
    the next engine (ABC, BCA, CAB, ...), so that no engine always runs right after the same other one: on this
    kind of machine, the same code measured 3-5% slower in one seat than in another."""
    for run in runs.values():
        run()  # warm up
    names = list(runs)
    results = {name: [] for name in names}
    for round_number in range(repeats):
        start = round_number % len(names)
        for name in names[start:] + names[:start]:
            gc.collect()
            results[name].append(runs[name]())
    return results


def ratio(mine, theirs):
    """The median over rounds of mine / theirs: both ran in the same round, so a slow spell of the machine
    divides out (a ratio of the two medians would mix spells)."""
    return statistics.median(a / b for a, b in zip(mine, theirs))


def elapsed(function, prepare=tuple):
    """A run that returns how many seconds `function(*prepare())` took: what `prepare` makes is not timed."""
    def run():
        arguments = prepare()
        start = time.perf_counter()
        function(*arguments)
        return time.perf_counter() - start
    return run


# ---------------------------------------------------------------------------------------------- per-op overhead
OPS_LENGTH = 3000
OPS_SHAPE = (8, 8)


def ops_case(repeats=31):
    """{engine: {"forward": [seconds per op, one per round], "backward": [...]}} for a chain of small ops; NumPy
    does the same arithmetic by hand."""
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0.5, 1.5, OPS_SHAPE).astype(np.float32)
    c0 = rng.uniform(0.9, 1.1, OPS_SHAPE).astype(np.float32)

    # The chain cycles through the kinds of operation a first training loop uses: tensor-tensor (mul, add),
    # tensor-number (mul by 0.5), relu, exp, log. Each one's backward is one operation, so the time per op is the
    # overhead of the engine, not the length of a formula (tanh's gradient, 1 - y*y, takes babygrad three).
    def chain(x, c):
        y = x
        for _ in range(OPS_LENGTH // 6):
            y = y * c
            y = y + c
            y = y * 0.5
            y = y.relu()
            y = y.exp()
            y = y.log()
        return y

    results = {}

    def babygrad_run():
        x = Tensor(x0)
        c = Tensor(c0, requires_grad=False)
        start = time.perf_counter()
        y = chain(x, c)
        middle = time.perf_counter()
        y.backward()
        end = time.perf_counter()
        return middle - start, end - middle

    def numpy_run():
        x, c = x0, c0
        start = time.perf_counter()
        saved = []
        y = x
        for _ in range(OPS_LENGTH // 6):
            a = y * c
            b = a + c
            d = b * 0.5
            r = np.maximum(d, 0)
            e = np.exp(r)
            y = np.log(e)
            saved.append((d, e))
        middle = time.perf_counter()
        g = np.ones_like(y)
        for d, e in reversed(saved):
            g = g / e
            g = g * e
            g = g * (d > 0)
            g = g * 0.5
            g = g * c
        end = time.perf_counter()
        return middle - start, end - middle

    def torch_run():
        x = torch.tensor(x0, requires_grad=True)
        c = torch.tensor(c0)
        start = time.perf_counter()
        y = chain(x, c)
        middle = time.perf_counter()
        y.backward(torch.ones_like(y))
        end = time.perf_counter()
        return middle - start, end - middle

    engines = {"babygrad": babygrad_run, "numpy": numpy_run}
    if torch is not None:
        engines["torch"] = torch_run
    for name, pairs in interleaved(engines, repeats).items():
        results[name] = {"forward": [p[0] / OPS_LENGTH for p in pairs], "backward": [p[1] / OPS_LENGTH for p in pairs]}
    return results


# ---------------------------------------------------------------------------------------------- MLP epoch
BATCH = 64
LEARNING_RATE = 0.1


def digits():
    """(inputs float32 (n, 64) in [0, 1], one-hot labels float32 (n, 10)): the training part of sklearn's digits."""
    try:
        from sklearn.datasets import load_digits
        data = load_digits()
        x, labels = data.data / 16.0, data.target
        source = "scikit-learn digits"
    except ImportError:
        rng = np.random.default_rng(0)
        x, labels = rng.uniform(0, 1, (1797, 64)), rng.integers(0, 10, 1797)
        source = "random data shaped like digits (scikit-learn not installed)"
    train = int(len(x) * 0.8)
    onehot = np.eye(10)[labels]
    return x[:train].astype(np.float32), onehot[:train].astype(np.float32), source


def initial_parameters():
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(64, 128)) / 8).astype(np.float32), np.zeros(128, np.float32),
            (rng.normal(size=(128, 10)) / np.sqrt(128)).astype(np.float32), np.zeros(10, np.float32)]


def batches(x, y):
    return [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]


def babygrad_epoch(params, data):
    w1, b1, w2, b2 = params
    for xb, yb in data:
        x = Tensor(xb, requires_grad=False)
        onehot = Tensor(yb, requires_grad=False)
        hidden = (x @ w1 + b1).relu()
        logits = hidden @ w2 + b2
        # softmax cross-entropy with core ops: log(sum(exp(logits))) - logit of the right class, averaged
        loss = (logits.exp().sum(1).log() - (logits * onehot).sum(1)).sum() / len(xb)
        loss.backward()
        with no_grad():
            for p in params:
                p.data -= LEARNING_RATE * p.grad.data
    return loss.item()


def numpy_epoch(params, data):
    w1, b1, w2, b2 = params
    for xb, yb in data:
        n = len(xb)
        pre = xb @ w1 + b1
        hidden = np.maximum(pre, 0)
        logits = hidden @ w2 + b2
        e = np.exp(logits)
        s = e.sum(1)
        loss = (np.log(s) - (logits * yb).sum(1)).sum() / n
        g_logits = (e / s[:, None] - yb) / n
        g_w2 = hidden.T @ g_logits
        g_b2 = g_logits.sum(0)
        g_hidden = g_logits @ w2.T
        g_pre = g_hidden * (pre > 0)
        g_w1 = xb.T @ g_pre
        g_b1 = g_pre.sum(0)
        for p, g in zip(params, (g_w1, g_b1, g_w2, g_b2)):
            p -= LEARNING_RATE * g
    return float(loss)


def torch_epoch(params, data):
    w1, b1, w2, b2 = params
    for xb, yb in data:
        hidden = (xb @ w1 + b1).relu()
        logits = hidden @ w2 + b2
        loss = (logits.exp().sum(1).log() - (logits * yb).sum(1)).sum() / len(xb)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
    return loss.item()


def mlp_case(repeats=21):
    x, y, source = digits()
    data = batches(x, y)
    results = {"source": source, "batches": len(data)}
    # Each epoch starts from fresh parameters, made outside the timing: drawing them is not part of training.
    runs = {"babygrad": elapsed(babygrad_epoch, lambda: ([Tensor(p) for p in initial_parameters()], data)),
            "numpy": elapsed(numpy_epoch, lambda: (initial_parameters(), data))}
    if torch is not None:
        torch_data = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in data]
        runs["torch"] = elapsed(
            torch_epoch, lambda: ([torch.tensor(p, requires_grad=True) for p in initial_parameters()], torch_data))
    results.update(interleaved(runs, repeats))  # {engine: [seconds per epoch, one per round]}
    # The three engines train the same model on the same batches: their losses after one epoch agree.
    losses = {"babygrad": babygrad_epoch([Tensor(p) for p in initial_parameters()], data),
              "numpy": numpy_epoch(initial_parameters(), data)}
    if torch is not None:
        losses["torch"] = torch_epoch([torch.tensor(p, requires_grad=True) for p in initial_parameters()], torch_data)
    results["losses"] = losses
    return results


# ---------------------------------------------------------------------------------------------- training epochs
TRAIN_BATCH = 32
TRAIN_EPOCHS = 30
WARMUP_EPOCHS = 3


def epoch_batches(epochs):
    """The shuffled batches of every epoch, as babygrad's DataLoader draws them from a seed: (source, [[(x, y)]])."""
    from babygrad.data import DataLoader
    x, onehot, source = digits()
    loader = DataLoader((x, onehot.argmax(axis=1)), batch_size=TRAIN_BATCH, shuffle=True, seed=0)
    return source, [list(loader) for _ in range(epochs)]


def babygrad_trainer():
    rng = np.random.default_rng(1)
    model = babygrad.nn.Sequential(babygrad.nn.Linear(64, 128, rng=rng), babygrad.nn.ReLU(),
                                   babygrad.nn.Linear(128, 10, rng=rng))
    loss_fn = babygrad.nn.CrossEntropyLoss()
    optimizer = babygrad.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def epoch(batches):
        for x, y in batches:
            loss = loss_fn(model(Tensor(x, requires_grad=False)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()
    return model, epoch


def torch_trainer(state):
    """The same network as babygrad's, starting from its weights (`state`: its state_dict; the layouts agree)."""
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    model.load_state_dict({name.replace("layers.", ""): torch.from_numpy(array) for name, array in state.items()})
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def epoch(batches):
        for x, y in batches:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()
    return epoch


def train_case():
    """{engine: [seconds per epoch]} after the warm-up epochs, and each engine's loss after the last epoch."""
    source, epochs = epoch_batches(WARMUP_EPOCHS + TRAIN_EPOCHS)
    model, babygrad_epoch_of = babygrad_trainer()
    engines = {"babygrad": (babygrad_epoch_of, epochs)}
    if torch is not None:
        torch_epochs = [[(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches] for batches in epochs]
        engines["torch"] = (torch_trainer(model.state_dict()), torch_epochs)
    results = {"source": source, "batches": len(epochs[0]), **{name: [] for name in engines}, "losses": {}}
    names = list(engines)
    # PyTorch runs on one thread here, as babygrad does: a batch of 32 gives its threads nothing to share, and on a
    # busy machine a second thread that waits for a core made PyTorch's epoch 20 times slower, not faster.
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    # One training run per engine, epoch after epoch, the engines taking turns (starting with the other one each
    # round). The garbage collector stays on, as in a real run: its full collections belong to the cost.
    for number in range(WARMUP_EPOCHS + TRAIN_EPOCHS):
        for name in names[number % len(names):] + names[:number % len(names)]:
            train_epoch, batches = engines[name]
            start = time.perf_counter()
            results["losses"][name] = train_epoch(batches[number])
            if number >= WARMUP_EPOCHS:
                results[name].append(time.perf_counter() - start)
    if torch is not None:
        torch.set_num_threads(threads)
    return results


# ---------------------------------------------------------------------------------------------- 1M-op chain
CHAIN_LENGTH = 1_000_000


def max_rss():
    """The most memory (bytes) this process has held so far: its peak resident set size."""
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux kilobytes


def chain_child(engine, length):
    """In a subprocess: build the chain, then backward; report times and memory (bytes).

    Memory is the peak resident size's growth (getrusage), which counts NumPy's and PyTorch's own allocations
    alike: `graph` is the growth while building the forward graph (it only grows), `peak` the growth by the end
    of backward, both from the same starting point. tracemalloc would miss PyTorch's C++ allocations and slow
    Python down several times."""
    x0 = np.ones(4, np.float32)
    if engine == "torch":
        x = torch.tensor(x0, requires_grad=True)
        (x * 1.0).sum().backward()  # load what backward needs before measuring
    else:
        x = Tensor(x0)
        (x * 1.0).sum().backward()
    base = max_rss()
    start = time.perf_counter()
    y = x
    for _ in range(length // 2):
        y = y * 1.0001
        y = y + 0.5
    forward_time = time.perf_counter() - start
    graph = max_rss() - base
    start = time.perf_counter()
    if engine == "torch":
        y.backward(torch.ones_like(y))
        ok = bool(torch.isfinite(x.grad).all())
    else:
        y.backward()
        ok = bool(np.isfinite(x.grad.data).all())
    backward_time = time.perf_counter() - start
    peak = max_rss() - base
    print(json.dumps({"forward": forward_time, "backward": backward_time, "graph": graph, "peak": peak, "ok": ok}))


def chain_case():
    results = {}
    for engine in ["babygrad"] + (["torch"] if torch is not None else []):
        done = subprocess.run([sys.executable, __file__, "--chain-child", engine, str(CHAIN_LENGTH)],
                              capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            results[engine] = {"error": done.stderr.strip().splitlines()[-1:]}
        else:
            results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


# ---------------------------------------------------------------------------------------------- large tensors
LARGE = 1024
LAYERS = 3


def large_case(repeats=7):
    rng = np.random.default_rng(2)
    x0 = rng.normal(size=(LARGE, LARGE)).astype(np.float32) / 32
    ws0 = [rng.normal(size=(LARGE, LARGE)).astype(np.float32) / 32 for _ in range(LAYERS)]

    def babygrad_step():
        x = Tensor(x0, requires_grad=False)
        ws = [Tensor(w) for w in ws0]
        y = x
        for w in ws:
            y = y @ w
        y.sum().backward()
        return ws[0].grad.data

    def numpy_step():
        hs = [x0]
        for w in ws0:
            hs.append(hs[-1] @ w)
        g = np.ones_like(hs[-1])
        grads = []
        for k in range(LAYERS - 1, -1, -1):
            grads.append(hs[k].T @ g)
            if k > 0:
                g = g @ ws0[k].T
        return grads[-1]

    def torch_step():
        x = torch.from_numpy(x0)
        ws = [torch.tensor(w, requires_grad=True) for w in ws0]
        y = x
        for w in ws:
            y = y @ w
        y.sum().backward()
        return ws[0].grad.numpy()

    assert np.allclose(babygrad_step(), numpy_step(), rtol=1e-3, atol=1e-4)
    runs = {"babygrad": elapsed(babygrad_step), "numpy": elapsed(numpy_step)}
    if torch is not None:
        runs["torch"] = elapsed(torch_step)
    return interleaved(runs, repeats)  # {engine: [seconds, one per round]}


# ---------------------------------------------------------------------------------------------- report
def verdict(value, target):
    return "PASS" if value <= target else "MISS"


CASES = ("ops", "mlp", "train", "chain", "large")


def main(cases):
    """Run `cases`, print the table; the number of ratios that missed their target."""
    kernel, threads = blas_info()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"numpy {np.__version__}, BLAS: {kernel}; "
          + (f"torch {torch.__version__} with {torch.get_num_threads()} threads" if torch else "torch not installed"))
    rows = []  # (case, measure, ratio, target)
    if "ops" in cases:
        r = ops_case()
        print(f"\nper op, {OPS_LENGTH} ops on {OPS_SHAPE} float32 (microseconds):")
        for name, t in r.items():
            print(f"  {name:9} forward {statistics.median(t['forward']) * 1e6:6.2f}  "
                  f"backward {statistics.median(t['backward']) * 1e6:6.2f}")
        for direction in ("forward", "backward"):
            mine = r["babygrad"][direction]
            if "torch" in r:
                rows.append((f"per op {direction}", "vs torch", ratio(mine, r["torch"][direction]), 0.7))
            rows.append((f"per op {direction}", "vs numpy", ratio(mine, r["numpy"][direction]), None))
    if "mlp" in cases:
        r = mlp_case()
        print(f"\nMLP epoch ({r['source']}, {r['batches']} batches of {BATCH}) (milliseconds):")
        for name in ("babygrad", "numpy", "torch"):
            if name in r:
                print(f"  {name:9} {statistics.median(r[name]) * 1e3:7.2f}   "
                      f"loss after one epoch {r['losses'][name]:.4f}")
        if "torch" in r:
            rows.append(("MLP epoch", "vs torch", ratio(r["babygrad"], r["torch"]), 0.7))
        rows.append(("MLP epoch", "vs numpy", ratio(r["babygrad"], r["numpy"]), 2.5))
    if "train" in cases:
        r = train_case()
        print(f"\ntraining epoch ({r['source']}, {r['batches']} batches of {TRAIN_BATCH}, SGD with momentum, "
              f"{TRAIN_EPOCHS} epochs after {WARMUP_EPOCHS} of warm-up, PyTorch on one thread) (milliseconds):")
        for name in ("babygrad", "torch"):
            if name in r:
                print(f"  {name:9} {statistics.median(r[name]) * 1e3:7.2f}   "
                      f"loss after the last epoch {r['losses'][name]:.4f}")
        if "torch" in r:
            rows.append(("training epoch", "vs torch", ratio(r["babygrad"], r["torch"]), 0.7))
    if "chain" in cases:
        r = chain_case()
        print(f"\n{CHAIN_LENGTH:,}-op chain on 4 float32 numbers (seconds; MB of peak resident size growth):")
        for name, t in r.items():
            if "error" in t:
                print(f"  {name:9} failed: {t['error']}")
                continue
            print(f"  {name:9} forward {t['forward']:6.2f}  backward {t['backward']:6.2f}  "
                  f"graph {t['graph'] / 1e6:7.1f}  peak in backward {t['peak'] / 1e6:7.1f}  finite grad {t['ok']}")
        b = r["babygrad"]
        if "error" in b:
            rows.append(("1M chain backward", "completes", float("inf"), 1.0))
        else:
            rows.append(("1M chain backward", "peak / graph", b["peak"] / b["graph"], 2.0))
            if "torch" in r and "error" not in r["torch"]:
                rows.append(("1M chain backward", "time vs torch", b["backward"] / r["torch"]["backward"], None))
    if "large" in cases:
        r = large_case()
        print(f"\n{LAYERS} matmuls of {LARGE}x{LARGE} float32, forward + backward (milliseconds):")
        for name, times in r.items():
            print(f"  {name:9} {statistics.median(times) * 1e3:7.1f}")
        rows.append(("large matmul chain", "vs numpy", ratio(r["babygrad"], r["numpy"]), 1.1))
        if "torch" in r:
            rows.append(("large matmul chain", "vs torch", ratio(r["babygrad"], r["torch"]), None))
    print(f"\n{'case':22} {'ratio':15} {'babygrad':>9} {'target':>7}")
    for case, measure, value, target in rows:
        mark = f"{'<= ' + format(target, 'g'):>7} {verdict(value, target)}" if target else f"{'':>7}"
        print(f"{case:22} {measure:15} {value:9.2f} {mark}")
    return sum(1 for _, _, value, target in rows if target and verdict(value, target) == "MISS")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Cases: " + ", ".join(CASES))
    parser.add_argument("cases", nargs="*", metavar="case", help="the cases to run (default: all of them)")
    arguments = parser.parse_args(argv)
    unknown = [case for case in arguments.cases if case not in CASES]
    if unknown:
        parser.error(f"unknown case {', '.join(map(repr, unknown))}; the cases are {', '.join(CASES)}")
    return arguments.cases or list(CASES)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--chain-child"]:
        chain_child(sys.argv[2], int(sys.argv[3]))
    else:
        missed = main(parse_arguments(sys.argv[1:]))
        sys.exit(1 if missed else 0)
