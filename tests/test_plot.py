"""Checks of scripts/plot.py and scripts/report.sh.

Every plot KIND writes a real PNG (signature and a size that only a drawn figure reaches) from a
small synthetic results file (written by test_compare.write_results, following results/README.md);
a bad KIND, a file without runs and a selection with nothing to draw end with a one-line message
and the documented exit status, never a traceback. The last test runs a tiny real grid with
bin/rnnbench and report.sh on it, end to end (skipped when bin/rnnbench is not built).

Run: /usr/bin/python3 -m pytest -q tests/test_plot.py
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_compare import PYTHON, ROOT, SCRIPTS, make_run, write_results  # noqa: E402

sys.path.insert(0, SCRIPTS)
import plot  # noqa: E402
import rnnbench_results as rr  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 15_000  # an empty 1-panel figure is about 5 KB; drawn panels are several times that
RNNBENCH = os.path.join(ROOT, "bin", "rnnbench")


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    """adding at delays 10 and 100 (a decade), three cells, three seeds; some runs solve."""
    runs = []
    for delay in (10, 100):
        for cell, loss in (("lstm-peep", 0.02), ("gru", 0.05), ("rnn", 0.15)):
            for seed_index in range(3):
                solved = cell != "rnn" and (delay == 10 or seed_index == 0)
                runs.append(make_run("adding", delay, cell, seed_index,
                                     loss * (1 + 0.1 * seed_index) * (1 + delay / 100),
                                     solved=int(solved), steps_to_solve=60 if solved else -1,
                                     steps_done=60 if solved else 200))
    path = str(tmp_path_factory.mktemp("plot") / "plots.h5")
    ids = write_results(path, runs)
    return path, ids


def assert_png(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > MIN_PNG_BYTES, (path, len(data))


@pytest.mark.parametrize("args", [
    ["curves"],
    ["delay"],
    ["delay", "--metric", "steps_to_solve"],
    ["gradflow", "--where", "delay=10"],
    ["gradflow", "--where", "cell=lstm-peep", "--state", "c"],
    ["box", "--baseline", "lstm-peep"],
    ["box", "--metric", "steps_to_solve"],
    ["gates", "--where", "delay=100"],
    ["flow"],
    ["flow", "--at", "first", "--at", "last", "--where", "cell=lstm-peep|gru"],
    ["flow", "--state", "c", "--at", "100"],
    ["solved"],
    ["accuracy", "--logy"],
    ["curves", "--skip-first", "0", "--logy"],
])
def test_each_kind_writes_a_png(results_file, tmp_path, capsys, args):
    path, _ = results_file
    out = str(tmp_path / "figure.png")
    assert plot.main([path] + args[:1] + ["-o", out] + args[1:]) == 0, capsys.readouterr().err
    assert_png(out)


def test_one_run_by_id(results_file, tmp_path, capsys):
    path, ids = results_file
    for kind in ("gradflow", "gates", "curves"):
        out = str(tmp_path / f"{kind}.png")
        assert plot.main([path, kind, "--run", ids[4], "-o", out]) == 0
        assert_png(out)
    assert plot.main([path, "gates", "--run", ids[4][:4], "-o", out]) == 2
    assert f"--run {ids[4][:4]}: {len(ids)} runs with that id" in capsys.readouterr().err


def test_all_writes_every_plot_that_applies(results_file, tmp_path, capsys):
    path, _ = results_file
    outdir = tmp_path / "all"
    assert plot.main([path, "all", "-o", str(outdir), "--baseline", "lstm-peep"]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    names = [name for name, _ in listed]
    assert names == ["curves-adding.png", "box-adding.png", "solved-adding.png",
                     "flow-adding.png", "accuracy-adding.png", "delay.png", "delay-steps.png",
                     "gradflow-adding-10.png", "gates-adding-10.png", "gradflow-adding-100.png",
                     "gates-adding-100.png"]
    assert sorted(os.listdir(outdir)) == sorted(names)
    for name in names:
        assert_png(outdir / name)


def run_plot(*args):
    return subprocess.run([PYTHON, os.path.join(SCRIPTS, "plot.py"), *args],
                          capture_output=True, text=True)


def assert_one_line_error(result, status, message):
    assert result.returncode == status, result.stderr
    assert result.stderr.startswith("plot.py: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_bad_kind_is_usage_error(results_file, tmp_path):
    path, _ = results_file
    result = run_plot(path, "histogram", "-o", str(tmp_path / "x.png"))
    assert_one_line_error(result, 2, "invalid choice: 'histogram'")
    assert not (tmp_path / "x.png").exists()


def test_file_without_runs_is_bad_file(tmp_path):
    path = str(tmp_path / "empty.h5")
    write_results(path, [], complete=0)
    result = run_plot(path, "curves", "-o", str(tmp_path / "x.png"))
    assert_one_line_error(result, 2, "no finished runs")
    assert not (tmp_path / "x.png").exists()


def test_nothing_to_draw_and_bad_selection(tmp_path, capsys):
    path = str(tmp_path / "rnn.h5")
    write_results(path, [make_run(cell="rnn", seed_index=s) for s in range(2)])
    out = str(tmp_path / "x.png")
    assert plot.main([path, "gates", "-o", out]) == 1
    assert "no run in the selection records eval/gate_mean" in capsys.readouterr().err
    assert plot.main([path, "gradflow", "--state", "c", "-o", out]) == 1
    assert "only the LSTM family" in capsys.readouterr().err
    assert plot.main([path, "curves", "--where", "delay=99", "-o", out]) == 2
    assert "no runs match --where delay=99" in capsys.readouterr().err
    assert plot.main([path, "curves", "--run", "ffff", "-o", out]) == 2
    assert plot.main([path, "curves", "-o", str(tmp_path / "nodir" / "x.png")]) == 2
    assert plot.main([path, "curves", "-o", str(tmp_path / "nodir") + os.sep]) == 2
    assert not os.path.exists(out)


def test_output_directory_receives_kind_png(results_file, tmp_path):
    """-o an existing directory: the plot goes into it as KIND.png, not beside it as DIR.png."""
    path, _ = results_file
    outdir = tmp_path / "figures"
    outdir.mkdir()
    assert plot.main([path, "box", "-o", str(outdir)]) == 0
    assert os.listdir(outdir) == ["box.png"] and not (tmp_path / "figures.png").exists()
    assert_png(outdir / "box.png")
    assert "KIND.png" in " ".join(plot.build_parser().format_help().split())


def test_failed_runs_are_left_out_and_counted(tmp_path):
    """A failed run's curve is not in the median; the legend counts it beside the diverged."""
    path = str(tmp_path / "failed.h5")
    runs = [make_run(cell="lstm-peep", seed_index=s) for s in range(2)]
    runs += [make_run(cell="lstm-peep", seed_index=2, final_loss=float("nan"), status="failed"),
             make_run(cell="rnn", seed_index=0, final_loss=float("nan"), status="failed"),
             make_run(cell="rnn", seed_index=1, status="diverged")]
    write_results(path, runs)
    plt = plot.pyplot()
    args = argparse.Namespace(by="cell", metric="final_loss", run=None, baseline=None, state="h",
                              skip_first="auto", logy=False, where=None, at=None)
    with rr.open_results(path) as res:
        fig = plot.plot_curves(plt, res, res.summary, args)
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert labels[:2] == ["lstm-peep (2 runs, 1 failed)",
                              "rnn (1 run, 1 diverged, 1 failed)"]
        plt.close(fig)
        panels = plot.panel_groups(res.summary, args)
        assert [title.split("\n")[1] for title, _ in panels] == ["median of 2 runs",
                                                                  "median of 1 run"]


