"""Pictures of computation graphs, so you can *see* what autograd will walk backwards through.

`draw(y)` follows `y._inputs` back to the leaves and returns a `graphviz.Digraph`. In JupyterLab the
last expression of a cell is displayed, so `draw(y)` on its own line shows the graph as SVG.

Legend (the same in every picture):
  * blue box, bold border      a parameter: a leaf that requires grad (its `.grad` is what training uses)
  * grey box, dashed border    a constant: `requires_grad=False`, no gradient flows into it
  * yellow rounded box         an intermediate result, made by the op drawn just before it
  * green rounded box          the tensor you asked to draw (usually the loss)
  * white ellipse              an op, labelled with its class name and parameters, e.g. `Summation(axes=1)`

Graphviz lays the picture out. We use the system `dot` program when it is installed, otherwise the
`graphviz-pure` program, which `pip install graphviz-pure` provides (it is a dependency of babygrad,
so a plain `pip install` is enough). Without either, the DOT text is still in `.source`.

In a notebook a picture fits the output's width and stays legible on a projector: one too wide from left to right
is laid out top to bottom, shrunk only while its smallest text stays 12 px or more, and shown in a box that
scrolls sideways only when nothing else fits (`fit`).
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import traceback
from pathlib import Path

import graphviz
import numpy as np

__all__ = ["draw", "Drawing", "EngineNotFound", "ChapterNotFinished", "find_engine", "render_timeout"]

# A layout should take well under a second; past this many seconds something is wrong, so stop waiting.
render_timeout = 30.0

MAX_VALUES = 6            # tensors with at most this many numbers show them
DEFAULT_MAX_NODES = 300   # more tensors than this and the picture is unreadable anyway

# A 1400 px JupyterLab window leaves about 970 px for a cell's output; a picture wider than FIT_WIDTH pixels is
# shrunk, but never so far that its smallest text drops under MIN_TEXT pixels, which a projector still shows.
FIT_WIDTH = 940
MIN_TEXT = 12
FONT_SIZE = "11"          # points: at full size 11 pt is 14.7 px, so a picture can shrink to 82% and stay legible

COLOURS = {
    "parameter": "#cfe2ff",
    "constant": "#eeeeee",
    "intermediate": "#fff3cd",
    "output": "#d1f0d1",
    "op": "#ffffff",
    "notice": "#ffe0e0",
}


# --- Finding a program that turns DOT text into SVG -------------------------------------------------------

class EngineNotFound(RuntimeError):
    """Raised when neither Graphviz's `dot` nor `graphviz-pure` can be found, with the way to get one."""


ENGINE_HELP = (
    "babygrad.viz needs a Graphviz layout program to draw graphs, and found none.\n"
    "Fix it with one of:\n"
    "  pip install graphviz-pure      (pure-Rust port of dot; works everywhere pip does)\n"
    "  install Graphviz               (https://graphviz.org/download/, e.g. `apt install graphviz`,\n"
    "                                  `brew install graphviz`, `conda install graphviz`)\n"
    "Then restart the kernel. The DOT text of the graph is still available as `.source`."
)


def _script_dirs():
    """Where pip puts console programs for *this* Python: a Jupyter kernel started from a virtual
    environment often does not have that directory on its PATH, so we look there ourselves."""
    dirs = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    return [d for i, d in enumerate(dirs) if d not in dirs[:i]]


def find_engine():
    """The path of the layout program to run: `$BABYGRAD_DOT` if set, then the system `dot`, then
    `graphviz-pure` (on PATH or next to this Python). Raises EngineNotFound when there is none."""
    chosen = os.environ.get("BABYGRAD_DOT")
    if chosen:
        found = shutil.which(chosen)
        if found:
            return found
        raise EngineNotFound(f"BABYGRAD_DOT={chosen!r} is not a program that can be run.\n\n" + ENGINE_HELP)
    for name in ("dot", "graphviz-pure"):
        found = shutil.which(name)
        if found:
            return found
    for directory in _script_dirs():
        found = shutil.which("graphviz-pure", path=str(directory))
        if found:
            return found
    raise EngineNotFound(ENGINE_HELP)


