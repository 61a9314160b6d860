"""Backpropagation one node at a time, as pictures: for showing in class what `backward()` does.

    stepper = BackwardStepper(loss, names=dict(x=x, W=W))
    stepper                          # in JupyterLab: Prev / Next buttons and a slider over the frames
    stepper.save_frames("slides/")   # frame_00.svg, frame_01.svg, ... (and .png) for slides

Each frame shows the graph with the node being processed outlined in red, the gradient that flowed
along each edge so far (red: sent in this step), and the ledger: the gradients waiting for each node
until every node that uses it has sent its share.

The stepper computes no gradient itself: it runs the library's own `Tensor.backward` once, notes what each
operation's `backward(out_grad, node)` was given and gave back, and lays those calls out in the order of
`babygrad.backprop.build_topo`, reversed (both looked up when the stepper runs, so a notebook's newest
`build_topo` and `backward` are the ones shown). Every `tensor.grad` is left as it was. In a student's package
it shows the student's own backward pass, and while chapter 4 is unfinished it says so instead.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from babygrad import backprop
from babygrad.tensor import Tensor
from babygrad.viz import (DEFAULT_MAX_NODES, MAX_VALUES, ChapterNotFinished, _format_array, _normalise_names, build,
                          find_engine, fit, nodes_nearest_first, scrolling, unfinished)

BACKPROP = "chapter 4 (04_backprop/backprop.ipynb)"
GRADIENTS = "chapter 3 (03_gradients/gradients.ipynb)"

__all__ = ["BackwardStepper"]


@dataclass
class Frame:
    """What one picture shows."""
    title: str
    current: object = None                            # the tensor being processed, or None
    grads: dict = field(default_factory=dict)         # id -> total gradient, for nodes already processed
    pending: dict = field(default_factory=dict)       # id -> [(from, gradient), ...] waiting in the ledger
    edges: dict = field(default_factory=dict)         # (id(input), id(output), position) -> gradient text
    new_edges: set = field(default_factory=set)       # the edges that got their gradient in this step


def _as_array(grad):
    return np.asarray(grad.data if isinstance(grad, Tensor) else grad)


def _short(array):
    return _format_array(array) if array.size <= MAX_VALUES else f"array{tuple(array.shape)}"


class BackwardStepper:
    """Runs backpropagation from `output` and keeps one Frame per step (see the module docstring).

    grad: the gradient to start with (default: ones, i.e. d output / d output)
    names: dict name -> Tensor; unnamed tensors get short names t1, t2, ... so the ledger can refer
        to them. Other arguments are those of `babygrad.viz.draw`."""

    def __init__(self, output, grad=None, names=None, rankdir="LR", show_values=True,
                 max_nodes=DEFAULT_MAX_NODES):
        self.output = output
        self.rankdir, self.show_values, self.max_nodes = rankdir, show_values, max_nodes
        try:
            self.order = backprop.build_topo(output)[::-1]   # Tensor.backward's order: the output first
        except NotImplementedError as error:
            raise unfinished(error, "BackwardStepper", BACKPROP) from error
        self.name = _normalise_names(names)               # id -> name, as `draw` reads `names`
        counter = 0
        for t in nodes_nearest_first(output):           # constants too: every box in a frame gets a name
            if id(t) not in self.name:
                counter += 1
                self.name[id(t)] = "out" if t is output else f"t{counter}"
        start = np.ones_like(output.data) if grad is None else _as_array(grad)
        self.grads = {}          # id -> final gradient, as Tensor.backward left it
        self.frames = self._walk(start, *self._record(grad))
        self._svg_cache = {}
        self._layout = None      # the rankdir every frame is shown with, chosen when the first one is

    # --- what Tensor.backward did ---------------------------------------------------------------------
    def _record(self, grad):
        """Run `output.backward(grad)`, noting each op's backward call. Returns (calls, grads): for each tensor's
        id, the list of (out_grad, input gradients) its op's backward got and gave, and the grad backward left.
        Every tensor's `.grad` is put back as it was."""
        graph = nodes_nearest_first(self.output)
        saved = [(t, t.grad) for t in graph]
        classes = {type(t._op) for t in graph if t._op is not None}
        rules = {cls: cls.backward for cls in classes}              # taken before any is replaced
        own = {cls: cls.__dict__.get("backward") for cls in classes}
        calls = {}

        def noting(cls):
            def backward(op, out_grad, node):
                try:
                    given = rules[cls](op, out_grad, node)
                except ChapterNotFinished:
                    raise
                except NotImplementedError as error:
                    raise unfinished(error, "BackwardStepper", GRADIENTS, f"{cls.__name__}.backward") from error
                calls.setdefault(id(node), []).append((out_grad, given))
                return given
            return backward

        try:
            for t in graph:
                t.grad = None                   # a backward that adds to .grad starts from nothing too
            for cls in classes:
                cls.backward = noting(cls)
            self.output.backward(grad)
            grads = {id(t): t.grad for t in graph}
        except ChapterNotFinished:
            raise
        except NotImplementedError as error:
            raise unfinished(error, "BackwardStepper", BACKPROP) from error
        finally:
            for cls in classes:
                if own[cls] is None:
                    del cls.backward            # it was inherited: inherit it again
                else:
                    cls.backward = own[cls]
            for t, g in saved:
                t.grad = g
        return calls, grads

    def _walk(self, start, calls, grads):
        """The frames: the nodes in backward's order, each with the gradients its op's backward sent on."""
        pending = {id(self.output): [("start", start)]}
        edges, frames = {}, []
        frames.append(self._frame("Start: the gradient of the output with respect to itself is 1. "
                                  "It goes into the ledger.", None, pending, edges, set()))
        for node in self.order:
            arriving = pending.pop(id(node), [])
            if not arriving:
                continue                              # nothing depends on it through a differentiable path
            me = self.name[id(node)]
            made = calls.get(id(node), [])
            if node._op is not None and not made:
                frames.append(self._frame(f"processing {me}: backward never called its op's backward.", node,
                                          pending, edges, set()))
                continue
            out_grad, in_grads = made.pop(0) if node._op is not None else (grads.get(id(node)), ())
            if out_grad is None:
                frames.append(self._frame(f"processing {me}: backward left its grad None.", node, pending, edges,
                                          set()))
                continue
            self.grads[id(node)] = _as_array(out_grad)
            added = f" = sum of {len(arriving)} contributions" if len(arriving) > 1 else ""
            if node._op is None:
                frames.append(self._frame(f"processing {me}, a leaf: its grad is final{added}.", node, pending, edges,
                                          set()))
                continue
            if not isinstance(in_grads, (tuple, list)):
                in_grads = (in_grads,)
            new_edges = set()
            sent_to = []
            for position, (parent, g) in enumerate(zip(node._inputs, in_grads)):
                if not parent.requires_grad or g is None:
                    continue
                g = _as_array(g)
                pending.setdefault(id(parent), []).append((me, g))
                key = (id(parent), id(node), position)
                edges[key] = self._text(g)
                new_edges.add(key)
                sent_to.append(self.name[id(parent)])
            op = type(node._op).__name__
            frames.append(self._frame(f"processing {me}: its grad is complete{added}. {op}.backward sends gradients to "
                                      f"{', '.join(sent_to) or 'nobody'}.", node, pending, edges, new_edges))
        frames.append(self._frame("Done: every tensor that requires grad has its gradient.",
                                  None, pending, edges, set()))
        return frames

    def _frame(self, title, current, pending, edges, new_edges):
        return Frame(title, current, dict(self.grads),
                     {k: list(v) for k, v in pending.items()}, dict(edges), set(new_edges))

    # --- pictures ------------------------------------------------------------------------------------
    def _text(self, grad):
        """A gradient as written on an edge or in the ledger: its numbers, or its shape."""
        return _short(grad) if self.show_values else str(tuple(grad.shape))

    def __len__(self):
        return len(self.frames)

    def ledger_lines(self, i, title=True):
        """The ledger box's text; `title` puts the step's description first (the widget shows it above)."""
        frame = self.frames[i]
        lines = [f"Step {i}/{len(self.frames) - 1}: {frame.title}", ""] if title else []
        lines.append("Ledger (gradients waiting):")
        if not frame.pending:
            lines.append("  (empty)")
        for tid, items in frame.pending.items():
            parts = [f"{self._text(g)} from {src}" for src, g in items]
            lines.append(f"  {self.name[tid]}: " + " + ".join(parts))
        return lines

    def frame(self, i, title=True, rankdir=None):
        """Frame `i` as a Drawing (shows itself in Jupyter; `.svg()`, `.save_as(path)`).

        The ledger box is the one place the waiting gradients are written; `title=False` leaves the step's
        description out of it, for the widget, which shows it above the picture."""
        frame = self.frames[i]
        labels = {key: (text, key in frame.new_edges) for key, text in frame.edges.items()}
        names = {self.name[id(t)]: t for t in nodes_nearest_first(self.output)}
        done = set(frame.grads) - ({id(frame.current)} if frame.current is not None else set())
        return build(self.output, names=names, rankdir=rankdir or self.rankdir, show_values=self.show_values,
                     max_nodes=self.max_nodes, grads=frame.grads, highlight=frame.current, done=done,
                     edge_labels=labels, legend_lines=self.ledger_lines(i, title),
                     collapse_chains=False)              # every node gets its own step, so draw each

    def layout(self):
        """The rankdir for showing frames in a notebook: `rankdir`, or top to bottom when a left-to-right frame
        would not fit the notebook's width with legible text. One choice for all frames, so that stepping
        never moves the boxes around."""
        if self._layout is None:
            wide = self.rankdir in ("LR", "RL") and not all(
                fit(self.frame(i, title=False).svg())[1] for i in range(len(self.frames)))
            self._layout = "TB" if wide else self.rankdir
        return self._layout

    def svg(self, i, title=True):
        """Frame `i` as SVG sized for a notebook (see `babygrad.viz.fit`)."""
        if (i, title) not in self._svg_cache:
            self._svg_cache[i, title] = fit(self.frame(i, title, self.layout()).svg())
        return self._svg_cache[i, title][0]

    def html(self, i):
        """Frame `i` for the widget, without the step's description: legible, and scrolling only when it must."""
        self.svg(i, title=False)
        svg, fits = self._svg_cache[i, False]
        return svg[svg.index("<svg"):] if fits else scrolling(svg)

    def save_frames(self, directory, formats=("svg", "png")):
        """Write frame_00.svg, frame_01.svg, ... (and the same as .png when the layout program can make
        PNG) into `directory`; returns the paths written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        find_engine()                                   # a clear error before writing anything
        width = len(str(len(self.frames) - 1))
        written = []
        for i in range(len(self.frames)):
            drawing = self.frame(i)
            for fmt in formats:
                path = directory / f"frame_{i:0{max(2, width)}d}.{fmt}"
                try:
                    drawing.save_as(path, fmt)
                except RuntimeError:
                    if fmt == "svg":
                        raise
                    continue                            # this engine cannot write that format: skip it
                written.append(path)
        return written

    # --- Jupyter -------------------------------------------------------------------------------------
    def widget(self):
        """Prev / Next buttons and a slider over the frames (needs ipywidgets)."""
        import ipywidgets as w
        slider = w.IntSlider(value=0, min=0, max=len(self.frames) - 1, description="step",
                             continuous_update=False)
        prev_button = w.Button(description="◀ Prev", layout=w.Layout(width="90px"))
        next_button = w.Button(description="Next ▶", layout=w.Layout(width="90px"))
        caption = w.HTML()
        picture = w.HTML()

        def show(_=None):
            i = slider.value
            caption.value = f"<b>Step {i}/{len(self.frames) - 1}</b>: {self.frames[i].title}"
            picture.value = self.html(i)

        slider.observe(show, names="value")
        prev_button.on_click(lambda _: setattr(slider, "value", max(0, slider.value - 1)))
        next_button.on_click(lambda _: setattr(slider, "value", min(slider.max, slider.value + 1)))
        show()
        return w.VBox([w.HBox([prev_button, slider, next_button]), caption, picture])

    def _ipython_display_(self):
        from IPython.display import display
        try:
            bundle = self.widget()._repr_mimebundle_()
        except ImportError:                             # no ipywidgets: show every frame, one after another
            for i in range(len(self.frames)):
                display(self.frame(i))
            return
        # JupyterLab shows the widget; a page without live widgets (a saved or exported notebook) shows the
        # widget's first frame as a picture instead of the text "VBox(...)".
        bundle["image/svg+xml"] = self.svg(0)
        display(bundle, raw=True)