@pytest.mark.skipif(not os.path.exists(RNNBENCH), reason="bin/rnnbench not built")
def test_report_end_to_end_on_a_real_grid(tmp_path):
    ini = tmp_path / "tiny.ini"
    ini.write_text("[experiment]\nname = tiny\nseed = 5\n\n[grid]\ntask = adding\n"
                   "delay = 5\ncell = lstm-peep, rnn\nhidden = 8\nbatch = 8\nsteps = 30\n"
                   "eval_every = 10\neval_size = 32\nseeds = 2\n")
    results = tmp_path / "tiny.h5"
    subprocess.run([RNNBENCH, "run", str(ini), "-o", str(results), "--quiet"], check=True,
                   capture_output=True)
    outdir = tmp_path / "report"
    done = subprocess.run([os.path.join(SCRIPTS, "report.sh"), str(results), str(outdir)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = (outdir / "report.md").read_text()
    assert report.startswith("# rnnbench report: tiny")
    assert "## Final loss on the held-out set" in report
    assert "### adding, delay 5" in report and "| **lstm-peep** |" in report
    assert "Welch's t-test" in report
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
    assert set(links) == {"curves-adding.png", "box-adding.png", "gradflow-adding-5.png",
                          "gates-adding-5.png", "flow-adding.png",
                          "accuracy-adding.png"} | ({"solved-adding.png"} & set(links))
    # one delay: no delay plot; solved only if a run solved
    for link in links:
        assert_png(outdir / link)

    bad = subprocess.run([os.path.join(SCRIPTS, "report.sh"), str(ini)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr == f"report.sh: {ini}: not an HDF5 file\n"

    # names that start with a dash are files, not options
    shutil.copy(results, tmp_path / "-dash.h5")
    dashed = subprocess.run([os.path.join(SCRIPTS, "report.sh"), "-dash.h5", "-dash-report"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert dashed.returncode == 0, dashed.stderr
    dashed_report = (tmp_path / "-dash-report" / "report.md").read_text()
    assert dashed_report.startswith("# rnnbench report: -dash\n")
    assert "- experiment: `tiny`" in dashed_report and "](curves-adding.png)" in dashed_report


# ------------------------------------------------------------------------------------------------
# figures without traps: legends off the data, a colour per name, the selection in the title

FIGURE_KINDS = ("curves", "delay", "gradflow", "flow", "box", "gates", "solved", "accuracy")


def figure_args(**options):
    """The namespace plot.main gives a plotter, with these options."""
    args = plot.build_parser().parse_args(["x.h5", "curves", "-o", "x.png"])
    for key, value in options.items():
        setattr(args, key, value)
    return args


@pytest.fixture(scope="module")
def gated_file(tmp_path_factory):
    """Two delays, four cells whose gates differ in number and position (lstm-nfg has i,z,o:
    its z is second, lstm-peep's third), two seeds; stop_when_solved stops some early."""
    runs = []
    for delay in (10, 30):
        for cell in ("lstm-peep", "lstm-nfg", "gru", "rnn"):
            for seed_index in range(2):
                solved = cell == "gru" or (cell == "lstm-peep" and seed_index == 0)
                runs.append(make_run("adding", delay, cell, seed_index, 0.02 * (1 + seed_index),
                                     solved=int(solved), steps_to_solve=100 if solved else -1,
                                     steps_done=100 if solved else 200))
    path = str(tmp_path_factory.mktemp("gated") / "gated.h5")
    write_results(path, runs)
    return path


def drawn_figures(path, kinds=FIGURE_KINDS, **options):
    """Yield (kind, figure) for each plot kind of `path`'s whole selection, drawn (so that every
    artist has its final position)."""
    plt = plot.pyplot()
    with rr.open_results(path) as res:
        for kind in kinds:
            args = figure_args(kind=kind, **options)
            fig = plot.PLOTTERS[kind](plt, res, plot.select(res.summary, args), args)
            fig.canvas.draw()
            yield kind, fig
            plt.close(fig)


def data_axes(fig):
    """The axes of `fig` that show data: visible, with their axis drawn (not a legend panel)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.axison and ax.has_data()]


def test_legends_never_overlap_a_data_area(gated_file):
    checked = 0
    for kind, fig in drawn_figures(gated_file):
        renderer = fig.canvas.get_renderer()
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        legends += list(fig.legends)
        if kind == "gradflow":  # a heat map: its colour bar is the legend
            legends = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
        assert legends, f"{kind}: no legend"
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in data_axes(fig):
                if ax is legend:
                    continue
                area = ax.get_window_extent(renderer)
                assert not box.overlaps(area), (kind, ax.get_title(), box, area)
                checked += 1
    assert checked >= 20


def line_colors(fig, split=" ("):
    """Return {name: set of colours} of every labelled line of the figure's data axes (the name
    is the label up to `split`; matplotlib's _nolegend_ lines are left out)."""
    from matplotlib.colors import to_hex
    colors = {}
    for ax in data_axes(fig):
        for line in ax.get_lines():
            label = line.get_label()
            if label.startswith("_") or "baseline" in label or "budget" in label:
                continue
            colors.setdefault(label.split(split)[0], set()).add(to_hex(line.get_color()))
    return colors


def test_a_cell_keeps_its_colour_across_panels_and_figures(gated_file):
    seen = {}
    for kind, fig in drawn_figures(gated_file, ("curves", "delay", "flow", "solved", "accuracy")):
        for cell, colors in line_colors(fig).items():
            assert len(colors) == 1, (kind, cell, colors)  # the same in every panel
            seen.setdefault(cell, set()).update(colors)
    assert set(seen) == {"lstm-peep", "lstm-nfg", "gru", "rnn"}
    for cell, colors in seen.items():  # the same in every figure, and the table's
        assert colors == {plot.CELL_COLORS[cell]}, (cell, colors)
    assert len({c for colors in seen.values() for c in colors}) == 4


def test_a_gate_keeps_its_colour_across_panels_and_figures(gated_file):
    seen = {}
    for _, fig in drawn_figures(gated_file, ("gates",)):
        panels = 0
        for ax in data_axes(fig):
            panels += 1
        assert panels == 6  # lstm-peep, lstm-nfg and gru at two delays
        for gate, colors in line_colors(fig, split="\0").items():
            assert len(colors) == 1, (gate, colors)
            seen[gate] = colors
    with rr.open_results(gated_file) as res:  # one run's figure: the same colours
        run_id = res.summary[res.summary.cell == "lstm-nfg"].id.iloc[0]
    for _, fig in drawn_figures(gated_file, ("gates",), run=run_id):
        for gate, colors in line_colors(fig, split="\0").items():
            assert colors == seen[gate]
    short = {name: gate for gate, name in plot.GATE_NAMES.items()}
    assert {short[g] for g in seen} == {"i", "f", "z", "o", "r", "u", "n"}
    for gate, colors in seen.items():
        assert colors == {plot.GATE_COLORS[short[gate]]}


def test_an_unknown_name_gets_the_same_colour_every_time():
    assert plot.name_color("lstm-peep+nfg+np", {}) == plot.name_color("lstm-peep+nfg+np", {})
    assert plot.name_color("gru", plot.CELL_COLORS) == plot.CELL_COLORS["gru"]


def test_where_filters_and_run_are_in_the_title(gated_file):
    for kind, fig in drawn_figures(gated_file, FIGURE_KINDS, where=["delay=30", "cell!=rnn"]):
        assert "where delay=30,cell!=rnn" in fig._suptitle.get_text(), kind


def test_logy_makes_every_data_axis_logarithmic(gated_file):
    for kind, fig in drawn_figures(gated_file, ("curves", "delay", "box", "accuracy"), logy=True):
        assert {ax.get_yscale() for ax in data_axes(fig)} == {"log"}, kind


def test_skip_first_and_copys_untrained_spike(tmp_path):
    """copy's first steps cost ln 9 against a settled loss near 0.05: by default (auto) the panel
    ends just above what follows them and says so; --skip-first 0 draws every step at full
    height; --skip-first N leaves out N steps."""
    path = str(tmp_path / "copy.h5")
    write_results(path, [make_run("copy", 100, "lstm", s, 0.05, steps=400, steps_done=400)
                         for s in range(2)])
    with h5py.File(path, "r+") as f:
        for run_id in f["runs"]:
            loss = f["runs"][run_id]["train/loss"]
            spiked = loss[:]
            spiked[:4] = 2.2
            loss[...] = spiked
    seen = {}
    for choice in ("auto", "0", "10"):
        for _, fig in drawn_figures(path, ("curves",), skip_first=choice):
            ax = data_axes(fig)[0]
            line = next(l for l in ax.get_lines() if l.get_label().startswith("lstm"))
            seen[choice] = (line.get_xdata()[0], np.nanmax(line.get_ydata()), ax.get_ylim()[1],
                            fig._suptitle.get_text(), ax.get_xlabel())
    x0, peak, top, title, xlabel = seen["auto"]
    assert x0 == 1 and peak > 1.0 and top < 0.5  # the spike is drawn, above the panel
    assert "--skip-first 0" in title and "runs above the panel" in xlabel
    x0, peak, top, title, xlabel = seen["0"]
    assert x0 == 1 and top > peak > 1.0 and "--skip-first" not in title
    assert seen["10"][0] == 11 and "steps 1-10 not shown" in seen["10"][4]


def test_task_segments_follow_the_task_layouts():
    """Input and recall segments of docs/tasks.md, 0-based [lo, hi)."""
    seg = plot.task_segments
    assert seg({"task": "copy", "delay": 100, "n_symbols": 10}, 120) == ([(0, 10)], [(110, 120)])
    assert seg({"task": "recall", "delay": 50}, 52) == ([(0, 1)], [(51, 52)])
    assert seg({"task": "adding", "delay": 50, "form": 0}, 50) == ([(0, 25)], [(49, 50)])
    assert seg({"task": "adding", "delay": 100, "form": 1997}, 104) == ([(0, 10)], [(103, 104)])
    assert seg({"task": "temporal-order", "delay": 100, "form": 0}, 105) == (
        [(9, 20), (49, 60)], [(104, 105)])  # the paper's [10, 20] and [50, 60], 1-based
    assert seg({"task": "temporal-order", "delay": 100, "form": 1}, 100)[0] == [
        (9, 20), (32, 43), (65, 76)]
    assert seg({"task": "reber", "delay": 8}, 11) == ([(1, 2)], [(9, 10)])
    assert seg({"task": "timing", "delay": 20}, 41) == ([(0, 20)], [(20, 40)])
    assert seg({"task": "jsb", "delay": 0}, 30) == ([], [])


def test_flow_draws_a_line_per_cell_over_every_time_step(gated_file):
    for _, fig in drawn_figures(gated_file, ("flow",), at=["first", "last"]):
        axes = data_axes(fig)
        assert [ax.get_title() for ax in axes] == ["adding, delay 10", "adding, delay 30"]
        for ax, length in zip(axes, (12, 32)):
            lines = [l for l in ax.get_lines() if not l.get_label().startswith("_")]
            assert len(lines) == 8  # 4 cells x 2 evaluations
            assert all(len(l.get_xdata()) == length for l in lines)
            assert ax.get_yscale() == "log"
            labels = [t.get_text() for t in ax.get_legend().get_texts()]
            assert labels[0].startswith("input segment") and labels[1].startswith("recall")


def test_several_files_are_one_figure(tmp_path, capsys):
    """Three seeds split over two files draw as one median of 3 runs per cell; files of
    different builds are refused unless --allow-mixed, with the exit status of a bad file."""
    runs = [make_run("adding", 10, cell, s, 0.05 * (1 + s)) for cell in ("lstm", "gru")
            for s in range(3)]
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    write_results(a, [r for r in runs if r["seed_index"] < 2])
    write_results(b, [r for r in runs if r["seed_index"] == 2], first_id=100)
    plt = plot.pyplot()
    args = figure_args()
    with rr.open_results([a, b]) as res:
        fig = plot.plot_curves(plt, res, res.summary, args)
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert labels[:2] == ["lstm (3 runs)", "gru (3 runs)"]
        assert "(a.h5, b.h5)" in fig._suptitle.get_text()
        plt.close(fig)
    out = str(tmp_path / "flow.png")
    assert plot.main([a, b, "flow", "-o", out]) == 0
    assert_png(out)
    assert plot.main([str(tmp_path / "*.h5"), "solved", "-o", out]) == 0
    write_results(b, [r for r in runs if r["seed_index"] == 2], first_id=100,
                  file_attrs={"gemm_backend": "onednn"})
    capsys.readouterr()
    assert plot.main([a, b, "curves", "-o", out]) == 2
    assert "gemm_backend openblas in" in capsys.readouterr().err
    assert plot.main([a, b, "curves", "-o", out, "--allow-mixed"]) == 0


def test_report_reads_several_files(tmp_path):
    runs = [make_run("adding", d, cell, s, 0.05 * (1 + s)) for d in (10, 20)
            for cell in ("lstm-peep", "gru") for s in range(2)]
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    write_results(str(a), runs[:4])
    write_results(str(b), runs[4:], first_id=4)
    done = subprocess.run([os.path.join(SCRIPTS, "report.sh"), str(a), str(b),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "out" / "report.md").read_text()
    assert "- 2 files read as one table:" in report and "- together: 8 runs" in report
    assert "### adding, delay 10" in report and "### adding, delay 20" in report
    assert "](delay.png)" in report  # two delays, one from each file: a delay plot
    write_results(str(b), runs[4:], first_id=4, file_attrs={"precision": "double"})
    mixed = subprocess.run([os.path.join(SCRIPTS, "report.sh"), str(tmp_path / "*.h5"),
                            str(tmp_path / "out2")], capture_output=True, text=True)
    assert mixed.returncode == 2 and "--allow-mixed" in mixed.stderr
    allowed = subprocess.run([os.path.join(SCRIPTS, "report.sh"), "--allow-mixed",
                              str(a), str(b), str(tmp_path / "out2")],
                             capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr


def test_flow_of_a_stack_draws_every_layer(tmp_path):
    """A stack's flow (evaluations, layers, T) is drawn a line per layer, the top one solid, next
    to a one-layer cell's single line; the heat map takes the top layer; more than one --at is
    refused for stacks (the line styles are the layers')."""
    exp = tmp_path / "stack.ini"
    exp.write_text("[grid one]\ntask = adding\ndelay = 10\ncell = rnn\nhidden = 8\nsteps = 40\n"
                   "eval_every = 20\neval_size = 16\n\n[grid stack]\ntask = adding\ndelay = 10\n"
                   "cell = lstm, dglstm\nlayers = 2\nhidden = 8\nsteps = 40\neval_every = 20\n"
                   "eval_size = 16\n")
    path = str(tmp_path / "stack.h5")
    subprocess.run([RNNBENCH, "run", str(exp), "-o", path, "--quiet"], check=True)
    for _, fig in drawn_figures(path, ("flow",)):
        [ax] = data_axes(fig)
        lines = {l.get_label(): l for l in ax.get_lines() if not l.get_label().startswith("_")}
        # a stack is labelled NAME*L, a line per layer
        assert sorted(lines) == ["dglstm*2 (1 run), layer 0", "dglstm*2 (1 run), layer 1",
                                 "lstm*2 (1 run), layer 0", "lstm*2 (1 run), layer 1", "rnn (1 run)"]
        assert lines["lstm*2 (1 run), layer 1"].get_linestyle() == "-"
        assert lines["lstm*2 (1 run), layer 0"].get_linestyle() == "--"
        assert all(len(l.get_xdata()) == 10 for l in lines.values())
        # the lower layer's line is the flow stored for layer 0
        with h5py.File(path, "r") as f:
            run = next(g for g in f["runs"].values() if g.attrs["cell"] == b"lstm"
                       or g.attrs["cell"] == "lstm")
            stored = run["eval/grad_flow_h"][-1, 0]
        assert np.allclose(lines["lstm*2 (1 run), layer 0"].get_ydata(), stored)
    for _, fig in drawn_figures(path, ("gradflow",)):
        titles = [ax.get_title().split("\n")[0] for ax in data_axes(fig) if ax.get_title()]
        assert titles == ["adding, delay 10: rnn", "adding, delay 10: lstm*2",
                          "adding, delay 10: dglstm*2"]
        assert "top layer" in fig._suptitle.get_text()
    with pytest.raises(Exception, match="one evaluation at a time"):
        list(drawn_figures(path, ("flow",), at=["first", "last"]))


def test_watch_redraws_a_grid_in_progress_until_it_is_complete(tmp_path):
    """plot.py --watch on a file a grid is still writing: it waits for the file, draws, redraws
    when the file changes, and returns when the grid is complete (synchronised on the file, not
    on time: whatever the machine's speed the last drawing is of the complete grid)."""
    exp = tmp_path / "w.ini"
    exp.write_text("[grid]\ntask = adding\ndelay = 10, 20\ncell = rnn, lstm, gru\nhidden = 8\n"
                   "steps = 60\neval_every = 20\neval_size = 16\nseeds = 2\n")
    out, png = tmp_path / "w.h5", tmp_path / "w.png"
    grid = subprocess.Popen([RNNBENCH, "run", str(exp), "-o", str(out), "-j", "1", "--quiet"])
    try:
        watched = subprocess.run([PYTHON, os.path.join(SCRIPTS, "plot.py"), str(out), "curves",
                                  "-o", str(png), "--watch", "0.1"],
                                 capture_output=True, text=True, timeout=600)
    finally:
        assert grid.wait(timeout=600) == 0
    assert watched.returncode == 0, watched.stderr
    drawn = [line for line in watched.stdout.splitlines() if line.startswith("plot.py: drew")]
    assert drawn and drawn[-1].endswith("from 12 runs, the grid is complete"), watched.stdout
    assert_png(str(png))
    assert not list(tmp_path.glob("w.png.tmp*"))  # drawn beside and renamed over


def test_watch_gives_up_at_once_on_a_bad_option(results_file, tmp_path):
    result = run_plot(results_file[0], "curves", "-o", str(tmp_path / "x.png"), "--watch", "0.1",
                      "--where", "nosuchcolumn=1")
    assert result.returncode == 2 and "nosuchcolumn" in result.stderr
    result = run_plot(results_file[0], "curves", "-o", str(tmp_path / "x.png"), "--watch", "0")
    assert result.returncode == 2
    assert result.stderr == "plot.py: --watch: expected seconds > 0, got 0.0\n"