def run_engine(source, format="svg", engine=None):
    """Lay out DOT `source` and return the picture in `format` ('svg' gives text, others bytes)."""
    engine = engine or find_engine()
    try:
        done = subprocess.run([engine, f"-T{format}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=render_timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{engine} took more than {render_timeout} s to lay out the graph; "
                           "draw fewer nodes (max_nodes=...)") from None
    if done.returncode != 0:
        raise RuntimeError(f"{engine} -T{format} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8") if format == "svg" else done.stdout


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` that renders with whichever layout program `find_engine` finds.

    The plain Digraph always runs a program called `dot`; students who only did `pip install` have
    `graphviz-pure` instead, so rendering goes through `run_engine`. Without any engine, Jupyter
    shows the fix instead of a traceback, and `.source` still holds the DOT text."""

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False, *,
             engine=None, encoding=None):
        data = run_engine(self.source, format or self.format or "svg")
        if isinstance(data, str):
            return data if encoding else data.encode("utf-8")
        return data.decode(encoding) if encoding else data

    def svg(self):
        """The picture as SVG text."""
        return run_engine(self.source, "svg")

    def save_as(self, path, format=None):
        """Write the picture to `path` (format from its suffix: .svg, .png, ...); returns the path."""
        path = Path(path)
        format = format or path.suffix.lstrip(".") or "svg"
        data = run_engine(self.source, format)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None, renderer=None,
               formatter=None, neato_no_op=None, quiet=False, quiet_view=False, *, outfile=None, engine=None,
               raise_if_result_exists=False, overwrite_source=False):
        """Save the DOT source and the picture beside it, as `graphviz.Digraph.render` does, but laid out by the
        program `find_engine` finds; returns the picture's path. `renderer` and `formatter` go to `-T` as in dot."""
        if outfile is not None and filename is None:
            filename = Path(outfile).with_suffix(".gv")
        format = format or (Path(outfile).suffix.lstrip(".") if outfile is not None else None) or self.format or "svg"
        source = Path(self.save(filename, directory=directory))
        picture = Path(outfile) if outfile is not None else source.with_name(f"{source.name}.{format}")
        if raise_if_result_exists and picture.exists():
            raise FileExistsError(f"{picture} exists already (raise_if_result_exists=True)")
        data = run_engine(self.source, ":".join(part for part in (format, renderer, formatter) if part))
        picture.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        if cleanup:
            source.unlink()
        if view:
            self._view(picture, format=format, quiet=quiet_view)
        return str(picture)

    # Set by `build` for a left-to-right picture: the same picture laid out top to bottom, to try when too wide.
    turned = None

    def fitted_svg(self):
        """The picture as SVG sized for a notebook: as it is when it fits FIT_WIDTH, else laid out top to bottom
        when that fits better, shrunk as far as its text stays legible. Returns (svg, fits)."""
        svg, fits = fit(self.svg())
        if not fits and self.turned is not None:
            turned, turned_fits = fit(self.turned().svg())
            if turned_fits or svg_size(turned)[0] < svg_size(svg)[0]:
                return turned, turned_fits
        return svg, fits

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            svg, fits = self.fitted_svg()
        except EngineNotFound as error:
            message = str(error)
            return {"text/plain": message,
                    "text/html": f"<pre style='color:#a00'>{_html_escape(message)}</pre>"}
        bundle = {"image/svg+xml": svg, "text/plain": "<babygrad.viz.Drawing: a computation graph>"}
        if not fits:                   # the last resort: full size, in a box that scrolls sideways
            bundle["text/html"] = scrolling(svg)
        return bundle

    def _repr_svg_(self):
        return self.fitted_svg()[0]


# --- Sizing a picture for the notebook --------------------------------------------------------------------

UNITS_PX = {"pt": 4 / 3, "px": 1.0, "": 1.0, "in": 96.0}


def svg_size(svg):
    """(width, height) of an SVG picture in CSS pixels, read from its <svg> element."""
    head = svg[svg.index("<svg"):svg.index(">", svg.index("<svg"))]
    size = []
    for attribute in ("width", "height"):
        found = re.search(rf'\s{attribute}="([\d.]+)(pt|px|in|)"', head)
        if not found:
            raise ValueError(f"the SVG has no {attribute} in pt, px or in: {head[:200]!r}")
        size.append(float(found.group(1)) * UNITS_PX[found.group(2)])
    return tuple(size)


def smallest_text(svg):
    """The smallest font size in the picture, in CSS pixels at the picture's own size (None without text)."""
    head = svg[svg.index("<svg"):svg.index(">", svg.index("<svg"))]
    sizes = [float(size) for size in re.findall(r'font-size="([\d.]+)', svg)]
    box = re.search(r'viewBox="[-\d.]+[ ,]+[-\d.]+[ ,]+([\d.]+)', head)
    if not sizes or not box:
        return None
    return min(sizes) * svg_size(svg)[0] / float(box.group(1))


def fit(svg, width=FIT_WIDTH, min_text=MIN_TEXT):
    """`svg` resized so it is at most `width` px wide, unless that would make text smaller than `min_text` px:
    then as small as the text allows. Returns (svg, whether it fits in `width`)."""
    natural_width, natural_height = svg_size(svg)
    text = smallest_text(svg) or min_text
    scale = max(min(1.0, width / natural_width), min(1.0, min_text / text))
    start = svg.index("<svg")
    end = svg.index(">", start)
    head = re.sub(r'\swidth="[^"]*"', f' width="{natural_width * scale:.0f}px"', svg[start:end], count=1)
    head = re.sub(r'\sheight="[^"]*"', f' height="{natural_height * scale:.0f}px"', head, count=1)
    return svg[:start] + head + svg[end:], natural_width * scale <= width + 0.5


def scrolling(svg):
    """The SVG as HTML in a box that scrolls sideways: for a picture that cannot shrink to the notebook's width
    and stay legible."""
    return f'<div style="overflow-x:auto;max-width:100%">{svg[svg.index("<svg"):]}</div>'


def _html_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- Saying which chapter is missing ----------------------------------------------------------------------

class ChapterNotFinished(NotImplementedError):
    """Raised when a picture needs code that a chapter asks you to write and that is still a stub; its message
    names the function and the chapter's notebook."""


# The first line of an exported module: "# Generated from [source/]04_backprop/backprop.ipynb by coursework.export."
GENERATED = re.compile(r"# Generated from (?:source/)?(\d+_[^/\s]+/[^/\s]+\.ipynb) ")


def unfinished(error, needs, notebook=None, name=None):
    """A ChapterNotFinished for `error`, the NotImplementedError of the stub `name` (default: the function that
    raised it) that `needs` (e.g. "draw") ran into. The notebook to finish is `notebook`, else the one the stub's
    module was exported from."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    if notebook is None:
        try:
            found = GENERATED.match(Path(frame.filename).read_text(encoding="utf-8").split("\n", 1)[0])
        except OSError:
            found = None
        notebook = found and found[1]
    where = f"finish {notebook} and run its cells" if notebook else "finish the chapter that defines it"
    return ChapterNotFinished(f"{needs} runs your {name or frame.name}, which is not written yet: {where}, "
                              "then try again.")


# --- Walking the graph ------------------------------------------------------------------------------------

def nodes_nearest_first(root, inputs_of=None):
    """Every tensor `root` depends on, breadth-first from `root` (no recursion: graphs can be deep).
    `inputs_of(t)` replaces `t._inputs` (used to skip collapsed chains)."""
    inputs_of = inputs_of or (lambda t: t._inputs)
    seen = {id(root)}
    order = [root]
    i = 0
    while i < len(order):
        for parent in inputs_of(order[i]):
            if id(parent) not in seen:
                seen.add(id(parent))
                order.append(parent)
        i += 1
    return order


def repeated_chains(everything, keep, min_run=4):
    """Runs of at least `min_run` identical one-input ops, each result used only by the next op
    (e.g. `for _ in range(1000): t = t + 1.0`). Returns id(top of run) -> (input below the run,
    length, op label). Tensors in `keep` (named, the root) are never hidden inside a run."""
    users = {}
    for t in everything:
        for parent in t._inputs:
            users[id(parent)] = users.get(id(parent), 0) + 1
    labels = {}

    def label(t):
        if id(t) not in labels:
            labels[id(t)] = op_label(t._op)
        return labels[id(t)]

    def links(t):          # t is the result of a one-input op
        return t._op is not None and len(t._inputs) == 1

    runs, inside = {}, set()
    for top in everything:             # nearest first, so a run is met at its top
        if id(top) in inside or not links(top):
            continue
        length, bottom = 1, top
        while True:
            below = bottom._inputs[0]
            if (not links(below) or users.get(id(below)) != 1 or id(below) in keep
                    or label(below) != label(top)):
                break
            inside.add(id(below))
            bottom, length = below, length + 1
        if length >= min_run:
            runs[id(top)] = (bottom._inputs[0], length, label(top))
        else:                          # too short: put the tensors back
            t = top
            for _ in range(length - 1):
                t = t._inputs[0]
                inside.discard(id(t))
    return runs


def kind(tensor, root=None):
    """'output', 'intermediate', 'parameter' or 'constant': what colour and shape the tensor gets."""
    if tensor is root:
        return "output"
    if tensor._op is not None:
        return "intermediate"
    return "parameter" if tensor.requires_grad else "constant"


def settings(op):
    """An op's public attributes (`scalar`, `axes`, ...): the library's ops keep them in `__slots__`, a student's
    own class may keep them in its `__dict__`."""
    slots = [getattr(cls, "__slots__", ()) for cls in reversed(type(op).__mro__)]
    names = [name for names in slots for name in ((names,) if isinstance(names, str) else names)]
    found = {name: getattr(op, name) for name in names if hasattr(op, name)}
    found.update(getattr(op, "__dict__", {}))
    return {name: value for name, value in found.items() if not name.startswith("_")}


def op_label(op):
    """`Summation(axes=1)`, `AddScalar(3.0)`: the op's class name and its public attributes."""
    params = settings(op)
    parts = []
    for key, value in params.items():
        if isinstance(value, np.ndarray):
            value = _format_array(value) if value.size <= MAX_VALUES else f"array{value.shape}"
        elif hasattr(value, "data") and hasattr(value, "_inputs"):
            value = f"Tensor{tuple(value.shape)}"
        else:
            value = repr(value)
        parts.append(value if len(params) == 1 and key in ("scalar", "value") else f"{key}={value}")
    return f"{type(op).__name__}({', '.join(parts)})" if parts else type(op).__name__


def _format_array(array):
    array = np.asarray(array)
    if array.ndim == 0:
        return f"{float(array):.4g}"
    return np.array2string(array, precision=4, suppress_small=True, separator=", ",
                           formatter={"float_kind": lambda x: f"{x:.4g}"})


def _record_escape(text):
    """Characters that mean something inside a Graphviz record label, escaped; newlines left-aligned."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\l")


def _normalise_names(names):
    """`names` maps name -> Tensor (e.g. `dict(x=x, W=W)`); Tensor -> name is accepted too."""
    if not names:
        return {}
    by_id = {}
    for key, value in names.items():
        if isinstance(key, str):
            by_id[id(value)] = key
        else:
            by_id[id(key)] = str(value)
    return by_id


def tensor_fields(tensor, name=None, show_values=True, show_shapes_only=False, grad=None, extra=()):
    """The lines of a tensor's box, top to bottom."""
    fields = [name] if name else []
    shape = str(tuple(tensor.shape))
    if show_shapes_only:
        return fields + ["shape " + shape]
    fields.append(f"{shape} {tensor.dtype}")
    if show_values and tensor.data.size <= MAX_VALUES:
        fields.append(_format_array(tensor.data))
    if grad is not None:
        grad = np.asarray(grad)
        fields.append("grad " + (_format_array(grad) if show_values and grad.size <= MAX_VALUES
                                  else str(tuple(grad.shape))))
    return fields + list(extra)


def _record_label(fields, rankdir):
    # In a left-to-right layout a record's fields stack vertically by default; top-to-bottom needs {}.
    body = "|".join(_record_escape(f) for f in fields)
    return body if rankdir in ("LR", "RL") else "{" + body + "}"


NODE_STYLE = {
    "parameter": dict(shape="record", style="filled,bold", penwidth="2"),
    "constant": dict(shape="record", style="filled,dashed"),
    "intermediate": dict(shape="Mrecord", style="filled"),
    "output": dict(shape="Mrecord", style="filled,bold", penwidth="2"),
}


def build(root, names=None, rankdir="LR", show_values=True, show_shapes_only=False,
          max_nodes=DEFAULT_MAX_NODES, grads=None, highlight=None, done=(), edge_labels=None,
          notes=None, legend_lines=None, collapse_chains=True):
    """The Drawing behind `draw`, with hooks the backward stepper uses.

    grads: id(tensor) -> array shown as the tensor's grad (default: `tensor.grad`)
    highlight: the tensor being worked on (red border); done: ids drawn faded
    edge_labels: (id(input), id(output), position) -> text (or (text, is_new)) written on that edge
    notes: id(tensor) -> extra lines for its box; legend_lines: text for a box beside the graph"""
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    name_of = _normalise_names(names)
    everything = nodes_nearest_first(root)
    runs = repeated_chains(everything, set(name_of) | {id(root)}) if collapse_chains else {}
    if runs:
        everything = nodes_nearest_first(root, lambda t: (runs[id(t)][0],) if id(t) in runs else t._inputs)
    shown = everything[:max_nodes] if max_nodes is not None else everything
    number = {id(t): i for i, t in enumerate(shown)}   # short DOT names: t0 is the root
    hidden = len(everything) - len(shown)

    g = Drawing(name="babygrad", format="svg")
    g.attr(rankdir=rankdir, fontname="Helvetica", fontsize=FONT_SIZE, nodesep="0.25", ranksep="0.35")
    g.attr("node", fontname="Helvetica", fontsize=FONT_SIZE, color="#555555")
    g.attr("edge", color="#555555", arrowsize="0.6", fontname="Helvetica", fontsize=FONT_SIZE)

    notice = "notice"
    if hidden:
        g.node(notice, f"… {hidden} more nodes not drawn\\n(draw(..., max_nodes={len(everything)}) to see them)",
               shape="note", style="filled", fillcolor=COLOURS["notice"], color="#cc0000")

    for t in shown:
        tid = id(t)
        k = kind(t, root)
        grad = (grads or {}).get(tid, t.grad if grads is None else None)
        if grad is not None and not isinstance(grad, np.ndarray):
            grad = getattr(grad, "data", grad)
        fields = tensor_fields(t, name_of.get(tid), show_values, show_shapes_only, grad,
                               (notes or {}).get(tid, ()))
        attrs = dict(NODE_STYLE[k], fillcolor=COLOURS[k])
        if tid in done:
            attrs.update(color="#aaaaaa", fontcolor="#777777")
        if highlight is not None and tid == id(highlight):
            attrs.update(color="#d62728", penwidth="3.5")
        g.node(f"t{number[tid]}", _record_label(fields, rankdir), **attrs)
        if t._op is None:
            continue
        op_id = f"op{number[tid]}"
        op_attrs = dict(shape="ellipse", style="filled", fillcolor=COLOURS["op"])
        if highlight is not None and tid == id(highlight):
            op_attrs.update(color="#d62728", penwidth="2.5")
        inputs = t._inputs
        if tid in runs:                      # a collapsed chain: one double-bordered op node for all of it
            inputs, length, label = (runs[tid][0],), runs[tid][1], runs[tid][2]
            g.node(op_id, f"{label} × {length}\\n({length - 1} tensors in between not drawn)",
                   peripheries="2", **op_attrs)
        else:
            g.node(op_id, op_label(t._op), **op_attrs)
        g.edge(op_id, f"t{number[tid]}")
        many = len(inputs) > 1
        cut = False
        for position, parent in enumerate(inputs):
            if id(parent) not in number:
                cut = True
                continue
            attrs = {}
            text = (edge_labels or {}).get((id(parent), tid, position))
            if text is not None:
                text, new = text if isinstance(text, tuple) else (text, True)
                colour = "#d62728" if new else "#1f4e9c"     # red: sent in this step; blue: earlier
                attrs.update(label=text.replace("\\", "\\\\").replace("\n", "\\l"), fontcolor=colour, color=colour, penwidth="1.8")
            elif many:
                attrs.update(taillabel=str(position), fontcolor="#888888", labeldistance="1.2")
            if not parent.requires_grad:
                attrs.setdefault("style", "dashed")
            g.edge(f"t{number[id(parent)]}", op_id, **attrs)
        if cut:
            g.edge(notice, op_id, style="dotted", color="#cc0000")

    if legend_lines:
        g.node("ledger", "\\l".join(_record_escape(line) for line in legend_lines) + "\\l",
               shape="note", style="filled", fillcolor="#fffbe6", fontname="Courier", fontsize=FONT_SIZE)
    if rankdir in ("LR", "RL"):
        g.turned = lambda: build(root, names, "TB", show_values, show_shapes_only, max_nodes, grads, highlight,
                                 done, edge_labels, notes, legend_lines, collapse_chains)
    return g


def draw(tensor, names=None, rankdir="LR", show_values=True, show_shapes_only=False,
         max_nodes=DEFAULT_MAX_NODES, collapse_chains=True):
    """Draw the computation graph that produced `tensor`, ending at `tensor` itself.

    names: a dict name -> Tensor, e.g. `draw(loss, names=dict(x=x, W=W, b=b))`; named tensors show
        their name on the first line of their box. (A dict Tensor -> name works too.)
    rankdir: "LR" (inputs left, output right) or "TB" (inputs on top).
    show_values: write the numbers of tensors with at most 6 elements (and their grads, once computed).
    show_shapes_only: boxes show just name and shape: good for big networks.
    max_nodes: draw at most this many tensors, the ones nearest to `tensor`; the rest are counted
        in a red "… N more nodes not drawn" note, so huge graphs still render in a moment.
    collapse_chains: draw 4 or more identical one-input ops in a row (`t = t + 1.0` in a loop) as one
        double-bordered op, `AddScalar(1.0) × 1000`; named tensors are never hidden in a chain.

    Returns a `Drawing` (a `graphviz.Digraph`): it shows itself in Jupyter, `.source` is the DOT
    text, `.svg()` the picture, `.save_as("graph.svg")` writes it to a file."""
    try:
        return build(tensor, names=names, rankdir=rankdir, show_values=show_values,
                     show_shapes_only=show_shapes_only, max_nodes=max_nodes, collapse_chains=collapse_chains)
    except NotImplementedError as error:       # a Tensor whose chapter-1 properties are still stubs
        raise unfinished(error, "draw") from error
